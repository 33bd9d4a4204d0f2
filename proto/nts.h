/*
 * nts.h: NTS extension fields for NTPv4 (RFC 8915 s5): the server's request
 * parser (every size checked before any crypto), response and NAK builders,
 * and the client side used by nts-query and nts-bench.
 *
 * Request (client -> server):
 *   header | UID EF | Cookie EF | N x Placeholder EF | other EFs | Auth EF
 * where the Authenticator is the last field and authenticates everything
 * before it (the associated data) under C2S; its plaintext may hold
 * encrypted extension fields (encrypted placeholders count toward N).
 *
 * Response (server -> client):
 *   header | UID EF (echo) | Auth EF sealed under S2C whose plaintext is
 *   1 + N Cookie EFs [+ one padding EF]
 *
 * Length: with the request's fields well-formed the unpadded response is
 * never longer than the request (the request carries the cookie and N
 * cookie-sized placeholders plus a nonce and tag at least as long as ours).
 * The difference is 0 for requests that carry nothing else (chrony, NTPsec,
 * ntpd-rs); when it is 16 bytes or more (the request had other fields) it is
 * filled with one encrypted EF of type NTS_EF_PADDING, which clients skip
 * like any unknown encrypted field (RFC 7822 s3). A difference of 4..12
 * bytes (a client using "additional padding") leaves the response that much
 * shorter: never longer than the request.
 */
#ifndef NTS_NTS_H
#define NTS_NTS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "common/aead.h"
#include "common/compiler.h"
#include "proto/ntp.h"

#define NTS_EF_UID         0x0104
#define NTS_EF_COOKIE      0x0204
#define NTS_EF_PLACEHOLDER 0x0304
#define NTS_EF_AUTH        0x0404
/* Our padding field inside the encrypted part (unassigned; clients ignore
 * unknown encrypted fields). */
#define NTS_EF_PADDING 0xF004

#define NTS_UID_MIN          32
#define NTS_UID_MAX          64
#define NTS_MAX_PLACEHOLDERS 7
#define NTS_COOKIE_MIN       16
#define NTS_COOKIE_MAX       256
#define NTS_MAX_COOKIES      (1 + NTS_MAX_PLACEHOLDERS)

enum nts_parse_result {
	NTS_PARSE_PLAIN = 0,             /* no NTS fields: answer as plain NTP */
	NTS_PARSE_OK,                    /* an NTS request, sizes checked */
	NTS_PARSE_MALFORMED,             /* NTS fields present but wrong: drop silently */
	NTS_PARSE_TOO_MANY_PLACEHOLDERS, /* more than 7: drop silently */
	NTS_PARSE_BAD_EF,                /* no NTS fields, and what follows the header is
	                                    neither extension fields nor a MAC (RFC 7822):
	                                    not a valid NTP request, drop silently */
};

struct nts_request {
	struct ntp_header header;
	CBS uid;                 /* body of the UID field */
	size_t uid_ef_len;       /* the UID field as sent (echoed as is) */
	CBS cookie;              /* body of the Cookie field */
	size_t num_placeholders; /* unencrypted ones */
	size_t ad_len;           /* bytes before the Authenticator field */
	CBS nonce;
	CBS ciphertext;
};

/* nts_parse_request parses |len| bytes of a request. For a packet without
 * NTS fields only the header is parsed (unknown fields and legacy MACs are
 * ignored). Never reads past |len|. */
enum nts_parse_result nts_parse_request(struct nts_request *out, const uint8_t *pkt, size_t len);

/* nts_count_encrypted_placeholders walks the decrypted plaintext of the
 * Authenticator: adds the encrypted placeholders to |*io_num|. Returns 0
 * if the fields are malformed, a placeholder is not |cookie_len| long, or
 * the total exceeds NTS_MAX_PLACEHOLDERS. */
int nts_count_encrypted_placeholders(size_t *io_num, const uint8_t *plain, size_t plain_len,
                                     size_t cookie_len) NTS_WUR;

/*
 * nts_build_response writes the response to |req| (|req_len| bytes long)
 * into |out| (|req_len| bytes of room): |hdr|, the UID echo, and an
 * Authenticator sealed under |s2c| with |nonce| over |plain| (|plain_len|
 * bytes of cookie fields built with nts_add_cookie_ef_header; a padding
 * field may be appended, so |plain_cap| should be NTS_PLAIN_MAX). Sets
 * |*out_len| (never more than req_len). Returns 0 if it cannot fit.
 */
#define NTS_PLAIN_MAX (NTP_MAX_PACKET)
int nts_build_response(uint8_t *out, size_t *out_len, const struct nts_request *req, size_t req_len,
                       const struct ntp_header *hdr, const aead_ctx *s2c, const uint8_t *nonce,
                       size_t nonce_len, uint8_t *plain, size_t plain_len,
                       size_t plain_cap) NTS_WUR;

/* nts_add_cookie_ef_header appends the EF header for a cookie of |cookie_len|
 * bytes; the caller appends the cookie, then ntp_ef_add_padding. */
int nts_add_cookie_ef_header(struct wbuf *out, size_t cookie_len) NTS_WUR;

/* nts_build_nak writes an NTS NAK (kiss-o'-death NTSN, stratum 0, the UID
 * echoed, no authenticator) for |req| into |out| (room: |req_len|). */
int nts_build_nak(uint8_t *out, size_t *out_len, const struct nts_request *req, size_t req_len,
                  const struct ntp_header *hdr) NTS_WUR;

/* ---- client side ---- */

/* nts_build_request writes header + UID + cookie + |num_placeholders|
 * placeholders + Authenticator (sealed under |c2s| with |nonce|, empty
 * plaintext) into |out|. */
int nts_build_request(uint8_t *out, size_t out_cap, size_t *out_len, const struct ntp_header *hdr,
                      const uint8_t *uid, size_t uid_len, const uint8_t *cookie, size_t cookie_len,
                      size_t num_placeholders, const aead_ctx *c2s, const uint8_t *nonce,
                      size_t nonce_len) NTS_WUR;

enum nts_client_result {
	NTS_RESP_OK = 0,
	NTS_RESP_NAK,      /* kiss NTSN with our UID */
	NTS_RESP_BAD_UID,  /* not an answer to our request */
	NTS_RESP_BAD_AUTH, /* authenticator missing, not last, or does not verify */
	NTS_RESP_MALFORMED,
};

struct nts_response {
	struct ntp_header header;
	size_t num_cookies;
	CBS cookies[NTS_MAX_COOKIES]; /* views into the caller's |scratch| */
};

/* nts_parse_response checks a response against our |uid|, decrypts the
 * Authenticator under |s2c| into |scratch| and returns the new cookies. */
enum nts_client_result nts_parse_response(struct nts_response *out, const uint8_t *pkt, size_t len,
                                          const uint8_t *uid, size_t uid_len, const aead_ctx *s2c,
                                          uint8_t *scratch, size_t scratch_cap);

#endif
