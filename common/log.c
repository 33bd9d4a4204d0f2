/*
 * log.c: stderr (with a timestamp, for journald or a terminal) or syslog.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_ident = "nts";
static int log_syslog;
static _Atomic int log_level = LOG_LVL_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_init(const char *ident, int use_syslog, enum log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level = level;
	if (use_syslog) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)log_level;
}

int log_level_from_string(enum log_level *out, const char *s)
{
	for (size_t i = 0; i < NTS_ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 1;
		}
	}
	if (strcmp(s, "err") == 0) {
		*out = LOG_LVL_ERR;
		return 1;
	}
	if (strcmp(s, "warn") == 0) {
		*out = LOG_LVL_WARN;
		return 1;
	}
	return 0;
}

NTS_PRINTF(2, 0) static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[1024];

	if ((int)level > log_level) {
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Never let a message break a line-oriented log. */
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = '?';
		}
	}
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", when, ts.tv_nsec / 1000000, log_ident,
	        level_names[level], msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

int log_ratelimit_allow(struct log_ratelimit *rl, uint32_t *out_suppressed)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	int64_t now = ts.tv_sec;
	int64_t start = atomic_load_explicit(&rl->period_start, memory_order_relaxed);

	*out_suppressed = 0;
	if (now - start >= LOG_RL_PERIOD || start == 0) {
		/* One thread wins the reset; the others fall through to count. */
		if (atomic_compare_exchange_strong(&rl->period_start, &start, now)) {
			atomic_store(&rl->count, 0);
			*out_suppressed = atomic_exchange(&rl->suppressed, 0);
		}
	}
	if (atomic_fetch_add(&rl->count, 1) < LOG_RL_BURST) {
		return 1;
	}
	atomic_fetch_add(&rl->suppressed, 1);
	return 0;
}
