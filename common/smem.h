/*
 * smem.h: memory for secrets, and process hardening.
 *
 * smem_new returns libsodium guarded memory: mlocked where the limit
 * allows, excluded from core dumps (MADV_DONTDUMP), guard pages on both
 * sides, and wiped when freed.
 */
#ifndef NTS_SMEM_H
#define NTS_SMEM_H

#include <stddef.h>

/* smem_init initialises libsodium; call once before anything else. */
int smem_init(void);

/* smem_new returns |size| zeroed secure bytes, or NULL. */
void *smem_new(size_t size);

/* smem_free wipes and releases |p|; NULL-safe. */
void smem_free(void *p);

/* smem_harden_process turns off core dumps (RLIMIT_CORE 0) and ptrace
 * attachment by other users (PR_SET_DUMPABLE 0). Returns 1 on success. */
int smem_harden_process(void);

#endif
