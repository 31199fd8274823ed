/*
 * tui: the boot menu's screen (as text and as VT100) and its keys.
 */
#include <stdlib.h>

#include "test.h"
#include "tui.h"
#include "util.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)

static char screen[1 << 16];

static void row(struct tui_model *m, unsigned i, const char *label, const char *kind,
		const char *where, enum tui_state state, const char *detail)
{
	struct tui_row *r = &m->rows[i];

	snprintf(r->label, sizeof(r->label), "%s", label);
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->where, sizeof(r->where), "%s", where);
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	r->state = state;
	r->cpus = 2;
	r->memory = GIB;
	if (i >= m->nrows)
		m->nrows = i + 1;
}

/* Debian running, Windows stopped, Fedora failed. */
static struct tui_model *model3(void)
{
	struct tui_model *m = calloc(1, sizeof(*m));

	snprintf(m->title, sizeof(m->title), "polyboot 0.3");
	snprintf(m->info, sizeof(m->info), "4 CPUs, 7.8 GiB, KVM ready");
	m->countdown = -1;
	m->max_cpus = 4;
	m->max_memory = 2 * GIB + 100 * MIB;
	row(m, 0, "Debian GNU/Linux 12 (bookworm)", "grub", "vda1", TUI_RUNNING, "2 CPUs 1.0 GiB");
	row(m, 1, "Windows 11", "windows", "nvme0n1p2", TUI_STOPPED, "");
	row(m, 2, "Fedora Linux 39 (Workstation Edition)", "systemd-boot", "sda3", TUI_FAILED,
	    "crashed (triple fault)");
	return m;
}

static const char *text(struct tui *t, const struct tui_model *m)
{
	size_t n = tui_render_text(t, m, screen, sizeof(screen));

	CHECK_EQ(n, strlen(screen));
	return screen;
}

/* Line @i (0-based) of the last text(), without its '\n'. */
static const char *line(unsigned i)
{
	static char buf[512];
	const char *p = screen, *e;

	while (i-- && (p = strchr(p, '\n')))
		p++;
	if (!p)
		return "(no such line)";
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	snprintf(buf, sizeof(buf), "%.*s", (int)(e - p), p);
	return buf;
}

static unsigned nlines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static struct tui_action acts[64];

static int feed(struct tui *t, struct tui_model *m, const char *keys)
{
	return tui_input(t, m, (const unsigned char *)keys, strlen(keys), acts, ARRAY_SIZE(acts));
}

/* Is the action list exactly @want (kinds only)? */
static bool kinds(int n, const enum tui_action_kind *want, int nwant)
{
	if (n != nwant) {
		printf("  %d actions, want %d:", n, nwant);
		for (int i = 0; i < n; i++)
			printf(" %d", acts[i].kind);
		printf("\n");
		return false;
	}
	for (int i = 0; i < n; i++)
		if (acts[i].kind != want[i]) {
			printf("  action %d is %d, want %d\n", i, acts[i].kind, want[i]);
			return false;
		}
	return true;
}

#define KINDS(n, ...)                                                                      \
	CHECK(kinds((n), (const enum tui_action_kind[]){ __VA_ARGS__ },                     \
		    (int)(sizeof((const enum tui_action_kind[]){ __VA_ARGS__ }) /            \
			  sizeof(enum tui_action_kind))))
#define NO_ACTIONS(n) CHECK_EQ((n), 0)

/*
 * Does @s hold only printable ASCII and whole escape sequences of our
 * own? (ESC [ then ?25l, 0m, 7m, H, 2J, K or <row>;1H.)
 */
static bool only_our_escapes(const char *s)
{
	static const char *const seqs[] = { "\033[?25l", "\033[0m", "\033[7m", "\033[H", "\033[2J", "\033[K" };

	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t i;

		if (c != 0x1b) {
			if (c < 0x20 || c >= 0x7f) {
				printf("  byte %#x in the frame\n", c);
				return false;
			}
			s++;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(seqs); i++)
			if (!strncmp(s, seqs[i], strlen(seqs[i])))
				break;
		if (i < ARRAY_SIZE(seqs)) {
			s += strlen(seqs[i]);
			continue;
		}
		if (s[1] != '[' || s[2] < '1' || s[2] > '9') {
			printf("  unknown sequence \"\\033%.6s\"\n", s + 1);
			return false;
		}
		s += 2;
		while (*s >= '0' && *s <= '9')
			s++;
		if (strncmp(s, ";1H", 3)) {
			printf("  unknown sequence at \"%.6s\"\n", s);
			return false;
		}
		s += 3;
	}
	return true;
}

