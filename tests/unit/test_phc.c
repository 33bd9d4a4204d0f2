/*
 * test_phc.c: the PHC-to-CLOCK_REALTIME fit of the AF_XDP path's hardware
 * receive timestamps (ntp-responder/phc.c), with synthetic samples: a
 * clock with a known offset and rate is recovered to within a nanosecond
 * or two, with noisy brackets to within the noise; the fit is not used
 * before it spans PHC_MIN_SPAN_NS, with an absurd rate, once its newest
 * sample is PHC_FRESH_NS old (at the batch time), or for a converted time
 * after the batch time or long before it; a stepped clock restarts it;
 * wide brackets are refused; the narrowest read of a set is picked.
 */
#include <stdlib.h>

#include "ntp-responder/phc.h"
#include "tests/unit/testutil.h"

#define NS 1000000000LL

/* a PHC that runs at (1 + ppb / 1e9) the system clock's rate and read
 * |off| ns ahead of it at sys = base */
struct model {
	int64_t base;
	int64_t off;
	int64_t ppb;
};

static int64_t phc_at(const struct model *m, int64_t sys)
{
	int64_t d = sys - m->base;
	return sys + m->off + d * m->ppb / 1000000000;
}

static struct phc_sample sample(const struct model *m, int64_t sys, int64_t width)
{
	struct phc_sample s = {phc_at(m, sys), sys, width};
	return s;
}

static int64_t iabs(int64_t v)
{
	return v < 0 ? -v : v;
}

static void test_recovers(void)
{
	static const struct model models[] = {
	    {1764547200 * NS, 0, 0},                     /* a PHC that phc2sys keeps on time */
	    {1764547200 * NS, 37 * NS, 0},               /* TAI */
	    {1764547200 * NS, 37 * NS, 45000},           /* free-running, 45 ppm fast */
	    {1764547200 * NS, -1764500000 * NS, -80000}, /* since boot, 80 ppm slow */
	};
	for (size_t k = 0; k < NTS_ARRAY_SIZE(models); k++) {
		const struct model *m = &models[k];
		struct phc_fit f;
		memset(&f, 0, sizeof(f));
		int64_t sys = m->base;
		/* one sample: no rate yet, not used */
		struct phc_sample s = sample(m, sys, 2000);
		CHECK(phc_fit_add(&f, &s));
		CHECK(!f.map.valid);
		int64_t out = 0;
		CHECK_EQ(phc_to_sys(&out, &f.map, (uint64_t)phc_at(m, sys), sys), PHC_NO_FIT);
		for (int i = 1; i <= 12; i++) {
			sys += NS;
			s = sample(m, sys, 2000);
			CHECK(phc_fit_add(&f, &s));
			CHECK(f.map.valid);
			CHECK_EQ(f.num, i + 1 < PHC_FIT_SAMPLES ? i + 1 : PHC_FIT_SAMPLES);
			/* packets 1 us to 900 ms after the sample, read 20 us later */
			for (int64_t after = 1000; after < NS; after = after * 3 + 7) {
				int64_t want = sys + after;
				out = 0;
				CHECK_EQ(phc_to_sys(&out, &f.map, (uint64_t)phc_at(m, want),
				                    want + 20000),
				         PHC_OK);
				if (iabs(out - want) > 2) {
					fprintf(stderr,
					        "  model %zu sample %d: +%lld ns off by %lld\n", k,
					        i, (long long)after, (long long)(out - want));
					CHECK(0);
				}
			}
		}
		/* the rate the fit found, in 2^-32 */
		double want_rate = (double)m->ppb / 1e9 / (1.0 + (double)m->ppb / 1e9);
		CHECK(iabs(f.map.rate_q32 + (int64_t)(want_rate * 4294967296.0)) <= 2);
	}
}

/* brackets of up to +-2 us around the true time: the fit (least squares
 * over PHC_FIT_SAMPLES) stays within the noise */
