/*
 * ratelimit.c: GCRA buckets in a set-associative table (see ratelimit.h).
 */
#include "common/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

struct rl_entry {
	_Atomic uint64_t tag; /* 0: empty */
	_Atomic uint64_t tat;
};

struct rl_set {
	_Alignas(64) struct rl_entry e[RL_WAYS];
};

struct rl_table {
	uint64_t mask; /* number of sets - 1 */
	uint8_t key[crypto_shorthash_KEYBYTES];
	_Atomic uint64_t interval_ns, burst;
	_Atomic unsigned v4prefix, v6prefix;
	struct rl_set *sets;
};

uint64_t rl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* num_sets: the sets for at least |entries| entries, a power of two */
static uint64_t num_sets(uint64_t entries)
{
	uint64_t sets = 1;
	while (sets * RL_WAYS < entries) {
		sets <<= 1;
	}
	return sets;
}

struct rl_table *rl_table_new(uint64_t entries)
{
	uint64_t sets = num_sets(entries);
	struct rl_table *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	/* all of it resident from the start: the RSS does not grow with the
	 * sources seen */
	t->sets = aligned_alloc(sizeof(struct rl_set), sets * sizeof(struct rl_set));
	if (t->sets == NULL) {
		free(t);
		return NULL;
	}
	memset(t->sets, 0, sets * sizeof(struct rl_set));
	t->mask = sets - 1;
	randombytes_buf(t->key, sizeof(t->key));
	atomic_store(&t->interval_ns, 1000000000u);
	atomic_store(&t->burst, 1);
	atomic_store(&t->v4prefix, 32);
	atomic_store(&t->v6prefix, 64);
	return t;
}

void rl_table_free(struct rl_table *t)
{
	if (t == NULL) {
		return;
	}
	free(t->sets);
	sodium_memzero(t->key, sizeof(t->key));
	free(t);
}

uint64_t rl_table_entries(const struct rl_table *t)
{
	return (t->mask + 1) * RL_WAYS;
}

void rl_table_set(struct rl_table *t, const struct rl_config *c)
{
	atomic_store(&t->interval_ns, c->interval_ms * 1000000u);
	atomic_store(&t->burst, c->burst);
	atomic_store(&t->v4prefix, (unsigned)c->v4prefix);
	atomic_store(&t->v6prefix, (unsigned)c->v6prefix);
}

int rl_gcra(uint64_t *tat, uint64_t now, uint64_t interval, uint64_t burst)
{
	/* base = max(tat, now), modulo 2^64 */
	uint64_t base = (int64_t)(*tat - now) > 0 ? *tat : now;
	uint64_t next = base + interval;
	if (next - now > burst * interval) {
		return 0;
	}
	*tat = next;
	return 1;
}

uint64_t rl_hash(const struct rl_table *t, const struct acl_addr *a)
{
	uint8_t in[17] = {0};
	unsigned len = a->family == 6 ? atomic_load_explicit(&t->v6prefix, memory_order_relaxed)
	                              : atomic_load_explicit(&t->v4prefix, memory_order_relaxed);
	in[0] = a->family;
	for (unsigned i = 0; i < len / 8; i++) {
		in[1 + i] = a->addr[i];
	}
	if (len % 8 != 0) {
		in[1 + len / 8] = a->addr[len / 8] & (uint8_t)(0xff00u >> (len % 8));
	}
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, in, sizeof(in), t->key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	return v;
}

int rl_check(struct rl_table *t, const struct acl_addr *a, uint64_t now, int *out_evicted)
{
	uint64_t h = rl_hash(t, a);
	uint64_t tag = h | 1; /* never 0 (empty); the low bit also picks no set */
	struct rl_set *s = &t->sets[(h >> 1) & t->mask];
	uint64_t interval = atomic_load_explicit(&t->interval_ns, memory_order_relaxed);
	uint64_t burst = atomic_load_explicit(&t->burst, memory_order_relaxed);
	struct rl_entry *e = NULL;
	for (int i = 0; i < RL_WAYS; i++) {
		if (atomic_load_explicit(&s->e[i].tag, memory_order_relaxed) == tag) {
			e = &s->e[i];
			break;
		}
	}
	if (e == NULL) {
		/* the victim: an empty entry, else the oldest tat */
		int64_t oldest = INT64_MAX;
		for (int i = 0; i < RL_WAYS; i++) {
			if (atomic_load_explicit(&s->e[i].tag, memory_order_relaxed) == 0) {
				e = &s->e[i];
				break;
			}
			int64_t age =
			    (int64_t)(atomic_load_explicit(&s->e[i].tat, memory_order_relaxed) -
			              now);
			if (age < oldest) {
				oldest = age;
				e = &s->e[i];
			}
		}
		if (atomic_load_explicit(&e->tag, memory_order_relaxed) != 0) {
			*out_evicted = 1;
		}
		atomic_store_explicit(&e->tat, now, memory_order_relaxed); /* full */
		atomic_store_explicit(&e->tag, tag, memory_order_relaxed);
	}
	uint64_t old = atomic_load_explicit(&e->tat, memory_order_relaxed);
	for (;;) {
		uint64_t v = old;
		if (!rl_gcra(&v, now, interval, burst)) {
			return 0;
		}
		if (atomic_compare_exchange_weak_explicit(&e->tat, &old, v, memory_order_relaxed,
		                                          memory_order_relaxed)) {
			return 1;
		}
	}
}

int rl_policy_apply(struct rl_policy *p, const struct rl_config *c, const struct acl_rules *r)
{
	struct acl *acl = NULL;
	struct rl_table *t = atomic_load(&p->table), *fresh = NULL;
	if (r->num > 0 && (acl = acl_new(r)) == NULL) {
		return 0;
	}
	if (c->enabled && (t == NULL || rl_table_entries(t) != num_sets(c->table) * RL_WAYS)) {
		if ((fresh = rl_table_new(c->table)) == NULL) {
			acl_free(acl);
			return 0;
		}
		rl_table_set(fresh, c);
	}
	if (t != NULL && c->enabled && fresh == NULL) {
		rl_table_set(t, c); /* the same size: keep the buckets */
	}
	/* what the previous apply retired has been out of use since then */
	rl_table_free(p->old_table);
	acl_free(p->old_acl);
	p->old_table = NULL;
	if (fresh != NULL || !c->enabled) {
		p->old_table = atomic_exchange(&p->table, fresh);
	}
	p->old_acl = atomic_exchange(&p->acl, acl);
	return 1;
}

void rl_policy_cleanup(struct rl_policy *p)
{
	rl_table_free(atomic_exchange(&p->table, NULL));
	acl_free(atomic_exchange(&p->acl, NULL));
	rl_table_free(p->old_table);
	acl_free(p->old_acl);
	p->old_table = NULL;
	p->old_acl = NULL;
}

enum rl_verdict rl_policy_check(struct rl_policy *p, const struct sockaddr *sa, uint64_t now,
                                int *out_evicted)
{
	struct acl_addr a;
	if (!acl_addr_from_sockaddr(&a, sa)) {
		return RL_PASS;
	}
	const struct acl *acl = atomic_load_explicit(&p->acl, memory_order_acquire);
	if (acl != NULL && !acl_allowed(acl, &a)) {
		return RL_DENIED;
	}
	struct rl_table *t = atomic_load_explicit(&p->table, memory_order_acquire);
	if (t != NULL && !rl_check(t, &a, now, out_evicted)) {
		return RL_LIMITED;
	}
	return RL_PASS;
}