static unsigned count(const char *s, const char *needle)
{
	unsigned n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

TEST(tui_render_text_three_rows)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	m->rows[1].selected = true;
	text(t, m);
	CHECK_EQ(nlines(screen), 24);
	CHECK_STR(line(0), " polyboot 0.3                                        4 CPUs, 7.8 GiB, KVM ready");
	CHECK_EQ(strlen(line(0)), 79);	/* the last column is the margin */
	CHECK_STR(line(1), "    OS                             Kind         Disk      Status");
	CHECK_STR(line(2), "[ ] Debian GNU/Linux 12 (bookworm) grub         vda1      running 2 CPUs 1.0 GiB");
	CHECK_STR(line(3), "[*] Windows 11                     windows      nvme0n1p2 stopped");
	CHECK_STR(line(4), "[ ] Fedora Linux 39 (Workstation ~ systemd-boot sda3      failed crashed (tripl~");
	CHECK_STR(line(5), "");
	CHECK_STR(line(21), "");
	CHECK_STR(line(22), " Up/Down move  Space select  Enter start  e edit  n native  b power button");
	CHECK_STR(line(23), " x stop  Ctrl-] consoles  s shell  r reboot  p power off");
	CHECK_EQ(tui_cursor(t), 0);

	/* the message box under the list, the countdown over the footer */
	snprintf(m->message, sizeof(m->message), "vda1: no EFI system partition\nsda3: crashed\n");
	m->countdown = 7;
	text(t, m);
	CHECK_STR(line(5), "");
	CHECK_STR(line(6), "+------------------------------------------------------------------------------+");
	CHECK_STR(line(7), "| vda1: no EFI system partition                                                |");
	CHECK_STR(line(8), "| sda3: crashed                                                                |");
	CHECK_STR(line(9), line(6));
	CHECK_STR(line(10), "");
	CHECK_STR(line(21), " Starting the default selection in 7 s (any key to stop)");
	CHECK_STR(line(22), " Up/Down move  Space select  Enter start  e edit  n native  b power button");
	free(m);
	tui_free(t);
}

TEST(tui_render_truncation)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);
	char label[200];

	memset(label, 'L', sizeof(m->rows[0].label) - 1);
	label[sizeof(m->rows[0].label) - 1] = 0;
	row(m, 0, label, "a-very-long-kind-xx", "nvme10n1p12-and-more", TUI_FAILED,
	    "crashed (triple fault) at RIP 0xffffffff81000000 in some kernel");
	memset(m->title, 'T', sizeof(m->title) - 1);
	/* a message line longer than the box, and one line too many for it */
	memset(m->message, 'M', 200);
	for (int i = 0; i < 30; i++)
		strcat(m->message, "\nline");
	text(t, m);
	for (unsigned i = 0; i < 24; i++)
		CHECK(strlen(line(i)) <= 80);
	/* a title that fills the bar leaves no room for the info */
	CHECK_EQ(strlen(line(0)), 80 - 1);
	CHECK(line(0)[78] == '~');
	CHECK_STR(line(2), "[ ] LLLLLLLLLLLLLLLLLLLLLLLLLLLLL~ a-very-long~ nvme10n1~ failed crashed (tripl~");
	/* the list keeps its room; the box says how much it could not show */
	CHECK(strstr(screen, "| MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM~ |") != NULL);
	CHECK(strstr(screen, "more lines)") != NULL);

	/* a wide screen shows it all */
	tui_resize(t, 200, 50);
	text(t, m);
	CHECK(strstr(line(2), label) != NULL);
	CHECK(strstr(line(2), "a-very-long-kind-xx") == NULL);	/* the kind column stays 12 */
	CHECK(strstr(line(2), "failed crashed (triple fault) at RIP 0xffffffff81000000 in some kernel") != NULL);
	CHECK(strstr(line(23), "| line") != NULL);
	CHECK(strstr(screen, "more lines") == NULL);
	CHECK(strstr(screen, " Up/Down move  Space select  Enter start  e edit  n native  b power button"
			     "  x stop  Ctrl-] consoles  s shell  r reboot  p power off\n") != NULL);
	CHECK_EQ(nlines(screen), 50);

	/* sizes are clamped */
	tui_resize(t, 1, 1);
	text(t, m);
	CHECK_EQ(nlines(screen), TUI_MIN_LINES);
	for (unsigned i = 0; i < TUI_MIN_LINES; i++)
		CHECK(strlen(line(i)) <= TUI_MIN_COLS);
	tui_resize(t, 100000, 100000);
	text(t, m);
	CHECK_EQ(nlines(screen), TUI_MAX_LINES);
	free(m);
	tui_free(t);
}

