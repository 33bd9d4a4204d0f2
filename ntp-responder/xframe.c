/*
 * xframe.c: the Ethernet/IP/UDP framing of the AF_XDP path (see xframe.h).
 */
#include "ntp-responder/xframe.h"

#include <netinet/in.h>
#include <string.h>

#include <openssl/bytestring.h>

#include "ntp-responder/phc.h"
#include "ntp-responder/xdp_maps.h"

/* xframe_parse accepts exactly what bpf/nts_xdp.bpf.c redirects: untagged
 * Ethernet, IPv4 without options or fragmentation / IPv6 with UDP next, UDP
 * whose length is the IP payload's, all within the |len| bytes at |p|. */
int xframe_parse(struct xframe *out, const uint8_t *p, size_t len)
{
	CBS cbs, ip;
	uint16_t type, ulen, ip_payload;
	CBS_init(&cbs, p, len);
	if (!CBS_skip(&cbs, 12) || !CBS_get_u16(&cbs, &type)) {
		return 0;
	}
	ip = cbs;
	if (type == 0x0800) {
		uint8_t vihl, proto;
		uint16_t tot, frag;
		if (!CBS_get_u8(&ip, &vihl) || vihl != 0x45 || !CBS_skip(&ip, 1) ||
		    !CBS_get_u16(&ip, &tot) || !CBS_skip(&ip, 2) || !CBS_get_u16(&ip, &frag) ||
		    (frag & 0x3fff) != 0 || !CBS_skip(&ip, 1) || !CBS_get_u8(&ip, &proto) ||
		    proto != IPPROTO_UDP) {
			return 0;
		}
		if (tot < 20 || tot > CBS_len(&cbs)) {
			return 0;
		}
		ip_payload = (uint16_t)(tot - 20);
		out->v6 = 0;
		out->l4 = 14 + 20;
	} else if (type == 0x86dd) {
		uint8_t v, next;
		if (!CBS_get_u8(&ip, &v) || (v >> 4) != 6 || !CBS_skip(&ip, 3) ||
		    !CBS_get_u16(&ip, &ip_payload) || !CBS_get_u8(&ip, &next) ||
		    next != IPPROTO_UDP) {
			return 0;
		}
		if ((size_t)ip_payload + 40 > CBS_len(&cbs)) {
			return 0;
		}
		out->v6 = 1;
		out->l4 = 14 + 40;
	} else {
		return 0;
	}
	CBS udp;
	CBS_init(&udp, p + out->l4, ip_payload);
	if (!CBS_skip(&udp, 4) || !CBS_get_u16(&udp, &ulen) || ulen != ip_payload || ulen < 8) {
		return 0;
	}
	out->payload_len = (size_t)ulen - 8;
	return 1;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;
	for (i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	}
	if (i < len) {
		sum += (uint32_t)p[i] << 8;
	}
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t len)
{
	uint8_t t[16];
	memcpy(t, a, len);
	memcpy(a, b, len);
	memcpy(b, t, len);
}

/* xframe_reply turns the request frame at |p| (layout |f|), whose UDP
 * payload already holds the |out_len|-byte response, into the reply:
 * addresses and ports swapped, TTL / hop limit 64, lengths and checksums
 * (UDP's too, mandatory for IPv6). Returns the frame length. */
size_t xframe_reply(uint8_t *p, const struct xframe *f, size_t out_len)
{
	uint8_t *ip = p + 14, *udp = p + f->l4;
	uint16_t ulen = (uint16_t)(8 + out_len);
	uint32_t sum;

	swap_bytes(p, p + 6, 6);
	if (!f->v6) {
		swap_bytes(ip + 12, ip + 16, 4);
		ip[1] = 0; /* DSCP/ECN */
		put16(ip + 2, (uint16_t)(20 + ulen));
		put16(ip + 4, 0);      /* id: never fragmented */
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		sum = csum_add(0, ip + 12, 8) + IPPROTO_UDP + ulen;
	} else {
		ip[0] = 0x60; /* no traffic class, no flow label */
		ip[1] = ip[2] = ip[3] = 0;
		put16(ip + 4, ulen);
		ip[7] = 64;
		swap_bytes(ip + 8, ip + 24, 16);
		sum = csum_add(0, ip + 8, 32) + IPPROTO_UDP + ulen;
	}
	swap_bytes(udp, udp + 2, 2);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	uint16_t c = csum_fold(csum_add(sum, udp, ulen));
	put16(udp + 6, c == 0 ? 0xffff : c);
	return f->l4 + ulen;
}

