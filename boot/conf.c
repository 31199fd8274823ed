/*
 * polyboot.conf: INI text into struct conf, with every problem recorded.
 *
 * Syntax (what this parser really accepts):
 *
 *   - One item per line: blank, a comment (first non-blank character ';'
 *     or '#'), "[section]", or "key = value" ("key: value" also works).
 *     LF or CRLF line endings; a UTF-8 BOM at the start is skipped.
 *   - Leading whitespace is ignored everywhere, so keys may be indented.
 *     There are no continuation lines: an indented line is a line of its
 *     own, not more of the previous value.
 *   - Inline comments: ';' or '#' preceded by a space or tab ends the line
 *     ("memory = 4G  # for the builds"). A ';' or '#' not preceded by
 *     whitespace is part of the value ("match = a#b").
 *   - A value in double quotes has the quotes removed. Quotes do not
 *     protect " ;" or " #", which still start a comment.
 *   - Keys, section keywords, booleans and enumerations are case-
 *     insensitive; OS section names are not.
 *   - A line may hold at most 199 characters, not counting leading
 *     whitespace and comments (inih's line buffer).
 *   - The file may hold at most CONF_MAX_SIZE bytes and no NUL byte.
 *
 * [global]
 *   mode = menu | auto           menu (default): show the boot menu;
 *                                auto: start the default set at once, the
 *                                menu only comes up on errors
 *   timeout = SECONDS | -1 | none  menu countdown before the default set
 *                                starts, 0 to 3600 (default 5); -1 or none:
 *                                wait for a key forever
 *   default = NAME[, NAME...]    [os NAME] sections started by default,
 *                                separated by commas and/or spaces, at most
 *                                CONF_MAX_DEFAULT; each must exist
 *   on_all_stopped = poweroff | menu   when every VM has stopped (default
 *                                poweroff)
 *   log_level = err | warn | info | debug   (default info)
 *   console = serial | fb | serial,fb | both   where polyboot writes
 *                                (default both; any of serial, fb, both,
 *                                separated by commas and/or spaces)
 *   reserve_memory = SIZE        memory kept for polyboot itself (default
 *                                256M)
 *   reserve_cpus = N             CPUs kept for polyboot, 0 to 255 (default
 *                                0: shared with the VMs)
 *   grace = SECONDS              after the power button, how long VMs may
 *                                take to shut down before they are stopped,
 *                                1 to 3600 (default 60)
 *   passthrough = auto | off     the planner's passthrough policy for
 *                                every OS (default auto; see conf.h)
 *   cpu_pinning = yes | no       yes (default): each VM runs on its own
 *                                CPUs (a cgroup v2 cpuset per VM, disjoint);
 *                                no: the kernel schedules every VM on every
 *                                CPU (the CPU budget is still checked)
 *
 * [os NAME]                      one VM; NAME is 1 to 47 of A-Z a-z 0-9 .
 *                                _ - (case-sensitive), at most CONF_MAX_OS
 *                                sections, each name once
 *   match = ID | GLOB            the discovered OS: its id, or a glob on its
 *                                label (default: NAME), 1 to 127 characters
 *   cpus = N                     1 to 255 (default: the planner's)
 *   memory = SIZE                at least 64M (default: the planner's)
 *   disks = auto | none          auto (default): the disks the discovered OS
 *                                lives on; none: only the disk= lines
 *   disk = WHAT [ro|rw|cow]      another disk or partition (an inventory id
 *                                or a /dev path, at most 127 characters),
 *                                rw when no mode is given; repeatable, at
 *                                most CONF_MAX_DISKS
 *   device = [DDDD:]BB:DD.F      a PCI device passed through (hex; stored
 *                                as 0000:bb:dd.f); repeatable, at most
 *                                CONF_MAX_DEVICES, each once
 *   passthrough = auto | off     the passthrough policy for this OS
 *                                (default: the global one)
 *   firmware = auto | ovmf | seabios | uefi | bios   (uefi = ovmf, bios =
 *                                seabios; default auto)
 *   autostart = yes | no         also yes/no as true/false, on/off, 1/0:
 *                                part of the default set (default no)
 *   order = N                    start order, lower first, -1000 to 1000
 *                                (default 0)
 *   delay = SECONDS              wait after the previous start, 0 to 600,
 *                                up to 3 decimals: 2.5 (default 0)
 *   on_reboot = restart | stop   when the guest reboots (default restart)
 *   native = auto | kexec | bootnext   how "boot natively" starts it: auto
 *                                kexecs a Linux entry and falls back to
 *                                BootNext (default auto)
 *
 * SIZE: a decimal number of bytes, or with a K, M, G or T suffix (either
 * case, binary units): 4096, 512M, 4G.
 *
 * Every key but disk and device may be given once per section (or once in
 * all of [global], which may appear several times); a second one is an
 * error and the first value stays.
 *
 * How inih is used: ini_parse_stream() reads the text through
 * conf_reader(), which counts lines (inih's handler has no line number;
 * inih calls the handler for a line before it asks for the next one, so
 * the reader's count is the handler's line). The reader also checks each
 * line's syntax, opens sections (inih does not report a section without
 * keys), strips leading whitespace and inline comments, and hands inih a
 * blank line in place of a bad one, so parsing goes on with every error
 * recorded. inih then splits "key = value" and calls conf_handler().
 */
