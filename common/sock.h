/*
 * sock.h: the common steps of opening a daemon's bound socket (the KE
 * server's TCP listeners, the responder's UDP sockets).
 */
#ifndef NTS_SOCK_H
#define NTS_SOCK_H

#include <sys/socket.h>

#include "common/compiler.h"

/* sock_setup_fn sets the caller's own options on |fd| (of address family
 * |family|) before it is bound; it returns 0 (with errno set) to give up. */
typedef int (*sock_setup_fn)(int fd, int family, void *arg);

/* sock_open_bound opens a non-blocking, close-on-exec socket of |type|
 * (SOCK_STREAM or SOCK_DGRAM) for |addr| with SO_REUSEPORT (one socket per
 * worker) and, for IPv6, IPV6_V6ONLY; calls |setup| (if not NULL); binds it
 * and, for SOCK_STREAM, listens with |backlog|. Returns the descriptor, or
 * -1 with errno from the step that failed. */
int sock_open_bound(const struct sockaddr *addr, socklen_t len, int type, int backlog,
                    sock_setup_fn setup, void *arg) NTS_WUR;

#endif
