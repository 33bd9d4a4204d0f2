/*
 * config.c: the chrony.conf-style line parser and its typed helpers.
 */
#include "common/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define CFG_MAX_FILE       (1024 * 1024)
#define CFG_MAX_DIRECTIVES 128

int cfg_error(const struct cfg_line *l, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%u: ", l->file, l->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

/* tokenize splits |buf| in place into the directive name and arguments.
 * Returns 1 on success (l->name NULL for an empty line), 0 after an error. */
static int tokenize(struct cfg_line *l, char *buf)
{
	char *p = buf;
	int n = 0;
	const char *tok[CFG_MAX_ARGS + 1];

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r') {
			p++;
		}
		if (*p == '\0' || *p == '#') {
			break;
		}
		if (n == CFG_MAX_ARGS + 1) {
			return cfg_error(l, "too many arguments (at most %d)", CFG_MAX_ARGS);
		}
		if (*p == '"') {
			p++;
			tok[n++] = p;
			while (*p != '"' && *p != '\0') {
				p++;
			}
			if (*p != '"') {
				return cfg_error(l, "unterminated quoted string");
			}
			*p++ = '\0';
			if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#') {
				return cfg_error(l, "garbage after quoted string");
			}
			continue;
		}
		tok[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#') {
			p++;
		}
		if (*p == '#') {
			*p = '\0';
			break;
		}
		if (*p != '\0') {
			*p++ = '\0';
		}
	}
	l->name = n > 0 ? tok[0] : NULL;
	l->argc = n > 0 ? n - 1 : 0;
	for (int i = 1; i < n; i++) {
		l->argv[i - 1] = tok[i];
	}
	return 1;
}

static int cfg_apply(const struct cfg_directive *d, void *ctx, const struct cfg_line *l);

int cfg_parse_buffer(const char *name, const char *text, const struct cfg_directive *dirs,
                     size_t num_dirs, void *ctx)
{
	unsigned seen[CFG_MAX_DIRECTIVES] = {0};
	unsigned lineno = 0;
	int ok = 1;
	const char *p = text;

	if (num_dirs > CFG_MAX_DIRECTIVES) {
		fprintf(stderr, "%s: too many directives in table\n", name);
		return 0;
	}
	while (*p != '\0') {
		char buf[CFG_MAX_LINE + 1];
		const char *start = p;
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		struct cfg_line l = {.file = name, .line = ++lineno};

		p = eol != NULL ? eol + 1 : p + len;
		if (len > CFG_MAX_LINE) {
			ok = cfg_error(&l, "line too long (at most %d bytes)", CFG_MAX_LINE);
			continue;
		}
		memcpy(buf, start, len);
		buf[len] = '\0';
		if (!tokenize(&l, buf)) {
			ok = 0;
			continue;
		}
		if (l.name == NULL) {
			continue;
		}
		size_t i;
		for (i = 0; i < num_dirs; i++) {
			if (strcmp(l.name, dirs[i].name) == 0) {
				break;
			}
		}
		if (i == num_dirs) {
			ok = cfg_error(&l, "unknown directive '%s'", l.name);
			continue;
		}
		if (l.argc < dirs[i].min_args || l.argc > dirs[i].max_args) {
			if (dirs[i].min_args == dirs[i].max_args) {
				ok = cfg_error(&l, "'%s' takes %d argument%s, got %d", l.name,
				               dirs[i].min_args, dirs[i].min_args == 1 ? "" : "s",
				               l.argc);
			} else {
				ok = cfg_error(&l, "'%s' takes %d to %d arguments, got %d", l.name,
				               dirs[i].min_args, dirs[i].max_args, l.argc);
			}
			continue;
		}
		if (seen[i]++ > 0 && !dirs[i].repeatable) {
			ok = cfg_error(&l, "'%s' given more than once", l.name);
			continue;
		}
		if (!cfg_apply(&dirs[i], ctx, &l)) {
			ok = 0;
		}
	}
	return ok;
}

int cfg_parse_file(const char *path, const struct cfg_directive *dirs, size_t num_dirs, void *ctx)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len;
	int ret = 0;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 0;
	}
	text = malloc(CFG_MAX_FILE + 1);
	if (text == NULL) {
		goto err;
	}
	len = fread(text, 1, CFG_MAX_FILE + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto err;
	}
	if (len > CFG_MAX_FILE) {
		fprintf(stderr, "%s: larger than %d bytes\n", path, CFG_MAX_FILE);
		goto err;
	}
	if (memchr(text, '\0', len) != NULL) {
		fprintf(stderr, "%s: contains a NUL byte\n", path);
		goto err;
	}
	text[len] = '\0';
	ret = cfg_parse_buffer(path, text, dirs, num_dirs, ctx);
err:
	free(text);
	fclose(f);
	return ret;
}

/* A multiplier suffix and its factor. */
struct unit {
	const char *suffix;
	uint64_t factor;
};

