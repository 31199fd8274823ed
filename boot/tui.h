/*
 * The boot menu: a firmware-style screen of the installed OSes, and the keys
 * that act on it. A pure module: it does no I/O. The caller feeds it the
 * bytes read from the consoles (tui_input) and a model of what to show, and
 * writes each frame (tui_render) to every console itself.
 *
 * Why a small VT100 renderer of our own rather than ncurses: the firmware
 * has no terminfo database, and every console we drive (16550 serial, the
 * Linux framebuffer console) speaks the same few VT100 sequences; ncurses
 * owns one terminal through stdio while we write one frame to two consoles
 * at once; and between menu frames a VM's console is passed through raw, so
 * a library that keeps its idea of the screen would be wrong after every
 * switch. We redraw the whole frame instead: clear the screen, position and
 * clear each line, reverse video, nothing else.
 *
 * Every string drawn comes from the model, and labels come from disks:
 * control and non-ASCII bytes are drawn as '?', so no label, kind or
 * message can put an escape sequence on the console.
 *
 * Layout, top to bottom: a title bar (reverse video), the column header,
 * one line per OS (the cursor row in reverse video, scrolled to keep it in
 * view), a box with the message, the countdown, and the key help (wrapped
 * onto as many lines as the width needs). The resource editor is a box
 * drawn over the list.
 */
#ifndef POLYBOOT_BOOT_TUI_H
#define POLYBOOT_BOOT_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUI_MAX_ROWS	64
/* Screen sizes are clamped to these: a larger screen is drawn in its
 * top-left part, a smaller one is drawn as this (cut by the terminal). */
#define TUI_MIN_COLS	20
#define TUI_MIN_LINES	8
#define TUI_MAX_COLS	320
#define TUI_MAX_LINES	128
/* A tui_render buffer of this size always holds the whole frame. */
#define TUI_FRAME_MAX(cols, lines) ((size_t)((cols) + 64) * (lines) + 64)
/* The editor's memory step and lower bound. */
#define TUI_MEM_STEP	(256ull << 20)

enum tui_state { TUI_STOPPED, TUI_STARTING, TUI_RUNNING, TUI_STOPPING, TUI_FAILED };

struct tui_row {
	char label[96];		/* "Debian GNU/Linux 12 (bookworm)" */
	char kind[20];		/* grub, windows, systemd-boot, uki, bios-grub2, ... */
	char where[40];		/* "vda1": the disk or partition it boots from */
	enum tui_state state;
	char detail[64];	/* "2 CPUs 1.0 GiB", or why it stopped: "powered off" */
	bool selected;		/* multi-select mark (set and cleared by Space) */
	bool can_native;	/* kexec or BootNext possible */
	unsigned cpus;		/* current resources (set by the editor) */
	uint64_t memory;	/* bytes */
};

struct tui_model {
	char title[80];		/* "polyboot 0.x" */
	char info[120];		/* "4 CPUs, 7.8 GiB, KVM ready" */
	unsigned nrows;		/* at most TUI_MAX_ROWS (more are not shown) */
	struct tui_row rows[TUI_MAX_ROWS];
	int countdown;		/* seconds before the default set starts, -1 none */
	char message[1024];	/* errors and notes, lines separated by \n */
	unsigned max_cpus;	/* the editor's bounds: 1..max_cpus, */
	uint64_t max_memory;	/* TUI_MEM_STEP..max_memory (0: the row's own) */
};

enum tui_action_kind {
	TUI_NONE,
	TUI_REDRAW,		/* the screen changed (cursor, marks, editor, prompt) */
	TUI_START,		/* row: the cursor row, or -1 for all selected rows */
	TUI_NATIVE,		/* row: boot it natively instead (kexec, BootNext) */
	TUI_EDITED,		/* row, cpus, memory: new resources (already in the model) */
	TUI_SHELL,
	TUI_REBOOT,
	TUI_POWEROFF,
	TUI_POWERBUTTON,	/* press the power button of every running VM */
	TUI_STOP,		/* row: force-stop its VM */
	TUI_CONSOLE_NEXT,	/* Ctrl-]: the caller cycles menu -> VM consoles */
	TUI_CANCEL_COUNTDOWN,	/* a key was pressed (m->countdown is now -1) */
};

struct tui_action {
	enum tui_action_kind kind;
	int row;
	unsigned cpus;
	uint64_t memory;
};

/* Cursor, scroll position, editor, pending prompt, partial escape sequence
 * and screen size. */
struct tui;

/* A menu for a screen of @cols x @lines (80x24 for a serial console);
 * NULL when out of memory. */
struct tui *tui_new(unsigned cols, unsigned lines);
void tui_free(struct tui *t);
/* Sizes are clamped to TUI_MIN_* .. TUI_MAX_*. */
void tui_resize(struct tui *t, unsigned cols, unsigned lines);

/*
 * Feeds @n input bytes. An escape sequence may be split across calls after
 * its ESC '[' or ESC 'O', but an ESC that ends a call is the Esc key: a
 * caller whose read ends in ESC may wait a little for more before calling
 * (the rest of a split sequence then does nothing: commands are lower-case
 * letters only). May change the model: Space marks rows, the editor sets a
 * row's cpus and memory, any key stops the countdown. Appends the actions
 * to @out and returns their number; past @max they are dropped (n + 2 is
 * always enough). Keys:
 *   Up/Down, k/j, Ctrl-P/Ctrl-N, Home/End, PgUp/PgDn  move the cursor
 *   Space      mark/unmark the cursor row (stopped or failed rows only)
 *   Enter      start the marked rows, or the cursor row (CR, LF, CRLF)
 *   e          edit the cursor row's CPUs and memory (stopped or failed):
 *              Left/Right or -/+ change, Up/Down/Tab switch field,
 *              Enter confirms, Esc cancels
 *   n          boot the cursor row natively (if can_native)
 *   b          power button to every running VM
 *   x          force-stop the cursor row's VM (starting, running, stopping)
 *   s r p      shell, reboot, power off (r and p ask again while VMs run)
 *   Ctrl-]     next console, from anywhere
 *   Ctrl-L     redraw
 * A pressed key, even an unknown one, first stops the countdown
 * (TUI_CANCEL_COUNTDOWN), then acts; NUL bytes (line noise) do nothing.
 */
int tui_input(struct tui *t, struct tui_model *m, const unsigned char *buf, size_t n,
	      struct tui_action *out, int max);

/*
 * Renders a whole frame (VT100) into @buf: NUL-terminated, cut between
 * escape sequences when @len is short (TUI_FRAME_MAX is enough). Returns
 * its length.
 */
size_t tui_render(struct tui *t, const struct tui_model *m, char *buf, size_t len);
/* The same screen as plain text, every line ending in '\n' and without
 * trailing blanks (for tests and logs). */
size_t tui_render_text(struct tui *t, const struct tui_model *m, char *buf, size_t len);

/* The cursor row (0 when there are none). */
int tui_cursor(const struct tui *t);
/* Moves the cursor, e.g. to the default OS (clamped on the next call). */
void tui_set_cursor(struct tui *t, int row);

#endif
