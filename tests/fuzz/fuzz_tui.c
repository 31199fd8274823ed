/*
 * libFuzzer: the boot menu driven by random keys over a random model.
 *
 * Input: 8 bytes of model {nrows, cols/2, lines, countdown, max_cpus,
 * max_memory in 128 MiB, flags, pool length}, then the pool (bytes the
 * strings are cut from, hostile ones included), then operations, one byte
 * each {op:3, arg:5}: 0-3 feed the next arg+1 bytes as input, 4 resize
 * (two bytes), 5 set nrows to arg*3, 6 render into a buffer of arg*37
 * bytes, 7 set a row's state (one byte); at most 200 of them.
 *
 * Besides memory safety it checks after every operation that the frame
 * fits TUI_FRAME_MAX and its length, holds only printable ASCII and our own
 * escape sequences (so no label reaches the console raw), the text frame
 * has no ESC at all, the cursor is on a row, and every action is sane.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define FRAME_MAX TUI_FRAME_MAX(TUI_MAX_COLS, TUI_MAX_LINES)

static char frame[FRAME_MAX + 64];

static void fill(char *dst, size_t size, const uint8_t *pool, size_t plen, size_t seed, bool unterminated)
{
	size_t n = plen ? pool[seed % plen] % size : 0;

	if (unterminated) {
		memset(dst, 'A' + (int)(seed % 26), size);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)pool[(seed + i) % plen];
	dst[n] = 0;
}

/*
 * Is anything in @s other than printable ASCII, ESC '[' (a frame) or '\n'
 * (a text frame)? Not traced for coverage: it would be most of the time.
 */
__attribute__((no_sanitize("coverage")))
static bool bad_bytes(const char *s, size_t n, bool text)
{
	bool bad = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x1b)
			bad |= text || s[i + 1] != '[';
		else if (c == '\n')
			bad |= !text;
		else
			bad |= c < 0x20 || c >= 0x7f;
	}
	return bad;
}

static void check_frame(struct tui *t, const struct tui_model *m)
{
	size_t n = tui_render(t, m, frame, FRAME_MAX);
	unsigned rows = m->nrows < TUI_MAX_ROWS ? m->nrows : TUI_MAX_ROWS;
	int cur = tui_cursor(t);

	/* never cut: the last thing in a frame is its reset */
	if (n >= FRAME_MAX || strlen(frame) != n || n < 4 || memcmp(frame + n - 4, "\033[0m", 4))
		__builtin_trap();
	if (bad_bytes(frame, n, false))
		__builtin_trap();
	if (cur < 0 || (rows && cur >= (int)rows) || (!rows && cur != 0))
		__builtin_trap();

	n = tui_render_text(t, m, frame, FRAME_MAX);
	if (n >= FRAME_MAX || strlen(frame) != n || bad_bytes(frame, n, true))
		__builtin_trap();
}

static void check_actions(const struct tui_model *m, const struct tui_action *a, int n, int max)
{
	unsigned rows = m->nrows < TUI_MAX_ROWS ? m->nrows : TUI_MAX_ROWS;

	if (n < 0 || n > max)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		if (a[i].kind <= TUI_NONE || a[i].kind > TUI_CANCEL_COUNTDOWN)
			__builtin_trap();
		if (a[i].row < -1 || a[i].row >= (int)rows)
			__builtin_trap();
		if ((a[i].kind == TUI_NATIVE || a[i].kind == TUI_STOP || a[i].kind == TUI_EDITED) && a[i].row < 0)
			__builtin_trap();
		if (a[i].kind == TUI_EDITED &&
		    (a[i].cpus < 1 || (m->max_cpus && a[i].cpus > m->max_cpus) || a[i].memory < TUI_MEM_STEP ||
		     (m->max_memory >= TUI_MEM_STEP && a[i].memory > m->max_memory)))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tui_model *m = calloc(1, sizeof(*m));
	struct tui_action acts[40];
	const uint8_t *pool;
	size_t plen, i, ops;
	struct tui *t;
	char small[32 * 37];
	int n;

	if (size < 8 || !m)
		goto out_model;
	t = tui_new((unsigned)data[1] * 2, data[2]);
	if (!t)
		goto out_model;
	pool = data + 8;
	plen = data[7] % 65;
	if (plen > size - 8)
		plen = size - 8;

	m->nrows = data[0] % 80;
	m->countdown = (int8_t)data[3];
	m->max_cpus = data[4];
	m->max_memory = (uint64_t)data[5] << 27;
	fill(m->title, sizeof(m->title), pool, plen, 1, data[6] & 1);
	fill(m->info, sizeof(m->info), pool, plen, 2, data[6] & 2);
	fill(m->message, sizeof(m->message), pool, plen, 3, data[6] & 4);
	for (unsigned r = 0; r < TUI_MAX_ROWS; r++) {
		struct tui_row *row = &m->rows[r];
		bool raw = (data[6] & 8) && r % 3 == 0;
		uint8_t b = plen ? pool[r % plen] : (uint8_t)r;

		fill(row->label, sizeof(row->label), pool, plen, r + 4, raw);
		fill(row->kind, sizeof(row->kind), pool, plen, r + 5, raw);
		fill(row->where, sizeof(row->where), pool, plen, r + 6, raw);
		fill(row->detail, sizeof(row->detail), pool, plen, r + 7, raw);
		row->state = (enum tui_state)(b % 6);
		row->selected = b & 0x10;
		row->can_native = b & 0x20;
		row->cpus = b >> 4;
		row->memory = (uint64_t)b << 26;
	}
	check_frame(t, m);

	/* a bounded number of operations keeps runs fast */
	for (i = 8 + plen, ops = 0; i < size && ops < 200; ops++) {
		uint8_t op = data[i] >> 5, arg = data[i] & 0x1f;
		size_t len;

		i++;
		switch (op) {
		case 0: case 1: case 2: case 3:
			len = arg + 1u;
			if (len > size - i)
				len = size - i;
			n = tui_input(t, m, data + i, len, acts, (int)(op == 3 ? arg % 4 : sizeof(acts) / sizeof(acts[0])));
			check_actions(m, acts, n, op == 3 ? arg % 4 : (int)(sizeof(acts) / sizeof(acts[0])));
			i += len;
			break;
		case 4:
			if (size - i < 2)
				goto out;
			tui_resize(t, (unsigned)data[i] * 2, data[i + 1]);
			i += 2;
			break;
		case 5:
			m->nrows = arg * 3u;
			break;
		case 6:
			len = arg * 37u;
			memset(small, 'X', sizeof(small));
			if (tui_render(t, m, small, len) >= (len ? len : 1) || (len && strlen(small) >= len))
				__builtin_trap();
			break;
		case 7:
			if (size - i < 1)
				goto out;
			m->rows[arg % TUI_MAX_ROWS].state = (enum tui_state)(data[i] % 6);
			m->countdown = data[i] & 0x40 ? data[i] & 0x3f : -1;
			i++;
			break;
		}
		check_frame(t, m);
	}
out:
	tui_free(t);
out_model:
	free(m);
	return 0;
}