/* parse_scaled parses a decimal number with an optional multiplier suffix
 * from |units| (the first unit applies when there is no suffix). */
static int parse_scaled(uint64_t *out, const char *s, const struct unit *units, size_t num_units)
{
	char *end;
	uint64_t v, factor = 1;

	if (*s < '0' || *s > '9') {
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0) {
		return 0;
	}
	if (*end != '\0') {
		size_t i;
		for (i = 0; i < num_units; i++) {
			if (strcmp(end, units[i].suffix) == 0) {
				break;
			}
		}
		if (i == num_units) {
			return 0;
		}
		factor = units[i].factor;
	} else if (num_units > 0) {
		factor = units[0].factor; /* the first unit is the default */
	}
	if (factor != 0 && v > UINT64_MAX / factor) {
		return 0;
	}
	*out = v * factor;
	return 1;
}

int cfg_arg_u64(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min, uint64_t max)
{
	uint64_t v;
	if (!parse_scaled(&v, l->argv[idx], NULL, 0)) {
		return cfg_error(l, "'%s': not a number: '%s'", l->name, l->argv[idx]);
	}
	if (v < min || v > max) {
		return cfg_error(l, "'%s': %" PRIu64 " out of range [%" PRIu64 ", %" PRIu64 "]",
		                 l->name, v, min, max);
	}
	*out = v;
	return 1;
}

int cfg_arg_bool(int *out, const struct cfg_line *l, int idx)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};
	for (size_t i = 0; i < NTS_ARRAY_SIZE(yes); i++) {
		if (strcmp(l->argv[idx], yes[i]) == 0) {
			*out = 1;
			return 1;
		}
		if (strcmp(l->argv[idx], no[i]) == 0) {
			*out = 0;
			return 1;
		}
	}
	return cfg_error(l, "'%s': expected yes or no, got '%s'", l->name, l->argv[idx]);
}