#define LOG_MOD "conf"
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ini.h"
#include "log.h"
#include "util.h"

#define MIN_OS_MEMORY	(64ull << 20)

enum gkey {
	G_MODE, G_TIMEOUT, G_DEFAULT, G_ON_ALL_STOPPED, G_LOG_LEVEL, G_CONSOLE,
	G_RESERVE_MEMORY, G_RESERVE_CPUS, G_GRACE, G_PASSTHROUGH, G_CPU_PINNING, G_NKEYS
};

static const char *const gkeys[G_NKEYS] = {
	"mode", "timeout", "default", "on_all_stopped", "log_level", "console",
	"reserve_memory", "reserve_cpus", "grace", "passthrough", "cpu_pinning",
};

enum okey {
	O_MATCH, O_CPUS, O_MEMORY, O_DISKS, O_DISK, O_DEVICE, O_FIRMWARE,
	O_AUTOSTART, O_ORDER, O_DELAY, O_ON_REBOOT, O_NATIVE, O_PASSTHROUGH, O_NKEYS
};

static const char *const okeys[O_NKEYS] = {
	"match", "cpus", "memory", "disks", "disk", "device", "firmware",
	"autostart", "order", "delay", "on_reboot", "native", "passthrough",
};

enum sec { SEC_NONE, SEC_GLOBAL, SEC_OS, SEC_SKIP };

struct parser {
	struct conf *c;
	const char *p, *end;		/* the text not yet read */
	unsigned line;			/* the line last handed to inih */
	enum sec sec;
	struct conf_os *os;		/* SEC_OS: the section */
	unsigned gseen[G_NKEYS];	/* line where each key was first set */
	unsigned oseen[CONF_MAX_OS][O_NKEYS];
};

/* isspace() in the C locale, which is what inih trims. */
static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= CONF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* The index of @s in @words (case-insensitive), or -1. */
static int word(const char *s, const char *const *words, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(s, words[i]) == 0)
			return (int)i;
	return -1;
}



/* Optimal string alignment distance of two short lowercase-compared keys. */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[CONF_NAME_MAX + 1][CONF_NAME_MAX + 1];
	size_t n = strnlen(a, CONF_NAME_MAX), m = strnlen(b, CONF_NAME_MAX);

	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = (a[i - 1] | 0x20) != (b[j - 1] | 0x20);
			unsigned v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);

			v = MIN(v, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == (b[j - 1] | 0x20))
				v = MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	}
	return d[n][m];
}

/*
 * How much @s looks like a typo of @w: 1 or 2 for a close one (a prefix of
 * 3 or more characters counts as 1: "mem" for memory), else UINT_MAX.
 */
static unsigned typo(const char *s, const char *w)
{
	size_t len = strlen(s);
	unsigned d;

	if (len >= 3 && len < strlen(w) && strncasecmp(s, w, len) == 0)
		return 1;
	d = distance(s, w);
	return d <= 2 && d < len ? d : UINT_MAX;
}

