/*
 * hostport.h: "HOST", "HOST:PORT", "[V6]" and "[V6]:PORT" as typed on a
 * command line (the client tools).
 */
#ifndef NTS_HOSTPORT_H
#define NTS_HOSTPORT_H

#include <stddef.h>

#include "common/compiler.h"

/* hostport_split copies the host part of |in| (without brackets) into
 * |out_host| and the port (or |def_port| when |in| has none) into
 * |out_port|. A bare IPv6 address (more than one colon, no brackets) is a
 * host. Returns 0 for an unclosed bracket, something after "]" that is not
 * ":PORT", or a part that does not fit its buffer. */
int hostport_split(char *out_host, size_t host_len, char *out_port, size_t port_len, const char *in,
                   const char *def_port) NTS_WUR;

#endif
