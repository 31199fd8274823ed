/*
 * Boot Loader Specification type #1 entries, UAPI version comparison,
 * os-release(5) and the GRUB environment block (see bls.h).
 *
 * BLS: https://uapi-group.org/specifications/specs/boot_loader_specification/
 *   ("Type #1 Boot Loader Entry Files", "Sorting").
 * Versions: https://uapi-group.org/specifications/specs/version_format_specification/
 *   The one departure from the text: '~' is checked before the end of the
 *   strings (so "1~rc1" < "1" and "~" < ""), which is what the point of '~'
 *   needs and what systemd does; after a '~' on both sides the comparison
 *   starts over, so a second '~' is lower than the end too ("1~~" < "1~").
 * os-release: os-release(5), "a subset of shell variable assignment".
 * grubenv: GRUB's 1024-byte environment block as grub-editenv writes it.
 *
 * Not implemented: devicetree-overlay, boot counting beyond sorting "bad"
 * entries last, hiding entries of another architecture (the caller can
 * compare @architecture itself).
 */
#include "disc/bls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Appends a note to @why ("; " between notes), cut to fit. */
static void note(char *why, size_t whylen, const char *msg)
{
	size_t n;

	if (!why || !whylen)
		return;
	n = strnlen(why, whylen);
	if (n + 1 >= whylen)
		return;
	snprintf(why + n, whylen - n, "%s%s", n ? "; " : "", msg);
}

