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

/* What the XDP program left in front of a frame (struct nts_xdp_meta). */
enum xframe_meta {
	XFRAME_META_MISSING = 0, /* no area, no magic, or fields that do not fit together */
	XFRAME_META_NO_TS,       /* the program ran; the driver gave no timestamp */
	XFRAME_META_HWTS,        /* a hardware receive timestamp (the NIC's clock) */
};

/* xframe_meta_take reads the metadata from the last bytes of the
 * |head_len| bytes at |head| (the UMEM bytes just before a frame's data)
 * and wipes them, so a reused frame never shows stale metadata. With
 * XFRAME_META_HWTS the timestamp (non-zero) is in |out_rx_ts|. */
enum xframe_meta xframe_meta_take(uint64_t *out_rx_ts, uint8_t *head, size_t head_len) NTS_WUR;

#endif