TEST(tui_hostile_labels)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);
	static char frame[1 << 16];
	size_t n;

	row(m, 0, "\033[2J\033]0;owned\a\x9b" "31m\r\n\b\x7f\xff\xc3\xa9", "\033[1m", "\x1b" "c",
	    TUI_RUNNING, "\033[?1049h");
	snprintf(m->title, sizeof(m->title), "\033[5mtitle");
	snprintf(m->info, sizeof(m->info), "\x9b" "2J");
	snprintf(m->message, sizeof(m->message), "bad \033[31mmessage\ttab\n\033P");
	n = tui_render(t, m, frame, sizeof(frame));
	CHECK_EQ(n, strlen(frame));
	CHECK(only_our_escapes(frame));
	CHECK_EQ(count(frame, "\033[2J"), 1);
	CHECK_EQ(count(frame, "\033"), count(frame, "\033["));

	text(t, m);
	CHECK(strchr(screen, '\033') == NULL);
	for (const char *p = screen; *p; p++)
		CHECK(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
	CHECK_STR(line(2), "[ ] ?[2J?]0;owned??31m???????      ?[1m         ?c        running ?[?1049h");
	CHECK(strstr(line(0), " ?[5mtitle ") == line(0));
	CHECK(strstr(screen, "| bad ?[31mmessage tab ") != NULL);
	CHECK(strstr(screen, "| ?P ") != NULL);
	free(m);
	tui_free(t);
}

TEST(tui_render_vt100)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);
	static char frame[1 << 16], small[1 << 16];
	size_t n, full;

	full = tui_render(t, m, frame, sizeof(frame));
	CHECK(full < TUI_FRAME_MAX(80, 24));
	CHECK(!strncmp(frame, "\033[?25l\033[0m\033[H\033[2J\033[1;1H\033[K\033[7m polyboot 0.3 ", 36));
	CHECK(strstr(frame, "KVM ready \033[0m\033[2;1H\033[K    OS ") != NULL);
	/* the cursor row in reverse video, to the last column */
	CHECK(strstr(frame, "\033[3;1H\033[K\033[7m[ ] Debian GNU/Linux 12 (bookworm) grub ") != NULL);
	CHECK(strstr(frame, "running 2 CPUs 1.0 GiB\033[0m\033[4;1H\033[K[ ] Windows 11 ") != NULL);
	CHECK(strstr(frame, "\033[24;1H\033[K x stop  Ctrl-] consoles") != NULL);
	CHECK(!strcmp(frame + full - 4, "\033[0m"));
	CHECK(only_our_escapes(frame));

	/* every short buffer: NUL-terminated, cut between sequences */
	for (size_t len = 0; len <= full + 1; len++) {
		memset(small, 'X', len + 1);
		n = tui_render(t, m, small, len);
		if (len == 0) {
			CHECK_EQ(n, 0);
			CHECK(small[0] == 'X');
			continue;
		}
		CHECK(n < len);
		CHECK_EQ(strlen(small), n);
		CHECK(only_our_escapes(small));
		CHECK(!strncmp(small, frame, n > 4 ? n - 4 : 0));
		if (len == full + 1)
			CHECK_STR(small, frame);
	}

	/* the largest frame fits TUI_FRAME_MAX: every row selected, editor open */
	tui_resize(t, TUI_MAX_COLS, TUI_MAX_LINES);
	for (unsigned i = 0; i < TUI_MAX_ROWS; i++)
		row(m, i, "x", "grub", "vda", TUI_STOPPED, "");
	memset(m->message, 'm', sizeof(m->message) - 1);
	m->countdown = 5;
	feed(t, m, "e");
	n = tui_render(t, m, frame, sizeof(frame));
	CHECK(n < TUI_FRAME_MAX(TUI_MAX_COLS, TUI_MAX_LINES));
	CHECK(n < sizeof(frame) - 1);
	free(m);
	tui_free(t);
}

