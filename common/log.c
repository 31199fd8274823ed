#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level cur_level = LOG_INFO;
static char prefix[64] = "polyboot";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_sink_fn sink;
static void *sink_ctx;

void log_set_sink(log_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	sink = fn;
	sink_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_prefix(const char *p)
{
	snprintf(prefix, sizeof(prefix), "%s", p);
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *mod, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "" };
	char line[512];
	int n;
	va_list ap;

	if (level > cur_level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: %s", prefix, mod, tag[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (sink)
		sink(sink_ctx, level, line);
	else
		fprintf(stderr, "%s\n", line);
	pthread_mutex_unlock(&log_lock);
}
