/*
 * The boot menu (see tui.h). A frame is drawn into a grid of cells (a byte
 * and a reverse-video bit each), then written out as VT100 or plain text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "util.h"

enum { ESC_NONE, ESC_ESC, ESC_CSI, ESC_SS3 };

/* Keys other than plain bytes. */
enum {
	K_UP = 0x100, K_DOWN, K_LEFT, K_RIGHT, K_HOME, K_END, K_PGUP, K_PGDN,
	K_ENTER, K_ESC, K_BACKTAB, K_UNKNOWN,
};

#define CTRL(c)		((c) & 0x1f)
#define KEY_CONSOLE	0x1d	/* Ctrl-] */
#define CSI_PARAM_MAX	9999

struct tui {
	unsigned cols, lines;
	int cursor;		/* row of the model */
	int top;		/* first row shown */

	/* input */
	int esc;		/* ESC_*: where in an escape sequence */
	unsigned csi_param;	/* its first numeric parameter */
	bool csi_param_done;	/* past the first ';' */
	bool last_cr;		/* the last byte was CR: a LF after it is not a key */
	char confirm;		/* 'r' or 'p' while asking again, else 0 */

	/* the resource editor */
	bool editing;
	unsigned edit_row;
	unsigned edit_field;	/* 0 CPUs, 1 memory */
	unsigned edit_cpus;
	uint64_t edit_memory;

	/* the frame being drawn */
	char cell[TUI_MAX_LINES][TUI_MAX_COLS];
	bool rev[TUI_MAX_LINES][TUI_MAX_COLS];
	unsigned used[TUI_MAX_LINES];	/* cells drawn on each line: past them all blank */
};

/* Where things go on the screen for the current model and mode. */
struct layout {
	unsigned list_y, list_h;	/* the OS lines */
	unsigned box_y, box_h;		/* the message box with its borders; 0 lines: none */
	unsigned count_y;		/* the countdown line, if any */
	unsigned foot_y, foot_h;	/* the key help */
	unsigned label_x, label_w, kind_x, kind_w, where_x, where_w, status_x, status_w;
};

static const char *const state_words[] = {
	[TUI_STOPPED] = "stopped",
	[TUI_STARTING] = "starting",
	[TUI_RUNNING] = "running",
	[TUI_STOPPING] = "stopping",
	[TUI_FAILED] = "failed",
};

static const char *const help_menu[] = {
	"Up/Down move", "Space select", "Enter start", "e edit", "n native",
	"b power button", "x stop", "Ctrl-] consoles", "s shell", "r reboot",
	"p power off",
};

static const char *const help_editor[] = {
	"Left/Right or -/+ change", "Up/Down field", "Enter confirm", "Esc cancel",
	"Ctrl-] consoles",
};

static unsigned nrows_of(const struct tui_model *m)
{
	return MIN(m->nrows, (unsigned)TUI_MAX_ROWS);
}

static bool startable(const struct tui_row *r)
{
	return r->state == TUI_STOPPED || r->state == TUI_FAILED;
}

/* Has a VM (starting, running or shutting down). */
static bool live(const struct tui_row *r)
{
	return r->state == TUI_STARTING || r->state == TUI_RUNNING || r->state == TUI_STOPPING;
}

static unsigned nlive(const struct tui_model *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nrows_of(m); i++)
		n += live(&m->rows[i]);
	return n;
}

/* Keeps the cursor and the editor on rows that exist. */
static void clamp(struct tui *t, const struct tui_model *m)
{
	unsigned n = nrows_of(m);

	if (t->cursor >= (int)n)
		t->cursor = n ? (int)n - 1 : 0;
	if (t->cursor < 0)
		t->cursor = 0;
	if (t->editing && t->edit_row >= n)
		t->editing = false;
}

struct tui *tui_new(unsigned cols, unsigned lines)
{
	struct tui *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	tui_resize(t, cols, lines);
	return t;
}

void tui_free(struct tui *t)
{
	free(t);
}

void tui_resize(struct tui *t, unsigned cols, unsigned lines)
{
	t->cols = MIN(MAX(cols, (unsigned)TUI_MIN_COLS), (unsigned)TUI_MAX_COLS);
	t->lines = MIN(MAX(lines, (unsigned)TUI_MIN_LINES), (unsigned)TUI_MAX_LINES);
}

int tui_cursor(const struct tui *t)
{
	return t->cursor;
}

