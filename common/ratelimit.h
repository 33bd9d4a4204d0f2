/*
 * ratelimit.h: per-source-prefix rate limits in a fixed-size table, and the
 * policy (rate limit plus access list) both daemons check before any work.
 *
 * Each source prefix (IPv4 /32 and IPv6 /64 by default) has a token bucket
 * kept as one number, its theoretical arrival time (GCRA): a request at
 * |now| is admitted if max(tat, now) + interval <= now + burst * interval,
 * and then tat becomes max(tat, now) + interval. A fresh bucket is full
 * (|burst| requests at once), it refills by one request per |interval|,
 * requests over the limit do not consume anything, and a clock that goes
 * backwards refills nothing. Times are nanoseconds of CLOCK_MONOTONIC;
 * comparisons are modulo 2^64.
 *
 * The table is set-associative: a keyed hash (SipHash-2-4, libsodium's
 * crypto_shorthash, a random key per table) of the prefix picks a set of
 * RL_WAYS entries in one cache line and a 64-bit tag within it. A source
 * not in its set replaces the entry with the oldest tat: an empty one, else
 * the fullest bucket (a client idle the longest), so the entries held by
 * clients that are over their limit go last. An evicted client comes back
 * with a full bucket: a flood of spoofed sources can make the table forget
 * an abuser (who then gets |burst| more answers), never starve a legitimate
 * client. Entries are two atomic words updated with compare-and-swap: every
 * worker thread shares the table with no lock and no allocation; two
 * sources racing for one entry at worst share a bucket for a moment.
 */
#ifndef NTS_RATELIMIT_H
#define NTS_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/acl.h"
#include "common/compiler.h"
#include "common/config.h"

#define RL_WAYS 4

/* The configuration both daemons share (directive rows: RL_DIRECTIVES). */
struct rl_config {
	int enabled;
	uint64_t interval_ms; /* average interval between requests */
	uint64_t burst;       /* requests at once */
	uint64_t v4prefix, v6prefix;
	uint64_t table; /* entries */
};

/* clang-format off */
#define RL_DIRECTIVES(st, f, def_on, def_interval, def_burst, def_table) \
	CFG_BOOL_ROW("ratelimit", st, f.enabled, def_on, 1), \
	CFG_DURATION_ROW("ratelimitinterval", st, f.interval_ms, 1, 3600000, def_interval, 1), \
	CFG_UINT_ROW("ratelimitburst", st, f.burst, 1, 65536, def_burst, 1), \
	CFG_UINT_ROW("ratelimitv4prefix", st, f.v4prefix, 8, 32, "32", 1), \
	CFG_UINT_ROW("ratelimitv6prefix", st, f.v6prefix, 16, 128, "64", 1), \
	CFG_UINT_ROW("ratelimittable", st, f.table, RL_WAYS, 1u << 24, def_table, 1)
/* clang-format on */

struct rl_table;

/* rl_table_new allocates a table of at least |entries| entries (rounded up
 * to a power of two) with a fresh random hash key; NULL if out of memory. */
struct rl_table *rl_table_new(uint64_t entries);
void rl_table_free(struct rl_table *t);
uint64_t rl_table_entries(const struct rl_table *t);

/* rl_table_set sets the limit (atomically; the buckets stay). */
void rl_table_set(struct rl_table *t, const struct rl_config *c);

/* rl_gcra applies one request at |now| to the bucket |*tat|: returns 1 and
 * advances |*tat| if admitted, 0 (|*tat| untouched) if over the limit. */
int rl_gcra(uint64_t *tat, uint64_t now, uint64_t interval, uint64_t burst) NTS_WUR;

/* rl_hash: the keyed hash of |a|'s prefix (the table's prefix lengths). */
uint64_t rl_hash(const struct rl_table *t, const struct acl_addr *a);

/* rl_check counts one request from |a| at |now|: 1 if admitted, 0 if over
 * the limit. |*out_evicted| is set to 1 if another source's entry was
 * replaced (left alone otherwise). */
int rl_check(struct rl_table *t, const struct acl_addr *a, uint64_t now, int *out_evicted) NTS_WUR;

/* The rate limiter and access list in use, replaced whole on reload. A
 * replaced table or list is kept until the next apply (a worker may still
 * be using it for the packet in hand) and freed then. */
struct rl_policy {
	_Atomic(struct rl_table *) table; /* NULL: no rate limit */
	_Atomic(struct acl *) acl;        /* NULL: everything allowed */
	struct rl_table *old_table;
	struct acl *old_acl;
};

/* rl_policy_apply installs |c| and |r|: the table stays (with its buckets)
 * if its size is unchanged. Returns 0 if out of memory (nothing changed). */
int rl_policy_apply(struct rl_policy *p, const struct rl_config *c,
                    const struct acl_rules *r) NTS_WUR;
void rl_policy_cleanup(struct rl_policy *p);

enum rl_verdict { RL_PASS = 0, RL_DENIED, RL_LIMITED };

/* rl_policy_check: the access list, then the rate limit, for |sa|. */
enum rl_verdict rl_policy_check(struct rl_policy *p, const struct sockaddr *sa, uint64_t now,
                                int *out_evicted);

/* rl_now: the clock the buckets run on (CLOCK_MONOTONIC, ns). */
uint64_t rl_now(void);

#endif
