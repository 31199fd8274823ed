/*
 * GRUB 2 configuration evaluator (see grubcfg.h).
 *
 * Reference: the GRUB manual, "Shell-like scripting" and "Commands", and
 * the grub.cfg files that grub-mkconfig (Debian 10_linux, 30_os-prober,
 * 30_uefi-firmware; Fedora 10_linux with blscfg) and grub-install's ESP
 * stubs produce.
 *
 * The script is interpreted while it is parsed: run_list() reads commands
 * until one of the words that close the construct it is in ("fi", "done",
 * "}", ...) and either runs them or, for the branches and bodies not taken,
 * only scans them (exec == false). Menu entry and submenu bodies are
 * scanned to find their end and then run at once, with a copy of the
 * variables, to fill in the entry. Function bodies are kept as text and
 * run on each call. Nothing else is stored, so the memory used is bounded
 * by the limits below rather than by the input.
 *
 * Error recovery: a closing word that the construct in hand does not
 * expect but an enclosing one does ("fi" inside an unclosed menuentry)
 * closes the inner constructs with a warning; one that nothing expects is
 * a warning and is skipped.
 *
 * Differences from GRUB: an entry's body runs where the menuentry stands,
 * with a copy of all variables at that point (GRUB runs it when the entry
 * is booted, with the exported variables as the script left them); a
 * configfile's entries are added to the menu rather than replacing it.
 *
 * Not implemented: while/until loops (scanned, never run), break/continue,
 * regexp, probe, setparams, menuentry positional parameters, hidden menus,
 * passwords (--users is ignored), architecture filtering of BLS entries.
 */
#include "disc/grubcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc/bls.h"
#include "util.h"

#define MAX_INCLUDE	8		/* nested configfile/source/normal/eval */
#define MAX_CALLS	16		/* nested function calls */
#define MAX_NEST	32		/* nested blocks in one file or body */
#define MAX_DEPTH	128		/* nested blocks in all, across calls and includes: bounds the stack */
#define MAX_STMTS	200000		/* commands run or scanned per grub_eval */
#define MAX_WORK	(8ul << 20)	/* bytes lexed, expanded, copied or read per grub_eval */
#define MAX_VARS	256
#define VAR_NAME_MAX	64
#define VAR_VALUE_MAX	4096
#define WORD_MAX	4096
#define MAX_WORDS	128
#define MAX_FUNCS	64
#define MAX_NODES	160		/* entries and submenus of all menus */
#define NODE_TITLE_MAX	256
#define MAX_BLS		128		/* BLS entry files read by one blscfg */
#define BLS_READ_MAX	(64u << 10)
#define GRUBENV_READ_MAX (64u << 10)
#define ARGS_KEEP	(16u << 10)	/* argument buffers kept for reuse up to this size */
#define WARN_CHECKED	2000		/* warnings formatted and compared; the rest only counted */

/* --- data ---------------------------------------------------------------- */

struct var {
	char name[VAR_NAME_MAX];
	char *val;
	bool exported;
};

struct env {
	unsigned n;
	struct var v[MAX_VARS];
};

struct func {
	char name[VAR_NAME_MAX];
	char *body;
	size_t len;
	unsigned line;
	char file[GRUB_PATH_MAX];
};

/* A piece of script text being run: a file, a body, an eval string. */
struct src {
	const char *p;
	size_t len, pos;
	unsigned line;
	const char *file;	/* for warnings */
	unsigned nest;
};

enum { TOK_EOF, TOK_SEP, TOK_WORD };

struct tok {
	int kind;
	const char *raw;	/* the word as written, quotes and all */
	size_t len, start;
	unsigned line;
	bool bare;		/* no quote, backslash or '$': may be a keyword */
};

/* The expanded words of one command (heap). */
struct args {
	unsigned argc;
	char *v[MAX_WORDS + 1];
	size_t off[MAX_WORDS];
	char *buf;
	size_t len, cap;
	size_t fstart, flen;	/* the field being built */
	bool open;		/* a field is being built (even an empty "") */
	bool cut_long, cut_many, oom;
	struct args *next;	/* in ev->args_pool */
};

/* A menu item: an entry or a submenu, numbered within its menu level. */
struct node {
	unsigned ctx;		/* menu: 0 top-level file, then one per configfile */
	int parent;		/* submenu node, or -1 */
	unsigned pos;		/* index within its level, as default= counts */
	bool submenu;
	int entry;		/* index in res->entries, -1 if a submenu or dropped */
	char title[NODE_TITLE_MAX];
	char id[GRUB_ID_MAX];
};

enum { STOP_NONE, STOP_RETURN, STOP_ALL };

struct ev {
	const struct grub_fs_ops *ops;
	void *ctx;
	struct grub_result *res;
	struct env *env;
	struct args *frame;	/* positional parameters of the running function */
	struct args *args_pool;	/* free argument lists */
	unsigned warn_calls;
	struct func funcs[MAX_FUNCS];
	unsigned nfuncs;
	struct tok words[MAX_WORDS];	/* scratch: raw words of the command being read */
	unsigned nwords;
	int status;		/* $? */
	int stop;
	size_t term_pos;	/* where the closing word run_list returned starts */
	unsigned long stmts, work;
	unsigned includes, calls, depth;
	unsigned menus_seen;	/* menuentry/submenu words scanned or run */
	struct node nodes[MAX_NODES];
	unsigned nnodes;
	unsigned menu_ctx, nctx;
	int parent;
	unsigned next_pos;
	struct grub_entry *entry;	/* entry whose body is running */
	bool default_done, warned_entries, warned_nodes, warned_vars, oomed;
};

/* Closing words; run_list() returns one of these (or T_STOP). */
enum {
	T_EOF = 1 << 0,
	T_THEN = 1 << 1,
	T_ELIF = 1 << 2,
	T_ELSE = 1 << 3,
	T_FI = 1 << 4,
	T_DO = 1 << 5,
	T_DONE = 1 << 6,
	T_RBRACE = 1 << 7,
	T_STOP = 1 << 8,	/* return/exit, a limit hit or out of memory */
};

static const struct {
	const char *word;
	unsigned t;
} terms[] = {
	{ "then", T_THEN }, { "elif", T_ELIF }, { "else", T_ELSE }, { "fi", T_FI },
	{ "do", T_DO }, { "done", T_DONE }, { "}", T_RBRACE },
};

static unsigned run_list(struct ev *ev, struct src *s, unsigned want, unsigned outer, bool exec);

/* --- warnings and limits --------------------------------------------------- */

static void warn(struct ev *ev, const struct src *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warn(struct ev *ev, const struct src *s, unsigned line, const char *fmt, ...)
{
	struct grub_result *res = ev->res;
	char msg[GRUB_WARNING_MAX], full[GRUB_WARNING_MAX];
	va_list ap;
	int n;

	/* A file full of errors: stop spending time on messages that will not be kept. */
	if (++ev->warn_calls > WARN_CHECKED && res->nwarnings == GRUB_MAX_WARNINGS) {
		res->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = snprintf(full, sizeof(full), "%s:%u: %s", s && s->file ? s->file : "grub", line, msg);
	if (n < 0)
		return;
	for (unsigned i = 0; i < res->nwarnings; i++)
		if (!strcmp(res->warnings[i], full))
			return;
	if (res->nwarnings == GRUB_MAX_WARNINGS) {
		res->warnings_dropped++;
		return;
	}
	memcpy(res->warnings[res->nwarnings++], full, sizeof(full));
}

static void oom(struct ev *ev, const struct src *s, unsigned line)
{
	if (!ev->oomed)
		warn(ev, s, line, "out of memory: evaluation stopped");
	ev->oomed = true;
	ev->stop = STOP_ALL;
}

/* Counts one command; false (and evaluation stops) once a budget is spent. */
static bool budget(struct ev *ev, const struct src *s, unsigned line)
{
	if (ev->stop == STOP_ALL)
		return false;
	if (++ev->stmts > MAX_STMTS) {
		warn(ev, s, line, "statement limit (%d) reached: evaluation stopped", MAX_STMTS);
		ev->stop = STOP_ALL;
		return false;
	}
	if (ev->work > MAX_WORK) {
		warn(ev, s, line, "work limit (%lu MiB of text) reached: evaluation stopped",
		     MAX_WORK >> 20);
		ev->stop = STOP_ALL;
		return false;
	}
	return true;
}

/* --- small string helpers --------------------------------------------------- */

/* Copies @src into @dst of @size; false if it had to be cut. */
static bool scopy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	bool cut = n >= size;

	if (cut)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	return !cut;
}

/* Appends @src to the string in @dst of @size, with @sep first if @dst is not empty. */
static bool sappend(char *dst, size_t size, const char *sep, const char *src)
{
	size_t n = strlen(dst);

	if (n && *sep) {
		if (n + strlen(sep) >= size)
			return false;
		memcpy(dst + n, sep, strlen(sep) + 1);
		n += strlen(sep);
	}
	return scopy(dst + n, size - n, src);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool valid_name(const char *n)
{
	if (!*n || strlen(n) >= VAR_NAME_MAX)
		return false;
	for (; *n; n++)
		if (!is_name_char(*n))
			return false;
	return true;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Decimal with an optional sign, stopping at the first non-digit (GRUB's strtol use). */
static long long to_num(const char *s, bool *ok)
{
	long long v = 0;
	bool neg = false, any = false;

	while (is_blank(*s))
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++) {
		any = true;
		if (v < 1000000000000000ll)
			v = v * 10 + (*s - '0');
	}
	if (ok)
		*ok = any && !*s;
	return neg ? -v : v;
}

/* --- variables -------------------------------------------------------------- */

static struct env *env_new(void)
{
	return calloc(1, sizeof(struct env));
}

static void env_free(struct env *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < e->n; i++)
		free(e->v[i].val);
	free(e);
}

static struct var *env_find(struct env *e, const char *name)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->v[i].name[0] == name[0] && !strcmp(e->v[i].name, name))
			return &e->v[i];
	return NULL;
}

/* A copy of @src (only its exported variables if @exported_only), or NULL. */
static struct env *env_clone(struct ev *ev, struct env *src, bool exported_only)
{
	struct env *e = env_new();