static void test_noise(void)
{
	const struct model m = {1764547200 * NS, 37 * NS, 20000};
	struct phc_fit f;
	memset(&f, 0, sizeof(f));
	srandom(7);
	int64_t sys = m.base, worst = 0;
	for (int i = 0; i < 200; i++) {
		sys += NS + random() % 1000000;
		struct phc_sample s = sample(&m, sys, 4000);
		s.sys_ns += random() % 4001 - 2000;
		CHECK(phc_fit_add(&f, &s));
		if (i < 2) {
			continue;
		}
		int64_t want = sys + 300000000, out = 0;
		CHECK_EQ(phc_to_sys(&out, &f.map, (uint64_t)phc_at(&m, want), want + 10000),
		         PHC_OK);
		if (iabs(out - want) > worst) {
			worst = iabs(out - want);
		}
	}
	CHECK(worst <= 2000);
	if (worst > 2000) {
		fprintf(stderr, "  worst error with 2 us noise: %lld ns\n", (long long)worst);
	}
}

/* freshness and sanity, per packet */
static void test_rules(void)
{
	const struct model m = {1764547200 * NS, 37 * NS, 10000};
	struct phc_fit f;
	memset(&f, 0, sizeof(f));
	int64_t sys = m.base;
	struct phc_sample s = sample(&m, sys, 1000);
	CHECK(phc_fit_add(&f, &s));
	/* a second sample too soon: the fit does not span PHC_MIN_SPAN_NS */
	s = sample(&m, sys + PHC_MIN_SPAN_NS - 10000, 1000); /* 10 ppm fast: < span */
	CHECK(phc_fit_add(&f, &s));
	CHECK(!f.map.valid);
	sys += PHC_MIN_SPAN_NS;
	s = sample(&m, sys, 1000);
	CHECK(phc_fit_add(&f, &s));
	CHECK(f.map.valid);

	int64_t out = 0;
	uint64_t hw = (uint64_t)phc_at(&m, sys + 1000);
	/* fresh: the batch read up to PHC_FRESH_NS after the newest sample */
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, sys + 2000), PHC_OK);
	uint64_t hw_late = (uint64_t)phc_at(&m, sys + PHC_FRESH_NS - 1000);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw_late, sys + PHC_FRESH_NS), PHC_OK);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw_late, sys + PHC_FRESH_NS + 1), PHC_STALE);
	/* the system clock stepped back past the sample */
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, sys - PHC_FRESH_NS - 1), PHC_STALE);
	/* converted time after the batch time by more than PHC_AHEAD_NS */
	int64_t at = sys + 5000000;
	hw = (uint64_t)phc_at(&m, at);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, at - PHC_AHEAD_NS + 2), PHC_OK);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, at - PHC_AHEAD_NS - 2), PHC_INSANE);
	/* or before it by more than PHC_MAX_WAIT_NS */
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, at + PHC_MAX_WAIT_NS - 2), PHC_OK);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw, at + PHC_MAX_WAIT_NS + 2), PHC_INSANE);
	/* garbage from the driver: 0, all ones, far from the fit */
	out = 12345;
	CHECK_EQ(phc_to_sys(&out, &f.map, 0, sys), PHC_INSANE);
	CHECK_EQ(phc_to_sys(&out, &f.map, UINT64_MAX, sys), PHC_INSANE);
	CHECK_EQ(phc_to_sys(&out, &f.map, (uint64_t)INT64_MAX, sys), PHC_INSANE);
	CHECK_EQ(phc_to_sys(&out, &f.map, hw + 100 * (uint64_t)NS, sys), PHC_INSANE);
	CHECK_EQ(out, 12345); /* untouched when refused */
}

