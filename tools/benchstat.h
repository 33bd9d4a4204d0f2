/*
 * benchstat.h: the arithmetic of nts-bench, kept apart so it can be unit
 * tested: a log-linear latency histogram (fixed memory, mergeable, about
 * 1.6% precision) with nearest-rank percentiles, its signed variant, open-loop pacing, a rate
 * list parser and a median.
 */
#ifndef NTS_BENCHSTAT_H
#define NTS_BENCHSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* Values below 2^BS_SUB_BITS are counted exactly; above, each power of two
 * is split into 2^BS_SUB_BITS buckets. */
#define BS_SUB_BITS 6
#define BS_SUB      (1u << BS_SUB_BITS)
#define BS_BUCKETS  ((66 - BS_SUB_BITS) * (BS_SUB / 2))

struct bs_hist {
	uint64_t count;
	uint64_t min, max;
	uint64_t buckets[BS_BUCKETS];
};

/* bs_hist_init empties |h|. */
void bs_hist_init(struct bs_hist *h);

/* bs_bucket returns the bucket index of |v|; bs_bucket_low and
 * bs_bucket_high the smallest and largest value of bucket |i|. */
size_t bs_bucket(uint64_t v);
uint64_t bs_bucket_low(size_t i);
uint64_t bs_bucket_high(size_t i);

void bs_hist_add(struct bs_hist *h, uint64_t v);
/* bs_hist_merge adds the counts of |src| into |dst|. */
void bs_hist_merge(struct bs_hist *dst, const struct bs_hist *src);

/* bs_hist_percentile returns the nearest-rank |p|-th percentile (0 < p <=
 * 100): the middle of the bucket holding the ceil(p/100 * count)-th
 * smallest value, clamped to [min, max]; exact below BS_SUB. 0 when empty. */
uint64_t bs_hist_percentile(const struct bs_hist *h, double p);

/* A histogram of signed values (a clock offset): the magnitudes of the
 * negative values and of the others in two histograms. */
struct bs_shist {
	struct bs_hist neg, pos;
};

void bs_shist_init(struct bs_shist *h);
void bs_shist_add(struct bs_shist *h, int64_t v);
/* bs_shist_count returns how many values |h| holds. */
uint64_t bs_shist_count(const struct bs_shist *h);
/* bs_shist_percentile returns the nearest-rank |p|-th percentile (0 < p <=
 * 100) of the signed values, with bs_hist_percentile's precision; 0 when
 * empty. */
int64_t bs_shist_percentile(const struct bs_shist *h, double p);

/* bs_pace_due returns how many packets an open-loop sender at |rate| per
 * second should have sent |elapsed_ns| after it started: floor(elapsed *
 * rate), computed without overflow or double rounding drift for runs of
 * any practical length. */
uint64_t bs_pace_due(uint64_t elapsed_ns, double rate);

/* bs_pace_next_ns returns when packet number |n| (0-based) is due, in ns
 * after the start: the inverse of bs_pace_due. */
uint64_t bs_pace_next_ns(uint64_t n, double rate);

/* bs_parse_rates parses a comma-separated list of positive rates (each may
 * end in k or M) into |out| (room for |cap|). Returns 0 on any bad entry,
 * an empty list or too many entries. */
int bs_parse_rates(double *out, size_t cap, size_t *out_num, const char *s) NTS_WUR;

/* bs_median sorts |v| (|n| > 0 values) and returns its median (the mean
 * of the middle two for even n). */
double bs_median(double *v, size_t n);

#endif