	if (!e)
		return NULL;
	for (unsigned i = 0; i < src->n; i++) {
		struct var *v = &e->v[e->n];

		if (exported_only && !src->v[i].exported)
			continue;
		*v = src->v[i];
		v->val = strdup(src->v[i].val);
		if (!v->val) {
			env_free(e);
			return NULL;
		}
		ev->work += strlen(v->val) + sizeof(*v);
		e->n++;
	}
	return e;
}

static const char *var_get(struct ev *ev, const char *name)
{
	struct var *v = env_find(ev->env, name);

	return v ? v->val : NULL;
}

/*
 * Sets @name to @val in the current variables. Returns 0 or 1 (GRUB's
 * status) after warning about a bad name, a full table or a cut value.
 */
static int var_set(struct ev *ev, const struct src *s, unsigned line, const char *name,
		   const char *val, bool export)
{
	struct var *v;
	size_t n = strlen(val);
	char *copy;

	if (!valid_name(name)) {
		warn(ev, s, line, "bad variable name '%.64s'", name);
		return 1;
	}
	/* GRUB accepts root=(hd0,gpt2) and keeps hd0,gpt2. */
	if (!strcmp(name, "root") && n >= 2 && val[0] == '(' && val[n - 1] == ')') {
		val++;
		n -= 2;
	}
	if (n >= VAR_VALUE_MAX) {
		warn(ev, s, line, "value of '%s' longer than %d bytes cut", name, VAR_VALUE_MAX - 1);
		n = VAR_VALUE_MAX - 1;
	}
	copy = malloc(n + 1);
	if (!copy) {
		oom(ev, s, line);
		return 1;
	}
	memcpy(copy, val, n);
	copy[n] = 0;
	ev->work += n;
	v = env_find(ev->env, name);
	if (!v) {
		if (ev->env->n == MAX_VARS) {
			if (!ev->warned_vars)
				warn(ev, s, line, "too many variables (%d): '%s' and others not set",
				     MAX_VARS, name);
			ev->warned_vars = true;
			free(copy);
			return 1;
		}
		v = &ev->env->v[ev->env->n++];
		memset(v, 0, sizeof(*v));
		scopy(v->name, sizeof(v->name), name);
	}
	free(v->val);
	v->val = copy;
	if (export)
		v->exported = true;
	return 0;
}

static void var_unset(struct ev *ev, const char *name)
{
	struct var *v = env_find(ev->env, name);

	if (!v)
		return;
	free(v->val);
	*v = ev->env->v[--ev->env->n];
}

/* --- lexer ------------------------------------------------------------------ */

/*
 * Reads the next token of @s: a word (quotes, escapes and ${...} kept as
 * written, for expand_word()), a separator (';' or a newline) or the end.
 * Comments start with '#' where a word could start.
 */
static void lex(struct ev *ev, struct src *s, struct tok *t)
{
	const char *p = s->p;
	size_t start = s->pos;

	for (;;) {
		while (s->pos < s->len) {
			if (is_blank(p[s->pos])) {
				s->pos++;
			} else if (p[s->pos] == '\\' && s->pos + 1 < s->len && p[s->pos + 1] == '\n') {
				s->pos += 2;
				s->line++;
			} else {
				break;
			}
		}
		if (s->pos < s->len && p[s->pos] == '#') {
			while (s->pos < s->len && p[s->pos] != '\n')
				s->pos++;
			continue;
		}
		break;
	}
	t->start = s->pos;
	t->line = s->line;
	t->raw = p + s->pos;
	t->len = 0;
	t->bare = true;
	if (s->pos >= s->len) {
		t->kind = TOK_EOF;
	} else if (p[s->pos] == '\n' || p[s->pos] == ';') {
		if (p[s->pos] == '\n')
			s->line++;
		s->pos++;
		t->kind = TOK_SEP;
	} else {
		bool unterminated = false;

		t->kind = TOK_WORD;
		while (s->pos < s->len) {
			char c = p[s->pos];

			if (is_blank(c) || c == '\n' || c == ';')
				break;
			s->pos++;
			if (c == '\'' || c == '"') {
				t->bare = false;
				while (s->pos < s->len && p[s->pos] != c) {
					if (c == '"' && p[s->pos] == '\\' && s->pos + 1 < s->len)
						s->pos++;
					if (p[s->pos] == '\n')
						s->line++;
					s->pos++;
				}
				if (s->pos < s->len)
					s->pos++;
				else
					unterminated = true;
			} else if (c == '\\') {
				t->bare = false;
				if (s->pos < s->len) {
					if (p[s->pos] == '\n')
						s->line++;
					s->pos++;
				}
			} else if (c == '$') {
				size_t q = s->pos + 1;

				t->bare = false;
				if (s->pos < s->len && p[s->pos] == '{') {
					while (q < s->len && p[q] != '}' && p[q] != '\n')
						q++;
					if (q < s->len && p[q] == '}')
						s->pos = q + 1;
				}
			}
		}
		t->len = s->pos - t->start;
		if (unterminated)
			warn(ev, s, t->line, "unterminated quote");
	}
	ev->work += s->pos - start;
}

static bool tok_is(const struct tok *t, const char *w)
{
	if (t->kind != TOK_WORD || !t->bare || t->raw[0] != w[0])
		return false;
	for (size_t i = 1; i < t->len; i++)
		if (!w[i] || t->raw[i] != w[i])
			return false;
	return !w[t->len];
}

static unsigned tok_term(const struct tok *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
		if (tok_is(t, terms[i].word))
			return terms[i].t;
	return 0;
}

static const char *term_name(unsigned t)
{
	for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
		if (terms[i].t == t)
			return terms[i].word;
	return "end of file";
}

/* --- expansion ---------------------------------------------------------------- */

/*
 * Argument lists are recycled: a command allocates one and frees it when
 * done, thousands of times a second, while only as many are alive at once
 * as commands are nested.
 */
static struct args *args_new(struct ev *ev)
{
	struct args *a = ev->args_pool;

	if (!a)
		return calloc(1, sizeof(struct args));
	ev->args_pool = a->next;
	a->argc = 0;
	a->len = a->fstart = a->flen = 0;
	a->open = a->cut_long = a->cut_many = a->oom = false;
	a->next = NULL;
	return a;
}

static void args_free(struct ev *ev, struct args *a)
{
	if (!a)
		return;
	if (a->cap > ARGS_KEEP) {
		free(a->buf);
		a->buf = NULL;
		a->cap = 0;
	}
	a->next = ev->args_pool;
	ev->args_pool = a;
}

static void args_put(struct args *a, char c)
{
	a->open = true;
	if (a->oom)
		return;
	if (a->flen >= WORD_MAX - 1) {
		a->cut_long = true;
		return;
	}
	if (a->len + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		char *nb = realloc(a->buf, cap);

		if (!nb) {
			a->oom = true;
			return;
		}
		a->buf = nb;
		a->cap = cap;
	}
	a->buf[a->len++] = c;
	a->flen++;
}

static void args_end_field(struct args *a)
{
	if (!a->open)
		return;
	a->open = false;
	if (a->oom)
		return;
	if (a->argc == MAX_WORDS) {
		a->cut_many = true;
		a->len = a->fstart;
	} else {
		if (a->len + 1 > a->cap) {
			char *nb = realloc(a->buf, a->len + 1);

			if (!nb) {
				a->oom = true;
				return;
			}
			a->buf = nb;
			a->cap = a->len + 1;
		}
		a->buf[a->len++] = 0;
		a->off[a->argc++] = a->fstart;
	}
	a->fstart = a->len;
	a->flen = 0;
}

static void args_finish(struct args *a)
{
	for (unsigned i = 0; i < a->argc; i++)
		a->v[i] = a->buf + a->off[i];
	a->v[a->argc] = NULL;
}

/* Appends @text; with @split, blanks separate fields (unquoted expansion). */
static void args_text(struct args *a, const char *text, bool split)
{
	for (; *text; text++) {
		if (split && (*text == ' ' || *text == '\t' || *text == '\n'))
			args_end_field(a);
		else
			args_put(a, *text);
	}
}

/* Appends the value of variable @name (special parameters included). */
static void expand_name(struct ev *ev, struct args *a, const char *name, bool split)
{
	char num[24];

	if (!strcmp(name, "?")) {
		snprintf(num, sizeof(num), "%d", ev->status);
		args_text(a, num, split);
	} else if (!strcmp(name, "#")) {
		snprintf(num, sizeof(num), "%u", ev->frame && ev->frame->argc ? ev->frame->argc - 1 : 0);
		args_text(a, num, split);
	} else if (!strcmp(name, "@") || !strcmp(name, "*")) {
		for (unsigned i = 1; ev->frame && i < ev->frame->argc; i++) {
			if (i > 1)
				args_text(a, " ", split);
			args_text(a, ev->frame->v[i], split);
		}
	} else if (all_digits(name)) {
		bool ok;
		long long n = to_num(name, &ok);

		if (ev->frame && n > 0 && n < (long long)ev->frame->argc)
			args_text(a, ev->frame->v[n], split);
	} else {
		const char *v = var_get(ev, name);

		if (v)
			args_text(a, v, split);
	}
}

/* Expands the '$' at @raw[@i]; returns the index after the reference. */
static size_t expand_var(struct ev *ev, const char *raw, size_t len, size_t i, struct args *a,
			 bool split)
{
	char name[VAR_NAME_MAX];
	size_t j = i + 1, n = 0, next;

	if (j < len && raw[j] == '{') {
		size_t q = j + 1;

		while (q < len && raw[q] != '}' && raw[q] != '\n')
			q++;
		if (q >= len || raw[q] != '}') {
			args_put(a, '$');
			return i + 1;
		}
		n = q - j - 1;
		next = q + 1;
		if (n >= sizeof(name))
			return next;	/* no such variable */
		memcpy(name, raw + j + 1, n);
	} else if (j < len && raw[j] >= '0' && raw[j] <= '9') {
		while (j + n < len && raw[j + n] >= '0' && raw[j + n] <= '9' && n + 1 < sizeof(name)) {
			name[n] = raw[j + n];
			n++;
		}
		next = j + n;
	} else if (j < len && is_name_char(raw[j])) {
		while (j + n < len && is_name_char(raw[j + n]))
			n++;
		next = j + n;
		if (n >= sizeof(name))
			return next;
		memcpy(name, raw + j, n);
	} else if (j < len && (raw[j] == '?' || raw[j] == '#' || raw[j] == '@' || raw[j] == '*')) {
		name[n++] = raw[j];
		next = j + 1;
	} else {
		args_put(a, '$');
		return i + 1;
	}
	name[n] = 0;
	expand_name(ev, a, name, split);
	return next;
}

