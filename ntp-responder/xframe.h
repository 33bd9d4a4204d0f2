/*
 * xframe.h: the Ethernet/IP/UDP framing of the AF_XDP path (xdp.c): the
 * checks a frame from the ring must pass before its payload reaches
 * resp_handle, and the reply built in place. No I/O, no state: unit-tested
 * and fuzzed on its own.
 */
#ifndef NTS_XFRAME_H
#define NTS_XFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"

/* A request's layout. */
struct xframe {
	int v6;
	size_t l4;          /* the UDP header's offset */
	size_t payload_len; /* UDP payload, at l4 + 8 */
};

/* xframe_parse accepts exactly what bpf/nts_xdp.bpf.c redirects (checked
 * again: this parser trusts nothing it did not check itself): untagged
 * Ethernet, IPv4 without options or fragmentation, or IPv6 with UDP as the
 * next header, UDP whose length is the IP payload's, all within the |len|
 * bytes at |p|. Returns 1 and fills |out|, or 0. */
int xframe_parse(struct xframe *out, const uint8_t *p, size_t len) NTS_WUR;

/* xframe_peer writes the request's source address and port (parsed into
 * |f|) as a sockaddr_in or sockaddr_in6 to |out|: the peer that the access
 * list and the rate limit judge (resp_handle_from). */
void xframe_peer(struct sockaddr_storage *out, const uint8_t *p, const struct xframe *f);

/* xframe_reply turns the request frame at |p| (parsed into |f|), whose UDP
 * payload already holds the |out_len|-byte response (out_len <=
 * f->payload_len), into the reply: Ethernet and IP addresses and UDP ports
 * swapped, TTL / hop limit 64, IPv4 DF, lengths and checksums (UDP's too,
 * mandatory for IPv6). Returns the frame length. */
size_t xframe_reply(uint8_t *p, const struct xframe *f, size_t out_len);

/* The timestamps the XDP program left in front of a frame (struct
 * nts_xdp_meta); 0: none. */
struct xframe_meta {
	uint64_t hw_ns;   /* the NIC's receive timestamp (PHC time) */
	uint64_t prog_ns; /* CLOCK_MONOTONIC when the program ran */
};

/* xframe_meta_take reads the metadata from the last bytes of the
 * |head_len| bytes at |head| (the UMEM bytes just before a frame's data)
 * and wipes them, so a reused frame never shows stale metadata. Returns 1
 * and fills |out| (each time non-zero exactly when its flag is set) if the
 * area is there with the magic and fields that fit together, else 0. */
int xframe_meta_take(struct xframe_meta *out, uint8_t *head, size_t head_len) NTS_WUR;

/* The clocks read once per batch, no syscall per packet: CLOCK_REALTIME
 * (the batch time, T2 when nothing better) between two CLOCK_MONOTONIC
 * reads. */
struct xframe_clocks {
	int64_t real_ns;
	uint64_t mono_before, mono_after;
};

/* A bracket wider than this (a preemption between the reads) converts
 * no program time; a program time more than XFRAME_PROG_MAX_WAIT_NS
 * before the batch is not believed. */
#define XFRAME_MAX_WIDTH_NS     100000
#define XFRAME_PROG_MAX_WAIT_NS 1000000000

/* xframe_prog_time writes to |out_real_ns| the CLOCK_REALTIME time of the
 * program's CLOCK_MONOTONIC time |prog_ns|, by the offset REALTIME -
 * MONOTONIC of |c| (at the bracket's midpoint), and returns 1; or 0 if
 * the bracket is wider than XFRAME_MAX_WIDTH_NS, or |prog_ns| is after
 * its start (the batch was taken after the program ran) or more than
 * XFRAME_PROG_MAX_WAIT_NS before it. The result is at most the batch
 * time. Slewing moves both clocks alike, so the
 * conversion is exact but for the bracket's half width, except across a
 * step of CLOCK_REALTIME between the packet and the batch: then it is off
 * by the step (bounded by the checks, and a step is rare and logged). */
int xframe_prog_time(int64_t *out_real_ns, const struct xframe_clocks *c, uint64_t prog_ns) NTS_WUR;

/* Where a packet's receive time (T2) came from, best first. */
enum xframe_ts_source {
	XFRAME_TS_HW,    /* the NIC's timestamp through the PHC fit */
	XFRAME_TS_PROG,  /* the XDP program's time */
	XFRAME_TS_BATCH, /* the batch time */
};

/* Why a packet's T2 is the batch time
 * (nts_responder_xdp_rx_timestamp_batch_total{reason}). */
enum xframe_ts_why {
	XFRAME_WHY_NO_METADATA,  /* no metadata in front of the frame */
	XFRAME_WHY_NO_TIMESTAMP, /* metadata without any time */
	XFRAME_WHY_NO_CLOCK,     /* only a hardware timestamp, no PHC to convert it with */
	XFRAME_WHY_NO_FIT,       /* only a hardware timestamp; the fit is not usable yet */
	XFRAME_WHY_STALE,        /* only a hardware timestamp; the fit's newest sample is too old */
	XFRAME_WHY_INSANE,       /* only a hardware timestamp, converted not near the batch time */
	XFRAME_WHY_PROGRAM,      /* the program's time failed xframe_prog_time's checks */
	XFRAME_WHY_MAX,
};

struct phc_map;

/* xframe_rx_time picks a packet's T2 from its metadata |m| (or none if
 * |have_meta| is 0): the hardware timestamp converted by |map| (NULL: no
 * PHC) if phc_to_sys accepts it, else the program's time if
 * xframe_prog_time accepts it, else the batch time c->real_ns. Writes the
 * time to |out_ns| and, for XFRAME_TS_BATCH, the reason to |out_why|. */
enum xframe_ts_source xframe_rx_time(int64_t *out_ns, enum xframe_ts_why *out_why,
                                     const struct xframe_meta *m, int have_meta,
                                     const struct phc_map *map, const struct xframe_clocks *c);

#endif
