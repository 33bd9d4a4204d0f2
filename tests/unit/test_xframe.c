/*
 * test_xframe.c: the AF_XDP path's framing (ntp-responder/xframe.c):
 * every truncation and every header the XDP program passes to the kernel
 * is refused, Ethernet padding is not payload, and replies carry swapped
 * addresses and checksums that verify (checked here with a separate
 * one's-complement sum), for IPv4 and IPv6. The metadata the program
 * leaves in front of a frame: its times read once and wiped, and a
 * missing, short or garbage area never taken for one; the program's
 * CLOCK_MONOTONIC time converted to CLOCK_REALTIME within its bounds, and
 * the order hardware > program > batch.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "ntp-responder/phc.h"
#include "ntp-responder/xdp_maps.h"
#include "ntp-responder/xframe.h"
#include "tests/unit/testutil.h"

static const uint8_t mac_s[6] = {2, 0, 0, 0, 0, 1}, mac_d[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip4_s[4] = {10, 0, 0, 2}, ip4_d[4] = {10, 0, 0, 1};
static const uint8_t ip6_s[16] = {0xfd, 0x89, [15] = 2}, ip6_d[16] = {0xfd, 0x89, [15] = 1};

static void be16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* the one's-complement sum of |len| bytes, folded */
static uint32_t ocsum(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	}
	while (s > 0xffff) {
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

/* a request frame with a |n|-byte payload of 0x23, 0...; returns its length */
static size_t frame(uint8_t *f, int v6, size_t n)
{
	memset(f, 0, 2048);
	memcpy(f, mac_d, 6);
	memcpy(f + 6, mac_s, 6);
	size_t l4;
	if (!v6) {
		be16(f + 12, 0x0800);
		uint8_t *ip = f + 14;
		ip[0] = 0x45;
		be16(ip + 2, 20 + 8 + n);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, ip4_s, 4);
		memcpy(ip + 16, ip4_d, 4);
		l4 = 34;
	} else {
		be16(f + 12, 0x86dd);
		uint8_t *ip = f + 14;
		ip[0] = 0x60;
		be16(ip + 4, 8 + n);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, ip6_s, 16);
		memcpy(ip + 24, ip6_d, 16);
		l4 = 54;
	}
	be16(f + l4, 40000);
	be16(f + l4 + 2, 123);
	be16(f + l4 + 4, 8 + n);
	f[l4 + 8] = 0x23;
	return l4 + 8 + n;
}

static void refused(const uint8_t *f, size_t len, const char *what)
{
	struct xframe x;
	if (xframe_parse(&x, f, len)) {
		fprintf(stderr, "accepted: %s\n", what);
		test_failures++;
	}
}

static void test_parse(void)
{
	uint8_t f[2048];
	struct xframe x;
	for (int v6 = 0; v6 <= 1; v6++) {
		size_t len = frame(f, v6, 48);
		CHECK(xframe_parse(&x, f, len));
		CHECK_EQ(x.v6, v6);
		CHECK_EQ(x.l4, v6 ? 54u : 34u);
		CHECK_EQ(x.payload_len, 48);
		/* Ethernet padding after the IP packet is not payload */
		CHECK(xframe_parse(&x, f, len + 6));
		CHECK_EQ(x.payload_len, 48);
		for (size_t l = 0; l < len; l++) {
			CHECK(!xframe_parse(&x, f, l));
		}
		/* an empty UDP payload parses (resp_handle drops it as short) */
		len = frame(f, v6, 0);
		CHECK(xframe_parse(&x, f, len));
		CHECK_EQ(x.payload_len, 0);
	}
	/* one field changed in a good 48-byte request: what the program passes */
	static const struct {
		int v6;
		size_t off, width; /* bytes into the frame; 1 or 2 (big-endian) */
		size_t val;
		int ok;
		const char *what;
	} muts[] = {
	    {0, 14, 1, 0x46, 0, "IPv4 options (IHL 6)"},
	    {0, 14, 1, 0x44, 0, "IHL 4"},
	    {0, 14, 1, 0x55, 0, "IP version 5"},
	    {0, 20, 2, 0x2000, 0, "more fragments"},
	    {0, 20, 2, 0x0001, 0, "fragment offset"},
	    {0, 20, 2, 0x4000, 1, "DF"},
	    {0, 23, 1, 6, 0, "TCP"},
	    {0, 38, 2, 8 + 47, 0, "UDP length short of the IP payload"},
	    {0, 38, 2, 8 + 49, 0, "UDP length beyond the IP payload"},
	    {0, 16, 2, 19, 0, "IP total length below the header"},
	    {0, 16, 2, 20 + 8 + 49, 0, "IP total length beyond the frame"},
	    {0, 12, 2, 0x8100, 0, "VLAN tag"},
	    {1, 20, 1, 0, 0, "IPv6 hop-by-hop header"},
	    {1, 20, 1, 44, 0, "IPv6 fragment header"},
	    {1, 14, 1, 0x40, 0, "IPv6 ethertype with version 4"},
	    {1, 18, 2, 8 + 49, 0, "IPv6 payload length beyond the frame"},
	    {1, 18, 2, 8 + 47, 0, "UDP length other than the IPv6 payload's"},
	};
	size_t len;
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		len = frame(f, muts[i].v6, 48);
		if (muts[i].width == 2) {
			be16(f + muts[i].off, muts[i].val);
		} else {
			f[muts[i].off] = (uint8_t)muts[i].val;
		}
		if (muts[i].ok) {
			CHECK(xframe_parse(&x, f, len));
		} else {
			refused(f, len, muts[i].what);
		}
	}
	/* random frames: never read out of bounds (ASan), a payload in bounds */
	srand(1);
	for (int i = 0; i < 200000; i++) {
		size_t l = (size_t)rand() % 200;
		len = frame(f, rand() & 1, (size_t)rand() % 100);
		for (int k = rand() % 4; k >= 0; k--) {
			f[(size_t)rand() % 120] = (uint8_t)rand();
		}
		uint8_t *copy = malloc(l + 1);
		memcpy(copy, f, l);
		if (xframe_parse(&x, copy, l)) {
			CHECK(x.l4 + 8 + x.payload_len <= l);
		}
		free(copy);
	}
}