/* The entry of @words closest to @s when it looks like a typo of it. */
static const char *suggest(const char *s, const char *const *words, unsigned n)
{
	const char *best = NULL;
	unsigned bestd = UINT_MAX;

	for (unsigned i = 0; i < n; i++) {
		unsigned d = typo(s, words[i]);

		if (d < bestd) {
			bestd = d;
			best = words[i];
		}
	}
	return best;
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = CONF_MODE_MENU;
	c->timeout = 5;
	c->on_all_stopped = CONF_AFTER_POWEROFF;
	c->log_level = LOG_INFO;
	c->console_serial = true;
	c->console_fb = true;
	c->reserve_memory = 256ull << 20;
	c->reserve_cpus = 0;
	c->grace_s = 60;
	c->passthrough = CONF_PT_AUTO;
	c->cpu_pinning = true;
}

void conf_error(struct conf *c, unsigned line, const char *key, const char *fmt, ...)
{
	struct conf_err *e;
	va_list ap;

	if (c->nerr >= CONF_MAX_ERRORS) {
		c->err_dropped++;
		return;
	}
	e = &c->err[c->nerr++];
	e->line = line;
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void conf_format_error(const struct conf *c, unsigned i, char *buf, size_t len)
{
	const struct conf_err *e;

	if (!len)
		return;
	if (i >= c->nerr) {
		buf[0] = '\0';
		return;
	}
	e = &c->err[i];
	if (!e->line)
		snprintf(buf, len, "%s: %s", c->path, e->msg);
	else if (!e->key[0])
		snprintf(buf, len, "%s:%u: %s", c->path, e->line, e->msg);
	else
		snprintf(buf, len, "%s:%u: key '%s': %s", c->path, e->line, e->key, e->msg);
}

struct conf_os *conf_find_os(struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nos; i++)
		if (strcmp(c->os[i].name, name) == 0)
			return &c->os[i];
	return NULL;
}

const char *conf_disk_mode_name(enum conf_disk_mode m)
{
	switch (m) {
	case CONF_DISK_RO: return "ro";
	case CONF_DISK_RW: return "rw";
	case CONF_DISK_COW: return "cow";
	}
	return "?";
}

enum conf_pt conf_passthrough(const struct conf *c, const struct conf_os *s)
{
	if (s && s->passthrough != CONF_PT_DEFAULT)
		return s->passthrough;
	return c->passthrough == CONF_PT_OFF ? CONF_PT_OFF : CONF_PT_AUTO;
}

const char *conf_fw_name(enum conf_fw f)
{
	switch (f) {
	case CONF_FW_AUTO: return "auto";
	case CONF_FW_OVMF: return "ovmf";
	case CONF_FW_SEABIOS: return "seabios";
	}
	return "?";
}

/* --- sections -------------------------------------------------------------- */

