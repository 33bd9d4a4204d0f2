/*
 * fuzz_config.c: the configuration parser (common/config.c) on arbitrary
 * text: cfg_parse_buffer with a directive table that uses every typed
 * argument helper and every typed row. Error messages go to /dev/null unless FUZZ_VERBOSE is
 * set (the sanitizers write to fd 2 directly and are not affected).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_cfg {
	uint64_t u64, ms, bytes;
	int flag, choice;
	char str[16];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned num_multi;
	/* filled by typed rows (no handler) */
	uint64_t t_u64, t_ms, t_bytes;
	int t_flag;
	char t_str[8], t_path[16];
	enum log_level t_level;
};

static void check_string(const char *s, size_t cap)
{
	if (strnlen(s, cap) >= cap) {
		abort();
	}
}

static int d_u64(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	if (!cfg_arg_u64(&c->u64, l, 0, 1, 1000000)) {
		return 0;
	}
	if (c->u64 < 1 || c->u64 > 1000000) {
		abort();
	}
	return 1;
}

static int d_bool(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	return cfg_arg_bool(&c->flag, l, 0);
}

static int d_duration(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	if (!cfg_arg_duration_ms(&c->ms, l, 0, 100, 86400000)) {
		return 0;
	}
	if (c->ms < 100 || c->ms > 86400000) {
		abort();
	}
	return 1;
}

static int d_size(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	if (!cfg_arg_size(&c->bytes, l, 0, 64, UINT64_MAX / 2)) {
		return 0;
	}
	if (c->bytes < 64 || c->bytes > UINT64_MAX / 2) {
		abort();
	}
	return 1;
}

static int d_addr(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	char buf[64];
	for (int i = 0; i < l->argc; i++) {
		if (!cfg_arg_sockaddr(&c->addr, &c->addr_len, l, i, 123)) {
			return 0;
		}
		check_string(cfg_sockaddr_str(buf, sizeof(buf), (struct sockaddr *)&c->addr),
		             sizeof(buf));
	}
	return 1;
}

static int d_string(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	if (!cfg_arg_string(c->str, sizeof(c->str), l, 0)) {
		return 0;
	}
	check_string(c->str, sizeof(c->str));
	return 1;
}

static int d_choice(void *ctx, const struct cfg_line *l)
{
	static const char *const choices[] = {"static", "ntp", "chrony", NULL};
	struct fuzz_cfg *c = ctx;
	if (!cfg_arg_choice(&c->choice, l, 0, choices)) {
		return 0;
	}
	if (c->choice < 0 || c->choice > 2) {
		abort();
	}
	return 1;
}

static int d_multi(void *ctx, const struct cfg_line *l)
{
	struct fuzz_cfg *c = ctx;
	if (l->argc < 0 || l->argc > CFG_MAX_ARGS || l->name == NULL) {
		abort();
	}
	for (int i = 0; i < l->argc; i++) {
		check_string(l->argv[i], CFG_MAX_LINE + 1);
	}
	c->num_multi++;
	return 1;
}

static const struct cfg_directive dirs[] = {
    CFG_CALL_ROW("count", 1, 1, d_u64, 0),
    CFG_CALL_ROW("enabled", 1, 1, d_bool, 0),
    CFG_CALL_ROW("deadline", 1, 1, d_duration, 1),
    CFG_CALL_ROW("maxsize", 1, 1, d_size, 0),
    CFG_CALL_ROW("listen", 1, 3, d_addr, 1),
    CFG_CALL_ROW("name", 1, 1, d_string, 0),
    CFG_CALL_ROW("source", 1, 1, d_choice, 0),
    CFG_CALL_ROW("multi", 0, CFG_MAX_ARGS, d_multi, 1),
    CFG_UINT_ROW("tcount", struct fuzz_cfg, t_u64, 1, 1000, NULL, 0),
    CFG_DURATION_ROW("tdeadline", struct fuzz_cfg, t_ms, 10, 60000, NULL, 0),
    CFG_SIZE_ROW("tsize", struct fuzz_cfg, t_bytes, 64, 65536, NULL, 0),
    CFG_BOOL_ROW("tflag", struct fuzz_cfg, t_flag, NULL, 0),
    CFG_STRING_ROW("tname", struct fuzz_cfg, t_str, NULL, 0),
    CFG_ABSPATH_ROW("tpath", struct fuzz_cfg, t_path, NULL, 0),
    CFG_LOGLEVEL_ROW("tlevel", struct fuzz_cfg, t_level, NULL, 0),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct fuzz_cfg cfg;
	char *text = malloc(size + 1);

	if (text == NULL) {
		abort();
	}
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	FILE *saved = stderr;
	if (getenv("FUZZ_VERBOSE") == NULL) {
		if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL) {
			abort();
		}
		stderr = devnull;
	}
	int ok = cfg_parse_buffer("fuzz.conf", text, dirs, sizeof(dirs) / sizeof(dirs[0]), &cfg);
	stderr = saved;
	(void)ok;
	/* typed rows keep their ranges and terminate their strings */
	if (cfg.t_u64 > 1000 || cfg.t_ms > 60000 || cfg.t_bytes > 65536 || cfg.t_flag > 1) {
		abort();
	}
	check_string(cfg.t_str, sizeof(cfg.t_str));
	check_string(cfg.t_path, sizeof(cfg.t_path));
	free(text);
	return 0;
}
