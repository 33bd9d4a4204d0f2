/*
 * ntske.h: NTS-KE records (RFC 8915 s4): iterate, validate a client
 * request into its RFC outcome, build responses and errors; and the client
 * side (build a request, validate a response) for nts-query and nts-bench.
 * Pure functions over CBS/CBB: no I/O, no allocation, no globals.
 *
 * Record: u16 (critical bit 0x8000 | type), u16 body length, body.
 */
#ifndef NTS_NTSKE_H
#define NTS_NTSKE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "common/aead.h"
#include "common/compiler.h"

#define NTSKE_PORT                 4460
#define NTSKE_ALPN                 "ntske/1"
#define NTSKE_EXPORTER_LABEL       "EXPORTER-network-time-security"
#define NTSKE_EXPORTER_CONTEXT_LEN 5

#define NTSKE_CRITICAL       0x8000
#define NTSKE_REC_END        0
#define NTSKE_REC_NEXT_PROTO 1
#define NTSKE_REC_ERROR      2
#define NTSKE_REC_WARNING    3
#define NTSKE_REC_AEAD       4
#define NTSKE_REC_NEW_COOKIE 5
#define NTSKE_REC_SERVER     6
#define NTSKE_REC_PORT       7
/*
 * chrony's private record "compliant AES-128-GCM-SIV exporter context"
 * (spec: chrony-project.org/doc/spec/nts-compliant-128gcm.html). chrony
 * added AEAD 30 in 4.4 with a bug: its exporter context names AEAD 15
 * instead of 30, so its AEAD 30 keys differ from RFC 8915's. Releases that
 * know the record send it (non-critical, empty body) next to an offer of
 * AEAD 30 to say they can use the RFC context, and a server that agrees
 * echoes it. chrony 4.0-4.3 offer only AEAD 15. Our server therefore
 * selects AEAD 30 only when the client sent this record or did not offer
 * AEAD 15 at all (then it cannot be a buggy chrony), and echoes the record
 * whenever it selects 30 for a client that sent it. Every chrony 4.x
 * version then derives the same keys we do: 4.0-4.3 and the buggy 4.4+
 * releases get AEAD 15, later ones AEAD 30 with the RFC context.
 */
#define NTSKE_REC_COMPLIANT_GCM_SIV 1024

#define NTSKE_ERR_UNRECOGNIZED_CRITICAL 0
#define NTSKE_ERR_BAD_REQUEST           1
#define NTSKE_ERR_INTERNAL              2

#define NTSKE_PROTO_NTPV4 0

#define NTSKE_MAX_AEADS      16 /* AEAD ids remembered from one request */
#define NTSKE_MAX_COOKIES    8  /* cookies in a response */
#define NTSKE_MAX_SERVER_LEN 255

struct ntske_record {
	int critical;
	uint16_t type;
	CBS body;
};

/* ntske_record_next reads one record from |in|. Returns 0 (leaving |in|
 * unchanged) if |in| does not hold a complete record. */
int ntske_record_next(CBS *in, struct ntske_record *out) NTS_WUR;

enum ntske_stream {
	NTSKE_STREAM_NEED_MORE, /* no End of Message yet */
	NTSKE_STREAM_COMPLETE,  /* records up to and including End of Message */
};

/* ntske_stream_status tells whether |len| bytes received so far hold a
 * complete message; if so |*out_msg_len| is its length (bytes after End of
 * Message are not part of it). Linear in |len|. */
enum ntske_stream ntske_stream_status(const uint8_t *buf, size_t len, size_t *out_msg_len);

enum ntske_outcome {
	NTSKE_OK = 0,
	NTSKE_FAIL_UNRECOGNIZED_CRITICAL, /* answer with Error 0 */
	NTSKE_FAIL_BAD_REQUEST,           /* answer with Error 1 */
};

struct ntske_request {
	enum ntske_outcome outcome;
	int ntpv4_offered; /* Next Protocol list contains 0 */
	size_t num_aeads;  /* ids stored (at most NTSKE_MAX_AEADS) */
	uint16_t aeads[NTSKE_MAX_AEADS];
	int compliant_gcm_siv; /* chrony record 1024 present */
};

/* ntske_parse_request validates a complete client message |msg| per RFC
 * 8915 s4.1: exactly one Next Protocol and one AEAD record, End of Message
 * last, no Error/Warning records from a client, unknown critical records
 * refused, unknown non-critical records ignored. Always fills |out|;
 * returns 1 if out->outcome is NTSKE_OK. */
int ntske_parse_request(struct ntske_request *out, CBS *msg);

/* ntske_choose_aead picks the session AEAD for |req| from |prefs| (server
 * preference order, |num_prefs| entries), applying the AEAD 30 rule
 * described at NTSKE_REC_COMPLIANT_GCM_SIV. Returns the id, or 0 if there
 * is no common AEAD. */
uint16_t ntske_choose_aead(const struct ntske_request *req, const uint16_t *prefs,
                           size_t num_prefs);

struct ntske_response {
	int ntpv4;          /* 1: Next Protocol [0]; 0: empty Next Protocol */
	uint16_t aead;      /* 0: empty AEAD record (no common AEAD) */
	int echo_compliant; /* add record 1024 */
	size_t num_cookies;
	const uint8_t *cookies[NTSKE_MAX_COOKIES];
	size_t cookie_lens[NTSKE_MAX_COOKIES];
	const char *server; /* NULL: no Server record */
	uint16_t port;      /* 0: no Port record */
};

/* ntske_build_response appends a complete response message to |out|. */
int ntske_build_response(CBB *out, const struct ntske_response *resp) NTS_WUR;

/* ntske_build_error appends an Error record with |code| and End of Message. */
int ntske_build_error(CBB *out, uint16_t code) NTS_WUR;

/* ntske_exporter_context writes the 5-byte TLS exporter context: protocol
 * id, AEAD id, then 0x00 for C2S or 0x01 for S2C. */
void ntske_exporter_context(uint8_t out[NTSKE_EXPORTER_CONTEXT_LEN], uint16_t protocol,
                            uint16_t aead_id, int s2c);

/* ---- client side ---- */

/* ntske_build_request appends a request offering NTPv4 and |aeads| in
 * order, with chrony's record 1024 if |compliant_gcm_siv|. */
int ntske_build_request(CBB *out, const uint16_t *aeads, size_t num_aeads,
                        int compliant_gcm_siv) NTS_WUR;

enum ntske_client_result {
	NTSKE_RESP_OK = 0,
	NTSKE_RESP_ERROR,      /* server sent an Error record (code in error_code) */
	NTSKE_RESP_NO_NTPV4,   /* empty or other Next Protocol */
	NTSKE_RESP_NO_AEAD,    /* empty AEAD record, one we did not offer, or one
	                        * this build does not implement */
	NTSKE_RESP_NO_COOKIES, /* valid, but no cookie */
	NTSKE_RESP_MALFORMED,  /* anything else */
};

struct ntske_response_view {
	enum ntske_client_result result;
	uint16_t error_code;
	uint16_t aead;
	int compliant_gcm_siv; /* server echoed record 1024 */
	size_t num_cookies;
	CBS cookies[NTSKE_MAX_COOKIES]; /* further cookies are ignored */
	int has_server;
	CBS server;
	uint16_t port; /* 0 if absent */
	size_t num_warnings;
};

/* ntske_parse_response validates a complete server message strictly
 * against what was offered (|aeads|). Returns 1 if result is NTSKE_RESP_OK. */
int ntske_parse_response(struct ntske_response_view *out, CBS *msg, const uint16_t *aeads,
                         size_t num_aeads);

#endif