static void open_section(struct parser *p, const char *s, size_t n)
{
	struct conf *c = p->c;
	struct conf_os *os, *dup;
	char name[CONF_NAME_MAX];

	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	p->sec = SEC_SKIP;
	p->os = NULL;
	if (n == 6 && strncasecmp(s, "global", 6) == 0) {
		p->sec = SEC_GLOBAL;
		return;
	}
	if (n < 2 || strncasecmp(s, "os", 2) != 0 || (n > 2 && !is_space(s[2]))) {
		conf_error(c, p->line, "", "unknown section '%.*s' (want [global] or [os NAME])",
			   (int)MIN(n, 64), s);
		return;
	}
	s += 2, n -= 2;
	while (n && is_space(*s))
		s++, n--;
	if (!n) {
		conf_error(c, p->line, "", "[os] section without a name (want [os NAME])");
		return;
	}
	if (!valid_name(s, n)) {
		conf_error(c, p->line, "", "bad OS name '%.*s' (want 1 to %d of A-Z a-z 0-9 . _ -)",
			   (int)MIN(n, 64), s, CONF_NAME_MAX - 1);
		return;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	dup = conf_find_os(c, name);
	if (dup) {
		conf_error(c, p->line, "", "[os %s] defined twice (first at line %u)", name, dup->line);
		return;
	}
	if (c->nos >= CONF_MAX_OS) {
		conf_error(c, p->line, "", "too many [os] sections (at most %d)", CONF_MAX_OS);
		return;
	}
	os = &c->os[c->nos++];
	memset(os, 0, sizeof(*os));
	memcpy(os->name, name, n + 1);
	memcpy(os->match, name, n + 1);
	os->disks = CONF_DISKS_AUTO;
	os->firmware = CONF_FW_AUTO;
	os->on_reboot = CONF_REBOOT_RESTART;
	os->line = p->line;
	p->sec = SEC_OS;
	p->os = os;
}

/* --- the reader: one line per call, checked ------------------------------ */

static void syntax(struct parser *p, const char *what)
{
	conf_error(p->c, p->line, "", "syntax error: %s", what);
}

/*
 * Checks line @s..@e and writes into @buf what inih should see: the line
 * without leading whitespace and comments, or "" (a blank line) when it
 * is blank, a comment or wrong.
 */
static void check_line(struct parser *p, const char *s, const char *e, char *buf, int num)
{
	const char *q, *sep = NULL;

	if (memchr(s, '\0', (size_t)(e - s))) {
		conf_error(p->c, p->line, "", "line contains a NUL byte");
		return;
	}
	if (p->line == 1 && e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < e && is_space(*s))
		s++;
	if (s == e || *s == ';' || *s == '#')
		return;
	/* inline comment: ';' or '#' after whitespace */
	for (q = s + 1; q < e; q++) {
		if ((*q == ';' || *q == '#') && is_space(q[-1])) {
			e = q;
			break;
		}
	}
	while (e > s && is_space(e[-1]))
		e--;
	if (e - s > num - 1) {
		conf_error(p->c, p->line, "", "line too long (more than %d characters)", num - 1);
		return;
	}
	if (*s == '[') {
		q = memchr(s, ']', (size_t)(e - s));
		if (!q) {
			syntax(p, "missing ']'");
			return;
		}
		if (q + 1 != e) {
			syntax(p, "text after ']'");
			return;
		}
		open_section(p, s + 1, (size_t)(q - s - 1));
	} else {
		for (q = s; q < e && !sep; q++)
			if (*q == '=' || *q == ':')
				sep = q;
		if (!sep) {
			syntax(p, "want 'key = value', '[section]' or a comment");
			return;
		}
		if (sep == s) {
			syntax(p, "no key before '='");
			return;
		}
	}
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
}

static char *conf_reader(char *buf, int num, void *stream)
{
	struct parser *p = stream;
	const char *s = p->p, *nl;

	if (s >= p->end || num < 2)
		return NULL;
	nl = memchr(s, '\n', (size_t)(p->end - s));
	p->p = nl ? nl + 1 : p->end;
	p->line++;
	buf[0] = '\0';
	check_line(p, s, nl ? nl : p->end, buf, num);
	return buf;
}

/* --- values ----------------------------------------------------------------- */

static void bad(struct parser *p, const char *key, const char *v, const char *want)
{
	conf_error(p->c, p->line, key, "%s '%.64s': want %s", key, v, want);
}

/* yes/no: 1, 0, or -1 when it is neither. */
static int parse_bool(const char *v)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };
	int i = word(v, words, ARRAY_SIZE(words));

	return i < 0 ? -1 : i & 1;
}

/* A yes/no key: into @out, or an error naming @key (then @out is kept). */
static void set_bool(struct parser *p, const char *key, const char *v, bool *out)
{
	int i = parse_bool(v);

	if (i < 0)
		bad(p, key, v, "yes or no");
	else
		*out = i;
}

/* Splits @v at commas and whitespace: the next word into @w, or NULL. */
static const char *next_word(const char *v, char *w, size_t wlen, size_t *n)
{
	size_t len;

	while (*v == ',' || is_space(*v))
		v++;
	if (!*v)
		return NULL;
	len = strcspn(v, ", \t\r\n\v\f");
	*n = len;
	snprintf(w, wlen, "%.*s", (int)len, v);
	return v + len;
}

static void set_default(struct parser *p, const char *v)
{
	struct conf *c = p->c;
	char w[CONF_NAME_MAX];
	size_t n;

	c->line_default = p->line;
	while ((v = next_word(v, w, sizeof(w), &n))) {
		bool have = false;

		if (!valid_name(v - n, n)) {
			conf_error(c, p->line, "default", "default '%.*s': want names of [os NAME] sections",
				   (int)MIN(n, 64), v - n);
			continue;
		}
		for (unsigned i = 0; i < c->ndefault; i++)
			have |= strcmp(c->defaults[i], w) == 0;
		if (have)
			continue;
		if (c->ndefault >= CONF_MAX_DEFAULT) {
			conf_error(c, p->line, "default", "default: more than %d names", CONF_MAX_DEFAULT);
			return;
		}
		memcpy(c->defaults[c->ndefault++], w, n + 1);
	}
}

