/*
 * tls/ntske_keys.h: the NTS-KE key export (RFC 8915 s5.1), the one plumbing step
 * between a finished TLS session and the NTS keys, shared by the KE server,
 * nts-query and nts-bench. It sits above proto/ (it uses the exporter label
 * and context from proto/ntske.h) and links libssl, so it is not part of the
 * core library: each binary that needs it compiles it in (nke_keys_src).
 */
#ifndef NTS_TLS_NTSKE_KEYS_H
#define NTS_TLS_NTSKE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/compiler.h"

/* nke_export_keys writes the client-to-server and server-to-client keys of
 * |key_len| bytes each for NTPv4 with AEAD |aead_id| from the TLS session
 * |ssl| (exporter label "EXPORTER-network-time-security", context protocol,
 * AEAD, direction). Returns 0 if |key_len| is 0 or the exporter fails; the
 * caller wipes the outputs either way. */
int nke_export_keys(uint8_t *out_c2s, uint8_t *out_s2c, size_t key_len, SSL *ssl,
                    uint16_t aead_id) NTS_WUR;

#endif
