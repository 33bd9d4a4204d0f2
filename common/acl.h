/*
 * acl.h: allow/deny lists of IPv4 and IPv6 prefixes, longest prefix wins.
 *
 * The configuration collects rules (struct acl_rules, filled by the
 * `allow`/`deny` directives through acl_cfg_rule); acl_new compiles them
 * into one binary trie per family, looked up in O(prefix length) with no
 * allocation. An address no rule covers is allowed; for the same prefix the
 * last rule in the file wins. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
 * are looked up as IPv4.
 */
#ifndef NTS_ACL_H
#define NTS_ACL_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/config.h"

#define ACL_MAX_RULES 256

/* An address reduced to what the ACL and the rate limiter look at. */
struct acl_addr {
	uint8_t family; /* 4 or 6; 0: neither (not looked up) */
	uint8_t addr[16];
};

struct acl_rule {
	uint8_t family; /* 4 or 6 */
	uint8_t len;    /* prefix length */
	uint8_t allow;
	uint8_t addr[16]; /* bits past |len| are zero */
};

struct acl_rules {
	struct acl_rule rule[ACL_MAX_RULES];
	int num;
};

struct acl;

/* acl_addr_from_sockaddr reduces |sa| (AF_INET or AF_INET6) to |out|;
 * returns 0 for any other family. */
int acl_addr_from_sockaddr(struct acl_addr *out, const struct sockaddr *sa) NTS_WUR;

/* acl_parse_prefix parses "ADDR/LEN" or "ADDR" (the full length) into
 * |out| (|out->allow| untouched); bits past LEN must be zero. */
int acl_parse_prefix(struct acl_rule *out, const char *s) NTS_WUR;

/* acl_cfg_rule is the body of an `allow PREFIX` / `deny PREFIX` directive:
 * appends the rule to |r|, reporting errors on |l|. */
int acl_cfg_rule(struct acl_rules *r, const struct cfg_line *l, int allow) NTS_WUR;

/* acl_new compiles |r|; NULL if out of memory. acl_free is NULL-safe. */
struct acl *acl_new(const struct acl_rules *r);
void acl_free(struct acl *a);

/* acl_allowed: 1 if |a| is allowed (always for a NULL acl or family 0). */
int acl_allowed(const struct acl *acl, const struct acl_addr *a);

#endif