static void test_peer(void)
{
	uint8_t f[2048];
	struct xframe x;
	struct sockaddr_storage ss;
	size_t len = frame(f, 0, 48);
	CHECK(xframe_parse(&x, f, len));
	xframe_peer(&ss, f, &x);
	const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
	CHECK_EQ(a->sin_family, AF_INET);
	CHECK_MEM((const uint8_t *)&a->sin_addr, 4, ip4_s, 4);
	CHECK_EQ(ntohs(a->sin_port), 40000);
	len = frame(f, 1, 48);
	CHECK(xframe_parse(&x, f, len));
	xframe_peer(&ss, f, &x);
	const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&ss;
	CHECK_EQ(b->sin6_family, AF_INET6);
	CHECK_MEM((const uint8_t *)&b->sin6_addr, 16, ip6_s, 16);
	CHECK_EQ(ntohs(b->sin6_port), 40000);
}

static void test_reply(void)
{
	uint8_t f[2048];
	struct xframe x;
	for (int v6 = 0; v6 <= 1; v6++) {
		for (size_t out_len = 48; out_len <= 68; out_len += 20) {
			size_t len = frame(f, v6, 68);
			CHECK(xframe_parse(&x, f, len));
			memset(f + x.l4 + 8, 0xa5, out_len); /* the response */
			f[x.l4 + 8 + out_len - 1] = 0x01;    /* an odd last byte pattern */
			size_t rlen = xframe_reply(f, &x, out_len);
			CHECK_EQ(rlen, x.l4 + 8 + out_len);
			CHECK_MEM(f, 6, mac_s, 6);
			CHECK_MEM(f + 6, 6, mac_d, 6);
			const uint8_t *udp = f + x.l4;
			CHECK_EQ(get16(udp), 123);
			CHECK_EQ(get16(udp + 2), 40000);
			CHECK_EQ(get16(udp + 4), 8 + out_len);
			CHECK(get16(udp + 6) != 0);
			uint32_t s;
			if (!v6) {
				const uint8_t *ip = f + 14;
				CHECK_MEM(ip + 12, 4, ip4_d, 4);
				CHECK_MEM(ip + 16, 4, ip4_s, 4);
				CHECK_EQ(ip[8], 64);
				CHECK_EQ(get16(ip + 2), 20 + 8 + out_len);
				CHECK_EQ(ocsum(0, ip, 20), 0xffff);
				s = ocsum(0, ip + 12, 8) + 17 + 8 + (uint32_t)out_len;
			} else {
				const uint8_t *ip = f + 14;
				CHECK_MEM(ip + 8, 16, ip6_d, 16);
				CHECK_MEM(ip + 24, 16, ip6_s, 16);
				CHECK_EQ(ip[7], 64);
				CHECK_EQ(get16(ip + 4), 8 + out_len);
				s = ocsum(0, ip + 8, 32) + 17 + 8 + (uint32_t)out_len;
			}
			CHECK_EQ(ocsum(s, udp, 8 + out_len), 0xffff);
			/* the reply is itself a frame the parser accepts */
			struct xframe y;
			CHECK(xframe_parse(&y, f, rlen));
			CHECK_EQ(y.payload_len, out_len);
		}
	}
}

