/*
 * Logging for polyvmm and polyboot: one line per message on stderr (the
 * firmware console or the supervisor's log), "<prog>[<name>] <mod>: text".
 * Each .c file defines LOG_MOD before including this header.
 */
#ifndef POLYBOOT_COMMON_LOG_H
#define POLYBOOT_COMMON_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above @level are dropped. Default: LOG_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix of every line (program name, VM name); copied. */
void log_set_prefix(const char *prefix);
/* Parses "err", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* Sends every line (without its newline) to @fn instead of stderr, or back
 * to stderr when @fn is NULL. @fn runs under the log lock: it must not log. */
typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line);
void log_set_sink(log_sink_fn fn, void *ctx);

void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_MOD
#define LOG_MOD "polyboot"
#endif

#define log_err(...)   log_msg(LOG_ERR, LOG_MOD, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, LOG_MOD, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, LOG_MOD, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, LOG_MOD, __VA_ARGS__)

/*
 * For anything a guest can trigger: at most 10 messages per call site, then
 * silence, so a misbehaving guest cannot flood the console.
 */
#define log_guest(...)                                                    \
	do {                                                              \
		static unsigned log_guest_count_;                         \
		if (__atomic_fetch_add(&log_guest_count_, 1, __ATOMIC_RELAXED) < 10) \
			log_msg(LOG_WARN, LOG_MOD, __VA_ARGS__);          \
	} while (0)

#endif
