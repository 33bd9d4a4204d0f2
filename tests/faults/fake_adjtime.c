/*
 * fake_adjtime.c: an LD_PRELOAD shim for the fault tests. It answers
 * read-only ntp_adjtime/adjtimex calls with a synchronised kernel clock, so
 * the responder's "syncsource ntp" path can be tested on a machine whose
 * clock carries STA_UNSYNC, without ever setting the machine's clock (a call
 * that tries to set anything fails with EPERM).
 *
 * NTS_FAKE_KERNEL=ok   synchronised, no leap pending (the default)
 * NTS_FAKE_KERNEL=ins  synchronised, a leap second insertion armed (STA_INS)
 * NTS_FAKE_KERNEL=FILE the first word of FILE, read on every call ("ok" or
 *                      "ins"), so a test can change it while the daemon runs
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

static int fake(struct timex *tx)
{
	const char *v = getenv("NTS_FAKE_KERNEL");
	char word[8] = "ok";
	if (tx->modes != 0) {
		errno = EPERM;
		return -1;
	}
	if (v != NULL && v[0] == '/') {
		FILE *f = fopen(v, "r");
		if (f != NULL) {
			if (fscanf(f, "%7s", word) != 1) {
				strcpy(word, "ok");
			}
			fclose(f);
		}
	} else if (v != NULL) {
		snprintf(word, sizeof(word), "%s", v);
	}
	memset(tx, 0, sizeof(*tx));
	tx->status = STA_PLL;
	tx->maxerror = 1000;
	tx->esterror = 10;
	tx->precision = 1;
	tx->tolerance = 32768000;
	if (strcmp(word, "ins") == 0) {
		tx->status |= STA_INS;
		return TIME_INS;
	}
	return TIME_OK;
}

int ntp_adjtime(struct timex *tx)
{
	return fake(tx);
}

int adjtimex(struct timex *tx)
{
	return fake(tx);
}