static void set_console(struct parser *p, const char *v)
{
	static const char *const words[] = { "serial", "fb", "both" };
	bool serial = false, fb = false;
	char w[16];
	size_t n;
	const char *s = v;

	while ((s = next_word(s, w, sizeof(w), &n))) {
		int i = n < sizeof(w) ? word(w, words, ARRAY_SIZE(words)) : -1;

		if (i < 0) {
			bad(p, "console", v, "serial, fb or both");
			return;
		}
		serial |= i != 1;
		fb |= i != 0;
	}
	if (!serial && !fb) {
		bad(p, "console", v, "serial, fb or both");
		return;
	}
	p->c->console_serial = serial;
	p->c->console_fb = fb;
}

static void set_global(struct parser *p, enum gkey k, const char *v)
{
	static const char *const modes[] = { "menu", "auto" };
	static const char *const after[] = { "poweroff", "menu" };
	static const char *const levels[] = { "err", "warn", "info", "debug" };
	static const char *const pts[] = { "auto", "off" };
	struct conf *c = p->c;
	uint64_t u;
	int i;

	switch (k) {
	case G_MODE:
		i = word(v, modes, ARRAY_SIZE(modes));
		if (i < 0)
			bad(p, "mode", v, "menu or auto");
		else
			c->mode = i ? CONF_MODE_AUTO : CONF_MODE_MENU;
		break;
	case G_TIMEOUT:
		if (strcasecmp(v, "none") == 0 || strcmp(v, "-1") == 0)
			c->timeout = -1;
		else if (parse_dec(v, 3600, &u) == 0)
			c->timeout = (int)u;
		else
			bad(p, "timeout", v, "seconds from 0 to 3600, or none");
		break;
	case G_DEFAULT:
		set_default(p, v);
		break;
	case G_ON_ALL_STOPPED:
		i = word(v, after, ARRAY_SIZE(after));
		if (i < 0)
			bad(p, "on_all_stopped", v, "poweroff or menu");
		else
			c->on_all_stopped = i ? CONF_AFTER_MENU : CONF_AFTER_POWEROFF;
		break;
	case G_LOG_LEVEL:
		i = word(v, levels, ARRAY_SIZE(levels));
		if (i < 0)
			bad(p, "log_level", v, "err, warn, info or debug");
		else
			c->log_level = LOG_ERR + i;
		break;
	case G_CONSOLE:
		set_console(p, v);
		break;
	case G_RESERVE_MEMORY:
		if (parse_size_dec(v, &u)) {
			bad(p, "reserve_memory", v, "a size such as 512M or 4G");
		} else {
			c->reserve_memory = u;
			c->line_reserve_memory = p->line;
		}
		break;
	case G_RESERVE_CPUS:
		if (parse_dec(v, 255, &u))
			bad(p, "reserve_cpus", v, "a number from 0 to 255");
		else
			c->reserve_cpus = (unsigned)u;
		break;
	case G_GRACE:
		if (parse_dec(v, 3600, &u) || u < 1)
			bad(p, "grace", v, "seconds from 1 to 3600");
		else
			c->grace_s = (unsigned)u;
		break;
	case G_PASSTHROUGH:
		i = word(v, pts, ARRAY_SIZE(pts));
		if (i < 0) {
			bad(p, "passthrough", v, "auto or off");
		} else {
			c->passthrough = i ? CONF_PT_OFF : CONF_PT_AUTO;
			c->line_passthrough = p->line;
		}
		break;
	case G_CPU_PINNING:
		set_bool(p, "cpu_pinning", v, &c->cpu_pinning);
		break;
	case G_NKEYS:
		break;
	}
}

