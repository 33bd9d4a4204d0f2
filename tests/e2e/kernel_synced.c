/*
 * kernel_synced.c: an LD_PRELOAD shim for tests/e2e/roles.sh. A test must
 * not change the machine's clock or its kernel clock state, but a test
 * machine's kernel often carries STA_UNSYNC (no time daemon disciplines
 * it), and the responder then serves stratum 16 / leap 3 whatever its
 * time daemon says. For the responder process only, a read-only
 * ntp_adjtime()/adjtimex() still makes the real system call (so the
 * responder's seccomp allow-list is exercised) and then reports what a
 * kernel disciplined by chronyd reports: STA_UNSYNC clear, TIME_OK, a
 * small estimated error. Leap flags (STA_INS/STA_DEL) pass through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/timex.h>

static int (*real_ntp_adjtime)(struct timex *);
static int (*real_adjtimex)(struct timex *);

/* resolved before the responder installs its seccomp filter */
__attribute__((constructor)) static void resolve(void)
{
	real_ntp_adjtime = (int (*)(struct timex *))dlsym(RTLD_NEXT, "ntp_adjtime");
	real_adjtimex = (int (*)(struct timex *))dlsym(RTLD_NEXT, "adjtimex");
}

static int synced(struct timex *tx, int ret)
{
	if (ret < 0) {
		return ret;
	}
	if (tx->status & STA_UNSYNC) {
		tx->status &= ~STA_UNSYNC;
		tx->esterror = 1000; /* 1 ms, in microseconds */
		tx->maxerror = 10000;
	}
	if (ret == TIME_ERROR) {
		ret = (tx->status & STA_INS) ? TIME_INS : (tx->status & STA_DEL) ? TIME_DEL : TIME_OK;
	}
	return ret;
}

int ntp_adjtime(struct timex *tx)
{
	int modes = tx->modes;
	int ret = real_ntp_adjtime(tx);
	return modes == 0 ? synced(tx, ret) : ret;
}

int adjtimex(struct timex *tx)
{
	int modes = tx->modes;
	int ret = real_adjtimex(tx);
	return modes == 0 ? synced(tx, ret) : ret;
}
