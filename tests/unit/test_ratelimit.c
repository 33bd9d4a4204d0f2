/*
 * test_ratelimit.c: the rate limiter (common/ratelimit.c), the access list
 * (common/acl.c) and the responder's Kiss-o'-Death answers
 * (ntp-responder/ratelimit.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/acl.h"
#include "common/ratelimit.h"
#include "ntp-responder/ratelimit.h"
#include "ntp-responder/responder.h"
#include "testutil.h"

#define SEC 1000000000ull

static void test_gcra(void)
{
	const uint64_t T = SEC, B = 4;
	uint64_t tat = 1000 * SEC, now = tat;
	/* a full bucket: B at once, then nothing */
	for (uint64_t i = 0; i < B; i++) {
		CHECK(rl_gcra(&tat, now, T, B));
	}
	CHECK(!rl_gcra(&tat, now, T, B));
	CHECK(!rl_gcra(&tat, now + T - 1, T, B)); /* one ns short of one token */
	CHECK(rl_gcra(&tat, now + T, T, B));      /* refilled by one */
	CHECK(!rl_gcra(&tat, now + T, T, B));
	/* over the limit consumes nothing: a flood at 10x still gets 1/T */
	now += T;
	int ok = 0;
	for (int i = 0; i < 100; i++) {
		ok += rl_gcra(&tat, now + (uint64_t)i * T / 10, T, B);
	}
	CHECK_EQ(ok, 9); /* t = now+0.1 .. now+9.9 s: tokens at +1 .. +9 s */
	/* idle for long: refills to B, never more */
	now += 3600 * SEC;
	ok = 0;
	for (int i = 0; i < 10; i++) {
		ok += rl_gcra(&tat, now, T, B);
	}
	CHECK_EQ(ok, (int)B);
	/* the clock steps back an hour: no refill */
	uint64_t before = tat;
	CHECK(!rl_gcra(&tat, now - 3600 * SEC, T, B));
	CHECK_EQ(tat, before);
	/* 64-bit wrap: a bucket across 2^64 behaves as anywhere else */
	tat = UINT64_MAX - T / 2;
	now = tat;
	for (uint64_t i = 0; i < B; i++) {
		CHECK(rl_gcra(&tat, now, T, B));
	}
	CHECK(tat < now); /* wrapped */
	CHECK(!rl_gcra(&tat, now, T, B));
	CHECK(rl_gcra(&tat, now + T, T, B)); /* now + T wraps too */
	CHECK(!rl_gcra(&tat, now + T, T, B));
	/* burst 1: exactly one per interval */
	tat = now = 5;
	CHECK(rl_gcra(&tat, now, T, 1));
	CHECK(!rl_gcra(&tat, now + T - 1, T, 1));
	CHECK(rl_gcra(&tat, now + T, T, 1));
}

static struct acl_addr v4(const char *s)
{
	struct acl_addr a = {.family = 4};
	CHECK(inet_pton(AF_INET, s, a.addr) == 1);
	return a;
}

static struct acl_addr v6(const char *s)
{
	struct acl_addr a = {.family = 6};
	CHECK(inet_pton(AF_INET6, s, a.addr) == 1);
	return a;
}

static struct rl_config conf(uint64_t interval_ms, uint64_t burst, uint64_t table)
{
	struct rl_config c = {.enabled = 1,
	                      .interval_ms = interval_ms,
	                      .burst = burst,
	                      .v4prefix = 32,
	                      .v6prefix = 64,
	                      .table = table};
	return c;
}