void tui_set_cursor(struct tui *t, int row)
{
	t->cursor = row < 0 ? 0 : row;
}

/* --- drawing into the grid ------------------------------------------------------ */

static void clear_grid(struct tui *t)
{
	for (unsigned y = 0; y < t->lines; y++) {
		memset(t->cell[y], ' ', t->cols);
		memset(t->rev[y], 0, t->cols);
		t->used[y] = 0;
	}
}

static char safe_char(unsigned char c)
{
	if (c == '\t')
		return ' ';
	if (c < 0x20 || c >= 0x7f)
		return '?';
	return (char)c;
}

/*
 * Draws at most @maxlen bytes of @s (up to its NUL) at @y, @x in at most @w
 * cells: a longer string ends in '~'. Returns the cells used.
 */
static unsigned put(struct tui *t, unsigned y, unsigned x, const char *s, size_t maxlen, unsigned w)
{
	size_t n = strnlen(s, maxlen);
	bool cut;

	if (y >= t->lines || x >= t->cols)
		return 0;
	w = MIN(w, t->cols - x);
	cut = n > w;
	n = MIN(n, (size_t)w);
	for (size_t i = 0; i < n; i++)
		t->cell[y][x + i] = cut && i == n - 1 ? '~' : safe_char((unsigned char)s[i]);
	t->used[y] = MAX(t->used[y], x + (unsigned)n);
	return (unsigned)n;
}

static unsigned puts_at(struct tui *t, unsigned y, unsigned x, const char *s, unsigned w)
{
	return put(t, y, x, s, strlen(s), w);
}

static void fill(struct tui *t, unsigned y, unsigned x, unsigned w, char c, bool rev)
{
	if (y >= t->lines || x >= t->cols)
		return;
	w = MIN(w, t->cols - x);
	memset(&t->cell[y][x], c, w);
	memset(&t->rev[y][x], rev, w);
	t->used[y] = MAX(t->used[y], x + w);
}

/* A line of a box: @edge at both ends, @mid between. */
static void box_line(struct tui *t, unsigned y, unsigned x, unsigned w, char edge, char mid)
{
	fill(t, y, x, w, edge, false);
	if (w > 2)
		fill(t, y, x + 1, w - 2, mid, false);
}

static void set_rev(struct tui *t, unsigned y, unsigned x, unsigned w)
{
	if (y >= t->lines || x >= t->cols)
		return;
	w = MIN(w, t->cols - x);
	memset(&t->rev[y][x], 1, w);
	t->used[y] = MAX(t->used[y], x + w);
}

