/*
 * nts.c: NTS extension fields for NTPv4 (see nts.h).
 */
#include "proto/nts.h"

#include <string.h>

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* parse_auth_body reads u16 nonce length, u16 ciphertext length, the
 * nonce and the ciphertext (each padded to 4); anything after that is the
 * Authenticator's "additional padding" and is ignored. */
static int parse_auth_body(CBS body, CBS *out_nonce, CBS *out_ct)
{
	uint16_t nl, cl;
	return CBS_get_u16(&body, &nl) && CBS_get_u16(&body, &cl) &&
	       CBS_get_bytes(&body, out_nonce, nl) && CBS_skip(&body, pad4(nl) - nl) &&
	       CBS_get_bytes(&body, out_ct, cl) && CBS_skip(&body, pad4(cl) - cl);
}

/* is_legacy_mac: are the |n| bytes left after the header and the extension
 * fields a legacy MAC (a 4-byte key id and a digest)? RFC 7822 s7.5: in
 * NTPv4 a MAC is 20 or 24 bytes, which is what lets a parser tell it from
 * an extension field (those are at least 16 bytes and a multiple of 4, and
 * after which anything of 20 or 24 bytes is taken to be a MAC). NTPv3 has no
 * extension fields: everything after the header is a MAC, with a digest of
 * 16 to 64 bytes. */
static int is_legacy_mac(unsigned version, size_t n)
{
	if (version == 4) {
		return n == 20 || n == 24;
	}
	return n % 4 == 0 && n >= 4 + 16 && n <= 4 + 64;
}

enum nts_parse_result nts_parse_request(struct nts_request *out, const uint8_t *pkt, size_t len)
{
	CBS in;
	struct ntp_ef ef;
	size_t num_uid = 0, num_cookie = 0, num_ph = 0, ph_len = 0;
	int saw_nts = 0, auth_seen = 0, walk_error = 0, ph_mismatch = 0, auth_bad = 0, mac = 0;

	memset(out, 0, sizeof(*out));
	CBS_init(&in, pkt, len);
	if (!ntp_header_parse(&out->header, &in)) {
		return NTS_PARSE_MALFORMED;
	}
	/* no extension fields before NTPv4: a MAC of any NTPv3 size (an NTPv3
	 * request with NTS fields is parsed on, and dropped by the caller) */
	if (out->header.version < 4 && is_legacy_mac(out->header.version, CBS_len(&in))) {
		return NTS_PARSE_PLAIN;
	}
	while (CBS_len(&in) > 0) {
		size_t off = len - CBS_len(&in);
		if (auth_seen) {
			/* the Authenticator must be the last field */
			walk_error = 1;
			break;
		}
		if (is_legacy_mac(4, CBS_len(&in))) {
			mac = 1;
			break;
		}
		if (!ntp_ef_next(&in, &ef)) {
			walk_error = 1; /* not a multiple of 4, too short, or past the end */
			break;
		}
		switch (ef.type) {
		case NTS_EF_UID:
			saw_nts = 1;
			num_uid++;
			out->uid = ef.body;
			out->uid_ef_len = ef.len;
			break;
		case NTS_EF_COOKIE:
			saw_nts = 1;
			num_cookie++;
			out->cookie = ef.body;
			break;
		case NTS_EF_PLACEHOLDER:
			saw_nts = 1;
			if (num_ph > 0 && CBS_len(&ef.body) != ph_len) {
				ph_mismatch = 1;
			}
			ph_len = CBS_len(&ef.body);
			num_ph++;
			break;
		case NTS_EF_AUTH:
			saw_nts = 1;
			auth_seen = 1;
			out->ad_len = off;
			if (!parse_auth_body(ef.body, &out->nonce, &out->ciphertext)) {
				auth_bad = 1;
			}
			break;
		default:
			break; /* unknown fields are authenticated, not interpreted */
		}
	}
	if (!saw_nts) {
		return walk_error ? NTS_PARSE_BAD_EF : NTS_PARSE_PLAIN;
	}
	if (walk_error || mac || auth_bad || !auth_seen || num_uid != 1 || num_cookie != 1 ||
	    CBS_len(&out->uid) < NTS_UID_MIN || CBS_len(&out->uid) > NTS_UID_MAX ||
	    CBS_len(&out->cookie) < NTS_COOKIE_MIN || CBS_len(&out->cookie) > NTS_COOKIE_MAX ||
	    ph_mismatch || (num_ph > 0 && ph_len != CBS_len(&out->cookie)) ||
	    CBS_len(&out->nonce) == 0 || CBS_len(&out->ciphertext) < AEAD_TAG_LEN) {
		return NTS_PARSE_MALFORMED;
	}
	if (num_ph > NTS_MAX_PLACEHOLDERS) {
		return NTS_PARSE_TOO_MANY_PLACEHOLDERS;
	}
	out->num_placeholders = num_ph;
	return NTS_PARSE_OK;
}

