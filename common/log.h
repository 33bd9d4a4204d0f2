/*
 * log.h: the daemons' small logging vocabulary (stderr for journald, or
 * syslog). Messages triggered by network input must use the rate-limited
 * forms (LOG_RL_*) and never include key material, cookies or plaintext.
 */
#ifndef NTS_LOG_H
#define NTS_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/compiler.h"

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/* log_init sets the program name, the sink (syslog if |use_syslog|, else
 * stderr with a timestamp) and the maximum level printed. */
void log_init(const char *ident, int use_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_from_string(enum log_level *out, const char *s) NTS_WUR;

void log_msg(enum log_level level, const char *fmt, ...) NTS_PRINTF(2, 3);
__attribute__((noreturn)) void log_fatal(const char *fmt, ...) NTS_PRINTF(1, 2);

#define log_err(...)  log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG) {                                            \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
		}                                                                                  \
	} while (0)

/* A per-call-site budget: at most LOG_RL_BURST messages per LOG_RL_PERIOD
 * seconds; when a period ends with messages dropped, the next message
 * reports how many. Lock-free and safe from any thread. */
#define LOG_RL_BURST  5
#define LOG_RL_PERIOD 60

struct log_ratelimit {
	_Atomic int64_t period_start;
	_Atomic uint32_t count;
	_Atomic uint32_t suppressed;
};

/* log_ratelimit_allow returns 1 if a message may be printed now and sets
 * |*out_suppressed| to the number dropped since the last one printed. */
int log_ratelimit_allow(struct log_ratelimit *rl, uint32_t *out_suppressed);

#define LOG_RL(level, ...)                                                                         \
	do {                                                                                       \
		static struct log_ratelimit rl_;                                                   \
		uint32_t supp_;                                                                    \
		if (log_get_level() >= (level) && log_ratelimit_allow(&rl_, &supp_)) {             \
			if (supp_ > 0) {                                                           \
				log_msg((level), "(%u similar messages suppressed)", supp_);       \
			}                                                                          \
			log_msg((level), __VA_ARGS__);                                             \
		}                                                                                  \
	} while (0)
#define LOG_RL_WARN(...) LOG_RL(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_RL_ERR(...)  LOG_RL(LOG_LVL_ERR, __VA_ARGS__)

#endif