/* "2 GiB", or "1280 MiB" when not whole GiB. */
static void fmt_mem(char *buf, size_t len, uint64_t bytes)
{
	if (bytes && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
}

/* Lines of the message (a trailing '\n' ends the last line, it adds none). */
static unsigned msg_lines(const struct tui_model *m)
{
	size_t n = strnlen(m->message, sizeof(m->message));
	unsigned lines = 0;

	for (size_t i = 0; i < n; i++)
		if (m->message[i] == '\n' || i == n - 1)
			lines++;
	return lines;
}

/*
 * The key help for the current mode, items wrapped onto lines of the
 * width; draws it from @y when @draw, at most @maxh lines. Returns the
 * lines it needs.
 */
static unsigned footer(struct tui *t, const struct tui_model *m, unsigned y, unsigned maxh, bool draw)
{
	const char *const *items = help_menu;
	unsigned nitems = ARRAY_SIZE(help_menu), w = t->cols - 2, line = 0, x = 0;
	char prompt[128];
	const char *one[1];

	if (t->confirm) {
		unsigned n = nlive(m);

		snprintf(prompt, sizeof(prompt), "%u VM%s running: press %c again to %s, any other key cancels",
			 n, n == 1 ? " is" : "s are", t->confirm,
			 t->confirm == 'p' ? "power off" : "reboot");
		one[0] = prompt;
		items = one;
		nitems = 1;
	} else if (t->editing) {
		items = help_editor;
		nitems = ARRAY_SIZE(help_editor);
	}
	for (unsigned i = 0; i < nitems; i++) {
		unsigned len = (unsigned)strlen(items[i]);

		if (x && x + 2 + len > w) {
			line++;
			x = 0;
		}
		if (x)
			x += 2;
		if (draw && line < maxh)
			puts_at(t, y + line, 1 + x, items[i], w - x);
		x += len;
	}
	return line + 1;
}

static void get_layout(struct tui *t, const struct tui_model *m, struct layout *l)
{
	unsigned need = MAX(nrows_of(m), 1u), nmsg = msg_lines(m), avail, box, list_min, rem;

	memset(l, 0, sizeof(*l));
	l->foot_h = MIN(footer(t, m, 0, 0, false), MAX(t->lines / 4, 1u));
	l->foot_y = t->lines - l->foot_h;
	avail = l->foot_y - 2;
	if (m->countdown >= 0) {
		l->count_y = l->foot_y - 1;
		avail--;
	}

	/* the list keeps at least half the room (or all it needs) */
	box = nmsg ? nmsg + 2 : 0;
	list_min = MIN(need, MAX(avail / 2, 1u));
	if (box > avail - list_min)
		box = avail - list_min;
	if (box < 3)
		box = 0;
	l->list_y = 2;
	l->list_h = MIN(need, avail - box);
	l->box_h = box;
	l->box_y = l->list_y + l->list_h + (avail - box > l->list_h ? 1 : 0);

	/* columns: mark, label, kind, disk, status; kind and disk when wide enough */
	l->label_x = 4;
	if (t->cols >= 60) {
		l->kind_w = 12;
		l->where_w = 9;
		rem = t->cols - l->label_x - 3 - l->kind_w - l->where_w;
	} else {
		rem = t->cols - l->label_x - 1;
	}
	l->status_w = rem * 22 / 52;
	l->label_w = rem - l->status_w;
	l->kind_x = l->label_x + l->label_w + 1;
	l->where_x = l->kind_x + (l->kind_w ? l->kind_w + 1 : 0);
	l->status_x = l->where_x + (l->where_w ? l->where_w + 1 : 0);
}

/* Scrolls so that the cursor row is shown and no room is wasted. */
static void scroll(struct tui *t, const struct tui_model *m, const struct layout *l)
{
	int n = (int)nrows_of(m), h = (int)l->list_h;

	if (t->cursor < t->top)
		t->top = t->cursor;
	if (t->cursor >= t->top + h)
		t->top = t->cursor - h + 1;
	if (t->top > n - h)
		t->top = n - h;
	if (t->top < 0)
		t->top = 0;
}

static void draw_title(struct tui *t, const struct tui_model *m)
{
	unsigned used, room, n = (unsigned)strnlen(m->info, sizeof(m->info));

	fill(t, 0, 0, t->cols, ' ', true);
	used = put(t, 0, 1, m->title, sizeof(m->title), t->cols - 2);
	/* the info right-aligned, at least two blanks after the title */
	room = t->cols - 2 - used;
	if (room < 2 + 4 || !n)
		return;
	room -= 2;
	n = MIN(n, room);
	put(t, 0, t->cols - 1 - n, m->info, sizeof(m->info), n);
}

static void draw_header(struct tui *t, const struct tui_model *m, const struct layout *l)
{
	unsigned n = nrows_of(m);
	char buf[48];
	int len;

	puts_at(t, 1, l->label_x, "OS", l->label_w);
	if (l->kind_w)
		puts_at(t, 1, l->kind_x, "Kind", l->kind_w);
	if (l->where_w)
		puts_at(t, 1, l->where_x, "Disk", l->where_w);
	puts_at(t, 1, l->status_x, "Status", l->status_w);
	if (n <= l->list_h)
		return;
	len = snprintf(buf, sizeof(buf), "%d-%d of %u", t->top + 1, t->top + (int)l->list_h, n);
	if (len > 0 && l->status_x + 6 + 2 + (unsigned)len <= t->cols)
		puts_at(t, 1, t->cols - (unsigned)len, buf, (unsigned)len);
}

static void draw_rows(struct tui *t, const struct tui_model *m, const struct layout *l)
{
	unsigned n = nrows_of(m);
	char status[96];

	if (!n) {
		puts_at(t, l->list_y, l->label_x, "(no operating systems found)", l->label_w + l->status_w);
		return;
	}
	for (unsigned i = 0; i < l->list_h && t->top + i < n; i++) {
		unsigned r = (unsigned)t->top + i, y = l->list_y + i;
		const struct tui_row *row = &m->rows[r];
		const char *word = (unsigned)row->state < ARRAY_SIZE(state_words) ? state_words[row->state] : "?";
		int dlen = (int)strnlen(row->detail, sizeof(row->detail));

		puts_at(t, y, 0, row->selected ? "[*]" : "[ ]", 3);
		put(t, y, l->label_x, row->label, sizeof(row->label), l->label_w);
		if (l->kind_w)
			put(t, y, l->kind_x, row->kind, sizeof(row->kind), l->kind_w);
		if (l->where_w)
			put(t, y, l->where_x, row->where, sizeof(row->where), l->where_w);
		snprintf(status, sizeof(status), "%s%s%.*s", word, dlen ? " " : "", dlen, row->detail);
		puts_at(t, y, l->status_x, status, l->status_w);
		if ((int)r == t->cursor)
			set_rev(t, y, 0, t->cols);
	}
}

static void draw_message(struct tui *t, const struct tui_model *m, const struct layout *l)
{
	size_t len = strnlen(m->message, sizeof(m->message)), start = 0;
	unsigned shown, nmsg = msg_lines(m), w = t->cols - 4, y = l->box_y;
	char more[48];

	if (!l->box_h)
		return;
	shown = l->box_h - 2;
	box_line(t, y, 0, t->cols, '+', '-');
	for (unsigned i = 0; i < shown; i++) {
		size_t end = start;

		y++;
		box_line(t, y, 0, t->cols, '|', ' ');
		while (end < len && m->message[end] != '\n')
			end++;
		if (i == shown - 1 && nmsg > shown) {
			snprintf(more, sizeof(more), "(%u more lines)", nmsg - shown + 1);
			puts_at(t, y, 2, more, w);
		} else {
			put(t, y, 2, m->message + start, end - start, w);
		}
		start = end + 1;
	}
	box_line(t, y + 1, 0, t->cols, '+', '-');
}

static void edit_bounds(const struct tui_model *m, const struct tui_row *r, unsigned *cmax, uint64_t *mmax)
{
	*cmax = m->max_cpus ? m->max_cpus : MAX(r->cpus, 1u);
	*mmax = m->max_memory ? m->max_memory : r->memory;
	if (*mmax < TUI_MEM_STEP)
		*mmax = TUI_MEM_STEP;
}

static void draw_editor(struct tui *t, const struct tui_model *m, const struct layout *l)
{
	const struct tui_row *row = &m->rows[t->edit_row];
	unsigned w = MIN(t->cols, 48u), h = 6, x = (t->cols - w) / 2, top = l->list_y, y;
	unsigned bottom = m->countdown >= 0 ? l->count_y : l->foot_y, cmax;
	char val[2][32], range[2][64], lo[24], hi[24];
	static const char *const names[2] = { "CPUs", "Memory" };
	uint64_t mmax;

	/* under the list and the message if there is room, else in the middle */
	y = l->box_h ? l->box_y + l->box_h + 1 : l->list_y + l->list_h + 1;
	if (y + h > bottom)
		y = bottom - top > h ? top + (bottom - top - h) / 2 : 1;
	edit_bounds(m, row, &cmax, &mmax);
	snprintf(val[0], sizeof(val[0]), " %u", t->edit_cpus);
	snprintf(range[0], sizeof(range[0]), "1..%u", cmax);
	fmt_mem(val[1] + 1, sizeof(val[1]) - 1, t->edit_memory);
	val[1][0] = ' ';
	fmt_mem(lo, sizeof(lo), TUI_MEM_STEP);
	fmt_mem(hi, sizeof(hi), mmax);
	snprintf(range[1], sizeof(range[1]), "%s..%s", lo, hi);

	for (unsigned i = 0; i < h; i++) {
		bool border = i == 0 || i == h - 1;

		box_line(t, y + i, x, w, border ? '+' : '|', border ? '-' : ' ');
	}
	puts_at(t, y, x + 2, " Resources ", w - 4);
	put(t, y + 1, x + 2, row->label, sizeof(row->label), w - 4);
	for (unsigned f = 0; f < 2; f++) {
		unsigned fy = y + 3 + f;

		puts_at(t, fy, x + 2, t->edit_field == f ? ">" : " ", 1);
		puts_at(t, fy, x + 4, names[f], 7);
		puts_at(t, fy, x + 12, val[f], MIN(10u, w - 14));
		if (t->edit_field == f)
			set_rev(t, fy, x + 12, MIN(10u, w - 14));
		if (w > 26)
			puts_at(t, fy, x + 24, range[f], w - 26);
	}
}

static void draw(struct tui *t, const struct tui_model *m)
{
	struct layout l;
	char buf[96];

	clamp(t, m);
	get_layout(t, m, &l);
	scroll(t, m, &l);
	clear_grid(t);
	draw_title(t, m);
	draw_header(t, m, &l);
	draw_rows(t, m, &l);
	draw_message(t, m, &l);
	if (m->countdown >= 0) {
		snprintf(buf, sizeof(buf), "Starting the default selection in %d s (any key to stop)",
			 m->countdown);
		puts_at(t, l.count_y, 1, buf, t->cols - 2);
	}
	footer(t, m, l.foot_y, l.foot_h, true);
	if (t->editing)
		draw_editor(t, m, &l);
}

/* --- writing the grid out --------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, pos, lim;
	bool full;
};

/* Appends all @n bytes or none (and nothing after that). */
static void emit(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->lim - o->pos) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
}

