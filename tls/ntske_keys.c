/*
 * ntske_keys.c: NTS keys from the TLS exporter.
 */
#include "tls/ntske_keys.h"

#include "proto/ntske.h"

static int export_one(uint8_t *out, size_t key_len, SSL *ssl, uint16_t aead_id, int s2c)
{
	uint8_t ctx[NTSKE_EXPORTER_CONTEXT_LEN];
	ntske_exporter_context(ctx, NTSKE_PROTO_NTPV4, aead_id, s2c);
	return SSL_export_keying_material(ssl, out, key_len, NTSKE_EXPORTER_LABEL,
	                                  sizeof(NTSKE_EXPORTER_LABEL) - 1, ctx, sizeof(ctx), 1);
}

int nke_export_keys(uint8_t *out_c2s, uint8_t *out_s2c, size_t key_len, SSL *ssl, uint16_t aead_id)
{
	return key_len > 0 && export_one(out_c2s, key_len, ssl, aead_id, 0) &&
	       export_one(out_s2c, key_len, ssl, aead_id, 1);
}