static void test_steps_and_widths(void)
{
	const struct model m = {1764547200 * NS, 37 * NS, 0};
	struct phc_fit f;
	memset(&f, 0, sizeof(f));
	int64_t sys = m.base;
	for (int i = 0; i < 5; i++, sys += NS) {
		struct phc_sample s = sample(&m, sys, 1000);
		CHECK(phc_fit_add(&f, &s));
	}
	CHECK_EQ(f.num, 5);
	/* a bracket wider than PHC_MAX_WIDTH_NS (a preempted read): refused */
	struct phc_sample wide = sample(&m, sys, PHC_MAX_WIDTH_NS + 1);
	CHECK(!phc_fit_add(&f, &wide));
	CHECK_EQ(f.num, 5);
	struct phc_sample neg = sample(&m, sys, -1);
	CHECK(!phc_fit_add(&f, &neg));
	/* within PHC_STEP_NS of the prediction: kept */
	struct phc_sample s = sample(&m, sys, 1000);
	s.sys_ns += PHC_STEP_NS / 2;
	CHECK(phc_fit_add(&f, &s));
	CHECK_EQ(f.num, 6);
	/* the system clock stepped by 1 s: the fit starts again, and is not
	 * used until it spans PHC_MIN_SPAN_NS again */
	sys += NS;
	s = sample(&m, sys, 1000);
	s.sys_ns += NS;
	CHECK(phc_fit_add(&f, &s));
	CHECK_EQ(f.num, 1);
	CHECK(!f.map.valid);
	/* the PHC going backwards: likewise */
	struct model m2 = m;
	m2.off -= 10 * NS;
	for (int i = 0; i < 3; i++) {
		sys += NS;
		s = sample(&m2, sys, 1000);
		CHECK(phc_fit_add(&f, &s));
	}
	CHECK_EQ(f.num, 3);
	CHECK(f.map.valid);
	sys += NS;
	s = sample(&m2, sys, 1000);
	s.phc_ns = f.s[f.last].phc_ns - 1;
	CHECK(phc_fit_add(&f, &s));
	CHECK_EQ(f.num, 1);
	/* a rate beyond PHC_MAX_PPM (two samples 1 s apart, 2 ms apart in
	 * offset, below the step threshold only because it is allowed to
	 * drift that much): never used */
	struct phc_fit g;
	memset(&g, 0, sizeof(g));
	struct phc_sample a = {10 * NS, 10 * NS, 1000};
	struct phc_sample b = {11 * NS, 11 * NS + PHC_STEP_NS - 1, 1000};
	CHECK(phc_fit_add(&g, &a));
	CHECK(phc_fit_add(&g, &b));
	CHECK(g.map.valid); /* 999 ppm */
	struct phc_fit h;
	memset(&h, 0, sizeof(h));
	struct phc_sample c = {10 * NS, 10 * NS, 1000};
	struct phc_sample d = {10 * NS + PHC_MIN_SPAN_NS, 10 * NS + PHC_MIN_SPAN_NS + 600000, 1000};
	CHECK(phc_fit_add(&h, &c));
	CHECK(phc_fit_add(&h, &d));
	CHECK(!h.map.valid); /* 1200 ppm */
}

static void test_pick(void)
{
	struct phc_sample s;
	const int64_t ext[4][3] = {
	    {1000, 5000, 1400}, /* 400 wide */
	    {2000, 6000, 2100}, /* 100 wide: this one */
	    {3000, 7000, 2900}, /* disordered */
	    {4000, 8000, 4100}, /* 100 wide, later: the first of equals stays */
	};
	CHECK(phc_pick_ext(&s, ext, 4));
	CHECK_EQ(s.phc_ns, 6000);
	CHECK_EQ(s.sys_ns, 2050);
	CHECK_EQ(s.width_ns, 100);
	CHECK(!phc_pick_ext(&s, ext, 0));
	CHECK(!phc_pick_ext(&s, ext + 2, 1));
	/* PTP_SYS_OFFSET: sys phc sys phc sys */
	const int64_t basic[7] = {1000, 5000, 1300, 6000, 1350, 7000, 1500};
	CHECK(phc_pick_basic(&s, basic, 3));
	CHECK_EQ(s.phc_ns, 6000);
	CHECK_EQ(s.sys_ns, 1325);
	CHECK_EQ(s.width_ns, 50);
	const int64_t back[3] = {1000, 5000, 999};
	CHECK(!phc_pick_basic(&s, back, 1));
}

int main(void)
{
	test_recovers();
	test_noise();
	test_rules();
	test_steps_and_widths();
	test_pick();
	return test_summary("phc");
}
