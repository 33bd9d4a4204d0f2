/*
 * hostport.c: split a command-line HOST[:PORT].
 */
#include "common/hostport.h"

#include <stdio.h>
#include <string.h>

static int copy(char *out, size_t out_len, const char *s, size_t n)
{
	if (n >= out_len) {
		return 0;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

int hostport_split(char *out_host, size_t host_len, char *out_port, size_t port_len, const char *in,
                   const char *def_port)
{
	const char *host = in, *port = def_port;
	size_t n;

	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			return 0;
		}
		host = in + 1;
		n = (size_t)(close - host);
		if (close[1] == ':') {
			port = close + 2;
		}
	} else {
		const char *colon = strchr(in, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			n = (size_t)(colon - in);
			port = colon + 1;
		} else {
			n = strlen(in); /* no port, or a bare IPv6 address */
		}
	}
	return copy(out_host, host_len, host, n) && copy(out_port, port_len, port, strlen(port));
}