TEST(tui_keys_move)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	KINDS(feed(t, m, "j"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 1);
	KINDS(feed(t, m, "k"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 0);
	NO_ACTIONS(feed(t, m, "k"));		/* already at the top: nothing changed */
	CHECK_EQ(tui_cursor(t), 0);
	KINDS(feed(t, m, "\x0e\x0e\x0e"), TUI_REDRAW);	/* Ctrl-N: one redraw for all */
	CHECK_EQ(tui_cursor(t), 2);
	feed(t, m, "\x10");			/* Ctrl-P */
	CHECK_EQ(tui_cursor(t), 1);
	feed(t, m, "\033[A");
	CHECK_EQ(tui_cursor(t), 0);
	feed(t, m, "\033[B");
	CHECK_EQ(tui_cursor(t), 1);
	feed(t, m, "\033OA");
	CHECK_EQ(tui_cursor(t), 0);
	feed(t, m, "\033OB\033OB");
	CHECK_EQ(tui_cursor(t), 2);
	feed(t, m, "\033[1;5A");			/* with a modifier */
	CHECK_EQ(tui_cursor(t), 1);

	/* Home and End in their spellings */
	static const char *const home[] = { "\033[H", "\033OH", "\033[1~", "\033[7~" };
	static const char *const end[] = { "\033[F", "\033OF", "\033[4~", "\033[8~" };
	for (size_t i = 0; i < ARRAY_SIZE(home); i++) {
		feed(t, m, end[i]);
		CHECK_EQ(tui_cursor(t), 2);
		feed(t, m, home[i]);
		CHECK_EQ(tui_cursor(t), 0);
	}

	/* a sequence split across calls after ESC [ or ESC O */
	NO_ACTIONS(feed(t, m, "\033["));
	KINDS(feed(t, m, "B"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 1);
	NO_ACTIONS(feed(t, m, "\033O"));
	KINDS(feed(t, m, "A"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 0);
	NO_ACTIONS(feed(t, m, "\033[1;"));
	NO_ACTIONS(feed(t, m, "5"));
	KINDS(feed(t, m, "B"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 1);
	/* then one byte at a time */
	feed(t, m, "\033[");
	for (const char *p = "1;2B"; *p; p++)
		tui_input(t, m, (const unsigned char *)p, 1, acts, ARRAY_SIZE(acts));
	CHECK_EQ(tui_cursor(t), 2);
	/* split after the ESC: an Esc key, then '[' and 'A' do nothing */
	NO_ACTIONS(feed(t, m, "\033"));
	NO_ACTIONS(feed(t, m, "[A"));
	CHECK_EQ(tui_cursor(t), 2);
	/* nor does an upper-case letter act ("ESC" "[B" must not press 'b') */
	NO_ACTIONS(feed(t, m, "[B"));

	/* unknown keys and bytes */
	NO_ACTIONS(feed(t, m, "zZ?\x01\x7f\x80\xff\033[5;9X\033[99~\033OQ\033[200~"));
	CHECK_EQ(tui_cursor(t), 2);
	/* a control byte ends a sequence and counts on its own */
	feed(t, m, "\033[1\x10");
	CHECK_EQ(tui_cursor(t), 1);
	/* Ctrl-L asks for a redraw */
	KINDS(feed(t, m, "\x0c"), TUI_REDRAW);

	/* no rows: nothing moves, nothing starts */
	m->nrows = 0;
	NO_ACTIONS(feed(t, m, "jk\r \033[F"));
	CHECK_EQ(tui_cursor(t), 0);
	text(t, m);
	CHECK_STR(line(2), "    (no operating systems found)");
	free(m);
	tui_free(t);
}

TEST(tui_keys_select_start)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	/* Space: only stopped and failed rows */
	NO_ACTIONS(feed(t, m, " "));
	CHECK(!m->rows[0].selected);
	KINDS(feed(t, m, "j "), TUI_REDRAW);
	CHECK(m->rows[1].selected);
	KINDS(feed(t, m, " "), TUI_REDRAW);
	CHECK(!m->rows[1].selected);
	m->rows[0].state = TUI_STOPPING;
	feed(t, m, "k ");
	CHECK(!m->rows[0].selected);
	m->rows[0].state = TUI_STARTING;
	feed(t, m, " ");
	CHECK(!m->rows[0].selected);
	m->rows[0].state = TUI_RUNNING;

	/* Enter on a running row with nothing selected: nothing */
	NO_ACTIONS(feed(t, m, "\r"));
	/* Enter with nothing selected starts the cursor row */
	feed(t, m, "j");
	KINDS(feed(t, m, "\r"), TUI_START);
	CHECK_EQ(acts[0].row, 1);
	/* CR, LF and CRLF are one Enter each, even split */
	NO_ACTIONS(feed(t, m, "\n"));		/* the LF of a CRLF split across calls */
	KINDS(feed(t, m, "\r\n"), TUI_START);
	KINDS(feed(t, m, "\n"), TUI_START);
	KINDS(feed(t, m, "\r\r"), TUI_START, TUI_START);
	KINDS(feed(t, m, "\r\n\r\n"), TUI_START, TUI_START);
	KINDS(feed(t, m, "\n\n"), TUI_START, TUI_START);
	KINDS(feed(t, m, "\033OM"), TUI_START);	/* keypad Enter */

	/* with rows selected Enter starts them: row -1 */
	feed(t, m, "j ");
	CHECK(m->rows[2].selected);
	feed(t, m, "k");
	KINDS(feed(t, m, "\r\n"), TUI_START);
	CHECK_EQ(acts[0].row, -1);
	feed(t, m, "kk");
	KINDS(feed(t, m, "\r"), TUI_START);	/* even from a running row */
	CHECK_EQ(acts[0].row, -1);

	/* the mark on the screen */
	text(t, m);
	CHECK(!strncmp(line(4), "[*] Fedora", 10));
	CHECK(!strncmp(line(3), "[ ] Windows", 11));
	free(m);
	tui_free(t);
}

TEST(tui_keys_commands)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	/* n: only where the row can boot natively */
	NO_ACTIONS(feed(t, m, "n"));
	m->rows[1].can_native = true;
	feed(t, m, "j");
	KINDS(feed(t, m, "n"), TUI_NATIVE);
	CHECK_EQ(acts[0].row, 1);
	/* x: only a row with a VM */
	NO_ACTIONS(feed(t, m, "x"));
	feed(t, m, "k");
	KINDS(feed(t, m, "x"), TUI_STOP);
	CHECK_EQ(acts[0].row, 0);
	m->rows[0].state = TUI_STOPPING;		/* stuck shutting down */
	KINDS(feed(t, m, "x"), TUI_STOP);
	/* b: only when some VM runs */
	KINDS(feed(t, m, "b"), TUI_POWERBUTTON);
	m->rows[0].state = TUI_STOPPED;
	NO_ACTIONS(feed(t, m, "b"));
	NO_ACTIONS(feed(t, m, "x"));
	KINDS(feed(t, m, "s"), TUI_SHELL);
	/* r and p act at once when no VM runs */
	KINDS(feed(t, m, "r"), TUI_REBOOT);
	KINDS(feed(t, m, "p"), TUI_POWEROFF);
	/* upper case is not a command */
	NO_ACTIONS(feed(t, m, "NXBSRPEJK"));
	CHECK_EQ(tui_cursor(t), 0);
	/* fewer slots than actions: the rest are dropped */
	CHECK_EQ(tui_input(t, m, (const unsigned char *)"ssss", 4, acts, 2), 2);
	CHECK_EQ(tui_input(t, m, (const unsigned char *)"j", 1, acts, 0), 0);
	CHECK_EQ(tui_cursor(t), 1);
	CHECK_EQ(tui_input(t, m, (const unsigned char *)"j", 1, NULL, 5), 0);
	CHECK_EQ(tui_cursor(t), 2);
	free(m);
	tui_free(t);
}

TEST(tui_confirm_poweroff_reboot)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	/* one VM running: p asks, a second p powers off */
	KINDS(feed(t, m, "p"), TUI_REDRAW);
	text(t, m);
	CHECK_STR(line(23), " 1 VM is running: press p again to power off, any other key cancels");
	KINDS(feed(t, m, "p"), TUI_POWEROFF, TUI_REDRAW);
	text(t, m);
	CHECK_STR(line(23), " x stop  Ctrl-] consoles  s shell  r reboot  p power off");

	/* any other key cancels, and does nothing else */
	feed(t, m, "p");
	KINDS(feed(t, m, "j"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 0);
	feed(t, m, "p");
	KINDS(feed(t, m, "r"), TUI_REDRAW);
	KINDS(feed(t, m, "r"), TUI_REDRAW);	/* asks again, for r */
	KINDS(feed(t, m, "\r"), TUI_REDRAW);	/* and Enter cancels, it does not start */

	/* two running: r asks with the count */
	m->rows[1].state = TUI_RUNNING;
	feed(t, m, "r");
	text(t, m);
	CHECK_STR(line(23), " 2 VMs are running: press r again to reboot, any other key cancels");
	KINDS(feed(t, m, "rp"), TUI_REBOOT, TUI_REDRAW);	/* p after the reboot asks anew */
	KINDS(feed(t, m, "\033"), TUI_REDRAW);		/* Esc cancels */
	text(t, m);
	CHECK(strstr(screen, "again") == NULL);
	free(m);
	tui_free(t);
}

TEST(tui_console_next_everywhere)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	KINDS(feed(t, m, "\x1d"), TUI_CONSOLE_NEXT);
	/* in the editor: it stays open */
	feed(t, m, "je");
	KINDS(feed(t, m, "\x1d"), TUI_CONSOLE_NEXT);
	text(t, m);
	CHECK(strstr(screen, "Resources") != NULL);
	feed(t, m, "\033");
	/* while asking to power off: it cancels the question */
	feed(t, m, "p");
	KINDS(feed(t, m, "\x1d"), TUI_CONSOLE_NEXT, TUI_REDRAW);
	KINDS(feed(t, m, "k"), TUI_REDRAW);	/* the question is gone: k moves */
	CHECK_EQ(tui_cursor(t), 0);
	/* inside a sequence: it ends the sequence and still counts */
	KINDS(feed(t, m, "\033[\x1d"), TUI_CONSOLE_NEXT);
	free(m);
	tui_free(t);
}

TEST(tui_editor)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);
	int n;

	/* not on a running row */
	NO_ACTIONS(feed(t, m, "e"));
	KINDS(feed(t, m, "je"), TUI_REDRAW);
	text(t, m);
	CHECK(strstr(screen, "+- Resources ----") != NULL);
	CHECK(strstr(screen, "| Windows 11 ") != NULL);
	CHECK(strstr(screen, "| > CPUs     2          1..4 ") != NULL);
	CHECK(strstr(screen, "|   Memory   1 GiB      256 MiB..2148 MiB ") != NULL);
	CHECK_STR(line(22), " Left/Right or -/+ change  Up/Down field  Enter confirm  Esc cancel");

	/* CPUs within 1..max_cpus; the list keys do not reach the menu */
	feed(t, m, "\033[C\033[C\033[C\033[C+");
	text(t, m);
	CHECK(strstr(screen, "> CPUs     4 ") != NULL);
	NO_ACTIONS(feed(t, m, "+"));			/* at the bound: nothing changed */
	feed(t, m, "\033[D-------");
	text(t, m);
	CHECK(strstr(screen, "> CPUs     1 ") != NULL);
	feed(t, m, "+");
	NO_ACTIONS(feed(t, m, "jk xnbsrp"));
	CHECK_EQ(tui_cursor(t), 1);

	/* memory in steps of 256 MiB, 256 MiB..max_memory */
	feed(t, m, "\033[B");
	text(t, m);
	CHECK(strstr(screen, "|   CPUs     2 ") != NULL);
	CHECK(strstr(screen, "| > Memory   1 GiB ") != NULL);
	feed(t, m, "+");
	text(t, m);
	CHECK(strstr(screen, "> Memory   1280 MiB ") != NULL);
	feed(t, m, "++++");
	text(t, m);
	CHECK(strstr(screen, "> Memory   2148 MiB ") != NULL);	/* the bound, not a step */
	feed(t, m, "-");
	text(t, m);
	CHECK(strstr(screen, "> Memory   2 GiB ") != NULL);
	feed(t, m, "\033OD\033OD\033OD\033OD\033OD\033OD\033OD\033OD\033OD");
	text(t, m);
	CHECK(strstr(screen, "> Memory   256 MiB ") != NULL);
	feed(t, m, "\033OC\033OC\033OC");
	/* split sequences work in the editor too */
	feed(t, m, "\033[");
	feed(t, m, "A");
	text(t, m);
	CHECK(strstr(screen, "> CPUs     2 ") != NULL);

	/* Enter: the new resources, in the model too; the editor closes */
	n = feed(t, m, "\r\n");
	KINDS(n, TUI_EDITED, TUI_REDRAW);
	CHECK_EQ(acts[0].row, 1);
	CHECK_EQ(acts[0].cpus, 2);
	CHECK_EQ(acts[0].memory, GIB);
	CHECK_EQ(m->rows[1].cpus, 2);
	CHECK_EQ(m->rows[1].memory, GIB);
	text(t, m);
	CHECK(strstr(screen, "Resources") == NULL);
	KINDS(feed(t, m, "\r"), TUI_START);		/* back to the menu */

	/* Esc cancels: a lone ESC at the end of a call */
	feed(t, m, "e+\033[B+");
	KINDS(feed(t, m, "\033"), TUI_REDRAW);
	CHECK_EQ(m->rows[1].cpus, 2);
	CHECK_EQ(m->rows[1].memory, GIB);
	text(t, m);
	CHECK(strstr(screen, "Resources") == NULL);
	/* ... or ESC and another byte: the byte then counts in the menu */
	feed(t, m, "e");
	KINDS(feed(t, m, "\033j"), TUI_REDRAW);
	CHECK_EQ(tui_cursor(t), 2);
	CHECK(strstr(text(t, m), "Resources") == NULL);

	/* odd starting values are brought into the bounds */
	m->rows[2].cpus = 0;
	m->rows[2].memory = 100 * GIB + 1;
	feed(t, m, "e\r");
	CHECK_EQ(acts[0].kind, TUI_EDITED);
	CHECK_EQ(acts[0].cpus, 1);
	CHECK_EQ(acts[0].memory, m->max_memory);
	/* no bounds in the model: the row's own values are the maximum */
	m->max_cpus = 0;
	m->max_memory = 0;
	m->rows[2].cpus = 3;
	m->rows[2].memory = 3 * GIB;
	feed(t, m, "e++\033[B++\r");
	CHECK_EQ(acts[0].cpus, 3);
	CHECK_EQ(acts[0].memory, 3 * GIB);
	feed(t, m, "e-\033[B-\r");
	CHECK_EQ(acts[0].cpus, 2);
	CHECK_EQ(acts[0].memory, 3 * GIB - 256 * MIB);

	/* the row goes away while editing: the editor closes */
	feed(t, m, "e");
	m->nrows = 2;
	text(t, m);
	CHECK(strstr(screen, "Resources") == NULL);
	CHECK_EQ(tui_cursor(t), 1);
	free(m);
	tui_free(t);
}