/* put_meta: the area as bpf/nts_xdp.bpf.c writes it, ending at |end| */
static void put_meta(uint8_t *end, uint64_t ts, uint64_t prog, uint32_t flags, uint32_t magic)
{
	struct nts_xdp_meta m = {.rx_ts = ts, .prog_ts = prog, .flags = flags, .magic = magic};
	memcpy(end - sizeof(m), &m, sizeof(m));
}

#define HWTS NTS_XDP_META_HWTS
#define PROG NTS_XDP_META_PROG

static void test_meta(void)
{
	uint8_t head[256]; /* XDP_PACKET_HEADROOM */
	struct xframe_meta m = {0};
	const uint8_t zero[sizeof(struct nts_xdp_meta)] = {0};
	CHECK_EQ(sizeof(struct nts_xdp_meta), 24);
	memset(head, 0xa5, sizeof(head));
	put_meta(head + sizeof(head), 1764547200123456789u, 5000, HWTS | PROG, NTS_XDP_META_MAGIC);
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 1);
	CHECK_EQ(m.hw_ns, 1764547200123456789u);
	CHECK_EQ(m.prog_ns, 5000);
	/* wiped: the frame's next use without metadata shows none */
	CHECK_MEM(head + sizeof(head) - sizeof(zero), sizeof(zero), zero, sizeof(zero));
	CHECK_EQ(head[sizeof(head) - sizeof(zero) - 1], 0xa5); /* and nothing before it */
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 0);
	/* the program ran, the driver had no timestamp */
	put_meta(head + sizeof(head), 0, 77, PROG, NTS_XDP_META_MAGIC);
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 1);
	CHECK_EQ(m.hw_ns, 0);
	CHECK_EQ(m.prog_ns, 77);
	/* neither time */
	put_meta(head + sizeof(head), 0, 0, 0, NTS_XDP_META_MAGIC);
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 1);
	CHECK_EQ(m.hw_ns, 0);
	CHECK_EQ(m.prog_ns, 0);
	/* exactly the area's size is enough; one byte less is none */
	put_meta(head + 24, 42, 0, HWTS, NTS_XDP_META_MAGIC);
	CHECK_EQ(xframe_meta_take(&m, head, 24), 1);
	CHECK_EQ(m.hw_ns, 42);
	put_meta(head + 24, 42, 0, HWTS, NTS_XDP_META_MAGIC);
	CHECK_EQ(xframe_meta_take(&m, head + 1, 23), 0);
	CHECK_EQ(xframe_meta_take(&m, head, 0), 0);
	/* garbage: fields that do not fit together, a wrong magic, the area
	 * not right before the frame */
	static const struct {
		uint64_t ts, prog;
		uint32_t flags, magic;
	} bad[] = {
	    {0, 0, HWTS, NTS_XDP_META_MAGIC},             /* a timestamp of 0 */
	    {0, 0, PROG, NTS_XDP_META_MAGIC},             /* a program time of 0 */
	    {99, 0, 0, NTS_XDP_META_MAGIC},               /* a time without the flag */
	    {0, 99, 0, NTS_XDP_META_MAGIC},               /* a program time without the flag */
	    {99, 0, PROG, NTS_XDP_META_MAGIC},            /* the flags swapped */
	    {99, 1, HWTS | PROG | 4, NTS_XDP_META_MAGIC}, /* unknown flags */
	    {99, 0, 4, NTS_XDP_META_MAGIC},
	    {99, 0, HWTS, NTS_XDP_META_MAGIC ^ 1},
	    {99, 0, HWTS, 0},
	};
	for (size_t i = 0; i < NTS_ARRAY_SIZE(bad); i++) {
		put_meta(head + sizeof(head), bad[i].ts, bad[i].prog, bad[i].flags, bad[i].magic);
		m.hw_ns = 7;
		m.prog_ns = 8;
		CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 0);
		CHECK_EQ(m.hw_ns, 7);
		CHECK_EQ(m.prog_ns, 8);
		CHECK_MEM(head + sizeof(head) - sizeof(zero), sizeof(zero), zero, sizeof(zero));
	}
	put_meta(head + sizeof(head) - 4, 99, 1, HWTS | PROG, NTS_XDP_META_MAGIC);
	memset(head + sizeof(head) - 4, 0, 4);
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 0);
	/* the old 16-byte layout (no program time) right before the frame */
	uint32_t old[4] = {99, 0, HWTS, NTS_XDP_META_MAGIC};
	memset(head, 0, sizeof(head));
	memcpy(head + sizeof(head) - sizeof(old), old, sizeof(old));
	CHECK_EQ(xframe_meta_take(&m, head, sizeof(head)), 0);
	/* random areas: times only with the magic and their flags */
	srandom(15);
	for (int i = 0; i < 100000; i++) {
		for (size_t j = sizeof(head) - 24; j < sizeof(head); j++) {
			head[j] = (uint8_t)random();
		}
		if (i % 4 == 0) {
			uint32_t magic = NTS_XDP_META_MAGIC, flags = (uint32_t)random() % 4;
			memcpy(head + sizeof(head) - 4, &magic, 4);
			memcpy(head + sizeof(head) - 8, &flags, 4);
		}
		struct nts_xdp_meta w;
		memcpy(&w, head + sizeof(head) - sizeof(w), sizeof(w));
		int r = xframe_meta_take(&m, head, sizeof(head));
		int want = w.magic == NTS_XDP_META_MAGIC &&
		           (w.flags & ~(uint32_t)(HWTS | PROG)) == 0 &&
		           ((w.flags & HWTS) != 0) == (w.rx_ts != 0) &&
		           ((w.flags & PROG) != 0) == (w.prog_ts != 0);
		CHECK_EQ(r, want);
		if (want) {
			CHECK_EQ(m.hw_ns, w.rx_ts);
			CHECK_EQ(m.prog_ns, w.prog_ts);
		}
	}
}