/* [DDDD:]BB:DD.F (hex) into "dddd:bb:dd.f". */
static int parse_bdf(const char *v, char *out, size_t len)
{
	unsigned dom = 0, bus, dev, fn, n = 0;
	size_t l = strlen(v);
	const char *s = v;

	if (l == 12) {
		for (; n < 4; n++, s++) {
			if (hex_digit(*s) < 0)
				return -EINVAL;
			dom = dom << 4 | (unsigned)hex_digit(*s);
		}
		if (*s++ != ':')
			return -EINVAL;
	} else if (l != 7) {
		return -EINVAL;
	}
	/* s: "BB:DD.F" */
	for (n = 0; n < 7; n++)
		if (n == 2 ? s[n] != ':' : n == 5 ? s[n] != '.' : hex_digit(s[n]) < 0)
			return -EINVAL;
	bus = (unsigned)(hex_digit(s[0]) << 4 | hex_digit(s[1]));
	dev = (unsigned)(hex_digit(s[3]) << 4 | hex_digit(s[4]));
	fn = (unsigned)hex_digit(s[6]);
	if (dev > 0x1f || fn > 7)
		return -ERANGE;
	snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

static void set_disk(struct parser *p, struct conf_os *os, const char *v)
{
	static const char *const modes[] = { "ro", "rw", "cow" };
	const char *want = "WHAT [ro|rw|cow] (WHAT: a disk or partition id, or a /dev path)";
	size_t wn = strcspn(v, " \t"), mn;
	const char *m = v + wn;
	char mode[8];
	int i = CONF_DISK_RW;

	while (is_space(*m))
		m++;
	mn = strlen(m);
	if (wn == 0 || wn >= CONF_MATCH_MAX || mn >= sizeof(mode) || strcspn(m, " \t") != mn) {
		bad(p, "disk", v, want);
		return;
	}
	if (mn) {
		memcpy(mode, m, mn + 1);
		i = word(mode, modes, ARRAY_SIZE(modes));
		if (i < 0) {
			bad(p, "disk", v, want);
			return;
		}
	}
	if (os->ndisks >= CONF_MAX_DISKS) {
		conf_error(p->c, p->line, "disk", "too many disks in [os %s] (at most %d)",
			   os->name, CONF_MAX_DISKS);
		return;
	}
	memcpy(os->disk[os->ndisks].what, v, wn);
	os->disk[os->ndisks].what[wn] = '\0';
	os->disk[os->ndisks].mode = (enum conf_disk_mode)i;
	os->disk[os->ndisks].line = p->line;
	os->ndisks++;
}

static void set_device(struct parser *p, struct conf_os *os, const char *v)
{
	char bdf[16];

	if (parse_bdf(v, bdf, sizeof(bdf))) {
		bad(p, "device", v, "a PCI address such as 0000:01:00.0 or 01:00.0");
		return;
	}
	for (unsigned i = 0; i < os->ndevices; i++) {
		if (strcmp(os->device[i].bdf, bdf) == 0) {
			conf_error(p->c, p->line, "device", "device %s listed twice (first at line %u)",
				   bdf, os->device[i].line);
			return;
		}
	}
	if (os->ndevices >= CONF_MAX_DEVICES) {
		conf_error(p->c, p->line, "device", "too many devices in [os %s] (at most %d)",
			   os->name, CONF_MAX_DEVICES);
		return;
	}
	memcpy(os->device[os->ndevices].bdf, bdf, sizeof(bdf));
	os->device[os->ndevices].line = p->line;
	os->ndevices++;
}

/* -1000..1000 */
static int parse_order(const char *v, int *out)
{
	bool neg = *v == '-';
	uint64_t u;

	if (*v == '-' || *v == '+')
		v++;
	if (parse_dec(v, 1000, &u))
		return -EINVAL;
	*out = neg ? -(int)u : (int)u;
	return 0;
}

/* 0..600 seconds with up to 3 decimals, into milliseconds. */
static int parse_delay(const char *v, unsigned *ms)
{
	char num[8];
	size_t n = strcspn(v, ".");
	uint64_t s, frac = 0;
	const char *f = v + n;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, n);
	num[n] = '\0';
	if (parse_dec(num, 600, &s))
		return -EINVAL;
	if (*f == '.') {
		size_t fn = strlen(++f);

		if (fn < 1 || fn > 3 || parse_dec(f, 999, &frac))
			return -EINVAL;
		while (fn++ < 3)
			frac *= 10;
	}
	if (s * 1000 + frac > 600000)
		return -ERANGE;
	*ms = (unsigned)(s * 1000 + frac);
	return 0;
}

