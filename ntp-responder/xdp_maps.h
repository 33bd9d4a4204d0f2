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

enum nts_xdp_stat {
	NTS_XDP_STAT_REDIRECT = 0, /* to the queue's socket (or passed if none) */
	NTS_XDP_STAT_PASS_ODD,     /* UDP we passed: options, fragment, bad lengths */
	NTS_XDP_STAT_MAX
};

#endif