TEST(tui_countdown)
{
	struct tui_model *m = model3();
	struct tui *t = tui_new(80, 24);

	m->countdown = 5;
	text(t, m);
	CHECK_STR(line(21), " Starting the default selection in 5 s (any key to stop)");
	/* the key stops it, then acts */
	KINDS(feed(t, m, "j"), TUI_CANCEL_COUNTDOWN, TUI_REDRAW);
	CHECK_EQ(m->countdown, -1);
	CHECK_EQ(tui_cursor(t), 1);
	text(t, m);
	CHECK(strstr(screen, "Starting the default") == NULL);
	/* only once */
	KINDS(feed(t, m, "j"), TUI_REDRAW);

	m->countdown = 3;
	KINDS(feed(t, m, "k\r"), TUI_CANCEL_COUNTDOWN, TUI_START, TUI_REDRAW);
	m->countdown = 3;
	KINDS(feed(t, m, "\033[A"), TUI_CANCEL_COUNTDOWN, TUI_REDRAW);
	m->countdown = 3;
	KINDS(feed(t, m, "\033"), TUI_CANCEL_COUNTDOWN, TUI_REDRAW);
	m->countdown = 3;
	KINDS(feed(t, m, "\xfe"), TUI_CANCEL_COUNTDOWN, TUI_REDRAW);	/* any key */
	m->countdown = 3;
	NO_ACTIONS(feed(t, m, ""));
	NO_ACTIONS(feed(t, m, "\0"));				/* line noise is no key */
	CHECK_EQ(m->countdown, 3);
	/* a started sequence stops it when it ends */
	NO_ACTIONS(feed(t, m, "\033["));
	KINDS(feed(t, m, "B"), TUI_CANCEL_COUNTDOWN, TUI_REDRAW);
	free(m);
	tui_free(t);
}

