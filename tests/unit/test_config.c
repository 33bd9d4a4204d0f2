/* test_config.c: the config parser, its error reporting and typed helpers. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

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
	int calls;
};

static int h_port(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	c->calls++;
	return cfg_arg_u64(&c->port, l, 0, 1, 65535);
}
static int h_deadline(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	return cfg_arg_duration_ms(&c->deadline_ms, l, 0, 100, 60000);
}
static int h_size(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	return cfg_arg_size(&c->size, l, 0, 1, 1 << 20);
}
static int h_flag(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	return cfg_arg_bool(&c->flag, l, 0);
}
static int h_name(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	return cfg_arg_string(c->name, sizeof(c->name), l, 0);
}
static int h_listen(void *ctx, const struct cfg_line *l)
{
	struct conf *c = ctx;
	socklen_t len;
	if (c->num_addr == 4) {
		return cfg_error(l, "too many");
	}
	return cfg_arg_sockaddr(&c->addr[c->num_addr++], &len, l, 0, 4460);
}

static const struct cfg_directive dirs[] = {
    {"port", 1, 1, h_port, 0}, {"deadline", 1, 1, h_deadline, 0}, {"size", 1, 1, h_size, 0},
    {"flag", 1, 1, h_flag, 0}, {"name", 1, 1, h_name, 0},         {"listen", 1, 1, h_listen, 1},
};

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

	/* reload: reloadable fields are copied, the others reported and kept;
	 * a change in a field the table does not list counts as well */
	{
		static const struct cfg_field fields[] = {
		    CFG_FIELD(struct conf, "port", port, 1),
		    CFG_FIELD(struct conf, "deadline", deadline_ms, 0),
		    CFG_FIELD(struct conf, "flag", flag, 1),
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