/* the program's CLOCK_MONOTONIC time to CLOCK_REALTIME, and its bounds */
static void test_prog_time(void)
{
	const int64_t real = 1764547200000000000; /* the batch time */
	struct xframe_clocks c = {
	    .real_ns = real, .mono_before = 5000000000, .mono_after = 5000000040};
	int64_t out = 0;
	/* the offset at the bracket's midpoint: real - 5000000020 */
	CHECK(xframe_prog_time(&out, &c, 4999990020));
	CHECK_EQ(out, real - 10000);
	CHECK(xframe_prog_time(&out, &c, 5000000000)); /* the last moment before the batch */
	CHECK_EQ(out, real - 20);
	CHECK(out <= real);
	CHECK(!xframe_prog_time(&out, &c, 5000000001)); /* after the batch was taken */
	CHECK(!xframe_prog_time(&out, &c, 5000000041));
	CHECK(!xframe_prog_time(&out, &c, UINT64_MAX));
	/* at most XFRAME_PROG_MAX_WAIT_NS before */
	CHECK(xframe_prog_time(&out, &c, 5000000000 - XFRAME_PROG_MAX_WAIT_NS));
	CHECK_EQ(out, real - XFRAME_PROG_MAX_WAIT_NS - 20);
	CHECK(!xframe_prog_time(&out, &c, 5000000000 - XFRAME_PROG_MAX_WAIT_NS - 1));
	CHECK(!xframe_prog_time(&out, &c, 1));
	/* a bracket too wide (preempted between the reads), or backwards */
	c.mono_after = c.mono_before + XFRAME_MAX_WIDTH_NS;
	CHECK(xframe_prog_time(&out, &c, 4999990000));
	CHECK_EQ(out, real - 10000 - XFRAME_MAX_WIDTH_NS / 2);
	c.mono_after = c.mono_before + XFRAME_MAX_WIDTH_NS + 1;
	out = 7;
	CHECK(!xframe_prog_time(&out, &c, 4999990000));
	c.mono_after = c.mono_before - 1;
	CHECK(!xframe_prog_time(&out, &c, 4999990000));
	CHECK_EQ(out, 7);
	/* random: accepted exactly within the bounds, never after the batch,
	 * and the difference of monotonic times kept */
	srandom(16);
	for (int i = 0; i < 100000; i++) {
		c.mono_before = (uint64_t)random() * 1000;
		c.mono_after = c.mono_before + (uint64_t)(random() % (2 * XFRAME_MAX_WIDTH_NS));
		uint64_t prog = c.mono_before -
		                (uint64_t)(random() % (2 * XFRAME_PROG_MAX_WAIT_NS)) +
		                (uint64_t)(random() % 100);
		int want = c.mono_after - c.mono_before <= XFRAME_MAX_WIDTH_NS &&
		           prog <= c.mono_before && c.mono_before - prog <= XFRAME_PROG_MAX_WAIT_NS;
		CHECK_EQ(xframe_prog_time(&out, &c, prog), want);
		if (want) {
			uint64_t mid = c.mono_before + (c.mono_after - c.mono_before) / 2;
			CHECK(out <= real);
			CHECK_EQ(real - out, (int64_t)(mid - prog));
		}
	}
}

