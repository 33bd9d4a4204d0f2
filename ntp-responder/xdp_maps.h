/*
 * xdp_maps.h: the layout of the maps shared between the XDP program
 * (bpf/nts_xdp.bpf.c) and the responder (xdp.c). Keys are in network byte
 * order, as on the wire.
 */
#ifndef NTS_XDP_MAPS_H
#define NTS_XDP_MAPS_H

#include <linux/types.h>

#define NTS_XDP_MAX_QUEUES 64
#define NTS_XDP_MAX_ADDRS  64

struct nts_xdp_key4 {
	__u32 addr; /* 0: any IPv4 address */
	__u16 port;
	__u16 pad;
};

struct nts_xdp_key6 {
	__u8 addr[16]; /* all zero: any IPv6 address */
	__u16 port;
	__u16 pad;
};

/* The XDP metadata area (bpf_xdp_adjust_meta) in front of every packet
 * the program redirects: AF_XDP keeps it in UMEM just before the frame's
 * data (the descriptor's addr), in the XDP_PACKET_HEADROOM every frame
 * has. Host byte order. The responder wipes it after reading, so a frame
 * the program could not give metadata shows no magic, never a stale one.
 * 24 bytes: a multiple of 4 and at most 32, as the kernel requires. */
#define NTS_XDP_META_MAGIC 0x4e545331u /* "NTS1" */
#define NTS_XDP_META_HWTS  1u          /* rx_ts is the NIC's receive timestamp */
#define NTS_XDP_META_PROG  2u          /* prog_ts is set */
struct nts_xdp_meta {
	__u64 rx_ts;   /* ns on the NIC's PTP clock (PHC); 0 without NTS_XDP_META_HWTS */
	__u64 prog_ts; /* CLOCK_MONOTONIC ns when the program ran (bpf_ktime_get_ns);
	                * 0 without NTS_XDP_META_PROG */
	__u32 flags;
	__u32 magic; /* last: next to the packet */
};

enum nts_xdp_stat {
	NTS_XDP_STAT_REDIRECT = 0, /* to the queue's socket (or passed if none) */
	NTS_XDP_STAT_PASS_ODD,     /* UDP we passed: options, fragment, bad lengths */
	NTS_XDP_STAT_MAX
};

#endif