static void set_os(struct parser *p, enum okey k, const char *v)
{
	static const char *const disks[] = { "auto", "none" };
	static const char *const fws[] = { "auto", "ovmf", "seabios", "uefi", "bios" };
	static const enum conf_fw fwv[] = { CONF_FW_AUTO, CONF_FW_OVMF, CONF_FW_SEABIOS,
					    CONF_FW_OVMF, CONF_FW_SEABIOS };
	static const char *const reboot[] = { "restart", "stop" };
	static const char *const natives[] = { "auto", "kexec", "bootnext" };
	static const char *const pts[] = { "auto", "off" };
	struct conf_os *os = p->os;
	uint64_t u;
	size_t n;
	int i;

	switch (k) {
	case O_MATCH:
		n = strlen(v);
		if (n == 0 || n >= CONF_MATCH_MAX) {
			bad(p, "match", v, "an OS id or a glob on its label (1 to 127 characters)");
		} else {
			memcpy(os->match, v, n + 1);
			os->line_match = p->line;
		}
		break;
	case O_CPUS:
		if (parse_dec(v, 255, &u) || u < 1) {
			bad(p, "cpus", v, "a number from 1 to 255");
		} else {
			os->cpus = (unsigned)u;
			os->line_cpus = p->line;
		}
		break;
	case O_MEMORY:
		if (parse_size_dec(v, &u)) {
			bad(p, "memory", v, "a size such as 512M or 4G");
		} else if (u < MIN_OS_MEMORY) {
			bad(p, "memory", v, "at least 64M");
		} else {
			os->memory = u;
			os->line_memory = p->line;
		}
		break;
	case O_DISKS:
		i = word(v, disks, ARRAY_SIZE(disks));
		if (i < 0)
			bad(p, "disks", v, "auto or none");
		else
			os->disks = i ? CONF_DISKS_NONE : CONF_DISKS_AUTO;
		break;
	case O_DISK:
		set_disk(p, os, v);
		break;
	case O_DEVICE:
		set_device(p, os, v);
		break;
	case O_FIRMWARE:
		i = word(v, fws, ARRAY_SIZE(fws));
		if (i < 0) {
			bad(p, "firmware", v, "auto, ovmf, seabios, uefi or bios");
		} else {
			os->firmware = fwv[i];
			os->line_firmware = p->line;
		}
		break;
	case O_AUTOSTART:
		set_bool(p, "autostart", v, &os->autostart);
		break;
	case O_ORDER:
		if (parse_order(v, &i))
			bad(p, "order", v, "a number from -1000 to 1000");
		else
			os->order = i;
		break;
	case O_DELAY:
		if (parse_delay(v, &os->delay_ms))
			bad(p, "delay", v, "seconds from 0 to 600, such as 2.5");
		break;
	case O_ON_REBOOT:
		i = word(v, reboot, ARRAY_SIZE(reboot));
		if (i < 0)
			bad(p, "on_reboot", v, "restart or stop");
		else
			os->on_reboot = i ? CONF_REBOOT_STOP : CONF_REBOOT_RESTART;
		break;
	case O_NATIVE:
		i = word(v, natives, ARRAY_SIZE(natives));
		if (i < 0)
			bad(p, "native", v, "auto, kexec or bootnext");
		else
			os->native = (enum conf_native)i;
		break;
	case O_PASSTHROUGH:
		i = word(v, pts, ARRAY_SIZE(pts));
		if (i < 0) {
			bad(p, "passthrough", v, "auto or off");
		} else {
			os->passthrough = i ? CONF_PT_OFF : CONF_PT_AUTO;
			os->line_passthrough = p->line;
		}
		break;
	case O_NKEYS:
		break;
	}
}

/* --- the handler: one call per key line ---------------------------------- */