int cfg_arg_duration_ms(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min_ms,
                        uint64_t max_ms)
{
	static const struct unit units[] = {
	    {"s", 1000}, {"ms", 1}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	uint64_t v;
	if (!parse_scaled(&v, l->argv[idx], units, NTS_ARRAY_SIZE(units))) {
		return cfg_error(l, "'%s': not a duration (e.g. 2s, 500ms, 1h): '%s'", l->name,
		                 l->argv[idx]);
	}
	if (v < min_ms || v > max_ms) {
		return cfg_error(
		    l, "'%s': %" PRIu64 " ms out of range [%" PRIu64 " ms, %" PRIu64 " ms]",
		    l->name, v, min_ms, max_ms);
	}
	*out = v;
	return 1;
}

int cfg_arg_size(uint64_t *out, const struct cfg_line *l, int idx, uint64_t min, uint64_t max)
{
	static const struct unit units[] = {
	    {"", 1}, {"k", 1024}, {"K", 1024}, {"M", 1024 * 1024}, {"G", 1024 * 1024 * 1024},
	};
	uint64_t v;
	if (!parse_scaled(&v, l->argv[idx], units, NTS_ARRAY_SIZE(units))) {
		return cfg_error(l, "'%s': not a size (e.g. 64k): '%s'", l->name, l->argv[idx]);
	}
	if (v < min || v > max) {
		return cfg_error(l, "'%s': %" PRIu64 " out of range [%" PRIu64 ", %" PRIu64 "]",
		                 l->name, v, min, max);
	}
	*out = v;
	return 1;
}

int cfg_arg_sockaddr(struct sockaddr_storage *out, socklen_t *out_len, const struct cfg_line *l,
                     int idx, uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *s = l->argv[idx];
	const char *port_str = NULL;
	uint64_t port = default_port;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (size_t)(close - s - 1) >= sizeof(host)) {
			return cfg_error(l, "'%s': bad address '%s'", l->name, s);
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (close[1] == ':') {
			port_str = close + 2;
		} else if (close[1] != '\0') {
			return cfg_error(l, "'%s': bad address '%s'", l->name, s);
		}
	} else {
		const char *colon = strchr(s, ':');
		if (strlen(s) >= sizeof(host)) {
			return cfg_error(l, "'%s': bad address '%s'", l->name, s);
		}
		strcpy(host, s);
		/* Exactly one colon: IPv4 with a port. More: a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			host[colon - s] = '\0';
			port_str = colon + 1;
		}
	}
	if (port_str != NULL) {
		if (!parse_scaled(&port, port_str, NULL, 0) || port == 0 || port > 65535) {
			return cfg_error(l, "'%s': bad port in '%s'", l->name, s);
		}
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*out_len = sizeof(*sin);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*out_len = sizeof(*sin6);
		return 1;
	}
	return cfg_error(l, "'%s': not an IPv4 or IPv6 address: '%s'", l->name, host);
}

int cfg_arg_string(char *out, size_t out_size, const struct cfg_line *l, int idx)
{
	size_t len = strlen(l->argv[idx]);
	if (len >= out_size) {
		return cfg_error(l, "'%s': argument longer than %zu bytes", l->name, out_size - 1);
	}
	memcpy(out, l->argv[idx], len + 1);
	return 1;
}

int cfg_arg_choice(int *out, const struct cfg_line *l, int idx, const char *const *choices)
{
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(l->argv[idx], choices[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	return cfg_error(l, "'%s': unknown value '%s'", l->name, l->argv[idx]);
}

const char *cfg_sockaddr_str(char *buf, size_t buf_len, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, buf_len, "%s:%u", addr, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, buf_len, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, buf_len, "(family %d)", sa->sa_family);
	}
	return buf;
}

/* cfg_apply parses the line |l| of the directive |d| into |ctx|. */
static int cfg_apply(const struct cfg_directive *d, void *ctx, const struct cfg_line *l)
{
	uint8_t *field = (uint8_t *)ctx + d->off;
	uint64_t v;

	switch (d->type) {
	case CFG_FUNC:
		return d->handler(ctx, l);
	case CFG_BOOL:
		assert(d->len == sizeof(int));
		return cfg_arg_bool((int *)(void *)field, l, 0);
	case CFG_UINT:
	case CFG_DURATION:
	case CFG_SIZE:
		assert(d->len == sizeof(uint64_t));
		if (!(d->type == CFG_UINT       ? cfg_arg_u64(&v, l, 0, d->min, d->max)
		      : d->type == CFG_DURATION ? cfg_arg_duration_ms(&v, l, 0, d->min, d->max)
		                                : cfg_arg_size(&v, l, 0, d->min, d->max))) {
			return 0;
		}
		memcpy(field, &v, sizeof(v));
		return 1;
	case CFG_ABSPATH:
		if (l->argv[0][0] != '/') {
			return cfg_error(l, "'%s' needs an absolute path", l->name);
		}
		/* fall through */
	case CFG_STRING:
		return cfg_arg_string((char *)field, d->len, l, 0);
	case CFG_LOGLEVEL:
		assert(d->len == sizeof(enum log_level));
		if (!log_level_from_string((enum log_level *)(void *)field, l->argv[0])) {
			return cfg_error(l, "log level: error, warning, info or debug");
		}
		return 1;
	case CFG_IGNORE:
		return 1;
	}
	return cfg_error(l, "internal error: directive '%s' has no type", l->name);
}

void cfg_defaults(const struct cfg_directive *dirs, size_t num_dirs, void *ctx)
{
	for (size_t i = 0; i < num_dirs; i++) {
		char buf[CFG_MAX_LINE + 1];
		struct cfg_line l = {.file = "(default)", .line = 0};
		if (dirs[i].def == NULL) {
			continue;
		}
		/* tokenised as if the file said "NAME DEFAULT" */
		if ((size_t)snprintf(buf, sizeof(buf), "%s %s", dirs[i].name, dirs[i].def) >=
		        sizeof(buf) ||
		    !tokenize(&l, buf) || !cfg_apply(&dirs[i], ctx, &l)) {
			abort(); /* a built-in default that does not parse: our bug */
		}
	}
}

int cfg_reload_diff(const char *path, void *running, const void *fresh, size_t struct_len,
                    const struct cfg_directive *dirs, size_t num_dirs)
{
	uint8_t *run = running;
	const uint8_t *neu = fresh;
	uint8_t changed[CFG_MAX_DIRECTIVES];
	uint8_t *probe = NULL;
	int restart = 0;

	if (num_dirs > CFG_MAX_DIRECTIVES) {
		log_err("%s: internal error: directive table too large", path);
		return 1;
	}
	for (size_t i = 0; i < num_dirs; i++) {
		changed[i] = memcmp(run + dirs[i].off, neu + dirs[i].off, dirs[i].len) != 0;
	}
	/* probe: the running struct with every field the table names taken
	 * from |fresh|; if it still differs from |fresh|, a directive the table
	 * does not know about changed */
	probe = malloc(struct_len);
	if (probe != NULL) {
		memcpy(probe, run, struct_len);
		for (size_t i = 0; i < num_dirs; i++) {
			memcpy(probe + dirs[i].off, neu + dirs[i].off, dirs[i].len);
		}
		if (memcmp(probe, neu, struct_len) != 0) {
			log_warn("%s: other directives changed: they need a restart", path);
			restart++;
		}
		free(probe);
	}
	for (size_t i = 0; i < num_dirs; i++) {
		if (!changed[i]) {
			continue;
		}
		if (dirs[i].reloadable) {
			log_info("%s: '%s' changed: applied", path, dirs[i].name);
			memcpy(run + dirs[i].off, neu + dirs[i].off, dirs[i].len);
		} else {
			log_warn("%s: '%s' changed: needs a restart; the running value stays", path,
			         dirs[i].name);
			restart++;
		}
	}
	return restart;
}
