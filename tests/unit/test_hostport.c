/* test_hostport.c: HOST[:PORT] splitting for the client tools. */
#include <string.h>

#include "common/hostport.h"

#include "tests/unit/testutil.h"

static void ok(const char *in, const char *host, const char *port)
{
	char h[64], p[16];
	CHECK(hostport_split(h, sizeof(h), p, sizeof(p), in, "4460"));
	CHECK_STR_EQ(h, host);
	CHECK_STR_EQ(p, port);
}

static void bad(const char *in)
{
	char h[64], p[16];
	CHECK(!hostport_split(h, sizeof(h), p, sizeof(p), in, "4460"));
}

int main(void)
{
	ok("localhost", "localhost", "4460");
	ok("localhost:123", "localhost", "123");
	ok("127.0.0.1:24460", "127.0.0.1", "24460");
	ok("[::1]", "::1", "4460");
	ok("[::1]:123", "::1", "123");
	ok("::1", "::1", "4460"); /* bare IPv6: all host */
	ok("2001:db8::1", "2001:db8::1", "4460");
	ok("[2001:db8::1]:9", "2001:db8::1", "9");
	ok("host:", "host", ""); /* empty port: the caller's resolver refuses it */
	bad("[::1");             /* unclosed */
	bad("[::1]x");           /* junk after the bracket */
	bad("[::1]123");
	/* one past each buffer */
	char h[4], p[4];
	CHECK(hostport_split(h, sizeof(h), p, sizeof(p), "abc:123", "1"));
	CHECK(!hostport_split(h, sizeof(h), p, sizeof(p), "abcd:123", "1"));
	CHECK(!hostport_split(h, sizeof(h), p, sizeof(p), "abc:1234", "1"));
	CHECK(!hostport_split(h, sizeof(h), p, sizeof(p), "[abcd]", "1"));
	return test_summary("hostport");
}
