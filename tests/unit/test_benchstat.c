/* test_benchstat.c: nts-bench's arithmetic: histogram buckets (exact,
 * contiguous, bounded error), percentiles against a sorted reference,
 * merging, open-loop pacing and its inverse, rate lists, medians. */
#include <stdlib.h>

#include "tests/unit/testutil.h"
#include "tools/benchstat.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void test_buckets(void)
{
	/* exact below BS_SUB, then contiguous: every bucket starts one past
	 * the previous one's end, and each value lands in the bucket that
	 * holds it */
	for (uint64_t v = 0; v < BS_SUB; v++) {
		CHECK_EQ(bs_bucket(v), v);
	}
	for (size_t i = 1; i < BS_BUCKETS; i++) {
		CHECK_EQ(bs_bucket_low(i), bs_bucket_high(i - 1) + 1);
		CHECK_EQ(bs_bucket(bs_bucket_low(i)), i);
		CHECK_EQ(bs_bucket(bs_bucket_high(i)), i);
	}
	CHECK_EQ(bs_bucket(UINT64_MAX), BS_BUCKETS - 1);
	CHECK_EQ(bs_bucket_high(BS_BUCKETS - 1), UINT64_MAX);
	/* relative width at most 1/(BS_SUB/2) */
	for (size_t i = BS_SUB; i < BS_BUCKETS; i++) {
		long double w = (long double)(bs_bucket_high(i) - bs_bucket_low(i) + 1);
		CHECK(w / (long double)bs_bucket_low(i) <= 1.0L / (BS_SUB / 2) + 1e-12L);
	}
}

static void test_percentiles(void)
{
	static struct bs_hist h, h2, m;
	bs_hist_init(&h);
	CHECK_EQ(bs_hist_percentile(&h, 50), 0);
	for (uint64_t v = 1; v <= 50; v++) {
		bs_hist_add(&h, v);
	}
	/* nearest rank, exact below BS_SUB */
	CHECK_EQ(bs_hist_percentile(&h, 50), 25);
	CHECK_EQ(bs_hist_percentile(&h, 90), 45);
	CHECK_EQ(bs_hist_percentile(&h, 99), 50);
	CHECK_EQ(bs_hist_percentile(&h, 97), 49);
	CHECK_EQ(bs_hist_percentile(&h, 100), 50);
	CHECK_EQ(bs_hist_percentile(&h, 1), 1);
	CHECK_EQ(h.count, 50);
	bs_hist_init(&h);
	bs_hist_add(&h, 12345);
	CHECK_EQ(bs_hist_percentile(&h, 50), 12345); /* clamped to min/max */
	/* random values against a sorted reference: within 1/64 */
	enum { N = 20000 };
	static uint64_t vals[N];
	srand(7);
	bs_hist_init(&h);
	bs_hist_init(&h2);
	for (int i = 0; i < N; i++) {
		uint64_t v = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (1u << (i % 30 + 1));
		vals[i] = v;
		bs_hist_add(i % 2 ? &h : &h2, v);
	}
	qsort(vals, N, sizeof(vals[0]), cmp_u64);
	bs_hist_init(&m);
	bs_hist_merge(&m, &h);
	bs_hist_merge(&m, &h2);
	CHECK_EQ(m.count, N);
	CHECK_EQ(m.min, vals[0]);
	CHECK_EQ(m.max, vals[N - 1]);
	const double ps[] = {1, 10, 50, 90, 99, 99.9};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t rank = (size_t)((ps[i] / 100.0) * N + 0.999999);
		uint64_t want = vals[rank - 1], got = bs_hist_percentile(&m, ps[i]);
		double err = want ? ((double)got - (double)want) / (double)want : (double)got;
		if (err < 0) {
			err = -err;
		}
		if (!(err <= 1.0 / 64 + 1e-9)) {
			fprintf(stderr, "p%.1f: got %llu want %llu\n", ps[i],
			        (unsigned long long)got, (unsigned long long)want);
		}
		CHECK(err <= 1.0 / 64 + 1e-9);
	}
}