TEST(tui_scroll)
{
	struct tui_model *m = calloc(1, sizeof(*m));
	struct tui *t = tui_new(80, 24);
	char label[32];
	unsigned first = 0, last = 0, shown = 0;

	snprintf(m->title, sizeof(m->title), "polyboot");
	m->countdown = -1;
	for (unsigned i = 0; i < 40; i++) {
		snprintf(label, sizeof(label), "OS number %02u", i);
		row(m, i, label, "grub", "vda", TUI_STOPPED, "");
	}
	text(t, m);
	/* 24 lines: title, header, 20 rows, 2 lines of footer */
	for (unsigned i = 0; i < 24; i++)
		if (strstr(line(i), "OS number")) {
			if (!shown++)
				first = i;
			last = i;
		}
	CHECK_EQ(shown, 20);
	CHECK_EQ(first, 2);
	CHECK_EQ(last, 21);
	CHECK(strstr(line(2), "OS number 00") != NULL);
	CHECK(strstr(line(1), "Status      1-20 of 40") != NULL);

	/* the cursor stays in view */
	feed(t, m, "\033[F");
	CHECK_EQ(tui_cursor(t), 39);
	text(t, m);
	CHECK(strstr(line(21), "OS number 39") != NULL);
	CHECK(strstr(line(2), "OS number 20") != NULL);
	CHECK(strstr(screen, "OS number 19") == NULL);
	CHECK(strstr(line(1), "21-40 of 40") != NULL);
	for (int i = 0; i < 25; i++)
		feed(t, m, "k");
	CHECK_EQ(tui_cursor(t), 14);
	text(t, m);
	CHECK(strstr(line(2), "OS number 14") != NULL);
	feed(t, m, "j");
	text(t, m);
	CHECK(strstr(line(2), "OS number 14") != NULL);	/* no scroll while in view */
	/* PgDn / PgUp: a page of 20 */
	feed(t, m, "\033[6~");
	CHECK_EQ(tui_cursor(t), 35);
	feed(t, m, "\033[6~");
	CHECK_EQ(tui_cursor(t), 39);
	feed(t, m, "\033[5~\033[5~");
	CHECK_EQ(tui_cursor(t), 0);
	text(t, m);
	CHECK(strstr(line(2), "OS number 00") != NULL);

	/* a message takes room from the list, at most half */
	feed(t, m, "\033[F");
	snprintf(m->message, sizeof(m->message), "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
		 "eleven\ntwelve");
	text(t, m);
	CHECK(strstr(line(11), "OS number 39") != NULL);	/* 10 rows */
	CHECK_STR(line(12), "+------------------------------------------------------------------------------+");
	CHECK(strstr(screen, "| one ") != NULL);
	CHECK(strstr(screen, "| seven ") != NULL);
	CHECK(strstr(screen, "| eight ") == NULL);
	CHECK(strstr(screen, "| (5 more lines) ") != NULL);
	CHECK_STR(line(21), line(12));

	/* rows going away: the cursor follows */
	m->nrows = 5;
	text(t, m);
	CHECK_EQ(tui_cursor(t), 4);
	CHECK(strstr(line(2), "OS number 00") != NULL);
	m->nrows = 1000;				/* more than TUI_MAX_ROWS */
	feed(t, m, "\033[F");
	CHECK_EQ(tui_cursor(t), TUI_MAX_ROWS - 1);
	tui_set_cursor(t, 3);
	CHECK_EQ(tui_cursor(t), 3);
	free(m);
	tui_free(t);
}