static void emit_str(struct out *o, const char *s)
{
	emit(o, s, strlen(s));
}

/* Cells of line @y worth writing: up to the last one not blank (or, unless
 * @text, shown in reverse video). */
static unsigned line_end(const struct tui *t, unsigned y, bool text)
{
	unsigned end = t->used[y];

	while (end && t->cell[y][end - 1] == ' ' && (text || !t->rev[y][end - 1]))
		end--;
	return end;
}

static size_t output(struct tui *t, char *buf, size_t len, bool text)
{
	/* a frame ends in "\033[0m", kept room for */
	size_t reserve = text ? 0 : 4;
	struct out o = { .buf = buf, .len = len };
	char pos[24];

	if (!len)
		return 0;
	o.lim = len - 1 > reserve ? len - 1 - reserve : 0;
	if (!text)
		emit_str(&o, "\033[?25l\033[0m\033[H\033[2J");
	for (unsigned y = 0; y < t->lines; y++) {
		unsigned end = line_end(t, y, text);
		bool rev = false;

		if (!text) {
			/* never the bottom-right cell: some terminals scroll */
			if (y == t->lines - 1)
				end = MIN(end, t->cols - 1);
			snprintf(pos, sizeof(pos), "\033[%u;1H\033[K", y + 1);
			emit_str(&o, pos);
		}
		for (unsigned x = 0, run; x < end; x += run) {
			if (!text && t->rev[y][x] != rev) {
				rev = t->rev[y][x];
				emit_str(&o, rev ? "\033[7m" : "\033[0m");
			}
			/* the cells up to the next change of video, cut to fit */
			run = 1;
			if (text)
				run = end - x;
			else
				while (x + run < end && t->rev[y][x + run] == rev)
					run++;
			if (!o.full && run > o.lim - o.pos)
				run = MAX((unsigned)(o.lim - o.pos), 1u);
			emit(&o, &t->cell[y][x], run);
		}
		if (rev)
			emit_str(&o, "\033[0m");
		if (text)
			emit(&o, "\n", 1);
	}
	if (!text && o.lim) {
		/* the reserve: always room for the final reset */
		o.lim += reserve;
		o.full = false;
		emit_str(&o, "\033[0m");
	}
	buf[o.pos] = 0;
	return o.pos;
}

