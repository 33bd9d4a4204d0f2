/*
 * nts_xdp.bpf.c: the XDP program of nts-responder's AF_XDP mode.
 *
 * It redirects to the AF_XDP socket of the receive queue (xsks, indexed by
 * queue) exactly the packets the responder's parser may see: Ethernet
 * (untagged) + IPv4 without options and not a fragment, or IPv6 with UDP as
 * the next header (no extension headers), + UDP whose length matches the
 * IP payload, to a (destination address, port) in addrs4/addrs6 (address 0
 * there: any address of that family). Everything else, and anything that
 * does not parse, is XDP_PASS: the kernel handles it as if we were not
 * here (ARP, ND, ICMP, BGP, SSH, the KE port, fragments for reassembly).
 * A queue with no socket in xsks passes too (bpf_redirect_map's default).
 *
 * A redirected packet carries struct nts_xdp_meta in the XDP metadata
 * area: the time the program ran (bpf_ktime_get_ns, CLOCK_MONOTONIC), the
 * software receive time before any wait for the worker. Built with -DNTS_XDP_HWTS=1
 * (nts_xdp_hw.bpf.o) the program asks the driver for the packet's hardware receive timestamp with
 * the kfunc bpf_xdp_metadata_rx_timestamp; such a program must be loaded device-bound
 * (BPF_F_XDP_DEV_BOUND_ONLY, Linux 6.3+), so the plain build (nts_xdp.bpf.o) is the fallback where
 * that load fails (xdp.c).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ntp-responder/xdp_maps.h"

#if NTS_XDP_HWTS
/* 0 and the NIC clock's time of the packet, or an error (-EOPNOTSUPP: the
 * driver lacks it; -ENODATA: no timestamp for this packet) */
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;
#endif

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, NTS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NTS_XDP_MAX_ADDRS);
	__type(key, struct nts_xdp_key4);
	__type(value, __u8);
} addrs4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NTS_XDP_MAX_ADDRS);
	__type(key, struct nts_xdp_key6);
	__type(value, __u8);
} addrs6 SEC(".maps");

/* counters by verdict (nts_xdp_stat), mmapped by the responder: reading
 * them needs no bpf() call under seccomp */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, NTS_XDP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &what);
	if (c != 0) {
		__sync_fetch_and_add(c, 1);
	}
}

static __always_inline int want4(const struct iphdr *ip, __u16 port)
{
	struct nts_xdp_key4 k = {.addr = ip->daddr, .port = port};
	if (bpf_map_lookup_elem(&addrs4, &k) != 0) {
		return 1;
	}
	k.addr = 0;
	return bpf_map_lookup_elem(&addrs4, &k) != 0;
}

static __always_inline int want6(const struct ipv6hdr *ip, __u16 port)
{
	struct nts_xdp_key6 k = {.port = port};
	__builtin_memcpy(k.addr, &ip->daddr, 16);
	if (bpf_map_lookup_elem(&addrs6, &k) != 0) {
		return 1;
	}
	__builtin_memset(k.addr, 0, 16);
	return bpf_map_lookup_elem(&addrs6, &k) != 0;
}

/* put_meta writes the metadata area in front of the packet (see
 * struct nts_xdp_meta); a driver without room for it gets none, and the
 * responder then uses its own time. Packet pointers are stale after it. */
static __always_inline void put_meta(struct xdp_md *ctx)
{
	/* the software receive time: here, in the driver's receive path,
	 * before the packet waits for the worker */
	__u64 prog_ts = bpf_ktime_get_ns();
	__u64 ts = 0;
	__u32 flags = prog_ts != 0 ? NTS_XDP_META_PROG : 0;
#if NTS_XDP_HWTS
	if (bpf_xdp_metadata_rx_timestamp(ctx, &ts) == 0 && ts != 0) {
		flags |= NTS_XDP_META_HWTS;
	} else {
		ts = 0;
	}
#endif
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct nts_xdp_meta)) != 0) {
		return;
	}
	struct nts_xdp_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data) {
		return;
	}
	m->rx_ts = ts;
	m->prog_ts = prog_ts;
	m->flags = flags;
	m->magic = NTS_XDP_META_MAGIC;
}

SEC("xdp")
int nts_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u32 ip_payload;

	if ((void *)(eth + 1) > end) {
		return XDP_PASS;
	}
	/* the frame's length as a number (at least the Ethernet header's,
	 * checked above; with fragments, all of them) */
	__u64 frame_len = bpf_xdp_get_buff_len(ctx);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->version != 4 || ip->protocol != IPPROTO_UDP) {
			return XDP_PASS;
		}
		if (ip->ihl != 5) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS; /* options */
		}
		/* MF set or a fragment offset: the kernel reassembles */
		if ((ip->frag_off & bpf_htons(0x3fff)) != 0) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS;
		}
		__u32 tot = bpf_ntohs(ip->tot_len);
		udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > end) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS;
		}
		/* the IP length must fit the frame (Ethernet padding may follow);
		 * compared as numbers: a packet pointer plus a length read from
		 * the packet is refused without CAP_PERFMON */
		if (tot < sizeof(*ip) + sizeof(*udp) || tot > frame_len - sizeof(*eth)) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS;
		}
		ip_payload = tot - sizeof(*ip);
		if (!want4(ip, udp->dest)) {
			return XDP_PASS;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->version != 6) {
			return XDP_PASS;
		}
		if (ip6->nexthdr != IPPROTO_UDP) {
			/* extension headers (fragments among them) or not UDP */
			return XDP_PASS;
		}
		ip_payload = bpf_ntohs(ip6->payload_len);
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > end) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS;
		}
		if (ip_payload < sizeof(*udp) ||
		    ip_payload > frame_len - sizeof(*eth) - sizeof(*ip6)) {
			count(NTS_XDP_STAT_PASS_ODD);
			return XDP_PASS;
		}
		if (!want6(ip6, udp->dest)) {
			return XDP_PASS;
		}
	} else {
		return XDP_PASS;
	}
	/* a UDP length that is not the IP payload's: let the kernel judge */
	if (bpf_ntohs(udp->len) != ip_payload) {
		count(NTS_XDP_STAT_PASS_ODD);
		return XDP_PASS;
	}
	count(NTS_XDP_STAT_REDIRECT);
	put_meta(ctx);
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