static void test_table(void)
{
	struct rl_table *t = rl_table_new(1000);
	CHECK(t != NULL);
	CHECK_EQ(rl_table_entries(t), 1024);
	struct rl_config c = conf(1000, 2, 1000);
	rl_table_set(t, &c);
	uint64_t now = 77 * SEC;
	int ev = 0;
	struct acl_addr a = v4("192.0.2.1"), b = v4("192.0.2.2");
	CHECK(rl_check(t, &a, now, &ev));
	CHECK(rl_check(t, &a, now, &ev));
	CHECK(!rl_check(t, &a, now, &ev));
	CHECK(rl_check(t, &b, now, &ev)); /* its own bucket */
	CHECK_EQ(ev, 0);
	/* IPv6: one bucket per /64 */
	struct acl_addr x = v6("2001:db8:1:2::1"), y = v6("2001:db8:1:2:ffff::9"),
	                z = v6("2001:db8:1:3::1");
	CHECK(rl_check(t, &x, now, &ev));
	CHECK(rl_check(t, &y, now, &ev));
	CHECK(!rl_check(t, &x, now, &ev));
	CHECK(rl_check(t, &z, now, &ev));
	CHECK_EQ(rl_hash(t, &x), rl_hash(t, &y));
	CHECK(rl_hash(t, &x) != rl_hash(t, &z));
	rl_table_free(t);

	/* eviction: a table of one set; the limited source's entry (its tat
	 * in the future) outlives RL_WAYS - 1 idle ones and a flood of new
	 * sources, each of which starts with a full bucket */
	t = rl_table_new(RL_WAYS);
	CHECK_EQ(rl_table_entries(t), RL_WAYS);
	c = conf(1000, 4, RL_WAYS);
	rl_table_set(t, &c);
	struct acl_addr abuser = v4("198.51.100.7");
	for (int i = 0; i < 4; i++) {
		CHECK(rl_check(t, &abuser, now, &ev));
	}
	CHECK(!rl_check(t, &abuser, now, &ev));
	CHECK_EQ(ev, 0);
	int evictions = 0;
	for (int i = 0; i < 1000; i++) {
		struct acl_addr s = {.family = 4, .addr = {10, (uint8_t)(i >> 8), (uint8_t)i, 1}};
		ev = 0;
		CHECK(rl_check(t, &s, now + SEC / 2, &ev)); /* new: admitted */
		evictions += ev;
	}
	CHECK_EQ(evictions, 1000 - (RL_WAYS - 1));
	CHECK(!rl_check(t, &abuser, now + SEC / 2, &ev)); /* still limited */
	rl_table_free(t);
}

static void test_hash_distribution(void)
{
	/* 2^16 sequential sources into 256 bins: every bin near 256 */
	struct rl_table *t = rl_table_new(64);
	struct rl_table *u = rl_table_new(64);
	unsigned bins[256] = {0};
	int same = 0;
	for (unsigned i = 0; i < 65536; i++) {
		struct acl_addr a = {.family = 4, .addr = {203, 0, (uint8_t)(i >> 8), (uint8_t)i}};
		uint64_t h = rl_hash(t, &a);
		bins[(h >> 1) & 255]++;
		same += h == rl_hash(u, &a);
	}
	unsigned lo = UINT32_MAX, hi = 0;
	for (int i = 0; i < 256; i++) {
		lo = bins[i] < lo ? bins[i] : lo;
		hi = bins[i] > hi ? bins[i] : hi;
	}
	/* binomial(65536, 1/256): sd 16; 6 sd either way */
	CHECK(lo > 256 - 96);
	CHECK(hi < 256 + 96);
	CHECK_EQ(same, 0); /* another key, other hashes */
	rl_table_free(t);
	rl_table_free(u);
}