int nts_count_encrypted_placeholders(size_t *io_num, const uint8_t *plain, size_t plain_len,
                                     size_t cookie_len)
{
	CBS in;
	struct ntp_ef ef;

	CBS_init(&in, plain, plain_len);
	while (CBS_len(&in) > 0) {
		if (!ntp_ef_next(&in, &ef)) {
			return 0;
		}
		if (ef.type == NTS_EF_PLACEHOLDER) {
			if (CBS_len(&ef.body) != cookie_len || *io_num >= NTS_MAX_PLACEHOLDERS) {
				return 0;
			}
			(*io_num)++;
		}
	}
	return 1;
}

int nts_add_cookie_ef_header(struct wbuf *out, size_t cookie_len)
{
	return ntp_ef_add_header(out, NTS_EF_COOKIE, cookie_len);
}

/* add_uid_echo copies the request's UID field as it was sent. */
static int add_uid_echo(struct wbuf *out, const struct nts_request *req)
{
	return wbuf_u16(out, NTS_EF_UID) && wbuf_u16(out, (uint16_t)req->uid_ef_len) &&
	       wbuf_bytes(out, CBS_data(&req->uid), CBS_len(&req->uid));
}

/* ef_open starts an extension field of |type| in |w|; ef_close pads its
 * body to a multiple of 4 (and the field to NTP_EF_MIN_LEN) and writes the
 * field's length, header included. */
static int ef_open(struct wbuf *w, struct wbuf_child *out_ef, uint16_t type)
{
	return wbuf_u16(w, type) && wbuf_child_open(w, out_ef, 4, 4, NTP_EF_MIN_LEN);
}

static int ef_close(struct wbuf *w, const struct wbuf_child *ef)
{
	return wbuf_child_close(w, ef);
}

/* add_auth writes the Authenticator field: nonce and ciphertext lengths,
 * the nonce, the |ct_len| bytes of ciphertext (each padded to 4). It seals
 * |plain| under |aead| with the |ad_len| bytes before it in |w| as the
 * associated data. */
static int add_auth(struct wbuf *w, const aead_ctx *aead, const uint8_t *nonce, size_t nonce_len,
                    const uint8_t *plain, size_t plain_len, size_t ct_len)
{
	struct wbuf_child auth;
	size_t ad_len = w->len, sealed, nonce_at;
	uint8_t *ct;

	if (nonce_len > 0xffff || ct_len > 0xffff || !ef_open(w, &auth, NTS_EF_AUTH) ||
	    !wbuf_u16(w, (uint16_t)nonce_len) || !wbuf_u16(w, (uint16_t)ct_len)) {
		return 0;
	}
	nonce_at = w->len;
	return wbuf_bytes(w, nonce, nonce_len) && wbuf_pad(w, nonce_at, 4) &&
	       wbuf_space_to(w, &ct, ct_len) && ef_close(w, &auth) &&
	       aead_seal(aead, ct, &sealed, ct_len, nonce, nonce_len, plain, plain_len, w->buf,
	                 ad_len);
}

int nts_build_response(uint8_t *out, size_t *out_len, const struct nts_request *req, size_t req_len,
                       const struct ntp_header *hdr, const aead_ctx *s2c, const uint8_t *nonce,
                       size_t nonce_len, uint8_t *plain, size_t plain_len, size_t plain_cap)
{
	size_t fixed;
	struct wbuf w;

	if (plain_len % 4 != 0 || nonce_len == 0 || plain_len > plain_cap) {
		return 0;
	}
	fixed = NTP_HEADER_LEN + req->uid_ef_len + 4 + 4 + pad4(nonce_len) + AEAD_TAG_LEN;
	if (fixed + plain_len > req_len) {
		return 0;
	}
	size_t diff = req_len - fixed - plain_len;
	if (diff >= NTP_EF_MIN_LEN) {
		/* fill the difference with one encrypted padding field */
		struct wbuf p;
		struct wbuf_child pad;
		wbuf_init(&p, plain + plain_len, plain_cap - plain_len);
		if (!ef_open(&p, &pad, NTS_EF_PADDING) || !wbuf_zeros(&p, diff - 4) ||
		    !ef_close(&p, &pad)) {
			return 0;
		}
		plain_len += p.len;
	}
	wbuf_init(&w, out, req_len);
	if (!ntp_header_build(&w, hdr) || !add_uid_echo(&w, req) ||
	    !add_auth(&w, s2c, nonce, nonce_len, plain, plain_len, plain_len + AEAD_TAG_LEN)) {
		return 0;
	}
	*out_len = w.len;
	return 1;
}

