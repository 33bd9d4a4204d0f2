/*
 * config.h: one-directive-per-line configuration files in the spirit of
 * chrony.conf. A line is a directive name followed by whitespace-separated
 * arguments; '#' starts a comment; arguments may be double-quoted. Every
 * error is reported as "FILE:LINE: message". Unknown directives are errors.
 *
 * A daemon describes its directives in a table of rows (struct
 * cfg_directive); cfg_parse_file parses typed rows itself and calls the
 * handler of composite ones, which use the typed helpers below (they check
 * ranges and report errors with file:line).
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

/* A directive is one row of a table, in the manner of Knot DNS's schema
 * items: its name, the type of its argument, the field it fills (offset and
 * length in the daemon's config struct), the range, the default (written as
 * it would be in a file, applied by cfg_defaults) and whether a SIGHUP reload
 * may change it at run time. Only composite directives (several arguments or
 * fields) have a handler; the typed rows are parsed here. */
enum cfg_type {
	CFG_FUNC = 0, /* |handler| parses the line; |off|/|len| span what it fills */
	CFG_BOOL,     /* int: yes/no/on/off/true/false/1/0 */
	CFG_UINT,     /* uint64_t in [min, max] */
	CFG_DURATION, /* uint64_t milliseconds in [min, max] */
	CFG_SIZE,     /* uint64_t bytes in [min, max] */
	CFG_STRING,   /* char[len] */
	CFG_ABSPATH,  /* char[len], an absolute path */
	CFG_LOGLEVEL, /* enum log_level */
	CFG_IGNORE,   /* arguments counted, nothing stored (partial re-reads) */
};

struct cfg_directive {
	const char *name;
	enum cfg_type type;
	size_t off, len; /* the field; len 0: none (not compared on reload) */
	uint64_t min, max;
	const char *def; /* NULL: the zero value */
	int reloadable;
	int min_args, max_args; /* arguments after the name */
	int repeatable;         /* 0: a second occurrence is an error */
	/* CFG_FUNC: returns 1 if accepted, 0 after reporting with cfg_error */
	int (*handler)(void *ctx, const struct cfg_line *l);
};

/* Row constructors: ST is the config struct, F its member. */
/* clang-format off */
#define CFG_FIELD_OF(st, f) offsetof(st, f), sizeof(((st *)0)->f)
#define CFG_ROW(name, type, st, f, min, max, def, reload) \
	{(name), (type), CFG_FIELD_OF(st, f), (min), (max), (def), (reload), 1, 1, 0, NULL}
#define CFG_BOOL_ROW(name, st, f, def, reload) \
	CFG_ROW(name, CFG_BOOL, st, f, 0, 0, def, reload)
#define CFG_UINT_ROW(name, st, f, min, max, def, reload) \
	CFG_ROW(name, CFG_UINT, st, f, min, max, def, reload)
#define CFG_DURATION_ROW(name, st, f, min_ms, max_ms, def, reload) \
	CFG_ROW(name, CFG_DURATION, st, f, min_ms, max_ms, def, reload)
#define CFG_SIZE_ROW(name, st, f, min, max, def, reload) \
	CFG_ROW(name, CFG_SIZE, st, f, min, max, def, reload)
#define CFG_STRING_ROW(name, st, f, def, reload) \
	CFG_ROW(name, CFG_STRING, st, f, 0, 0, def, reload)
#define CFG_ABSPATH_ROW(name, st, f, def, reload) \
	CFG_ROW(name, CFG_ABSPATH, st, f, 0, 0, def, reload)
#define CFG_LOGLEVEL_ROW(name, st, f, def, reload) \
	CFG_ROW(name, CFG_LOGLEVEL, st, f, 0, 0, def, reload)
/* a composite directive filling members FIRST through LAST (declared
 * together, in that order) */
#define CFG_FUNC_ROW(name, st, first, last, min_args, max_args, repeatable, handler, def, reload) \
	{(name), CFG_FUNC, offsetof(st, first), \
	 offsetof(st, last) + sizeof(((st *)0)->last) - offsetof(st, first), 0, 0, (def), (reload), \
	 (min_args), (max_args), (repeatable), (handler)}
/* a handler with no field of its own (tests, fuzzing) */
#define CFG_CALL_ROW(name, min_args, max_args, handler, repeatable) \
	{(name), CFG_FUNC, 0, 0, 0, 0, NULL, 0, (min_args), (max_args), (repeatable), (handler)}
/* clang-format on */

/* cfg_defaults applies the default of every row of |dirs| that has one to
 * |ctx| (which the caller zeroed); a default that does not parse is our own
 * bug and aborts. */
void cfg_defaults(const struct cfg_directive *dirs, size_t num_dirs, void *ctx);

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

/* Reload support. On SIGHUP a daemon parses the file into a fresh struct
 * and calls cfg_reload_diff with its directive table, which logs every
 * directive whose value changed (applied, or kept until a restart), copies
 * the reloadable fields from |fresh| into |running| and returns the number
 * of directives that changed but need a restart. Any difference in bytes no
 * row covers is reported as "other directives". */
int cfg_reload_diff(const char *path, void *running, const void *fresh, size_t struct_len,
                    const struct cfg_directive *dirs, size_t num_dirs);

/* Formats a sockaddr as "1.2.3.4:123" or "[::1]:123" into |buf|. */
const char *cfg_sockaddr_str(char *buf, size_t buf_len, const struct sockaddr *sa);

#endif
