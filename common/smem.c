/*
 * smem.c: secure memory and process hardening (see smem.h).
 */
#include "common/smem.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

int smem_init(void)
{
	return sodium_init() >= 0;
}

void *smem_new(size_t size)
{
	void *p = sodium_malloc(size);
	if (p != NULL) {
		memset(p, 0, size);
	}
	return p;
}

void smem_free(void *p)
{
	if (p != NULL) {
		sodium_free(p); /* zeroes before unmapping */
	}
}

int smem_harden_process(void)
{
	struct rlimit rl = {0, 0};
	return setrlimit(RLIMIT_CORE, &rl) == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
}
