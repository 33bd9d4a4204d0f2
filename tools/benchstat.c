/* benchstat.c: see benchstat.h. */
#include "tools/benchstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bs_hist_init(struct bs_hist *h)
{
	memset(h, 0, sizeof(*h));
}

size_t bs_bucket(uint64_t v)
{
	if (v < BS_SUB) {
		return (size_t)v;
	}
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - BS_SUB_BITS + 1; /* v >> shift is in [SUB/2, SUB) */
	uint64_t mant = v >> shift;
	return (size_t)shift * (BS_SUB / 2) + (size_t)mant;
}

uint64_t bs_bucket_low(size_t i)
{
	if (i < BS_SUB) {
		return i;
	}
	size_t shift = i / (BS_SUB / 2) - 1;
	uint64_t mant = i - shift * (BS_SUB / 2);
	return mant << shift;
}

uint64_t bs_bucket_high(size_t i)
{
	if (i < BS_SUB) {
		return i;
	}
	size_t shift = i / (BS_SUB / 2) - 1;
	return bs_bucket_low(i) + ((UINT64_C(1) << shift) - 1);
}

void bs_hist_add(struct bs_hist *h, uint64_t v)
{
	if (h->count == 0 || v < h->min) {
		h->min = v;
	}
	if (v > h->max) {
		h->max = v;
	}
	h->count++;
	h->buckets[bs_bucket(v)]++;
}

void bs_hist_merge(struct bs_hist *dst, const struct bs_hist *src)
{
	if (src->count == 0) {
		return;
	}
	if (dst->count == 0 || src->min < dst->min) {
		dst->min = src->min;
	}
	if (src->max > dst->max) {
		dst->max = src->max;
	}
	dst->count += src->count;
	for (size_t i = 0; i < BS_BUCKETS; i++) {
		dst->buckets[i] += src->buckets[i];
	}
}

/* hist_at returns the |rank|-th smallest value (1-based, at most count):
 * the middle of its bucket, clamped to [min, max]. */
static uint64_t hist_at(const struct bs_hist *h, uint64_t rank)
{
	uint64_t seen = 0;
	for (size_t i = 0; i < BS_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t lo = bs_bucket_low(i), hi = bs_bucket_high(i);
			uint64_t v = lo + (hi - lo) / 2;
			if (v < h->min) {
				v = h->min;
			}
			if (v > h->max) {
				v = h->max;
			}
			return v;
		}
	}
	return h->max;
}

/* nearest_rank returns ceil(p/100 * count), at least 1 */
static uint64_t nearest_rank(uint64_t count, double p)
{
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)count);
	return rank == 0 ? 1 : rank > count ? count : rank;
}

uint64_t bs_hist_percentile(const struct bs_hist *h, double p)
{
	if (h->count == 0) {
		return 0;
	}
	if (p <= 0) {
		return h->min;
	}
	if (p >= 100) {
		return h->max;
	}
	return hist_at(h, nearest_rank(h->count, p));
}

void bs_shist_init(struct bs_shist *h)
{
	bs_hist_init(&h->neg);
	bs_hist_init(&h->pos);
}

void bs_shist_add(struct bs_shist *h, int64_t v)
{
	if (v < 0) {
		bs_hist_add(&h->neg, (uint64_t)0 - (uint64_t)v);
	} else {
		bs_hist_add(&h->pos, (uint64_t)v);
	}
}

uint64_t bs_shist_count(const struct bs_shist *h)
{
	return h->neg.count + h->pos.count;
}

int64_t bs_shist_percentile(const struct bs_shist *h, double p)
{
	uint64_t n = bs_shist_count(h);
	if (n == 0) {
		return 0;
	}
	uint64_t rank = nearest_rank(n, p < 0 ? 0 : p > 100 ? 100 : p);
	if (rank <= h->neg.count) {
		/* the negatives in ascending order are their magnitudes in
		 * descending order */
		return -(int64_t)hist_at(&h->neg, h->neg.count - rank + 1);
	}
	return (int64_t)hist_at(&h->pos, rank - h->neg.count);
}

uint64_t bs_pace_due(uint64_t elapsed_ns, double rate)
{
	if (rate <= 0) {
		return 0;
	}
	/* long double holds elapsed_ns exactly (64-bit mantissa on x86) */
	return (uint64_t)floorl((long double)elapsed_ns * (long double)rate / 1e9L);
}

uint64_t bs_pace_next_ns(uint64_t n, double rate)
{
	if (rate <= 0) {
		return UINT64_MAX;
	}
	uint64_t ns = (uint64_t)ceill((long double)(n + 1) * 1e9L / (long double)rate);
	/* make it consistent with bs_pace_due whatever the rounding */
	while (ns > 0 && bs_pace_due(ns - 1, rate) > n) {
		ns--;
	}
	while (bs_pace_due(ns, rate) <= n) {
		ns++;
	}
	return ns;
}

int bs_parse_rates(double *out, size_t cap, size_t *out_num, const char *s)
{
	size_t n = 0;
	const char *p = s;
	if (s == NULL || *s == '\0') {
		return 0;
	}
	for (;;) {
		char *end;
		double v = strtod(p, &end);
		if (end == p) {
			return 0;
		}
		if (*end == 'k') {
			v *= 1e3;
			end++;
		} else if (*end == 'M') {
			v *= 1e6;
			end++;
		}
		if (!(v > 0) || !isfinite(v) || v > 1e9 || n == cap) {
			return 0;
		}
		out[n++] = v;
		if (*end == '\0') {
			break;
		}
		if (*end != ',') {
			return 0;
		}
		p = end + 1;
	}
	*out_num = n;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bs_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2 == 1) {
		return v[n / 2];
	}
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}