static void test_acl(void)
{
	struct acl_rules r = {0};
	static const struct {
		const char *p;
		int allow;
	} rules[] = {
	    {"0.0.0.0/0", 0},       {"192.0.2.0/24", 1}, {"192.0.2.128/25", 0},
	    {"192.0.2.200/32", 1},  {"::/0", 1},         {"2001:db8::/32", 0},
	    {"2001:db8:5::/48", 1}, {"10.0.0.0/8", 0},   {"10.0.0.0/8", 1}, /* last wins */
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		CHECK(acl_parse_prefix(&r.rule[r.num], rules[i].p));
		r.rule[r.num++].allow = (uint8_t)rules[i].allow;
	}
	struct acl *a = acl_new(&r);
	CHECK(a != NULL);
	struct acl_addr t;
	CHECK(!acl_allowed(a, (t = v4("198.51.100.1"), &t)));
	CHECK(acl_allowed(a, (t = v4("192.0.2.0"), &t)));
	CHECK(acl_allowed(a, (t = v4("192.0.2.127"), &t)));  /* last of the /24's half */
	CHECK(!acl_allowed(a, (t = v4("192.0.2.128"), &t))); /* first of the /25 */
	CHECK(!acl_allowed(a, (t = v4("192.0.2.199"), &t)));
	CHECK(acl_allowed(a, (t = v4("192.0.2.200"), &t)));
	CHECK(!acl_allowed(a, (t = v4("192.0.2.201"), &t)));
	CHECK(acl_allowed(a, (t = v4("10.1.2.3"), &t)));
	CHECK(acl_allowed(a, (t = v6("2001:db7:ffff::1"), &t)));
	CHECK(!acl_allowed(a, (t = v6("2001:db8::1"), &t)));
	CHECK(!acl_allowed(a, (t = v6("2001:db8:4:ffff::1"), &t)));
	CHECK(acl_allowed(a, (t = v6("2001:db8:5::1"), &t)));
	CHECK(acl_allowed(a, (t = v6("2001:db8:5:ffff:ffff:ffff:ffff:ffff"), &t)));
	CHECK(!acl_allowed(a, (t = v6("2001:db8:6::"), &t)));
	/* an IPv4-mapped address is looked up as IPv4 */
	struct sockaddr_in6 m = {.sin6_family = AF_INET6};
	CHECK(inet_pton(AF_INET6, "::ffff:192.0.2.129", &m.sin6_addr) == 1);
	CHECK(acl_addr_from_sockaddr(&t, (struct sockaddr *)&m));
	CHECK_EQ(t.family, 4);
	CHECK(!acl_allowed(a, &t));
	acl_free(a);
	/* no rules: everything allowed; a NULL list too */
	r.num = 0;
	a = acl_new(&r);
	CHECK(acl_allowed(a, (t = v6("2001:db8::1"), &t)));
	CHECK(acl_allowed(NULL, (t = v4("192.0.2.1"), &t)));
	acl_free(a);
	/* /32 and /128 host rules, bare addresses */
	struct acl_rule one;
	CHECK(acl_parse_prefix(&one, "192.0.2.1"));
	CHECK_EQ(one.len, 32);
	CHECK(acl_parse_prefix(&one, "2001:db8::1"));
	CHECK_EQ(one.len, 128);
	/* malformed or with host bits */
	static const char *const bad[] = {
	    "192.0.2.1/24", "192.0.2.0/33", "::/129", "2001:db8::1/64", "192.0.2.0/",
	    "192.0.2.0/x",  "host",         "",       "1.2.3.4/024",    "::/-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!acl_parse_prefix(&one, bad[i]));
	}
}

static void test_policy(void)
{
	static struct rl_policy p; /* zero: no table, no list */
	struct acl_rules r = {0};
	struct rl_config c = conf(1000, 1, 4096);
	CHECK(acl_parse_prefix(&r.rule[0], "192.0.2.0/24"));
	r.rule[0].allow = 0;
	r.num = 1;
	CHECK(rl_policy_apply(&p, &c, &r));
	struct sockaddr_in a = {.sin_family = AF_INET}, b = {.sin_family = AF_INET};
	CHECK(inet_pton(AF_INET, "192.0.2.9", &a.sin_addr) == 1);
	CHECK(inet_pton(AF_INET, "198.51.100.9", &b.sin_addr) == 1);
	uint64_t now = 10 * SEC;
	int ev = 0;
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&a, now, &ev), RL_DENIED);
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_PASS);
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_LIMITED);
	/* a reload with the same table size keeps the buckets; a new limit applies */
	struct rl_table *before = atomic_load(&p.table);
	c.burst = 2;
	r.num = 0;
	CHECK(rl_policy_apply(&p, &c, &r));
	CHECK(atomic_load(&p.table) == before);
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&a, now, &ev), RL_PASS);
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_PASS); /* burst 2 */
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_LIMITED);
	/* another size: a fresh table, fresh buckets */
	c.table = 8192;
	CHECK(rl_policy_apply(&p, &c, &r));
	CHECK(atomic_load(&p.table) != before);
	CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_PASS);
	/* off */
	c.enabled = 0;
	CHECK(rl_policy_apply(&p, &c, &r));
	CHECK(atomic_load(&p.table) == NULL);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(rl_policy_check(&p, (struct sockaddr *)&b, now, &ev), RL_PASS);
	}
	rl_policy_cleanup(&p);
}

/* the responder: KoD RATE of the right form, silence for NTS-looking
 * requests, KoD DENY or silence for a denied prefix */