/* Copies @len bytes of @s into @dst of @size as a string; false if cut. */
static bool copy_str(char *dst, size_t size, const char *s, size_t len)
{
	bool cut = len >= size;

	if (cut)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = 0;
	return !cut;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* --- BLS entries -------------------------------------------------------- */

struct bls_key {
	const char *name;
	size_t off, size;
};

#define BLS_KEY(n, field) { n, offsetof(struct bls_entry, field), sizeof(((struct bls_entry *)0)->field) }

static const struct bls_key bls_keys[] = {
	BLS_KEY("title", title),
	BLS_KEY("version", version),
	BLS_KEY("machine-id", machine_id),
	BLS_KEY("sort-key", sort_key),
	BLS_KEY("linux", linux_path),
	BLS_KEY("efi", efi),
	BLS_KEY("devicetree", devicetree),
	BLS_KEY("architecture", architecture),
};

static void bls_add_initrds(struct bls_entry *e, const char *v, size_t vlen, char *why,
			    size_t whylen, bool *warned_many)
{
	size_t i = 0;

	while (i < vlen) {
		size_t s;

		while (i < vlen && is_blank(v[i]))
			i++;
		s = i;
		while (i < vlen && !is_blank(v[i]))
			i++;
		if (i == s)
			break;
		if (e->ninitrd == BLS_MAX_INITRD) {
			if (!*warned_many)
				note(why, whylen, "more than 8 initrds: the rest dropped");
			*warned_many = true;
			return;
		}
		if (!copy_str(e->initrd[e->ninitrd++], BLS_PATH_MAX, v + s, i - s))
			note(why, whylen, "initrd path cut");
	}
}

static void bls_add_options(struct bls_entry *e, const char *v, size_t vlen, char *why,
			    size_t whylen)
{
	size_t n = strlen(e->options), room;

	if (!vlen)
		return;
	if (n && n + 1 < sizeof(e->options))
		e->options[n++] = ' ';
	room = sizeof(e->options) - 1 - n;
	if (vlen > room) {
		vlen = room;
		note(why, whylen, "options cut");
	}
	memcpy(e->options + n, v, vlen);
	e->options[n + vlen] = 0;
}

int bls_parse(const char *text, size_t len, struct bls_entry *out, char *why, size_t whylen)
{
	bool many_initrds = false;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = 0;
	while (pos < len) {
		size_t eol = pos, k, ks, v, vend;

		while (eol < len && text[eol] != '\n')
			eol++;
		/* A NUL ends the line's text: what follows it cannot be meant. */
		vend = pos;
		while (vend < eol && text[vend])
			vend++;
		k = pos;
		pos = eol + 1;
		while (k < vend && is_blank(text[k]))
			k++;
		if (k == vend || text[k] == '#')
			continue;
		ks = k;
		while (k < vend && !is_blank(text[k]))
			k++;
		v = k;
		while (v < vend && is_blank(text[v]))
			v++;
		while (vend > v && is_blank(text[vend - 1]))
			vend--;

		if (k - ks == 6 && !memcmp(text + ks, "initrd", 6)) {
			bls_add_initrds(out, text + v, vend - v, why, whylen, &many_initrds);
			continue;
		}
		if (k - ks == 7 && !memcmp(text + ks, "options", 7)) {
			bls_add_options(out, text + v, vend - v, why, whylen);
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(bls_keys); i++) {
			const struct bls_key *bk = &bls_keys[i];
			char msg[48];

			if (strlen(bk->name) != k - ks || memcmp(bk->name, text + ks, k - ks))
				continue;
			if (!copy_str((char *)out + bk->off, bk->size, text + v, vend - v)) {
				snprintf(msg, sizeof(msg), "%s cut", bk->name);
				note(why, whylen, msg);
			}
			break;
		}
	}
	if (!out->linux_path[0] && !out->efi[0]) {
		note(why, whylen, "neither linux nor efi");
		return -EINVAL;
	}
	return 0;
}

/* --- version comparison -------------------------------------------------- */

static bool ver_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ver_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool ver_valid(char c)
{
	return ver_alpha(c) || ver_digit(c) || c == '~' || c == '-' || c == '^' || c == '.';
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/*
 * One of the three "prefix" characters: if exactly one side starts with
 * @c, that side compares @lower_with ? lower : higher; if both do, both
 * skip it. Returns the decision or 0 to go on.
 */
static int ver_mark(const char **a, const char **b, char c, bool lower_with)
{
	bool ia = **a == c, ib = **b == c;

	if (ia && ib) {
		(*a)++;
		(*b)++;
		return 0;
	}
	if (ia != ib)
		return (ia == lower_with) ? -1 : 1;
	return 0;
}

int bls_vercmp(const char *a, const char *b)
{
	if (!a)
		a = "";
	if (!b)
		b = "";
	for (;;) {
		const char *na, *nb;
		size_t la, lb;
		int r;

		while (*a && !ver_valid(*a))
			a++;
		while (*b && !ver_valid(*b))
			b++;
		if (*a == '~' || *b == '~') {
			if ((r = ver_mark(&a, &b, '~', true)))
				return r;
			continue;	/* "1~~" < "1~": a '~' is lower than the end too */
		}
		if (!*a || !*b)
			return (*a != 0) - (*b != 0);
		if ((r = ver_mark(&a, &b, '-', true)))
			return r;
		if ((r = ver_mark(&a, &b, '^', false)))
			return r;
		if ((r = ver_mark(&a, &b, '.', true)))
			return r;
		if (ver_digit(*a) || ver_digit(*b)) {
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			for (na = a; ver_digit(*na); na++)
				;
			for (nb = b; ver_digit(*nb); nb++)
				;
			la = (size_t)(na - a);
			lb = (size_t)(nb - b);
			if (la != lb)
				return la < lb ? -1 : 1;
			if ((r = memcmp(a, b, la)))
				return sign(r);
			a = na;
			b = nb;
			continue;
		}
		/* Both start with a letter here (anything else was handled above). */
		while (ver_alpha(*a) && ver_alpha(*b)) {
			if (*a != *b)
				return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
			a++;
			b++;
		}
		if (ver_alpha(*a) != ver_alpha(*b))
			return ver_alpha(*a) ? 1 : -1;
	}
}

/* --- menu order ---------------------------------------------------------- */

/* The file name without ".conf", into @buf. */
static void bls_stem(const struct bls_entry *e, char *buf, size_t size)
{
	size_t n = strnlen(e->filename, sizeof(e->filename));

	if (n >= 5 && !memcmp(e->filename + n - 5, ".conf", 5))
		n -= 5;
	copy_str(buf, size, e->filename, n);
}

/* Boot counting: "name+LEFT[-DONE].conf" with LEFT == 0 is "bad". */
static bool bls_is_bad(const char *stem)
{
	const char *plus = strrchr(stem, '+'), *p;
	bool zero = true, digits = false;

	if (!plus)
		return false;
	for (p = plus + 1; ver_digit(*p); p++) {
		digits = true;
		if (*p != '0')
			zero = false;
	}
	if (!digits)
		return false;
	if (*p == '-') {
		const char *q = ++p;

		while (ver_digit(*p))
			p++;
		if (p == q)
			return false;
	}
	return !*p && zero;
}

int bls_compare(const struct bls_entry *a, const struct bls_entry *b)
{
	char sa[BLS_FILENAME_MAX], sb[BLS_FILENAME_MAX];
	bool ka = a->sort_key[0], kb = b->sort_key[0];
	bool bad_a, bad_b;
	int r;

	bls_stem(a, sa, sizeof(sa));
	bls_stem(b, sb, sizeof(sb));
	bad_a = bls_is_bad(sa);
	bad_b = bls_is_bad(sb);
	if (bad_a != bad_b)
		return bad_a ? 1 : -1;
	if (ka != kb)
		return ka ? -1 : 1;
	if (ka) {
		if ((r = strcmp(a->sort_key, b->sort_key)))
			return sign(r);
		if ((r = strcmp(a->machine_id, b->machine_id)))
			return sign(r);
	}
	if ((r = bls_vercmp(a->version, b->version)))
		return -r;
	if ((r = bls_vercmp(sa, sb)))
		return -r;
	return sign(strcmp(a->filename, b->filename));
}

/* --- os-release ---------------------------------------------------------- */

struct osrel_key {
	const char *name;
	size_t off;
};

#define OSREL_KEY(n, field) { n, offsetof(struct osrel, field) }

static const struct osrel_key osrel_keys[] = {
	OSREL_KEY("NAME", name),
	OSREL_KEY("PRETTY_NAME", pretty_name),
	OSREL_KEY("ID", id),
	OSREL_KEY("ID_LIKE", id_like),
	OSREL_KEY("VERSION", version),
	OSREL_KEY("VERSION_ID", version_id),
	OSREL_KEY("VERSION_CODENAME", version_codename),
	OSREL_KEY("IMAGE_ID", image_id),
	OSREL_KEY("BUILD_ID", build_id),
};

static bool shell_name_char(char c, bool first)
{
	return c == '_' || ver_alpha(c) || (!first && ver_digit(c));
}

/* Appends @c to @dst (of OSREL_MAX) at *@n, dropping what does not fit. */
static void put_c(char *dst, size_t *n, char c)
{
	if (*n + 1 < OSREL_MAX)
		dst[(*n)++] = c;
}

/*
 * Unquotes the value in [@p, @end) shell-style into @dst. Stops at an
 * unquoted blank (what follows is a comment or junk). An unterminated
 * quote keeps what it holds.
 */
static void osrel_value(const char *p, const char *end, char *dst)
{
	size_t n = 0;

	while (p < end && !is_blank(*p)) {
		char c = *p++;

		if (c == '\'') {
			while (p < end && *p != '\'')
				put_c(dst, &n, *p++);
			if (p < end)
				p++;
		} else if (c == '"') {
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end &&
				    (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
					p++;
				put_c(dst, &n, *p++);
			}
			if (p < end)
				p++;
		} else if (c == '\\') {
			if (p < end)
				put_c(dst, &n, *p++);
		} else {
			put_c(dst, &n, c);
		}
	}
	dst[n] = 0;
}

int osrel_parse(const char *text, size_t len, struct osrel *out)
{
	size_t pos = 0;
	bool found = false;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		size_t eol = pos, end, k, ks;

		while (eol < len && text[eol] != '\n')
			eol++;
		end = pos;
		while (end < eol && text[end])
			end++;
		k = pos;
		pos = eol + 1;
		while (k < end && is_blank(text[k]))
			k++;
		if (k == end || text[k] == '#' || !shell_name_char(text[k], true))
			continue;
		ks = k;
		while (k < end && shell_name_char(text[k], false))
			k++;
		if (k == end || text[k] != '=')
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(osrel_keys); i++) {
			if (strlen(osrel_keys[i].name) != k - ks ||
			    memcmp(osrel_keys[i].name, text + ks, k - ks))
				continue;
			osrel_value(text + k + 1, text + end, (char *)out + osrel_keys[i].off);
			found = true;
			break;
		}
	}
	return found ? 0 : -EINVAL;
}