void xframe_peer(struct sockaddr_storage *out, const uint8_t *p, const struct xframe *f)
{
	const uint8_t *udp = p + f->l4;
	memset(out, 0, sizeof(*out));
	if (!f->v6) {
		struct sockaddr_in *a = (struct sockaddr_in *)out;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, p + 14 + 12, 4);
		memcpy(&a->sin_port, udp, 2); /* both in network order */
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, p + 14 + 8, 16);
		memcpy(&a->sin6_port, udp, 2);
	}
}

int xframe_meta_take(struct xframe_meta *out, uint8_t *head, size_t head_len)
{
	struct nts_xdp_meta m;
	if (head_len < sizeof(m)) {
		return 0;
	}
	/* fixed size, host byte order: written by our program on this host */
	uint8_t *at = head + head_len - sizeof(m);
	memcpy(&m, at, sizeof(m));
	memset(at, 0, sizeof(m));
	if (m.magic != NTS_XDP_META_MAGIC ||
	    (m.flags & ~(NTS_XDP_META_HWTS | NTS_XDP_META_PROG)) != 0 ||
	    ((m.flags & NTS_XDP_META_HWTS) != 0) != (m.rx_ts != 0) ||
	    ((m.flags & NTS_XDP_META_PROG) != 0) != (m.prog_ts != 0)) {
		return 0;
	}
	out->hw_ns = m.rx_ts;
	out->prog_ns = m.prog_ts;
	return 1;
}

int xframe_prog_time(int64_t *out_real_ns, const struct xframe_clocks *c, uint64_t prog_ns)
{
	if (c->mono_after < c->mono_before ||
	    c->mono_after - c->mono_before > XFRAME_MAX_WIDTH_NS) {
		return 0;
	}
	/* the program ran before the batch was taken from the ring, and so
	 * before the bracket */
	if (prog_ns > c->mono_before || c->mono_before - prog_ns > XFRAME_PROG_MAX_WAIT_NS) {
		return 0;
	}
	uint64_t mid = c->mono_before + (c->mono_after - c->mono_before) / 2;
	*out_real_ns = c->real_ns - (int64_t)(mid - prog_ns);
	return 1;
}

enum xframe_ts_source xframe_rx_time(int64_t *out_ns, enum xframe_ts_why *out_why,
                                     const struct xframe_meta *m, int have_meta,
                                     const struct phc_map *map, const struct xframe_clocks *c)
{
	enum xframe_ts_why why = XFRAME_WHY_NO_TIMESTAMP;
	if (!have_meta) {
		why = XFRAME_WHY_NO_METADATA;
	} else {
		if (m->hw_ns != 0) {
			int64_t sys;
			switch (map == NULL ? PHC_WHY_MAX
			                    : phc_to_sys(&sys, map, m->hw_ns, c->real_ns)) {
			case PHC_OK:
				*out_ns = sys;
				return XFRAME_TS_HW;
			case PHC_WHY_MAX:
				why = XFRAME_WHY_NO_CLOCK;
				break;
			case PHC_STALE:
				why = XFRAME_WHY_STALE;
				break;
			case PHC_INSANE:
				why = XFRAME_WHY_INSANE;
				break;
			default:
				why = XFRAME_WHY_NO_FIT;
				break;
			}
		}
		if (m->prog_ns != 0) {
			if (xframe_prog_time(out_ns, c, m->prog_ns)) {
				return XFRAME_TS_PROG;
			}
			why = XFRAME_WHY_PROGRAM;
		}
	}
	*out_why = why;
	*out_ns = c->real_ns;
	return XFRAME_TS_BATCH;
}