static void test_responder_kod(void)
{
	static struct sync_state synced = {.synchronised = 1, .stratum = 2, .refid = 0x54455354};
	static struct resp_abuse ab;
	static struct resp_ctx ctx;
	static struct resp_stats st;
	struct rl_config c = conf(3600000, 2, 1024);
	struct acl_rules r = {0};
	CHECK(acl_parse_prefix(&r.rule[0], "203.0.113.0/24"));
	r.num = 1;
	CHECK(rl_policy_apply(&ab.policy, &c, &r));
	atomic_store(&ab.leak_pct, 100);
	atomic_store(&ctx.sync, &synced);
	ctx.serve_plain = 1;
	ctx.precision = -20;
	ctx.abuse = &ab;
	struct sockaddr_in peer = {.sin_family = AF_INET};
	CHECK(inet_pton(AF_INET, "198.51.100.1", &peer.sin_addr) == 1);
	uint8_t req[NTP_HEADER_LEN + 16] = {0}, out[NTP_MAX_PACKET];
	req[0] = (0 << 6) | (4 << 3) | 3;
	req[2] = 6; /* poll */
	memcpy(req + 40, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	struct timespec rx = {.tv_sec = 1800000000};
	const struct sockaddr *sa = (const struct sockaddr *)&peer;
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), NTP_HEADER_LEN);
	CHECK_EQ(out[1], 2); /* a normal answer, stratum 2 */
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), NTP_HEADER_LEN);
	memset(out, 0xee, sizeof(out));
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), NTP_HEADER_LEN);
	CHECK_EQ(out[0], (3 << 6) | (4 << 3) | 4); /* LI 3, v4, server */
	CHECK_EQ(out[1], 0);                       /* stratum 0 */
	CHECK_EQ(out[2], 6);                       /* the client's poll */
	CHECK_MEM(out + 12, 4, (const uint8_t *)"RATE", 4);
	CHECK_MEM(out + 24, 8, req + 40, 8); /* origin: the request's transmit */
	CHECK_EQ(metrics_get(&st.rl_limited), 1);
	CHECK_EQ(metrics_get(&st.kod_rate), 1);
	/* leak 0: silence */
	atomic_store(&ab.leak_pct, 0);
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), 0);
	CHECK_EQ(metrics_get(&st.rl_limited), 2);
	CHECK_EQ(metrics_get(&st.kod_rate), 1);
	/* an NTS-looking request (extension fields) over the limit: silence,
	 * never a NAK */
	atomic_store(&ab.leak_pct, 100);
	req[NTP_HEADER_LEN + 1] = 0x04; /* type 0x0104: unique identifier */
	req[NTP_HEADER_LEN + 0] = 0x01;
	req[NTP_HEADER_LEN + 3] = 16;
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, sizeof(req), &rx, out), 0);
	CHECK_EQ(metrics_get(&st.rl_limited), 3);
	CHECK_EQ(metrics_get(&st.kod_rate), 1);
	/* denied: silence, or KoD DENY for plain */
	CHECK(inet_pton(AF_INET, "203.0.113.5", &peer.sin_addr) == 1);
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), 0);
	atomic_store(&ab.deny_kod, 1);
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), NTP_HEADER_LEN);
	CHECK_EQ(out[1], 0);
	CHECK_MEM(out + 12, 4, (const uint8_t *)"DENY", 4);
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, sizeof(req), &rx, out), 0); /* NTS */
	CHECK_EQ(metrics_get(&st.acl_denied), 3);
	CHECK_EQ(metrics_get(&st.kod_deny), 1);
	/* not a client request: dropped before the policy counts it */
	req[0] = (4 << 3) | 4;
	CHECK_EQ(resp_handle_from(&ctx, &st, sa, req, NTP_HEADER_LEN, &rx, out), 0);
	CHECK_EQ(metrics_get(&st.acl_denied), 3);
	/* without a peer (resp_handle): no policy */
	req[0] = (4 << 3) | 3;
	CHECK_EQ(resp_handle(&ctx, &st, req, NTP_HEADER_LEN, &rx, out), NTP_HEADER_LEN);
	CHECK_EQ(out[1], 2);
	rl_policy_cleanup(&ab.policy);
}

int main(void)
{
	if (sodium_init() < 0) {
		return 1;
	}
	test_gcra();
	test_table();
	test_hash_distribution();
	test_acl();
	test_policy();
	test_responder_kod();
	return test_summary("ratelimit");
}