/*
 * Expands one raw word into fields of @a: 'single' quotes literal,
 * "double" quotes with $ expansion and \$ \" \\ escapes, backslash escapes
 * outside quotes, $var/${var} split at blanks when @split and unquoted.
 */
static void expand_word(struct ev *ev, struct args *a, const char *raw, size_t len, bool split)
{
	size_t i = 0;

	a->open = false;
	a->fstart = a->len;
	a->flen = 0;
	while (i < len) {
		char c = raw[i];

		if (c == '\'') {
			a->open = true;
			for (i++; i < len && raw[i] != '\''; i++)
				args_put(a, raw[i]);
			i++;
		} else if (c == '"') {
			a->open = true;
			i++;
			while (i < len && raw[i] != '"') {
				char d = i + 1 < len ? raw[i + 1] : 0;

				if (raw[i] == '\\' && (d == '$' || d == '"' || d == '\\' || d == '\n')) {
					if (d != '\n')
						args_put(a, d);
					i += 2;
				} else if (raw[i] == '$') {
					i = expand_var(ev, raw, len, i, a, false);
				} else {
					args_put(a, raw[i++]);
				}
			}
			i++;
		} else if (c == '\\') {
			i++;
			if (i < len) {
				if (raw[i] != '\n')
					args_put(a, raw[i]);
				i++;
			}
		} else if (c == '$') {
			i = expand_var(ev, raw, len, i, a, split);
		} else {
			args_put(a, c);
			i++;
		}
	}
	args_end_field(a);
}

/* Expands @n raw words into a new argument list; NULL (and evaluation stops) if out of memory. */
static struct args *expand_words(struct ev *ev, const struct src *s, unsigned line,
				 const struct tok *w, unsigned n, bool split)
{
	struct args *a = args_new(ev);

	if (!a) {
		oom(ev, s, line);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		expand_word(ev, a, w[i].raw, w[i].len, split);
	if (a->oom) {
		args_free(ev, a);
		oom(ev, s, line);
		return NULL;
	}
	args_finish(a);
	ev->work += a->len;
	if (a->cut_long)
		warn(ev, s, line, "word longer than %d bytes cut", WORD_MAX - 1);
	if (a->cut_many)
		warn(ev, s, line, "more than %d words: the rest dropped", MAX_WORDS);
	return a;
}

/* Joins @a->v[@from..] with single spaces into @dst; false if cut. */
static bool join_args(const struct args *a, unsigned from, char *dst, size_t size)
{
	bool ok = true;

	dst[0] = 0;
	for (unsigned i = from; i < a->argc; i++)
		ok &= sappend(dst, size, " ", a->v[i]);
	return ok;
}

/* --- files ------------------------------------------------------------------ */

/*
 * Splits "(dev)/path" or "/path" (device $root) into @out. Returns 0,
 * -ENOENT when there is no device, -ENAMETOOLONG when a part is cut.
 */
static int resolve_ref(struct ev *ev, const char *spec, struct grub_file_ref *out)
{
	const char *dev = NULL, *path = spec;
	size_t dlen = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '(') {
		const char *close = strchr(spec, ')');

		if (close) {
			dev = spec + 1;
			dlen = (size_t)(close - dev);
			path = close + 1;
		}
	}
	if (!dlen) {
		dev = var_get(ev, "root");
		dlen = dev ? strlen(dev) : 0;
	}
	if (!dlen)
		r = -ENOENT;
	if (dlen >= sizeof(out->dev)) {
		dlen = sizeof(out->dev) - 1;
		r = -ENAMETOOLONG;
	}
	if (dlen)
		memcpy(out->dev, dev, dlen);
	out->dev[dlen] = 0;
	if (!scopy(out->path, sizeof(out->path), path) && !r)
		r = -ENAMETOOLONG;
	return r;
}

static void record_file(struct ev *ev, const struct grub_file_ref *f)
{
	struct grub_result *res = ev->res;

	for (unsigned i = 0; i < res->nfiles; i++)
		if (!strcmp(res->files[i].dev, f->dev) && !strcmp(res->files[i].path, f->path))
			return;
	if (res->nfiles == GRUB_MAX_FILES)
		res->files_dropped++;
	else
		res->files[res->nfiles++] = *f;
}

/*
 * Reads @f (at most @max bytes) through the ops, with a warning on
 * failure. The text gets a NUL after it and NULs inside become blanks.
 */