/* the signed histogram against a sorted reference: exact for small
 * magnitudes, within 1/64 otherwise, on both sides of zero */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_signed(void)
{
	static struct bs_shist h;
	bs_shist_init(&h);
	CHECK_EQ(bs_shist_percentile(&h, 50), 0);
	for (int64_t v = -20; v <= 29; v++) {
		bs_shist_add(&h, v);
	}
	CHECK_EQ(bs_shist_count(&h), 50);
	CHECK_EQ(bs_shist_percentile(&h, 1), (uint64_t)-20);
	CHECK_EQ(bs_shist_percentile(&h, 4), (uint64_t)-19);
	CHECK_EQ(bs_shist_percentile(&h, 40), -1);
	CHECK_EQ(bs_shist_percentile(&h, 42), 0);
	CHECK_EQ(bs_shist_percentile(&h, 50), 4);
	CHECK_EQ(bs_shist_percentile(&h, 100), 29);
	bs_shist_init(&h);
	bs_shist_add(&h, -7);
	CHECK_EQ(bs_shist_percentile(&h, 1), (uint64_t)-7);
	CHECK_EQ(bs_shist_percentile(&h, 99), (uint64_t)-7);
	enum { N = 10000 };
	static int64_t vals[N];
	srand(11);
	bs_shist_init(&h);
	for (int i = 0; i < N; i++) {
		int64_t v =
		    (int64_t)(((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (1u << (i % 24 + 1)));
		vals[i] = i % 3 == 0 ? -v : v;
		bs_shist_add(&h, vals[i]);
	}
	qsort(vals, N, sizeof(vals[0]), cmp_i64);
	const double ps[] = {1, 10, 25, 50, 75, 99};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t rank = (size_t)((ps[i] / 100.0) * N + 0.999999);
		int64_t want = vals[rank - 1], got = bs_shist_percentile(&h, ps[i]);
		double err = want ? (double)(got - want) / (double)want : (double)got;
		CHECK((got < 0) == (want < 0));
		CHECK(err <= 1.0 / 64 + 1e-9 && err >= -1.0 / 64 - 1e-9);
	}
}

static void test_pacing(void)
{
	CHECK_EQ(bs_pace_due(0, 1000), 0);
	CHECK_EQ(bs_pace_due(999999, 1000), 0);
	CHECK_EQ(bs_pace_due(1000000, 1000), 1);
	CHECK_EQ(bs_pace_due(1000000000, 1000), 1000);
	CHECK_EQ(bs_pace_due(3600ull * 1000000000, 1e6), 3600000000ull);
	CHECK_EQ(bs_pace_due(500000000, 2.5), 1);
	CHECK_EQ(bs_pace_due(2000000000, 0.5), 1);
	CHECK_EQ(bs_pace_due(1000000000, 0), 0);
	/* the inverse: packet n is due exactly at bs_pace_next_ns(n) */
	const double rates[] = {1, 3, 7.5, 1000, 33333, 123456.7, 1e6, 2.5e6};
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		for (uint64_t n = 0; n < 2000; n += 7) {
			uint64_t t = bs_pace_next_ns(n, rates[r]);
			CHECK(bs_pace_due(t, rates[r]) >= n + 1);
			CHECK(t == 0 || bs_pace_due(t - 1, rates[r]) <= n);
		}
	}
	/* monotone and never more than one packet per 1/rate */
	uint64_t prev = 0;
	for (uint64_t t = 0; t < 100000000; t += 99991) {
		uint64_t d = bs_pace_due(t, 77777);
		CHECK(d >= prev);
		prev = d;
	}
}

static void test_rates(void)
{
	double r[4];
	size_t n = 0;
	CHECK(bs_parse_rates(r, 4, &n, "1000,20k,1.5M"));
	CHECK_EQ(n, 3);
	CHECK(r[0] == 1000 && r[1] == 20000 && r[2] == 1500000);
	CHECK(bs_parse_rates(r, 4, &n, "5") && n == 1 && r[0] == 5);
	CHECK(!bs_parse_rates(r, 4, &n, ""));
	CHECK(!bs_parse_rates(r, 4, &n, "1,,2"));
	CHECK(!bs_parse_rates(r, 4, &n, "1,2,"));
	CHECK(!bs_parse_rates(r, 4, &n, "0"));
	CHECK(!bs_parse_rates(r, 4, &n, "-5"));
	CHECK(!bs_parse_rates(r, 4, &n, "10x"));
	CHECK(!bs_parse_rates(r, 4, &n, "nan"));
	CHECK(!bs_parse_rates(r, 2, &n, "1,2,3"));
	double m1[] = {3, 1, 2};
	CHECK(bs_median(m1, 3) == 2);
	double m2[] = {4, 1, 3, 2};
	CHECK(bs_median(m2, 4) == 2.5);
	double m3[] = {9};
	CHECK(bs_median(m3, 1) == 9);
}

int main(void)
{
	test_buckets();
	test_percentiles();
	test_signed();
	test_pacing();
	test_rates();
	return test_summary("benchstat");
}