int nts_build_nak(uint8_t *out, size_t *out_len, const struct nts_request *req, size_t req_len,
                  const struct ntp_header *hdr)
{
	struct ntp_header h = *hdr;
	struct wbuf w;

	h.stratum = 0;
	h.refid = NTP_KISS_NTSN;
	wbuf_init(&w, out, req_len);
	if (!ntp_header_build(&w, &h) || !add_uid_echo(&w, req)) {
		return 0;
	}
	*out_len = w.len;
	return 1;
}

static int add_ef(struct wbuf *out, uint16_t type, const uint8_t *body, size_t len)
{
	struct wbuf_child ef;
	return ef_open(out, &ef, type) && wbuf_bytes(out, body, len) && ef_close(out, &ef);
}

int nts_build_request(uint8_t *out, size_t out_cap, size_t *out_len, const struct ntp_header *hdr,
                      const uint8_t *uid, size_t uid_len, const uint8_t *cookie, size_t cookie_len,
                      size_t num_placeholders, const aead_ctx *c2s, const uint8_t *nonce,
                      size_t nonce_len)
{
	static const uint8_t zero[NTS_COOKIE_MAX];
	struct wbuf w;

	if (cookie_len > NTS_COOKIE_MAX || num_placeholders > NTS_MAX_PLACEHOLDERS) {
		return 0;
	}
	wbuf_init(&w, out, out_cap);
	if (!ntp_header_build(&w, hdr) || !add_ef(&w, NTS_EF_UID, uid, uid_len) ||
	    !add_ef(&w, NTS_EF_COOKIE, cookie, cookie_len)) {
		return 0;
	}
	for (size_t i = 0; i < num_placeholders; i++) {
		if (!add_ef(&w, NTS_EF_PLACEHOLDER, zero, cookie_len)) {
			return 0;
		}
	}
	/* an empty plaintext: the ciphertext is the tag */
	if (!add_auth(&w, c2s, nonce, nonce_len, NULL, 0, AEAD_TAG_LEN)) {
		return 0;
	}
	*out_len = w.len;
	return 1;
}

enum nts_client_result nts_parse_response(struct nts_response *out, const uint8_t *pkt, size_t len,
                                          const uint8_t *uid, size_t uid_len, const aead_ctx *s2c,
                                          uint8_t *scratch, size_t scratch_cap)
{
	CBS in, nonce, ct;
	struct ntp_ef ef;
	int uid_ok = 0, auth_seen = 0, auth_ok = 0;
	size_t auth_off = 0, plain_len;

	memset(out, 0, sizeof(*out));
	CBS_init(&in, pkt, len);
	if (!ntp_header_parse(&out->header, &in)) {
		return NTS_RESP_MALFORMED;
	}
	while (CBS_len(&in) > 0) {
		size_t off = len - CBS_len(&in);
		if (auth_seen || !ntp_ef_next(&in, &ef)) {
			return NTS_RESP_MALFORMED;
		}
		if (ef.type == NTS_EF_UID) {
			/* the echo is our UID field, padding included */
			uid_ok = CBS_len(&ef.body) == ntp_ef_size(uid_len) - 4 &&
			         memcmp(CBS_data(&ef.body), uid, uid_len) == 0;
		} else if (ef.type == NTS_EF_AUTH) {
			auth_seen = 1;
			auth_off = off;
			if (!parse_auth_body(ef.body, &nonce, &ct)) {
				return NTS_RESP_MALFORMED;
			}
		}
	}
	if (!uid_ok) {
		return NTS_RESP_BAD_UID;
	}
	if (!auth_seen) {
		if (out->header.stratum == 0 && out->header.refid == NTP_KISS_NTSN) {
			return NTS_RESP_NAK;
		}
		return NTS_RESP_BAD_AUTH;
	}
	auth_ok = aead_open(s2c, scratch, &plain_len, scratch_cap, CBS_data(&nonce),
	                    CBS_len(&nonce), CBS_data(&ct), CBS_len(&ct), pkt, auth_off);
	if (!auth_ok) {
		return NTS_RESP_BAD_AUTH;
	}
	CBS_init(&in, scratch, plain_len);
	while (CBS_len(&in) > 0) {
		if (!ntp_ef_next(&in, &ef)) {
			return NTS_RESP_MALFORMED;
		}
		if (ef.type == NTS_EF_COOKIE && out->num_cookies < NTS_MAX_COOKIES) {
			out->cookies[out->num_cookies++] = ef.body;
		}
	}
	return NTS_RESP_OK;
}