static int read_ref(struct ev *ev, const struct src *s, unsigned line,
		    const struct grub_file_ref *f, size_t max, char **data, size_t *len)
{
	char *buf = NULL, *text;
	size_t n = 0;
	int r;

	*data = NULL;
	*len = 0;
	r = ev->ops->read_file(ev->ctx, f->dev, f->path, max, &buf, &n);
	if (r >= 0 && n > max) {
		free(buf);
		r = -EFBIG;
	}
	if (r >= 0 && !buf && n)
		r = -EIO;
	if (r < 0) {
		if (r == -EFBIG)
			warn(ev, s, line, "(%s)%s is larger than %zu KiB: not read", f->dev, f->path,
			     max >> 10);
		else
			warn(ev, s, line, "cannot read (%s)%s: %s", f->dev, f->path, strerror(-r));
		return r;
	}
	text = malloc(n + 1);
	if (!text) {
		free(buf);
		oom(ev, s, line);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		text[i] = buf[i] ? buf[i] : ' ';
	text[n] = 0;
	free(buf);
	ev->work += n;
	record_file(ev, f);
	*data = text;
	*len = n;
	return 0;
}

/* ops->stat for a "(dev)/path" word: 1 file, 2 directory, 0 absent or error. */
static int stat_word(struct ev *ev, const char *spec, uint64_t *size)
{
	struct grub_file_ref f;
	int r;

	*size = 0;
	if (resolve_ref(ev, spec, &f) || !f.path[0])
		return 0;
	r = ev->ops->stat(ev->ctx, f.dev, f.path, size);
	return r == 1 || r == 2 ? r : 0;
}

/* --- running ----------------------------------------------------------------- */

/* Runs all of @s; a return/exit inside ends only @s. */
static void run_src(struct ev *ev, struct src *s)
{
	run_list(ev, s, T_EOF, 0, true);
	if (ev->stop == STOP_RETURN)
		ev->stop = STOP_NONE;
}

static int menu_default(struct ev *ev, unsigned ctx, const char *spec);

/* A menu is complete: the first one with entries decides default and timeout. */
static void finish_menu(struct ev *ev, unsigned ctx)
{
	const char *def, *to;
	bool any = false, ok;
	long long t;

	if (ev->default_done)
		return;
	for (unsigned i = 0; i < ev->nnodes; i++)
		if (ev->nodes[i].ctx == ctx && !ev->nodes[i].submenu)
			any = true;
	if (!any)
		return;
	ev->default_done = true;
	def = var_get(ev, "default");
	ev->res->default_index = menu_default(ev, ctx, def && *def ? def : "0");
	to = var_get(ev, "timeout");
	if (to) {
		t = to_num(to, &ok);
		if (ok && t >= 0 && t <= 1000000)
			ev->res->timeout = (int)t;
	}
}

/*
 * Runs file text @data of @f: "source" (@newmenu false) in the current
 * variables and menu, "configfile" (@newmenu true) with a copy of the
 * exported variables, $config_file/$config_directory set, in a new menu.
 */
static void run_file(struct ev *ev, const struct grub_file_ref *f, const char *data, size_t len,
		     bool newmenu)
{
	struct src fs = { data, len, 0, 1, f->path, 0 };
	struct env *saved = ev->env, *ne;
	unsigned saved_ctx = ev->menu_ctx, saved_pos = ev->next_pos;
	int saved_parent = ev->parent;
	char cfg[GRUB_DEV_MAX + GRUB_PATH_MAX + 2];
	char *slash;

	if (!newmenu) {
		run_src(ev, &fs);
		return;
	}
	ne = env_clone(ev, saved, true);
	if (!ne) {
		oom(ev, NULL, 0);
		return;
	}
	ev->env = ne;
	snprintf(cfg, sizeof(cfg), "(%s)%s", f->dev, f->path);
	var_set(ev, &fs, 0, "config_file", cfg, true);
	slash = strrchr(cfg, '/');
	if (slash)
		*slash = 0;
	var_set(ev, &fs, 0, "config_directory", cfg, true);
	ev->menu_ctx = ++ev->nctx;
	ev->parent = -1;
	ev->next_pos = 0;
	run_src(ev, &fs);
	finish_menu(ev, ev->menu_ctx);
	ev->menu_ctx = saved_ctx;
	ev->parent = saved_parent;
	ev->next_pos = saved_pos;
	ev->env = saved;
	env_free(ne);
}

/* configfile/source/normal of @spec; returns the command's status. */
static int include(struct ev *ev, struct src *s, unsigned line, const char *what,
		   const char *spec, bool newmenu)
{
	struct grub_file_ref f;
	char *data;
	size_t len;

	if (resolve_ref(ev, spec, &f) || !f.path[0]) {
		warn(ev, s, line, "%s: bad file name '%.100s'", what, spec);
		return 1;
	}
	if (ev->includes >= MAX_INCLUDE) {
		warn(ev, s, line, "%s (%s)%s: include depth limit (%d) reached", what, f.dev,
		     f.path, MAX_INCLUDE);
		return 1;
	}
	if (read_ref(ev, s, line, &f, GRUB_FILE_MAX, &data, &len) < 0)
		return 1;
	ev->includes++;
	run_file(ev, &f, data, len, newmenu);
	ev->includes--;
	free(data);
	return 0;
}

/* $prefix + "/" + @name, for commands whose default file lives there. */
static void prefix_path(struct ev *ev, const char *name, char *buf, size_t size)
{
	const char *prefix = var_get(ev, "prefix");

	snprintf(buf, size, "%s/%s", prefix ? prefix : "", name);
}

/* --- functions --------------------------------------------------------------- */

static struct func *func_find(struct ev *ev, const char *name)
{
	for (unsigned i = 0; i < ev->nfuncs; i++)
		if (ev->funcs[i].name[0] == name[0] && !strcmp(ev->funcs[i].name, name))
			return &ev->funcs[i];
	return NULL;
}

static void func_define(struct ev *ev, const struct src *s, unsigned line, const char *name,
			const char *body, size_t len, unsigned body_line)
{
	struct func *f = func_find(ev, name);
	char *copy;

	if (!*name || strlen(name) >= VAR_NAME_MAX) {
		warn(ev, s, line, "bad function name '%.64s'", name);
		return;
	}
	if (!f && ev->nfuncs == MAX_FUNCS) {
		warn(ev, s, line, "too many functions (%d): '%s' not defined", MAX_FUNCS, name);
		return;
	}
	copy = malloc(len + 1);
	if (!copy) {
		oom(ev, s, line);
		return;
	}
	memcpy(copy, body, len);
	copy[len] = 0;
	ev->work += len;
	if (!f) {
		f = &ev->funcs[ev->nfuncs++];
		scopy(f->name, sizeof(f->name), name);
	}
	free(f->body);
	f->body = copy;
	f->len = len;
	f->line = body_line;
	scopy(f->file, sizeof(f->file), s->file ? s->file : "grub");
}

static int call_func(struct ev *ev, struct src *s, unsigned line, struct func *f, struct args *a)
{
	struct args *saved = ev->frame;
	size_t flen = strlen(f->file);
	struct src fs;
	char *body;

	if (ev->calls >= MAX_CALLS) {
		warn(ev, s, line, "function call depth limit (%d): '%s' not called", MAX_CALLS, f->name);
		return 1;
	}
	/* The body may redefine the function while it runs: run a copy (file name after it). */
	body = malloc(f->len + 1 + flen + 1);
	if (!body) {
		oom(ev, s, line);
		return 1;
	}
	memcpy(body, f->body, f->len + 1);
	memcpy(body + f->len + 1, f->file, flen + 1);
	ev->work += f->len;
	fs = (struct src){ body, f->len, 0, f->line, body + f->len + 1, 0 };
	ev->frame = a;
	ev->calls++;
	ev->status = 0;
	run_src(ev, &fs);
	ev->calls--;
	ev->frame = saved;
	free(body);
	return ev->status;
}

/* --- menu ------------------------------------------------------------------- */

/* Finds the item named by @comp among the children of @parent in menu @ctx. */
static int find_node(struct ev *ev, unsigned ctx, int parent, const char *comp)
{
	bool num = all_digits(comp);
	long long n = num ? to_num(comp, NULL) : -1;

	for (unsigned i = 0; i < ev->nnodes; i++) {
		const struct node *nd = &ev->nodes[i];

		if (nd->ctx != ctx || nd->parent != parent)
			continue;
		if (num ? (long long)nd->pos == n : (!strcmp(nd->title, comp) || !strcmp(nd->id, comp)))
			return (int)i;
	}
	return -1;
}

/*
 * Resolves a default= value: items separated by '>' ('>>' is a '>' in a
 * title), each a number, a title or an id. Returns the entry index or -1.
 */
static int menu_default(struct ev *ev, unsigned ctx, const char *spec)
{
	char comp[NODE_TITLE_MAX];
	int parent = -1, node = -1;
	const char *p = spec;

	for (;;) {
		size_t n = 0;

		while (*p && !(p[0] == '>' && p[1] != '>')) {
			if (p[0] == '>')
				p++;
			if (n + 1 < sizeof(comp))
				comp[n++] = *p;
			p++;
		}
		comp[n] = 0;
		node = comp[0] ? find_node(ev, ctx, parent, comp) : -1;
		if (node < 0)
			return -1;
		if (!*p)
			break;
		p++;
		if (!ev->nodes[node].submenu)
			return -1;
		parent = node;
	}
	return ev->nodes[node].entry;
}

/* Title path and position path of node @idx, as default= spells them. */
static void node_paths(struct ev *ev, int idx, char *title, size_t tsize, char *pos, size_t psize)
{
	int chain[MAX_NODES];
	unsigned n = 0;

	title[0] = 0;
	pos[0] = 0;
	for (int i = idx; i >= 0 && n < MAX_NODES; i = ev->nodes[i].parent)
		chain[n++] = i;
	while (n--) {
		const struct node *nd = &ev->nodes[chain[n]];
		size_t tl = strlen(title);
		char num[16];

		if (tl && tl + 1 < tsize)
			title[tl++] = '>';
		for (const char *c = nd->title; *c && tl + 2 < tsize; c++) {
			if (*c == '>')
				title[tl++] = '>';
			title[tl++] = *c;
		}
		title[tl] = 0;
		snprintf(num, sizeof(num), "%u", nd->pos);
		sappend(pos, psize, ">", num);
	}
}

/*
 * A new item in the current menu level. Returns the node, or -1 when the
 * node table is full (the position is still used up).
 */
static int new_node(struct ev *ev, const struct src *s, unsigned line, bool submenu,
		    const char *title, const char *id)
{
	struct node *nd;

	if (ev->nnodes == MAX_NODES) {
		if (!ev->warned_nodes)
			warn(ev, s, line, "too many menu items (%d): the rest dropped", MAX_NODES);
		ev->warned_nodes = true;
		ev->next_pos++;
		ev->res->entries_dropped += !submenu;
		return -1;
	}
	nd = &ev->nodes[ev->nnodes];
	memset(nd, 0, sizeof(*nd));
	nd->ctx = ev->menu_ctx;
	nd->parent = ev->parent;
	nd->pos = ev->next_pos++;
	nd->submenu = submenu;
	nd->entry = -1;
	scopy(nd->title, sizeof(nd->title), title);
	scopy(nd->id, sizeof(nd->id), id);
	return (int)ev->nnodes++;
}

/* A new entry for node @node; NULL when the entry table is full. */
static struct grub_entry *new_entry(struct ev *ev, const struct src *s, unsigned line, int node)
{
	struct grub_result *res = ev->res;
	struct grub_entry *e;

	if (node < 0)
		return NULL;
	if (res->nentries == GRUB_MAX_ENTRIES) {
		if (!ev->warned_entries)
			warn(ev, s, line, "too many menu entries (%d): the rest dropped",
			     GRUB_MAX_ENTRIES);
		ev->warned_entries = true;
		res->entries_dropped++;
		return NULL;
	}
	e = &res->entries[res->nentries];
	memset(e, 0, sizeof(*e));
	ev->nodes[node].entry = (int)res->nentries++;
	node_paths(ev, node, e->title, sizeof(e->title), e->index_path, sizeof(e->index_path));
	scopy(e->id, sizeof(e->id), ev->nodes[node].id);
	return e;
}

/* Runs a menuentry or submenu body [@start, @end) of @s with a copy of the variables. */
static void run_body(struct ev *ev, const struct src *s, size_t start, size_t end,
		     unsigned line, struct grub_entry *e, int submenu_node)
{
	struct src bs = { s->p + start, end - start, 0, line, s->file, 0 };
	struct env *saved = ev->env, *ne = env_clone(ev, saved, false);
	struct args *saved_frame = ev->frame;
	int saved_parent = ev->parent;
	unsigned saved_pos = ev->next_pos;

	if (!ne) {
		oom(ev, s, line);
		return;
	}
	ev->env = ne;
	ev->frame = NULL;
	if (e) {
		ev->entry = e;
	} else {
		ev->parent = submenu_node;
		ev->next_pos = 0;
	}
	run_src(ev, &bs);
	ev->entry = NULL;
	ev->parent = saved_parent;
	ev->next_pos = saved_pos;
	ev->frame = saved_frame;
	ev->env = saved;
	env_free(ne);
}

/* The words after menuentry/submenu: --class, --id, --users, --hotkey take a value. */
static void menu_options(struct args *a, const char **title, char *id, size_t idlen,
			 char *classes, size_t clen)
{
	static const char *const valued[] = { "--class", "--id", "--users", "--hotkey", "--source" };

	*title = NULL;
	for (unsigned i = 0; i < a->argc; i++) {
		const char *w = a->v[i], *val = NULL;
		size_t k;

		if (w[0] != '-' || w[1] != '-' || !w[2]) {
			if (!*title)
				*title = w;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(valued); k++) {
			size_t n = strlen(valued[k]);

			if (!strncmp(w, valued[k], n) && (w[n] == '=' || !w[n])) {
				val = w[n] == '=' ? w + n + 1 : (i + 1 < a->argc ? a->v[++i] : "");
				break;
			}
		}
		if (!val)
			continue;	/* --unrestricted and unknown flags */
		if (k == 0)
			sappend(classes, clen, " ", val);
		else if (k == 1)
			scopy(id, idlen, val);
	}
}

/*
 * menuentry/submenu: TITLE [options] { body }. The words are expanded when
 * the command runs (as GRUB does), then the body is scanned to its '}' and,
 * when running, evaluated to fill in the entry.
 */
static unsigned parse_menu(struct ev *ev, struct src *s, const struct tok *first, bool submenu,
			   unsigned stopmask, bool exec)
{
	unsigned line = first->line, body_line, t;
	struct args *a = NULL;
	size_t body_start, body_end;
	bool lbrace = false;

	ev->menus_seen++;
	ev->nwords = 0;
	for (;;) {
		struct src save = *s;
		struct tok w;

		lex(ev, s, &w);
		if (w.kind == TOK_EOF || (w.kind == TOK_SEP && w.raw[0] == ';'))
			break;
		if (w.kind == TOK_SEP) {
			/* "{" may be on the next line */
			struct src save2 = *s;
			struct tok n2;

			do
				lex(ev, s, &n2);
			while (n2.kind == TOK_SEP && n2.raw[0] == '\n');
			if (tok_is(&n2, "{")) {
				lbrace = true;
				break;
			}
			*s = save2;
			break;
		}
		if (tok_is(&w, "{")) {
			lbrace = true;
			break;
		}
		if (tok_is(&w, "}") && (stopmask & T_RBRACE)) {
			*s = save;
			break;
		}
		if (ev->nwords < MAX_WORDS)
			ev->words[ev->nwords++] = w;
	}
	if (!lbrace) {
		warn(ev, s, line, "%s without '{': ignored", submenu ? "submenu" : "menuentry");
		return 0;
	}
	/* Entries inside an entry's body would only appear once it is booted. */
	exec = exec && !ev->entry;
	if (exec) {
		a = expand_words(ev, s, line, ev->words, ev->nwords, true);
		if (!a)
			return T_STOP;
	}
	body_start = s->pos;
	body_line = s->line;
	t = run_list(ev, s, T_RBRACE, stopmask, false);
	if (t == T_STOP) {
		args_free(ev, a);
		return t;
	}
	body_end = t == T_EOF ? s->len : ev->term_pos;
	if (t != T_RBRACE)
		warn(ev, s, line, "unbalanced '{' of %s: closed at %s", submenu ? "submenu" : "menuentry",
		     term_name(t));
	if (exec) {
		char id[GRUB_ID_MAX] = "", classes[GRUB_ID_MAX] = "";
		const char *title;
		int node;

		menu_options(a, &title, id, sizeof(id), classes, sizeof(classes));
		if (!title) {
			warn(ev, s, line, "%s without a title", submenu ? "submenu" : "menuentry");
			title = "";
		}
		node = new_node(ev, s, line, submenu, title, id);
		if (submenu) {
			if (node >= 0)
				run_body(ev, s, body_start, body_end, body_line, NULL, node);
		} else {
			struct grub_entry *e = new_entry(ev, s, line, node);

			if (e) {
				scopy(e->classes, sizeof(e->classes), classes);
				run_body(ev, s, body_start, body_end, body_line, e, -1);
			}
		}
	}
	args_free(ev, a);
	if (ev->stop)
		return T_STOP;
	return t == T_RBRACE ? 0 : t;
}

/* --- compound commands -------------------------------------------------------- */

static unsigned parse_if(struct ev *ev, struct src *s, unsigned line, unsigned outer, bool exec)
{
	const unsigned own = T_THEN | T_ELIF | T_ELSE | T_FI;
	bool taken = false;
	unsigned t;

	for (;;) {
		bool run = exec && !taken, cond = false;

		t = run_list(ev, s, T_THEN, outer | own, run);
		if (t == T_THEN) {
			cond = run && ev->status == 0;
			t = run_list(ev, s, T_ELIF | T_ELSE | T_FI, outer, cond);
			taken |= cond;
		} else if (t & (T_ELIF | T_ELSE | T_FI)) {
			warn(ev, s, line, "'if' without 'then'");
		}
		if (t != T_ELIF)
			break;
	}
	if (t == T_ELSE)
		t = run_list(ev, s, T_FI, outer, exec && !taken);
	if (t == T_FI || t == T_STOP)
		return t == T_FI ? 0 : t;
	warn(ev, s, line, "'if' without 'fi' (closed at %s)", term_name(t));
	return t;
}

/* while/until: scanned, never run (a loop that decides anything is not generated). */
static unsigned parse_while(struct ev *ev, struct src *s, unsigned line, const char *what,
			    unsigned outer, bool exec)
{
	unsigned menus = ev->menus_seen, t;

	t = run_list(ev, s, T_DO, outer | T_DONE, false);
	if (t == T_DO)
		t = run_list(ev, s, T_DONE, outer, false);
	if (t == T_STOP)
		return t;
	if (exec && ev->menus_seen != menus)
		warn(ev, s, line, "'%s' loop not evaluated: its menu entries are ignored", what);
	if (t == T_DONE)
		return 0;
	warn(ev, s, line, "'%s' without 'do ... done'", what);
	return t;
}

/* for NAME in WORDS; do BODY; done: the body runs once per word. */
static unsigned parse_for(struct ev *ev, struct src *s, unsigned line, unsigned outer, bool exec)
{
	char name[VAR_NAME_MAX] = "";
	struct args *a = NULL;
	struct src body;
	struct tok w;
	unsigned t;

	lex(ev, s, &w);
	if (w.kind == TOK_WORD && w.bare && w.len < sizeof(name)) {
		memcpy(name, w.raw, w.len);
		name[w.len] = 0;
		lex(ev, s, &w);
	}
	if (!valid_name(name) || !tok_is(&w, "in")) {
		warn(ev, s, line, "bad 'for' loop: not evaluated");
		exec = false;
	}
	ev->nwords = 0;
	while (w.kind == TOK_WORD) {
		lex(ev, s, &w);
		if (w.kind == TOK_WORD && ev->nwords < MAX_WORDS)
			ev->words[ev->nwords++] = w;
	}
	if (exec) {
		a = expand_words(ev, s, line, ev->words, ev->nwords, true);
		if (!a)
			return T_STOP;
	}
	t = run_list(ev, s, T_DO, outer | T_DONE, false);
	if (t != T_DO) {
		args_free(ev, a);
		if (t == T_STOP)
			return t;
		warn(ev, s, line, "'for' without 'do'");
		return t == T_DONE ? 0 : t;
	}
	body = *s;
	if (!exec || !a->argc) {
		t = run_list(ev, s, T_DONE, outer, false);
	} else {
		for (unsigned i = 0; i < a->argc; i++) {
			*s = body;
			var_set(ev, s, line, name, a->v[i], false);
			t = run_list(ev, s, T_DONE, outer, true);
			if (t != T_DONE)
				break;
		}
	}
	args_free(ev, a);
	if (t == T_DONE || t == T_STOP)
		return t == T_DONE ? 0 : t;
	warn(ev, s, line, "'for' without 'done'");
	return t;
}

/* function NAME { BODY } */
static unsigned parse_function(struct ev *ev, struct src *s, unsigned line, unsigned outer,
			       bool exec)
{
	char name[VAR_NAME_MAX] = "";
	size_t body_start, body_end;
	unsigned body_line, t;
	struct src save;
	struct tok w;

	lex(ev, s, &w);
	if (w.kind != TOK_WORD) {
		warn(ev, s, line, "'function' without a name");
		return 0;
	}
	if (w.len < sizeof(name)) {
		memcpy(name, w.raw, w.len);
		name[w.len] = 0;
	}
	save = *s;
	do
		lex(ev, s, &w);
	while (w.kind == TOK_SEP && w.raw[0] == '\n');
	if (!tok_is(&w, "{")) {
		*s = save;
		warn(ev, s, line, "function '%.64s' without '{'", name);
		return 0;
	}
	body_start = s->pos;
	body_line = s->line;
	t = run_list(ev, s, T_RBRACE, outer, false);
	if (t == T_STOP)
		return t;
	body_end = t == T_EOF ? s->len : ev->term_pos;
	if (t != T_RBRACE)
		warn(ev, s, line, "unbalanced '{' of function '%.64s': closed at %s", name,
		     term_name(t));
	if (exec)
		func_define(ev, s, line, name, s->p + body_start, body_end - body_start, body_line);
	return t == T_RBRACE ? 0 : t;
}

/* --- commands ------------------------------------------------------------------- */

typedef int (*cmd_fn)(struct ev *ev, struct src *s, unsigned line, struct args *a);

static int cmd_nop(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	return 0;
}

static int cmd_fail(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	return 1;
}

static int cmd_set(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	char name[VAR_NAME_MAX];
	const char *eq;
	size_t n;

	if (a->argc < 2)
		return 0;	/* lists the variables */
	eq = strchr(a->v[1], '=');
	if (!eq)
		return 1;	/* GRUB: "not an assignment" */
	n = (size_t)(eq - a->v[1]);
	if (n >= sizeof(name)) {
		warn(ev, s, line, "variable name too long");
		return 1;
	}
	memcpy(name, a->v[1], n);
	name[n] = 0;
	return var_set(ev, s, line, name, eq + 1, false);
}

static int cmd_unset(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	for (unsigned i = 1; i < a->argc; i++)
		var_unset(ev, a->v[i]);
	return 0;
}

static int cmd_export(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	for (unsigned i = 1; i < a->argc; i++) {
		struct var *v;

		/* Fedora's stub says "export $prefix": not a name, nothing to do. */
		if (!valid_name(a->v[i]))
			continue;
		v = env_find(ev->env, a->v[i]);
		if (v)
			v->exported = true;
		else
			var_set(ev, s, line, a->v[i], "", true);
	}
	return 0;
}

static int cmd_return(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	int st = ev->status;

	if (a->argc > 1)
		st = (int)(to_num(a->v[1], NULL) & 0xff);
	ev->stop = STOP_RETURN;
	return st;
}

static int cmd_eval(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	char *text;
	struct src es;

	if (ev->includes >= MAX_INCLUDE) {
		warn(ev, s, line, "eval: include depth limit (%d) reached", MAX_INCLUDE);
		return 1;
	}
	text = malloc(WORD_MAX);
	if (!text) {
		oom(ev, s, line);
		return 1;
	}
	if (!join_args(a, 1, text, WORD_MAX))
		warn(ev, s, line, "eval: text cut");
	es = (struct src){ text, strlen(text), 0, line, s->file, 0 };
	ev->includes++;
	ev->status = 0;
	run_src(ev, &es);
	ev->includes--;
	free(text);
	return ev->status;
}

/* --- test / [ --- */

struct texpr {
	struct ev *ev;
	char **v;
	unsigned n, i;
};

static bool t_or(struct texpr *t);

static bool t_is(struct texpr *t, const char *w)
{
	return t->i < t->n && !strcmp(t->v[t->i], w);
}

static bool t_file(struct texpr *t, const char *op, const char *arg)
{
	uint64_t size;
	int k = stat_word(t->ev, arg, &size);

	switch (op[1]) {
	case 'f':
		return k == 1;
	case 'd':
		return k == 2;
	case 'e':
		return k != 0;
	default:	/* -s */
		return k == 1 && size > 0;
	}
}

static bool t_binary(const char *l, const char *op, const char *r, bool *known)
{
	long long a, b;

	*known = true;
	if (!strcmp(op, "=") || !strcmp(op, "=="))
		return !strcmp(l, r);
	if (!strcmp(op, "!="))
		return strcmp(l, r) != 0;
	if (!strcmp(op, "<"))
		return strcmp(l, r) < 0;
	if (!strcmp(op, ">"))
		return strcmp(l, r) > 0;
	if (!strcmp(op, "<="))
		return strcmp(l, r) <= 0;
	if (!strcmp(op, ">="))
		return strcmp(l, r) >= 0;
	a = to_num(l, NULL);
	b = to_num(r, NULL);
	if (!strcmp(op, "-eq"))
		return a == b;
	if (!strcmp(op, "-ne"))
		return a != b;
	if (!strcmp(op, "-lt"))
		return a < b;
	if (!strcmp(op, "-le"))
		return a <= b;
	if (!strcmp(op, "-gt"))
		return a > b;
	if (!strcmp(op, "-ge"))
		return a >= b;
	/* -nt -ot -pgt -plt ...: recognised, not evaluated */
	*known = op[0] == '-' && op[1] && op[2] && !op[3];
	return false;
}

static bool t_prim(struct texpr *t)
{
	const char *w;
	bool known, r;

	if (t->i >= t->n)
		return false;
	w = t->v[t->i];
	if (!strcmp(w, "(")) {
		t->i++;
		r = t_or(t);
		if (t_is(t, ")"))
			t->i++;
		return r;
	}
	if (t->i + 2 < t->n) {
		r = t_binary(w, t->v[t->i + 1], t->v[t->i + 2], &known);
		if (known) {
			t->i += 3;
			return r;
		}
	}
	if (t->i + 1 < t->n && w[0] == '-' && w[1] && !w[2]) {
		const char *arg = t->v[t->i + 1];

		switch (w[1]) {
		case 'z':
			t->i += 2;
			return !arg[0];
		case 'n':
			t->i += 2;
			return arg[0] != 0;
		case 'f':
		case 'd':
		case 'e':
		case 's':
			t->i += 2;
			return t_file(t, w, arg);
		default:
			break;
		}
	}
	t->i++;
	return w[0] != 0;
}

static bool t_not(struct texpr *t)
{
	if (t_is(t, "!") && t->i + 1 < t->n) {
		t->i++;
		return !t_not(t);
	}
	return t_prim(t);
}

static bool t_and(struct texpr *t)
{
	bool r = t_not(t);

	while (t_is(t, "-a")) {
		t->i++;
		r = t_not(t) && r;
	}
	return r;
}

static bool t_or(struct texpr *t)
{
	bool r = t_and(t);

	while (t_is(t, "-o")) {
		t->i++;
		r = t_and(t) || r;
	}
	return r;
}

static int cmd_test(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	struct texpr t = { ev, a->v + 1, a->argc - 1, 0 };

	if (!strcmp(a->v[0], "[")) {
		if (a->argc < 2 || strcmp(a->v[a->argc - 1], "]")) {
			warn(ev, s, line, "'[' without ']'");
			return 1;
		}
		t.n--;
	}
	if (!t.n)
		return 1;
	return t_or(&t) ? 0 : 1;
}

/* --- search --- */

static int do_search(struct ev *ev, struct src *s, unsigned line, char kind, const char *key,
		     const char *var)
{
	static const char *const what[] = { "uuid", "label", "file" };
	char dev[GRUB_DEV_MAX] = "";
	size_t n;
	int r;

	if (!kind) {
		warn(ev, s, line, "search without --fs-uuid, --label or --file");
		return 1;
	}
	if (!key || !*key) {
		warn(ev, s, line, "search without a name");
		return 1;
	}
	r = ev->ops->search(ev->ctx, kind, key, dev, sizeof(dev));
	dev[sizeof(dev) - 1] = 0;
	if (r < 0 || !dev[0]) {
		warn(ev, s, line, "search: no device with %s '%.80s'",
		     what[kind == 'u' ? 0 : kind == 'l' ? 1 : 2], key);
		return 1;
	}
	n = strlen(dev);
	if (n >= 2 && dev[0] == '(' && dev[n - 1] == ')') {
		memmove(dev, dev + 1, n - 2);
		dev[n - 2] = 0;
	}
	if (var)
		return var_set(ev, s, line, var, dev, false);
	return 0;
}

static int cmd_search(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	const char *key = NULL, *var = NULL;
	char kind = 0;

	for (unsigned i = 1; i < a->argc; i++) {
		const char *w = a->v[i];

		if (!strcmp(w, "--fs-uuid") || !strcmp(w, "-u"))
			kind = 'u';
		else if (!strcmp(w, "--label") || !strcmp(w, "-l"))
			kind = 'l';
		else if (!strcmp(w, "--file") || !strcmp(w, "-f"))
			kind = 'f';
		else if (!strcmp(w, "--set") || !strcmp(w, "-s"))
			var = "root";
		else if (!strncmp(w, "--set=", 6))
			var = w + 6;
		else if (!strcmp(w, "-h") || (!strncmp(w, "--hint", 6) && !strchr(w, '=')))
			i++;	/* a hint as the next word */
		else if (w[0] == '-' && w[1])
			continue;	/* --no-floppy, --hint-bios=..., --efidisk-only, ... */
		else if (!key)
			key = w;
		/* further words are hints */
	}
	return do_search(ev, s, line, kind, key, var);
}

static int cmd_search_fixed(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	const char *kinds = "ulf";
	const char *types[] = { "search.fs_uuid", "search.fs_label", "search.file" };
	char kind = 0;

	for (unsigned k = 0; k < 3; k++)
		if (!strcmp(a->v[0], types[k]))
			kind = kinds[k];
	return do_search(ev, s, line, kind, a->argc > 1 ? a->v[1] : NULL,
			 a->argc > 2 ? a->v[2] : NULL);
}

/* --- files and menus --- */

static int cmd_load_env(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	const char *file = NULL;
	char def[GRUB_DEV_MAX + GRUB_PATH_MAX + 16];
	struct grub_file_ref f;
	struct grubenv *env;
	unsigned first_name = 0;
	size_t len;
	char *data;
	int r, st = 0;

	for (unsigned i = 1; i < a->argc; i++) {
		const char *w = a->v[i];

		if ((!strcmp(w, "-f") || !strcmp(w, "--file")) && i + 1 < a->argc)
			file = a->v[++i];
		else if (!strncmp(w, "--file=", 7))
			file = w + 7;
		else if (w[0] == '-' && w[1])
			continue;	/* --skip-sig */
		else if (!first_name)
			first_name = i;
	}
	if (!file) {
		prefix_path(ev, "grubenv", def, sizeof(def));
		file = def;
	}
	if (resolve_ref(ev, file, &f) || !f.path[0]) {
		warn(ev, s, line, "load_env: bad file name '%.100s'", file);
		return 1;
	}
	if (read_ref(ev, s, line, &f, GRUBENV_READ_MAX, &data, &len) < 0)
		return 1;
	env = malloc(sizeof(*env));
	if (!env) {
		free(data);
		oom(ev, s, line);
		return 1;
	}
	r = grubenv_parse(data, len, env);
	free(data);
	if (r < 0) {
		warn(ev, s, line, "load_env: (%s)%s is not a GRUB environment block", f.dev, f.path);
		free(env);
		return 1;
	}
	for (unsigned i = 0; i < env->nvars; i++) {
		bool listed = !first_name;

		/* Only the names given after the options, if any. */
		for (unsigned k = first_name; k && k < a->argc && !listed; k++)
			listed = a->v[k][0] != '-' && !strcmp(a->v[k], env->vars[i].name);
		if (listed && var_set(ev, s, line, env->vars[i].name, env->vars[i].value, true))
			st = 1;
	}
	free(env);
	return st;
}

static int cmd_source(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	if (a->argc < 2)
		return 1;
	return include(ev, s, line, a->v[0], a->v[1], false);
}

static int cmd_configfile(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	char def[GRUB_DEV_MAX + GRUB_PATH_MAX + 16];
	const char *spec = a->argc > 1 ? a->v[1] : NULL;

	if (!spec && !strcmp(a->v[0], "normal")) {
		prefix_path(ev, "grub.cfg", def, sizeof(def));
		spec = def;
	}
	if (!spec)
		return 1;
	if (ev->entry) {
		/* An entry that opens another menu: say so, do not follow. */
		if (ev->entry->kind == GRUB_ENTRY_OTHER) {
			ev->entry->kind = GRUB_ENTRY_CONFIGFILE;
			resolve_ref(ev, spec, &ev->entry->chain);
		}
		return 0;
	}
	return include(ev, s, line, a->v[0], spec, true);
}

/* The first word of @a from @i on that is not an option. */
static unsigned first_nonopt(struct args *a, unsigned i)
{
	while (i < a->argc && a->v[i][0] == '-' && a->v[i][1])
		i++;
	return i;
}

static bool outside_entry(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	if (ev->entry)
		return false;
	warn(ev, s, line, "'%s' outside a menu entry ignored", a->v[0]);
	return true;
}

static int cmd_linux(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	struct grub_entry *e = ev->entry;
	bool multiboot = !strncmp(a->v[0], "multiboot", 9);
	unsigned i;

	if (outside_entry(ev, s, line, a))
		return 0;
	i = multiboot ? first_nonopt(a, 1) : 1;
	if (i >= a->argc)
		return 1;	/* GRUB: filename expected */
	e->kind = multiboot ? GRUB_ENTRY_MULTIBOOT : GRUB_ENTRY_LINUX;
	resolve_ref(ev, a->v[i], &e->kernel);
	e->ninitrd = 0;
	if (!join_args(a, i + 1, e->args, sizeof(e->args)))
		warn(ev, s, line, "kernel command line longer than %d bytes cut", GRUB_ARGS_MAX - 1);
	return 0;
}

static int cmd_initrd(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	struct grub_entry *e = ev->entry;
	bool module = !strncmp(a->v[0], "module", 6);

	if (!e)
		return 0;
	if (!module)
		e->ninitrd = 0;
	for (unsigned i = first_nonopt(a, 1); i < a->argc; i++) {
		if (a->v[i][0] == '-' && a->v[i][1])
			continue;
		if (e->ninitrd == GRUB_MAX_INITRD) {
			warn(ev, s, line, "more than %d initrds: the rest dropped", GRUB_MAX_INITRD);
			break;
		}
		resolve_ref(ev, a->v[i], &e->initrd[e->ninitrd++]);
		if (module)
			break;	/* the words after a module are its command line */
	}
	return 0;
}

static int cmd_chainloader(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	struct grub_entry *e = ev->entry;
	unsigned i;

	if (outside_entry(ev, s, line, a))
		return 0;
	i = first_nonopt(a, 1);
	if (i >= a->argc)
		return 1;
	e->kind = GRUB_ENTRY_CHAINLOADER;
	resolve_ref(ev, a->v[i], &e->chain);
	return 0;
}

struct bls_names {
	unsigned n;
	bool more;
	char name[MAX_BLS][BLS_FILENAME_MAX];
};

static int bls_name_cb(void *cbctx, const char *name)
{
	struct bls_names *bn = cbctx;
	size_t n = strnlen(name, BLS_FILENAME_MAX);

	if (n < 6 || n >= BLS_FILENAME_MAX || strcmp(name + n - 5, ".conf") || strchr(name, '/'))
		return 0;
	if (bn->n == MAX_BLS) {
		bn->more = true;
		return 0;
	}
	memcpy(bn->name[bn->n++], name, n + 1);
	return 0;
}

static int bls_sort_cmp(const void *a, const void *b)
{
	return bls_compare(a, b);
}

/* One BLS entry as a menu entry, with $var in its options expanded now. */
static void bls_add(struct ev *ev, struct src *s, unsigned line, const struct bls_entry *b,
		    const char *dev)
{
	char id[BLS_FILENAME_MAX];
	const char *title = b->title[0] ? b->title : b->version[0] ? b->version : b->filename;
	struct grub_entry *e;
	struct src os;
	struct args *a;
	struct tok w;
	int node;

	scopy(id, sizeof(id), b->filename);
	id[strlen(id) - 5] = 0;	/* ".conf", checked by bls_name_cb */
	node = new_node(ev, s, line, false, title, id);
	e = new_entry(ev, s, line, node);
	if (!e)
		return;
	e->from_bls = true;
	scopy(e->bls_file, sizeof(e->bls_file), b->filename);
	if (b->linux_path[0]) {
		e->kind = GRUB_ENTRY_LINUX;
		scopy(e->kernel.dev, sizeof(e->kernel.dev), dev);
		snprintf(e->kernel.path, sizeof(e->kernel.path), "%s%s",
			 b->linux_path[0] == '/' ? "" : "/", b->linux_path);
	} else {
		e->kind = GRUB_ENTRY_CHAINLOADER;
		scopy(e->chain.dev, sizeof(e->chain.dev), dev);
		snprintf(e->chain.path, sizeof(e->chain.path), "%s%s", b->efi[0] == '/' ? "" : "/",
			 b->efi);
	}
	for (unsigned i = 0; i < b->ninitrd && i < GRUB_MAX_INITRD; i++) {
		scopy(e->initrd[i].dev, sizeof(e->initrd[i].dev), dev);
		snprintf(e->initrd[i].path, sizeof(e->initrd[i].path), "%s%s",
			 b->initrd[i][0] == '/' ? "" : "/", b->initrd[i]);
		e->ninitrd++;
	}
	/* Fedora's blscfg runs "linux ... OPTIONS" as script: quotes and $vars apply. */
	os = (struct src){ b->options, strlen(b->options), 0, 1, e->bls_file, 0 };
	ev->nwords = 0;
	for (lex(ev, &os, &w); w.kind != TOK_EOF; lex(ev, &os, &w))
		if (w.kind == TOK_WORD && ev->nwords < MAX_WORDS)
			ev->words[ev->nwords++] = w;
	a = expand_words(ev, &os, 1, ev->words, ev->nwords, true);
	if (!a)
		return;
	if (!join_args(a, 0, e->args, sizeof(e->args)))
		warn(ev, s, line, "%s: options cut", b->filename);
	args_free(ev, a);
}

static int cmd_blscfg(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	static const char *const dirs[] = { "/loader/entries", "/boot/loader/entries" };
	const char *root = var_get(ev, "root"), *blsdir = var_get(ev, "blsdir");
	struct bls_names *bn;
	struct bls_entry *ents = NULL;
	char dir[GRUB_PATH_MAX] = "";
	unsigned n = 0;

	if (ev->entry)
		return 0;
	if (!root || !*root || strlen(root) >= GRUB_DEV_MAX) {
		warn(ev, s, line, "blscfg: no $root");
		return 1;
	}
	bn = calloc(1, sizeof(*bn));
	if (!bn) {
		oom(ev, s, line);
		return 1;
	}
	for (unsigned d = 0; d < (blsdir && *blsdir ? 1u : ARRAY_SIZE(dirs)) && !bn->n; d++) {
		scopy(dir, sizeof(dir), blsdir && *blsdir ? blsdir : dirs[d]);
		ev->ops->list_dir(ev->ctx, root, dir, bls_name_cb, bn);
	}
	if (!bn->n) {
		warn(ev, s, line, "blscfg: no entries in %s on (%s)",
		     blsdir && *blsdir ? blsdir : "/loader/entries or /boot/loader/entries", root);
		free(bn);
		return 1;
	}
	if (bn->more)
		warn(ev, s, line, "blscfg: more than %d entries in %s: the rest ignored", MAX_BLS, dir);
	ents = calloc(bn->n, sizeof(*ents));
	if (!ents) {
		free(bn);
		oom(ev, s, line);
		return 1;
	}
	for (unsigned i = 0; i < bn->n && !ev->stop; i++) {
		struct grub_file_ref f;
		char why[128], path[GRUB_PATH_MAX + BLS_FILENAME_MAX + 2];
		size_t len;
		char *data;

		snprintf(path, sizeof(path), "%s/%s", dir, bn->name[i]);
		scopy(f.dev, sizeof(f.dev), root);
		if (!scopy(f.path, sizeof(f.path), path))
			continue;
		if (!budget(ev, s, line))
			break;
		if (read_ref(ev, s, line, &f, BLS_READ_MAX, &data, &len) < 0)
			continue;
		if (bls_parse(data, len, &ents[n], why, sizeof(why)) < 0) {
			warn(ev, s, line, "blscfg: %s: %s", bn->name[i], why);
		} else {
			if (why[0])
				warn(ev, s, line, "blscfg: %s: %s", bn->name[i], why);
			scopy(ents[n].filename, sizeof(ents[n].filename), bn->name[i]);
			n++;
		}
		free(data);
	}
	qsort(ents, n, sizeof(*ents), bls_sort_cmp);
	for (unsigned i = 0; i < n && !ev->stop; i++)
		bls_add(ev, s, line, &ents[i], root);
	free(ents);
	free(bn);
	return 0;
}

static const struct {
	const char *name;
	cmd_fn fn;
} cmds[] = {
	{ "set", cmd_set },
	{ "unset", cmd_unset },
	{ "export", cmd_export },
	{ "load_env", cmd_load_env },
	{ "source", cmd_source },
	{ ".", cmd_source },
	{ "configfile", cmd_configfile },
	{ "normal", cmd_configfile },
	{ "search", cmd_search },
	{ "search.fs_uuid", cmd_search_fixed },
	{ "search.fs_label", cmd_search_fixed },
	{ "search.file", cmd_search_fixed },
	{ "linux", cmd_linux },
	{ "linuxefi", cmd_linux },
	{ "linux16", cmd_linux },
	{ "multiboot", cmd_linux },
	{ "multiboot2", cmd_linux },
	{ "initrd", cmd_initrd },
	{ "initrdefi", cmd_initrd },
	{ "initrd16", cmd_initrd },
	{ "module", cmd_initrd },
	{ "module2", cmd_initrd },
	{ "chainloader", cmd_chainloader },
	{ "ntldr", cmd_chainloader },
	{ "blscfg", cmd_blscfg },
	{ "[", cmd_test },
	{ "test", cmd_test },
	{ "true", cmd_nop },
	{ "false", cmd_fail },
	{ "exit", cmd_return },
	{ "return", cmd_return },
	{ "eval", cmd_eval },
	/* Harmless here: they load modules, draw, talk to the user or write. */
	{ "insmod", cmd_nop }, { "rmmod", cmd_nop }, { "terminal_output", cmd_nop },
	{ "terminal_input", cmd_nop }, { "terminal", cmd_nop }, { "terminfo", cmd_nop },
	{ "echo", cmd_nop }, { "sleep", cmd_nop }, { "play", cmd_nop }, { "serial", cmd_nop },
	{ "save_env", cmd_nop }, { "savedefault", cmd_nop }, { "recordfail", cmd_nop },
	{ "load_video", cmd_nop }, { "gfxmode", cmd_nop }, { "clear", cmd_nop },
	{ "background_color", cmd_nop }, { "gettext", cmd_nop }, { "parttool", cmd_nop },
	{ "drivemap", cmd_nop }, { "videoinfo", cmd_nop }, { "cryptomount", cmd_nop },
	{ "nativedisk", cmd_nop }, { "password", cmd_nop }, { "password_pbkdf2", cmd_nop },
	{ "lsmod", cmd_nop }, { "ls", cmd_nop }, { "cat", cmd_nop }, { "help", cmd_nop },
	{ "keymap", cmd_nop }, { "loopback", cmd_nop }, { "increment", cmd_nop },
	{ "decrement", cmd_nop }, { "boot", cmd_nop }, { "reboot", cmd_nop }, { "halt", cmd_nop },
	{ "fwsetup", cmd_nop }, { "efifwsetup", cmd_nop }, { "devicetree", cmd_nop },
	{ "setparams", cmd_nop }, { "initrdfail", cmd_nop }, { "cpuid", cmd_nop },
	{ "shim_lock", cmd_nop }, { "tpm", cmd_nop }, { "smbios", cmd_nop },
	{ "set_background_image", cmd_nop }, { "vbeinfo", cmd_nop }, { "lsefi", cmd_nop },
	{ "hiddenmenu", cmd_nop }, { "authenticate", cmd_nop }, { "usb", cmd_nop },
	{ "xen_hypervisor", cmd_nop }, { "xen_module", cmd_nop }, { "appleloader", cmd_nop },
	{ "kfreebsd", cmd_nop }, { "kfreebsd_loadenv", cmd_nop }, { "kfreebsd_module", cmd_nop },
	{ "knetbsd", cmd_nop }, { "kopenbsd", cmd_nop }, { "xnu_kernel", cmd_nop },
	{ "xnu_kernel64", cmd_nop }, { "xnu_uuid", cmd_nop }, { "break", cmd_nop },
	{ "continue", cmd_nop }, { "shift", cmd_nop }, { "bls_import", cmd_nop },
	{ "verify_detached", cmd_nop }, { "trust", cmd_nop }, { "distrust", cmd_nop },
	{ "hashsum", cmd_nop }, { "tr", cmd_nop }, { "outb", cmd_nop }, { "pager", cmd_nop },
	{ "list_env", cmd_nop }, { "lsfonts", cmd_nop }, { "btrfs-mount-subvol", cmd_nop },
	{ "tpm2_key_protector_init", cmd_nop }, { "tpm2_key_protector_clear", cmd_nop },
	/* Their answer would be "no" here. */
	{ "loadfont", cmd_fail }, { "keystatus", cmd_fail }, { "probe", cmd_fail },
	{ "regexp", cmd_fail }, { "read", cmd_fail }, { "background_image", cmd_fail },
	{ "hwmatch", cmd_fail },
};

static int exec_cmd(struct ev *ev, struct src *s, unsigned line, struct args *a)
{
	struct func *f;

	if (!a->argc)
		return 0;
	f = func_find(ev, a->v[0]);
	if (f)
		return call_func(ev, s, line, f, a);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (cmds[i].name[0] == a->v[0][0] && !strcmp(cmds[i].name, a->v[0]))
			return cmds[i].fn(ev, s, line, a);
	warn(ev, s, line, "unknown command '%.64s' ignored", a->v[0]);
	return 1;
}

/* NAME=value as a command of its own. Returns the length of NAME or 0. */
static size_t assignment(const struct tok *t)
{
	size_t n = 0;

	if (t->len && t->raw[0] >= '0' && t->raw[0] <= '9')
		return 0;
	while (n < t->len && is_name_char(t->raw[n]))
		n++;
	return n && n < t->len && t->raw[n] == '=' ? n : 0;
}

/* A simple command: its words up to a separator (or a '}' that closes a block). */
static unsigned simple(struct ev *ev, struct src *s, const struct tok *first, unsigned stopmask,
		       bool exec)
{
	struct args *a;
	size_t n;

	ev->nwords = 0;
	ev->words[ev->nwords++] = *first;
	for (;;) {
		struct src save = *s;
		struct tok t;

		lex(ev, s, &t);
		if (t.kind != TOK_WORD)
			break;
		if ((stopmask & T_RBRACE) && tok_is(&t, "}")) {
			*s = save;
			break;
		}
		if (ev->nwords < MAX_WORDS)
			ev->words[ev->nwords++] = t;
		else
			warn(ev, s, t.line, "more than %d words: the rest dropped", MAX_WORDS);
	}
	if (!exec)
		return 0;
	n = assignment(first);
	if (n) {
		struct tok val = *first;
		char name[VAR_NAME_MAX];

		if (n >= sizeof(name)) {
			warn(ev, s, first->line, "variable name too long");
			ev->status = 1;
			return 0;
		}
		memcpy(name, first->raw, n);
		name[n] = 0;
		val.raw += n + 1;
		val.len -= n + 1;
		a = expand_words(ev, s, first->line, &val, 1, false);
		if (!a)
			return T_STOP;
		ev->status = var_set(ev, s, first->line, name, a->argc ? a->v[0] : "", false);
		args_free(ev, a);
		return ev->stop ? T_STOP : 0;
	}
	a = expand_words(ev, s, first->line, ev->words, ev->nwords, true);
	if (!a)
		return T_STOP;
	ev->status = exec_cmd(ev, s, first->line, a);
	args_free(ev, a);
	return ev->stop ? T_STOP : 0;
}

/* One command starting with word @first; returns 0 or a closing word to pass up. */
static unsigned command(struct ev *ev, struct src *s, const struct tok *first, unsigned stopmask,
			bool exec)
{
	unsigned line = first->line, t;

	if (!budget(ev, s, line))
		return T_STOP;
	if (first->bare) {
		if (tok_is(first, "if"))
			return parse_if(ev, s, line, stopmask, exec);
		if (tok_is(first, "while") || tok_is(first, "until"))
			return parse_while(ev, s, line, tok_is(first, "while") ? "while" : "until",
					   stopmask, exec);
		if (tok_is(first, "for"))
			return parse_for(ev, s, line, stopmask, exec);
		if (tok_is(first, "function"))
			return parse_function(ev, s, line, stopmask, exec);
		if (tok_is(first, "menuentry") || tok_is(first, "submenu"))
			return parse_menu(ev, s, first, tok_is(first, "submenu"), stopmask, exec);
		if (tok_is(first, "{")) {
			warn(ev, s, line, "unexpected '{': block skipped");
			t = run_list(ev, s, T_RBRACE, stopmask, false);
			return t == T_RBRACE ? 0 : t;
		}
	}
	return simple(ev, s, first, stopmask, exec);
}

static unsigned run_list_body(struct ev *ev, struct src *s, unsigned want, unsigned outer,
			      bool exec)
{
	for (;;) {
		struct tok t;
		unsigned r;

		if (ev->stop)
			return T_STOP;
		lex(ev, s, &t);
		if (t.kind == TOK_EOF) {
			ev->term_pos = s->len;
			return T_EOF;
		}
		if (t.kind == TOK_SEP)
			continue;
		r = tok_term(&t);
		if (r) {
			if (r & (want | outer)) {
				ev->term_pos = t.start;
				return r;
			}
			if (r == T_RBRACE)
				warn(ev, s, t.line, "'}' without '{'");
			else
				warn(ev, s, t.line, "unexpected '%s'", term_name(r));
			continue;
		}
		r = command(ev, s, &t, want | outer, exec);
		if (r)
			return r;
	}
}

/*
 * Runs (@exec) or scans the commands of @s until a closing word in @want
 * (returned) or in @outer (an enclosing construct's: returned so that it
 * passes up), the end (T_EOF) or a stop (T_STOP).
 */
static unsigned run_list(struct ev *ev, struct src *s, unsigned want, unsigned outer, bool exec)
{
	unsigned r;

	if (ev->stop)
		return T_STOP;
	if (s->nest >= MAX_NEST || ev->depth >= MAX_DEPTH) {
		warn(ev, s, s->line, "blocks nested deeper than %d: rest of this file or body skipped",
		     s->nest >= MAX_NEST ? MAX_NEST : MAX_DEPTH);
		ev->stop = STOP_RETURN;
		return T_STOP;
	}
	s->nest++;
	ev->depth++;
	r = run_list_body(ev, s, want, outer, exec);
	s->nest--;
	ev->depth--;
	return r;
}

/* --- entry point ----------------------------------------------------------------- */

static void set_builtins(struct ev *ev, const char *dev, const char *path)
{
	static const char *const features[] = {
		"feature_chainloader_bpb", "feature_ntldr", "feature_platform_search_hint",
		"feature_default_font_path", "feature_all_video_module", "feature_menuentry_id",
		"feature_menuentry_options", "feature_200_final", "feature_nativedisk_cmd",
		"feature_timeout_style",
	};
	const char *platform = ev->ops->platform ? ev->ops->platform : "efi";
	char prefix[GRUB_DEV_MAX + GRUB_PATH_MAX + 4];
	char *slash;

	var_set(ev, NULL, 0, "root", dev, true);
	snprintf(prefix, sizeof(prefix), "(%s)%s", dev, path);
	var_set(ev, NULL, 0, "config_file", prefix, true);
	slash = strrchr(prefix, '/');
	if (slash)
		*slash = 0;
	var_set(ev, NULL, 0, "prefix", prefix, true);
	var_set(ev, NULL, 0, "cmdpath", prefix, true);
	var_set(ev, NULL, 0, "config_directory", prefix, true);
	var_set(ev, NULL, 0, "grub_platform", platform, true);
	var_set(ev, NULL, 0, "grub_cpu", strcmp(platform, "pc") ? "x86_64" : "i386", true);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		var_set(ev, NULL, 0, features[i], "y", true);
}

int grub_eval(const struct grub_fs_ops *ops, void *ctx, const char *dev, const char *path,
	      struct grub_result *out)
{
	struct grub_file_ref f;
	struct src top;
	struct ev *ev;
	char *data;
	size_t len;
	int r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->default_index = -1;
	out->timeout = -1;
	if (!ops || !ops->search || !ops->read_file || !ops->list_dir || !ops->stat || !dev ||
	    !*dev || !path || path[0] != '/' || strlen(dev) >= GRUB_DEV_MAX ||
	    strlen(path) >= GRUB_PATH_MAX)
		return -EINVAL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->ops = ops;
	ev->ctx = ctx;
	ev->res = out;
	ev->parent = -1;
	ev->env = env_new();
	if (!ev->env) {
		free(ev);
		return -ENOMEM;
	}
	set_builtins(ev, dev, path);
	scopy(f.dev, sizeof(f.dev), dev);
	scopy(f.path, sizeof(f.path), path);
	top = (struct src){ .file = f.path };
	r = read_ref(ev, &top, 0, &f, GRUB_FILE_MAX, &data, &len);
	if (r == 0) {
		run_file(ev, &f, data, len, false);
		finish_menu(ev, 0);
		free(data);
	}
	if (ev->oomed && !r)
		r = -ENOMEM;
	for (unsigned i = 0; i < ev->nfuncs; i++)
		free(ev->funcs[i].body);
	while (ev->args_pool) {
		struct args *a = ev->args_pool;

		ev->args_pool = a->next;
		free(a->buf);
		free(a);
	}
	env_free(ev->env);
	free(ev);
	return r;
}