/* the order: hardware (valid fit) > the program's time > the batch time */
static void test_rx_time(void)
{
	const int64_t real = 1764547200000000000;
	struct xframe_clocks c = {
	    .real_ns = real, .mono_before = 5000000000, .mono_after = 5000000000};
	/* a PHC 1000 s behind CLOCK_REALTIME, at the same rate */
	struct phc_map map = {.valid = 1, .phc0 = real - 1000000000000, .sys0 = real};
	struct xframe_meta m = {.hw_ns = (uint64_t)(real - 1000000000000 - 3000),
	                        .prog_ns = 4999996000};
	enum xframe_ts_why why = XFRAME_WHY_MAX;
	int64_t t = 0;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 1, &map, &c), XFRAME_TS_HW);
	CHECK_EQ(t, real - 3000);
	/* no PHC, a fit not valid, stale or insane: the program's time */
	static const struct {
		int valid;
		int64_t sys0, hw_off;
		enum xframe_ts_why why;
	} hw_bad[] = {
	    {1, real, -3000, XFRAME_WHY_NO_CLOCK},
	    {0, real, -3000, XFRAME_WHY_NO_FIT},
	    {1, real - PHC_FRESH_NS - 1, -3000, XFRAME_WHY_STALE},
	    {1, real, PHC_AHEAD_NS + 1, XFRAME_WHY_INSANE},
	};
	for (size_t i = 0; i < NTS_ARRAY_SIZE(hw_bad); i++) {
		struct phc_map bm = {.valid = hw_bad[i].valid, .phc0 = 0, .sys0 = hw_bad[i].sys0};
		struct xframe_meta hm = {.hw_ns = (uint64_t)(hw_bad[i].sys0 + hw_bad[i].hw_off),
		                         .prog_ns = 4999996000};
		const struct phc_map *mp = hw_bad[i].why == XFRAME_WHY_NO_CLOCK ? NULL : &bm;
		why = XFRAME_WHY_MAX;
		CHECK_EQ(xframe_rx_time(&t, &why, &hm, 1, mp, &c), XFRAME_TS_PROG);
		CHECK_EQ(t, real - 4000);
		CHECK_EQ(why, XFRAME_WHY_MAX); /* untouched */
		/* and without the program's time: the batch time, and why */
		hm.prog_ns = 0;
		CHECK_EQ(xframe_rx_time(&t, &why, &hm, 1, mp, &c), XFRAME_TS_BATCH);
		CHECK_EQ(t, real);
		CHECK_EQ(why, hw_bad[i].why);
	}
	/* only the program's time */
	m.hw_ns = 0;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 1, &map, &c), XFRAME_TS_PROG);
	CHECK_EQ(t, real - 4000);
	/* the program's time after the batch, or too early: the batch time */
	m.prog_ns = 5000000001;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 1, &map, &c), XFRAME_TS_BATCH);
	CHECK_EQ(t, real);
	CHECK_EQ(why, XFRAME_WHY_PROGRAM);
	m.prog_ns = 5000000000 - XFRAME_PROG_MAX_WAIT_NS - 1;
	why = XFRAME_WHY_MAX;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 1, &map, &c), XFRAME_TS_BATCH);
	CHECK_EQ(why, XFRAME_WHY_PROGRAM);
	/* neither time; no metadata at all */
	m.prog_ns = 0;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 1, &map, &c), XFRAME_TS_BATCH);
	CHECK_EQ(why, XFRAME_WHY_NO_TIMESTAMP);
	m.prog_ns = 4999996000;
	CHECK_EQ(xframe_rx_time(&t, &why, &m, 0, &map, &c), XFRAME_TS_BATCH);
	CHECK_EQ(t, real);
	CHECK_EQ(why, XFRAME_WHY_NO_METADATA);
}

int main(void)
{
	test_meta();
	test_prog_time();
	test_rx_time();
	test_parse();
	test_reply();
	test_peer();
	return test_summary("xframe");
}