static void unknown_key(struct parser *p, const char *name)
{
	bool os = p->sec == SEC_OS;
	const char *const *keys = os ? okeys : gkeys;
	const char *const *other = os ? gkeys : okeys;
	unsigned n = os ? O_NKEYS : G_NKEYS;
	int k = word(name, other, os ? G_NKEYS : O_NKEYS);
	char where[CONF_NAME_MAX + 8];
	const char *s;

	if (os)
		snprintf(where, sizeof(where), "[os %s]", p->os->name);
	else
		snprintf(where, sizeof(where), "[global]");
	if (k >= 0)
		conf_error(p->c, p->line, "", "unknown key '%.48s' in %s ('%s' belongs in %s)", name,
			   where, other[k], os ? "[global]" : "an [os NAME] section");
	else if ((s = suggest(name, keys, n)))
		conf_error(p->c, p->line, "", "unknown key '%.48s' in %s (did you mean '%s'?)", name,
			   where, s);
	else
		conf_error(p->c, p->line, "", "unknown key '%.48s' in %s", name, where);
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	char v[256];
	size_t n = strlen(value);
	unsigned *seen;
	const char *key;
	int k;

	if (p->sec == SEC_SKIP)
		return 1;
	if (p->sec == SEC_NONE) {
		conf_error(p->c, p->line, "",
			   "key '%.48s' outside a section (put it under [global] or [os NAME])", name);
		return 1;
	}
	if (p->sec == SEC_OS) {
		k = word(name, okeys, O_NKEYS);
		seen = p->oseen[p->os - p->c->os];
		key = k >= 0 ? okeys[k] : NULL;
	} else {
		k = word(name, gkeys, G_NKEYS);
		seen = p->gseen;
		key = k >= 0 ? gkeys[k] : NULL;
	}
	if (!key) {
		unknown_key(p, name);
		return 1;
	}
	if (p->sec == SEC_OS && (k == O_DISK || k == O_DEVICE)) {
		/* repeatable */
	} else if (seen[k]) {
		conf_error(p->c, p->line, key, "'%s' set twice (first at line %u)", key, seen[k]);
		return 1;
	} else {
		seen[k] = p->line;
	}
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"')
		value++, n -= 2;
	if (n >= sizeof(v)) {
		conf_error(p->c, p->line, key, "value too long");
		return 1;
	}
	memcpy(v, value, n);
	v[n] = '\0';
	if (p->sec == SEC_OS)
		set_os(p, (enum okey)k, v);
	else
		set_global(p, (enum gkey)k, v);
	return 1;
}

/* --- entry points ------------------------------------------------------------ */

/* After the whole file: every default= name must have its section. */
static void check_defaults(struct conf *c)
{
	for (unsigned i = 0; i < c->ndefault; i++) {
		const char *best = NULL, *d = c->defaults[i];
		unsigned bestd = UINT_MAX;

		if (conf_find_os(c, d))
			continue;
		for (unsigned j = 0; j < c->nos; j++) {
			unsigned dist = typo(d, c->os[j].name);

			if (dist < bestd) {
				bestd = dist;
				best = c->os[j].name;
			}
		}
		if (best)
			conf_error(c, c->line_default, "default",
				   "default '%s': no [os %s] section (did you mean '%s'?)", d, d, best);
		else
			conf_error(c, c->line_default, "default", "default '%s': no [os %s] section",
				   d, d);
	}
}

int conf_parse(struct conf *c, const char *path, const char *text, size_t len)
{
	struct parser p = { .c = c, .p = text, .end = text + len, .sec = SEC_NONE };
	int r;

	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path ? path : "");
	c->present = true;
	if (len > CONF_MAX_SIZE) {
		conf_error(c, 0, "", "file is larger than %d bytes", CONF_MAX_SIZE);
		return (int)c->nerr;
	}
	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	/* conf_reader() passes only good lines and conf_handler() never
	 * fails, so inih has nothing to say; if it does, keep it */
	if (r)
		conf_error(c, r > 0 ? (unsigned)r : 0, "", "inih: parse error %d", r);
	check_defaults(c);
	return (int)c->nerr;
}

int conf_load(struct conf *c, const char *path)
{
	size_t cap = CONF_MAX_SIZE + 1, len = 0;
	char *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		r = -ENOMEM;
		goto fail;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r) {
		free(buf);
		goto fail;
	}
	r = conf_parse(c, path, buf, len);
	free(buf);
	return r;
fail:
	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	conf_error(c, 0, "", "cannot read: %s", strerror(-r));
	return r;
}
