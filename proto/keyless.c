/*
 * keyless.c: the nts-ke-server <-> nts-signer messages (see keyless.h).
 */
#include "proto/keyless.h"

#include <string.h>

static const char tls13_server_context[] = "TLS 1.3, server CertificateVerify";

int kl_parse_request(struct kl_request *out, CBS *in)
{
	uint8_t version, type;
	uint16_t algorithm;
	CBS input;

	memset(out, 0, sizeof(*out));
	if (!CBS_get_u8(in, &version) || version != KL_VERSION || !CBS_get_u8(in, &type) ||
	    type != KL_TYPE_SIGN || !CBS_get_u32(in, &out->id) || !CBS_get_u64(in, &out->sent_ns) ||
	    !CBS_copy_bytes(in, out->key_id, sizeof(out->key_id)) || !CBS_get_u16(in, &algorithm) ||
	    !CBS_get_u16_length_prefixed(in, &input) || CBS_len(in) != 0 || CBS_len(&input) == 0 ||
	    CBS_len(&input) > KL_MAX_INPUT) {
		return 0;
	}
	out->algorithm = algorithm;
	out->input = CBS_data(&input);
	out->input_len = CBS_len(&input);
	return 1;
}

int kl_parse_reply(struct kl_reply *out, CBS *in)
{
	uint8_t version, type;
	CBS sig;

	memset(out, 0, sizeof(*out));
	if (!CBS_get_u8(in, &version) || version != KL_VERSION || !CBS_get_u8(in, &type) ||
	    type != KL_TYPE_REPLY || !CBS_get_u32(in, &out->id) || !CBS_get_u8(in, &out->status) ||
	    !CBS_get_u16_length_prefixed(in, &sig) || CBS_len(in) != 0 ||
	    out->status >= KL_NUM_STATUS || CBS_len(&sig) > KL_MAX_SIG ||
	    (out->status == KL_OK) != (CBS_len(&sig) > 0)) {
		return 0;
	}
	out->sig = CBS_data(&sig);
	out->sig_len = CBS_len(&sig);
	return 1;
}

int kl_build_request(struct wbuf *w, const struct kl_request *r)
{
	if (r->input_len == 0 || r->input_len > KL_MAX_INPUT) {
		return 0;
	}
	return wbuf_u8(w, KL_VERSION) && wbuf_u8(w, KL_TYPE_SIGN) && wbuf_u32(w, r->id) &&
	       wbuf_u64(w, r->sent_ns) && wbuf_bytes(w, r->key_id, KL_KEY_ID_LEN) &&
	       wbuf_u16(w, r->algorithm) && wbuf_u16(w, (uint16_t)r->input_len) &&
	       wbuf_bytes(w, r->input, r->input_len);
}

int kl_build_reply(struct wbuf *w, const struct kl_reply *r)
{
	size_t sig_len = r->status == KL_OK ? r->sig_len : 0;
	if (r->status >= KL_NUM_STATUS || sig_len > KL_MAX_SIG ||
	    (r->status == KL_OK && sig_len == 0)) {
		return 0;
	}
	return wbuf_u8(w, KL_VERSION) && wbuf_u8(w, KL_TYPE_REPLY) && wbuf_u32(w, r->id) &&
	       wbuf_u8(w, r->status) && wbuf_u16(w, (uint16_t)sig_len) &&
	       wbuf_bytes(w, r->sig, sig_len);
}

int kl_tls13_server_input(const uint8_t *in, size_t in_len, size_t hash_len)
{
	CBS cbs, pad, ctx;
	uint8_t zero;

	CBS_init(&cbs, in, in_len);
	if (!CBS_get_bytes(&cbs, &pad, 64) ||
	    !CBS_get_bytes(&cbs, &ctx, sizeof(tls13_server_context) - 1) ||
	    !CBS_get_u8(&cbs, &zero) || zero != 0 || CBS_len(&cbs) != hash_len) {
		return 0;
	}
	for (size_t i = 0; i < 64; i++) {
		if (CBS_data(&pad)[i] != 0x20) {
			return 0;
		}
	}
	return memcmp(CBS_data(&ctx), tls13_server_context, sizeof(tls13_server_context) - 1) == 0;
}

const char *kl_status_name(unsigned status)
{
	static const char *const names[KL_NUM_STATUS] = {
	    "ok", "unknown_key", "bad_algorithm", "bad_input", "expired", "sign_failed",
	};
	return status < KL_NUM_STATUS ? names[status] : "invalid";
}