size_t tui_render(struct tui *t, const struct tui_model *m, char *buf, size_t len)
{
	draw(t, m);
	return output(t, buf, len, false);
}

size_t tui_render_text(struct tui *t, const struct tui_model *m, char *buf, size_t len)
{
	draw(t, m);
	return output(t, buf, len, true);
}

/* --- input ------------------------------------------------------------------------ */

struct acts {
	struct tui_action *out;
	int max, n;
	bool dirty;		/* the screen changed: one TUI_REDRAW at the end */
};

static void push(struct acts *a, enum tui_action_kind kind, int row, unsigned cpus, uint64_t memory)
{
	if (a->n >= a->max)
		return;
	a->out[a->n++] = (struct tui_action){ .kind = kind, .row = row, .cpus = cpus, .memory = memory };
}

static void move_cursor(struct tui *t, const struct tui_model *m, int to, struct acts *a)
{
	int n = (int)nrows_of(m);

	if (to >= n)
		to = n - 1;
	if (to < 0)
		to = 0;
	if (to != t->cursor) {
		t->cursor = to;
		a->dirty = true;
	}
}

static void open_editor(struct tui *t, const struct tui_model *m, struct acts *a)
{
	const struct tui_row *r = &m->rows[t->cursor];
	unsigned cmax;
	uint64_t mmax;

	edit_bounds(m, r, &cmax, &mmax);
	t->editing = true;
	t->edit_row = (unsigned)t->cursor;
	t->edit_field = 0;
	t->edit_cpus = MIN(MAX(r->cpus, 1u), cmax);
	t->edit_memory = MIN(MAX(r->memory, TUI_MEM_STEP), mmax);
	a->dirty = true;
}

