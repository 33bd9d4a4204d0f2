/*
 * config.h: one-directive-per-line configuration files in the spirit of
 * chrony.conf. A line is a directive name followed by whitespace-separated
 * arguments; '#' starts a comment; arguments may be double-quoted. Every
 * error is reported as "FILE:LINE: message". Unknown directives are errors.
 *
 * A daemon describes its directives in a table; cfg_parse_file calls each
 * directive's handler with the tokenised line. Handlers use the typed
 * helpers below, which check ranges and report errors with file:line.
 */
#ifndef NTS_CONFIG_H
#define NTS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"

#define CFG_MAX_ARGS 16
#define CFG_MAX_LINE 1024

struct cfg_line {
	const char *file;
	unsigned line;
	int argc; /* arguments after the directive name */
	const char *name;
	const char *argv[CFG_MAX_ARGS];
};

struct cfg_directive {
	const char *name;
	int min_args;
	int max_args;
	/* returns 1 if accepted, 0 after reporting an error with cfg_error */
	int (*handler)(void *ctx, const struct cfg_line *l);
	int repeatable; /* 0: a second occurrence is an error */
};

/* cfg_parse_file reads |path| and dispatches each line to |dirs|. All
 * errors are printed (to stderr, as FILE:LINE: msg); returns 1 if there
 * were none, 0 otherwise. */
int cfg_parse_file(const char *path, const struct cfg_directive *dirs, size_t num_dirs,
                   void *ctx) NTS_WUR;

/* cfg_parse_buffer is cfg_parse_file over a NUL-terminated buffer; |name|
 * is used in error messages. Used by tests. */
int cfg_parse_buffer(const char *name, const char *text, const struct cfg_directive *dirs,
                     size_t num_dirs, void *ctx) NTS_WUR;

/* cfg_error prints "FILE:LINE: message" and returns 0. */
int cfg_error(const struct cfg_line *l, const char *fmt, ...) NTS_PRINTF(2, 3);

/* Typed argument helpers: parse l->argv[idx], report errors, return 1/0. */
int cfg_arg_u64(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min,
                uint64_t max) NTS_WUR;
int cfg_arg_bool(int *out, const struct cfg_line *l, int idx) NTS_WUR; /* yes/no/on/off/1/0 */
/* durations: "2", "2s", "500ms", "10m", "1h", "1d" -> milliseconds */
int cfg_arg_duration_ms(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min_ms,
                        uint64_t max_ms) NTS_WUR;
/* sizes: "64", "64k", "16M" -> bytes */
int cfg_arg_size(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min,
                 uint64_t max) NTS_WUR;
/* "ADDR" or "ADDR PORT"-style: an IPv4/IPv6 literal (IPv6 may be in
 * brackets with :port), with |default_port| when none is given. */
int cfg_arg_sockaddr(struct sockaddr_storage *out, socklen_t *out_len, const struct cfg_line *l,
                     int idx, uint16_t default_port) NTS_WUR;
/* a copy into a fixed buffer; error if it does not fit */
int cfg_arg_string(char *out, size_t out_size, const struct cfg_line *l, int idx) NTS_WUR;
/* one of |choices| (NULL-terminated); sets the index */
int cfg_arg_choice(int *out, const struct cfg_line *l, int idx, const char *const *choices) NTS_WUR;

/* Reload support. A daemon lists the parts of its config struct that
 * directives fill, and whether each can change at run time. On SIGHUP it
 * parses the file into a fresh struct and calls cfg_reload_diff, which logs
 * every directive whose value changed (applied, or kept until a restart),
 * copies the reloadable fields from |fresh| into |running| and returns the
 * number of directives that changed but need a restart. Several entries may
 * share a name (a directive that fills several fields); any difference in
 * bytes not covered by the table is reported as "other directives". */
struct cfg_field {
	const char *name;
	size_t off;
	size_t len;
	int reloadable;
};

/* CFG_FIELD(struct type, "directive", member, reloadable): a table entry. */
/* clang-format off */
#define CFG_FIELD(type, name, field, reloadable) \
	{(name), offsetof(type, field), sizeof(((type *)0)->field), (reloadable)}
/* clang-format on */

int cfg_reload_diff(const char *path, void *running, const void *fresh, size_t struct_len,
                    const struct cfg_field *fields, size_t num_fields);

/* Formats a sockaddr as "1.2.3.4:123" or "[::1]:123" into |buf|. */
const char *cfg_sockaddr_str(char *buf, size_t buf_len, const struct sockaddr *sa);

#endif
