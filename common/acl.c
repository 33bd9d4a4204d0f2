/*
 * acl.c: prefix lists as binary tries (see acl.h).
 */
#include "common/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A trie node: children by the next bit, and the action of a rule ending
 * here (-1: none, 0: deny, 1: allow). Node 0 of each family is the root. */
struct acl_node {
	int32_t child[2];
	int8_t action;
};

struct acl {
	struct acl_node *nodes[2]; /* [0]: IPv4, [1]: IPv6 */
	int32_t num_nodes[2];
};

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int acl_addr_from_sockaddr(struct acl_addr *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = 4;
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *b =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(b, v4_mapped, sizeof(v4_mapped)) == 0) {
			out->family = 4;
			memcpy(out->addr, b + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->addr, b, 16);
		}
		return 1;
	}
	return 0;
}

static int bit(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

int acl_parse_prefix(struct acl_rule *out, const char *s)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, s, n + 1);
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	memset(out->addr, 0, sizeof(out->addr));
	unsigned max;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		max = 128;
	} else {
		return 0;
	}
	unsigned len = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		if (*p < '0' || *p > '9' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0')) {
			return 0;
		}
		len = (unsigned)atoi(p);
		if (len > max) {
			return 0;
		}
	}
	for (unsigned i = len; i < max; i++) {
		if (bit(out->addr, i)) {
			return 0; /* host bits set: almost certainly a typo */
		}
	}
	out->len = (uint8_t)len;
	return 1;
}

int acl_cfg_rule(struct acl_rules *r, const struct cfg_line *l, int allow)
{
	if (r->num == ACL_MAX_RULES) {
		return cfg_error(l, "at most %d allow/deny rules", ACL_MAX_RULES);
	}
	struct acl_rule *rule = &r->rule[r->num];
	if (!acl_parse_prefix(rule, l->argv[0])) {
		return cfg_error(l, "%s: not an IPv4 or IPv6 prefix (ADDR/LEN, no host bits set)",
		                 l->argv[0]);
	}
	rule->allow = (uint8_t)(allow != 0);
	r->num++;
	return 1;
}

struct acl *acl_new(const struct acl_rules *r)
{
	struct acl *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return NULL;
	}
	size_t cap[2] = {1, 1};
	for (int i = 0; i < r->num; i++) {
		cap[r->rule[i].family == 6] += r->rule[i].len;
	}
	for (int f = 0; f < 2; f++) {
		a->nodes[f] = calloc(cap[f], sizeof(struct acl_node));
		if (a->nodes[f] == NULL) {
			acl_free(a);
			return NULL;
		}
		a->nodes[f][0].action = -1;
		a->num_nodes[f] = 1;
	}
	for (int i = 0; i < r->num; i++) {
		const struct acl_rule *rule = &r->rule[i];
		int f = rule->family == 6;
		struct acl_node *nodes = a->nodes[f];
		int32_t n = 0;
		for (unsigned b = 0; b < rule->len; b++) {
			int d = bit(rule->addr, b);
			if (nodes[n].child[d] == 0) {
				int32_t k = a->num_nodes[f]++;
				nodes[k].action = -1;
				nodes[n].child[d] = k;
			}
			n = nodes[n].child[d];
		}
		nodes[n].action = (int8_t)rule->allow; /* the last rule wins */
	}
	return a;
}

void acl_free(struct acl *a)
{
	if (a == NULL) {
		return;
	}
	free(a->nodes[0]);
	free(a->nodes[1]);
	free(a);
}

int acl_allowed(const struct acl *acl, const struct acl_addr *a)
{
	if (acl == NULL || (a->family != 4 && a->family != 6)) {
		return 1;
	}
	int f = a->family == 6;
	unsigned max = f ? 128 : 32;
	const struct acl_node *nodes = acl->nodes[f];
	int action = nodes[0].action;
	int32_t n = 0;
	for (unsigned b = 0; b < max; b++) {
		n = nodes[n].child[bit(a->addr, b)];
		if (n == 0) {
			break; /* node 0 is the root: nobody's child */
		}
		if (nodes[n].action >= 0) {
			action = nodes[n].action;
		}
	}
	return action != 0;
}