/* One step of 256 MiB, onto the multiples of 256 MiB, within the bounds. */
static uint64_t mem_step(uint64_t mem, uint64_t max, int dir)
{
	uint64_t q = mem / TUI_MEM_STEP;

	if (dir > 0)
		return q + 1 <= max / TUI_MEM_STEP ? (q + 1) * TUI_MEM_STEP : max;
	if (mem <= 2 * TUI_MEM_STEP)
		return TUI_MEM_STEP;
	return (mem % TUI_MEM_STEP ? q : q - 1) * TUI_MEM_STEP;
}

static void editor_key(struct tui *t, struct tui_model *m, int k, struct acts *a)
{
	struct tui_row *r = &m->rows[t->edit_row];
	unsigned cmax, cpus = t->edit_cpus;
	uint64_t mmax, mem = t->edit_memory;
	int dir = 0;

	edit_bounds(m, r, &cmax, &mmax);
	switch (k) {
	case K_LEFT:
	case '-':
	case '_':
		dir = -1;
		break;
	case K_RIGHT:
	case '+':
	case '=':
		dir = 1;
		break;
	case K_UP:
	case K_DOWN:
	case '\t':
	case K_BACKTAB:
		t->edit_field ^= 1;
		a->dirty = true;
		return;
	case K_ENTER:
		t->editing = false;
		r->cpus = t->edit_cpus;
		r->memory = t->edit_memory;
		push(a, TUI_EDITED, (int)t->edit_row, r->cpus, r->memory);
		a->dirty = true;
		return;
	case K_ESC:
	case 'q':
		t->editing = false;
		a->dirty = true;
		return;
	default:
		return;
	}
	if (t->edit_field == 0) {
		if (dir < 0 && cpus > 1)
			cpus--;
		else if (dir > 0 && cpus < cmax)
			cpus++;
	} else {
		mem = mem_step(mem, mmax, dir);
	}
	if (cpus != t->edit_cpus || mem != t->edit_memory)
		a->dirty = true;
	t->edit_cpus = cpus;
	t->edit_memory = mem;
}

static void key(struct tui *t, struct tui_model *m, int k, struct acts *a)
{
	unsigned n = nrows_of(m);
	struct tui_row *cur = n ? &m->rows[t->cursor] : NULL;
	struct layout l;

	if (m->countdown >= 0) {
		m->countdown = -1;
		push(a, TUI_CANCEL_COUNTDOWN, -1, 0, 0);
		a->dirty = true;
	}
	if (k == KEY_CONSOLE) {
		if (t->confirm) {
			t->confirm = 0;
			a->dirty = true;
		}
		push(a, TUI_CONSOLE_NEXT, -1, 0, 0);
		return;
	}
	if (k == CTRL('L')) {
		a->dirty = true;
		return;
	}
	if (t->editing) {
		editor_key(t, m, k, a);
		return;
	}
	if (t->confirm) {
		if (k == t->confirm)
			push(a, t->confirm == 'p' ? TUI_POWEROFF : TUI_REBOOT, -1, 0, 0);
		t->confirm = 0;
		a->dirty = true;
		return;
	}

	switch (k) {
	case K_UP:
	case 'k':
	case CTRL('P'):
		move_cursor(t, m, t->cursor - 1, a);
		break;
	case K_DOWN:
	case 'j':
	case CTRL('N'):
		move_cursor(t, m, t->cursor + 1, a);
		break;
	case K_HOME:
		move_cursor(t, m, 0, a);
		break;
	case K_END:
		move_cursor(t, m, (int)n - 1, a);
		break;
	case K_PGUP:
	case K_PGDN:
		get_layout(t, m, &l);
		move_cursor(t, m, t->cursor + (k == K_PGUP ? -1 : 1) * (int)MAX(l.list_h, 1u), a);
		break;
	case ' ':
		if (cur && startable(cur)) {
			cur->selected = !cur->selected;
			a->dirty = true;
		}
		break;
	case K_ENTER: {
		bool any = false;

		for (unsigned i = 0; i < n; i++)
			any |= m->rows[i].selected;
		if (any)
			push(a, TUI_START, -1, 0, 0);
		else if (cur && startable(cur))
			push(a, TUI_START, t->cursor, 0, 0);
		break;
	}
	case 'e':
		if (cur && startable(cur))
			open_editor(t, m, a);
		break;
	case 'n':
		if (cur && cur->can_native)
			push(a, TUI_NATIVE, t->cursor, 0, 0);
		break;
	case 'b':
		if (nlive(m))
			push(a, TUI_POWERBUTTON, -1, 0, 0);
		break;
	case 'x':
		if (cur && live(cur))
			push(a, TUI_STOP, t->cursor, 0, 0);
		break;
	case 's':
		push(a, TUI_SHELL, -1, 0, 0);
		break;
	case 'r':
	case 'p':
		if (nlive(m)) {
			t->confirm = (char)k;
			a->dirty = true;
		} else {
			push(a, k == 'p' ? TUI_POWEROFF : TUI_REBOOT, -1, 0, 0);
		}
		break;
	default:
		break;
	}
}

