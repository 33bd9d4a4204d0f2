/*
 * test_worker: the responder's UDP sockets (worker_open_socket). IPv4
 * responses leave with DF set (IP_PMTUDISC_PROBE: no IP ID to generate, no
 * path MTU an ICMP message could lower); kernel receive timestamps and
 * packet info are on. As root, a raw socket also sees DF on the wire.
 */
#include "ntp-responder/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static int opt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	CHECK_EQ(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* wire_df sends one datagram from |fd| over loopback and returns whether a
 * raw socket saw it with DF and IP ID 0; -1 without the privilege. */
static int wire_df(int fd)
{
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	if (raw < 0) {
		return -1;
	}
	int dst = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(dst >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(bind(dst, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons(local_port(dst));
	uint8_t msg[48] = {0x24};
	CHECK_EQ(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&a, sizeof(a)),
	         (ssize_t)sizeof(msg));
	uint16_t src = local_port(fd);
	int ret = 0;
	for (;;) {
		struct pollfd p = {.fd = raw, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 2000), 1);
		uint8_t buf[2048];
		ssize_t n = recv(raw, buf, sizeof(buf), 0);
		CHECK(n >= (ssize_t)(sizeof(struct iphdr) + sizeof(struct udphdr)));
		struct iphdr ip;
		struct udphdr udp;
		memcpy(&ip, buf, sizeof(ip));
		memcpy(&udp, buf + ip.ihl * 4, sizeof(udp));
		if (ntohs(udp.source) != src || ntohs(udp.dest) != ntohs(a.sin_port)) {
			continue; /* someone else's datagram */
		}
		ret = (ntohs(ip.frag_off) & IP_DF) != 0 && ip.id == 0;
		break;
	}
	close(dst);
	close(raw);
	return ret;
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = worker_open_socket((struct sockaddr *)&a, sizeof(a), 0);
	CHECK(fd >= 0);
	CHECK_EQ(opt_int(fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
	CHECK_EQ(opt_int(fd, SOL_SOCKET, SO_TIMESTAMPNS), 1);
	CHECK_EQ(opt_int(fd, IPPROTO_IP, IP_PKTINFO), 1);
	int df = wire_df(fd);
	if (df < 0) {
		printf("# no raw socket (%s): DF on the wire not checked\n", strerror(errno));
	} else {
		CHECK_EQ(df, 1);
	}
	close(fd);

	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	fd = worker_open_socket((struct sockaddr *)&a6, sizeof(a6), 0);
	if (fd >= 0) {
		CHECK_EQ(opt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
		close(fd);
	}
	return test_summary("worker");
}
