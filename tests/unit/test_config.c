/* test_config.c: the config parser, its error reporting and typed helpers. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"

#include "tests/unit/testutil.h"

#define CHECK_EQ_U64 CHECK_EQ

struct conf {
	uint64_t port;
	uint64_t deadline_ms;
	uint64_t size;
	int flag;
	char name[16];
	struct sockaddr_storage addr[4];
	int num_addr;
	char path[16];
	enum log_level level;
};

static int h_listen(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	socklen_t len;
	if (c->num_addr == 4) {
		return cfg_error(l, "too many");
	}
	return cfg_arg_sockaddr(&c->addr[c->num_addr++], &len, l, 0, 4460);
}

#define S struct conf
static const struct cfg_directive dirs[] = {
    CFG_UINT_ROW("port", S, port, 1, 65535, NULL, 1),
    CFG_DURATION_ROW("deadline", S, deadline_ms, 100, 60000, "2s", 0),
    CFG_SIZE_ROW("size", S, size, 1, 1 << 20, NULL, 0),
    CFG_BOOL_ROW("flag", S, flag, "no", 1),
    CFG_STRING_ROW("name", S, name, NULL, 0),
    CFG_FUNC_ROW("listen", S, addr, num_addr, 1, 1, 1, h_listen, NULL, 0),
    CFG_ABSPATH_ROW("path", S, path, "/run/x", 0),
    CFG_LOGLEVEL_ROW("loglevel", S, level, "info", 1),
};
#undef S

static int parse(struct conf *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	return cfg_parse_buffer("test.conf", text, dirs, sizeof(dirs) / sizeof(dirs[0]), c);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

int main(void)
{
	struct conf c;

	CHECK(parse(&c, "# comment\n\nport 123 # trailing\n  deadline 2s\nsize 64k\nflag yes\n"
	                "name \"a b\"\nlisten 127.0.0.1\nlisten [::1]:99\nlisten ::1\n"
	                "listen 10.0.0.1:8\n"));
	CHECK_EQ_U64(c.port, 123);
	CHECK_EQ_U64(c.deadline_ms, 2000);
	CHECK_EQ_U64(c.size, 65536);
	CHECK_EQ_U64(c.flag, 1);
	CHECK(strcmp(c.name, "a b") == 0);
	CHECK_EQ_U64(c.num_addr, 4);
	CHECK_EQ_U64(c.addr[0].ss_family, AF_INET);
	CHECK_EQ_U64(port_of(&c.addr[0]), 4460);
	CHECK_EQ_U64(c.addr[1].ss_family, AF_INET6);
	CHECK_EQ_U64(port_of(&c.addr[1]), 99);
	CHECK_EQ_U64(port_of(&c.addr[2]), 4460);
	CHECK_EQ_U64(port_of(&c.addr[3]), 8);

	/* durations */
	CHECK(parse(&c, "deadline 500ms\n") && c.deadline_ms == 500);
	CHECK(parse(&c, "deadline 1m\n") && c.deadline_ms == 60000);
	CHECK(parse(&c, "deadline 3\n") && c.deadline_ms == 3000);
	CHECK(!parse(&c, "deadline 99ms\n"));
	CHECK(!parse(&c, "deadline 2x\n"));
	CHECK(!parse(&c, "deadline -1\n"));
	CHECK(!parse(&c, "deadline 99999999999999999999999\n"));

	/* errors: each is reported and makes the whole parse fail */
	CHECK(!parse(&c, "prot 123\n"));              /* typo: unknown directive */
	CHECK(!parse(&c, "port\n"));                  /* missing argument */
	CHECK(!parse(&c, "port 1 2\n"));              /* extra argument */
	CHECK(!parse(&c, "port 0\n"));                /* out of range */
	CHECK(!parse(&c, "port 65536\n"));            /* out of range */
	CHECK(!parse(&c, "port 12a\n"));              /* not a number */
	CHECK(!parse(&c, "port 1\nport 2\n"));        /* not repeatable */
	CHECK(!parse(&c, "name \"abc\n"));            /* unterminated */
	CHECK(!parse(&c, "name 0123456789abcdef\n")); /* too long for the buffer */
	CHECK(!parse(&c, "flag maybe\n"));
	CHECK(!parse(&c, "listen 1.2.3\n"));
	CHECK(!parse(&c, "listen [::1\n"));
	CHECK(!parse(&c, "listen 1.2.3.4:0\n"));
	CHECK(!parse(&c, "listen 1.2.3.4:70000\n"));
	CHECK(!parse(&c, "size 2M\n"));
	/* an error does not stop later lines from being checked */
	CHECK(!parse(&c, "bogus\nport 7\n"));
	CHECK_EQ_U64(c.port, 7);

	/* long lines are rejected, not truncated */
	char big[2048];
	memset(big, 'a', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	CHECK(!parse(&c, big));

	/* last line without a newline */
	CHECK(parse(&c, "port 5") && c.port == 5);

	/* typed rows: absolute paths, log levels */
	CHECK(parse(&c, "path /a/b\nloglevel debug\n") && strcmp(c.path, "/a/b") == 0 &&
	      c.level == LOG_LVL_DEBUG);
	CHECK(!parse(&c, "path a/b\n"));
	CHECK(!parse(&c, "loglevel loud\n"));

	/* defaults come from the rows, as if written in the file */
	memset(&c, 0, sizeof(c));
	cfg_defaults(dirs, sizeof(dirs) / sizeof(dirs[0]), &c);
	CHECK_EQ_U64(c.deadline_ms, 2000);
	CHECK_EQ_U64(c.flag, 0);
	CHECK(strcmp(c.path, "/run/x") == 0);
	CHECK_EQ_U64(c.level, LOG_LVL_INFO);
	CHECK_EQ_U64(c.port, 0);

	/* reload: reloadable fields are copied, the others reported and kept;
	 * a change in a field no row covers counts as well */
	{
		/* port, deadline and flag only; size is left out */
		static const struct cfg_directive fields[] = {
		    CFG_UINT_ROW("port", struct conf, port, 1, 65535, NULL, 1),
		    CFG_DURATION_ROW("deadline", struct conf, deadline_ms, 100, 60000, NULL, 0),
		    CFG_BOOL_ROW("flag", struct conf, flag, NULL, 1),
		};
		struct conf run, fresh;
		CHECK(parse(&run, "port 1\ndeadline 2s\nflag no\n"));
		CHECK(parse(&fresh, "port 1\ndeadline 2s\nflag no\n"));
		CHECK_EQ_U64(cfg_reload_diff("t", &run, &fresh, sizeof(run), fields, 3), 0);
		CHECK(parse(&fresh, "port 2\ndeadline 3s\nflag yes\n"));
		CHECK_EQ_U64(cfg_reload_diff("t", &run, &fresh, sizeof(run), fields, 3), 1);
		CHECK_EQ_U64(run.port, 2);
		CHECK_EQ_U64(run.deadline_ms, 2000);
		CHECK_EQ_U64(run.flag, 1);
		CHECK(parse(&fresh, "port 2\ndeadline 2s\nflag yes\nsize 5\n"));
		CHECK_EQ_U64(cfg_reload_diff("t", &run, &fresh, sizeof(run), fields, 3), 1);
		CHECK_EQ_U64(run.size, 0); /* unlisted: never copied */
	}

	return test_summary("config");
}