/* The key of a CSI sequence ending in @final. */
static int csi_key(const struct tui *t, unsigned char final)
{
	switch (final) {
	case 'A': return K_UP;
	case 'B': return K_DOWN;
	case 'C': return K_RIGHT;
	case 'D': return K_LEFT;
	case 'H': return K_HOME;
	case 'F': return K_END;
	case 'Z': return K_BACKTAB;
	case '~':
		switch (t->csi_param) {
		case 1: case 7: return K_HOME;
		case 4: case 8: return K_END;
		case 5: return K_PGUP;
		case 6: return K_PGDN;
		}
		break;
	}
	return K_UNKNOWN;
}

/* The key of ESC O @c (application cursor keys, keypad Enter). */
static int ss3_key(unsigned char c)
{
	switch (c) {
	case 'A': return K_UP;
	case 'B': return K_DOWN;
	case 'C': return K_RIGHT;
	case 'D': return K_LEFT;
	case 'H': return K_HOME;
	case 'F': return K_END;
	case 'M': return K_ENTER;
	}
	return K_UNKNOWN;
}

int tui_input(struct tui *t, struct tui_model *m, const unsigned char *buf, size_t n,
	      struct tui_action *out, int max)
{
	struct acts a = { .out = out, .max = out ? max : 0 };

	clamp(t, m);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = buf[i];
		bool was_cr = t->last_cr;

		t->last_cr = false;
		switch (t->esc) {
		case ESC_ESC:
			t->esc = ESC_NONE;
			if (c == '[' || c == 'O') {
				t->esc = c == '[' ? ESC_CSI : ESC_SS3;
				t->csi_param = 0;
				t->csi_param_done = false;
				continue;
			}
			/* a lone Esc, then this byte on its own */
			key(t, m, K_ESC, &a);
			break;
		case ESC_CSI:
			if (c >= '0' && c <= '9') {
				if (!t->csi_param_done)
					t->csi_param = MIN(t->csi_param * 10 + (c - '0'), (unsigned)CSI_PARAM_MAX);
				continue;
			}
			if (c >= 0x20 && c <= 0x3f) {	/* other parameter and intermediate bytes */
				t->csi_param_done = true;
				continue;
			}
			t->esc = ESC_NONE;
			if (c >= 0x40 && c <= 0x7e) {
				key(t, m, csi_key(t, c), &a);
				continue;
			}
			break;				/* not a sequence after all */
		case ESC_SS3:
			t->esc = ESC_NONE;
			if (c >= 0x20) {
				key(t, m, ss3_key(c), &a);
				continue;
			}
			break;
		}

		switch (c) {
		case 0:
			break;
		case 0x1b:
			t->esc = ESC_ESC;
			break;
		case '\r':
			t->last_cr = true;
			key(t, m, K_ENTER, &a);
			break;
		case '\n':
			if (!was_cr)
				key(t, m, K_ENTER, &a);
			break;
		default:
			key(t, m, c < 0x80 ? c : K_UNKNOWN, &a);
			break;
		}
	}
	if (t->esc == ESC_ESC) {
		t->esc = ESC_NONE;
		key(t, m, K_ESC, &a);
	}
	if (a.dirty)
		push(&a, TUI_REDRAW, -1, 0, 0);
	return a.n;
}