/* --- grubenv -------------------------------------------------------------- */

static const char grubenv_header[] = "# GRUB Environment Block\n";

int grubenv_parse(const char *text, size_t len, struct grubenv *out)
{
	size_t hl = sizeof(grubenv_header) - 1, pos;

	memset(out, 0, sizeof(*out));
	if (len < hl || memcmp(text, grubenv_header, hl))
		return -EINVAL;
	pos = hl;
	while (pos < len && text[pos]) {
		size_t ns = pos, ne, vn = 0;
		char value[GRUBENV_VALUE_MAX];
		unsigned i;

		if (text[pos] == '#' || text[pos] == '\n') {
			/* padding or a comment: to the end of the line */
			while (pos < len && text[pos] != '\n')
				pos++;
			pos++;
			continue;
		}
		while (pos < len && text[pos] && text[pos] != '=' && text[pos] != '\n')
			pos++;
		ne = pos;
		if (pos >= len || text[pos] != '=') {
			/* not an assignment: skip the line */
			while (pos < len && text[pos] != '\n')
				pos++;
			pos++;
			continue;
		}
		pos++;
		while (pos < len && text[pos] && text[pos] != '\n') {
			char c = text[pos++];

			if (c == '\\' && pos < len && text[pos])
				c = text[pos++];
			if (vn + 1 < sizeof(value))
				value[vn++] = c;
		}
		value[vn] = 0;
		pos++;
		if (ne == ns || ne - ns >= GRUBENV_NAME_MAX) {
			out->dropped++;
			continue;
		}
		for (i = 0; i < out->nvars; i++)
			if (strlen(out->vars[i].name) == ne - ns &&
			    !memcmp(out->vars[i].name, text + ns, ne - ns))
				break;
		if (i == out->nvars) {
			if (out->nvars == GRUBENV_MAX_VARS) {
				out->dropped++;
				continue;
			}
			out->nvars++;
			copy_str(out->vars[i].name, GRUBENV_NAME_MAX, text + ns, ne - ns);
		}
		memcpy(out->vars[i].value, value, vn + 1);
	}
	return 0;
}

const char *grubenv_get(const struct grubenv *env, const char *name)
{
	for (unsigned i = 0; i < env->nvars; i++)
		if (!strcmp(env->vars[i].name, name))
			return env->vars[i].value;
	return NULL;
}
