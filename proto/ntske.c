/*
 * ntske.c: NTS-KE record codec (see ntske.h).
 */
#include "proto/ntske.h"

#include <string.h>

int ntske_record_next(CBS *in, struct ntske_record *out)
{
	CBS copy = *in;
	uint16_t type;

	if (!CBS_get_u16(&copy, &type) || !CBS_get_u16_length_prefixed(&copy, &out->body)) {
		return 0;
	}
	out->critical = (type & NTSKE_CRITICAL) != 0;
	out->type = type & (uint16_t)~NTSKE_CRITICAL;
	*in = copy;
	return 1;
}

enum ntske_stream ntske_stream_status(const uint8_t *buf, size_t len, size_t *out_msg_len)
{
	CBS in;
	struct ntske_record rec;

	CBS_init(&in, buf, len);
	while (ntske_record_next(&in, &rec)) {
		if (rec.type == NTSKE_REC_END) {
			*out_msg_len = len - CBS_len(&in);
			return NTSKE_STREAM_COMPLETE;
		}
	}
	return NTSKE_STREAM_NEED_MORE;
}

/* u16_list checks that |body| is a list of u16 and stores up to |max| of
 * them; returns 0 on an odd length. */
static int u16_list(CBS body, uint16_t *out, size_t max, size_t *out_num)
{
	*out_num = 0;
	if (CBS_len(&body) % 2 != 0) {
		return 0;
	}
	uint16_t v;
	while (CBS_get_u16(&body, &v)) {
		if (*out_num < max) {
			out[(*out_num)++] = v;
		}
	}
	return 1;
}

int ntske_parse_request(struct ntske_request *out, CBS *msg)
{
	CBS in = *msg;
	struct ntske_record rec;
	unsigned num_np = 0, num_aead = 0;
	int bad = 0, unknown_critical = 0, ended = 0;

	memset(out, 0, sizeof(*out));
	while (!ended && ntske_record_next(&in, &rec)) {
		switch (rec.type) {
		case NTSKE_REC_END:
			/* the body of End of Message must be empty */
			if (CBS_len(&rec.body) != 0 || !rec.critical) {
				bad = 1;
			}
			ended = 1;
			break;
		case NTSKE_REC_NEXT_PROTO: {
			uint16_t protos[NTSKE_MAX_AEADS];
			size_t n = 0;
			num_np++;
			if (!rec.critical || !u16_list(rec.body, protos, NTSKE_MAX_AEADS, &n)) {
				bad = 1;
				break;
			}
			/* the whole list is scanned, also past what we store */
			CBS body = rec.body;
			uint16_t p;
			while (CBS_get_u16(&body, &p)) {
				if (p == NTSKE_PROTO_NTPV4) {
					out->ntpv4_offered = 1;
				}
			}
			break;
		}
		case NTSKE_REC_AEAD:
			num_aead++;
			if (!u16_list(rec.body, out->aeads, NTSKE_MAX_AEADS, &out->num_aeads)) {
				bad = 1;
			}
			break;
		case NTSKE_REC_ERROR:
		case NTSKE_REC_WARNING:
			/* RFC 8915 s4.1.3/4.1.4: clients must not send these */
			bad = 1;
			break;
		case NTSKE_REC_COMPLIANT_GCM_SIV:
			if (CBS_len(&rec.body) == 0) {
				out->compliant_gcm_siv = 1;
			}
			break;
		case NTSKE_REC_NEW_COOKIE:
		case NTSKE_REC_SERVER:
		case NTSKE_REC_PORT:
			/* hints a client may send; we decide from configuration */
			break;
		default:
			if (rec.critical) {
				unknown_critical = 1;
			}
			break;
		}
	}
	if (unknown_critical) {
		out->outcome = NTSKE_FAIL_UNRECOGNIZED_CRITICAL;
	} else if (bad || !ended || CBS_len(&in) != 0 || num_np != 1 || num_aead != 1) {
		/* missing or duplicated Next Protocol / AEAD, a record running
		 * past the data, no End of Message or bytes after it */
		out->outcome = NTSKE_FAIL_BAD_REQUEST;
	} else {
		out->outcome = NTSKE_OK;
	}
	if (out->outcome != NTSKE_OK) {
		out->num_aeads = 0;
	}
	return out->outcome == NTSKE_OK;
}

static int offered(const struct ntske_request *req, uint16_t id)
{
	for (size_t i = 0; i < req->num_aeads; i++) {
		if (req->aeads[i] == id) {
			return 1;
		}
	}
	return 0;
}

uint16_t ntske_choose_aead(const struct ntske_request *req, const uint16_t *prefs, size_t num_prefs)
{
	for (size_t i = 0; i < num_prefs; i++) {
		uint16_t id = prefs[i];
		if (!aead_supported(id) || !offered(req, id)) {
			continue;
		}
		/* See NTSKE_REC_COMPLIANT_GCM_SIV: without record 1024 a client
		 * that also offers AEAD 15 may be a chrony (4.4 or later, before the
		 * record) deriving AEAD 30 keys with the wrong context, so it gets 15. */
		if (id == AEAD_AES_128_GCM_SIV && !req->compliant_gcm_siv &&
		    offered(req, AEAD_AES_SIV_CMAC_256)) {
			continue;
		}
		return id;
	}
	return 0;
}

static int add_record(CBB *out, uint16_t type, int critical, const uint8_t *body, size_t len)
{
	CBB child;
	return CBB_add_u16(out, (uint16_t)(type | (critical ? NTSKE_CRITICAL : 0))) &&
	       CBB_add_u16_length_prefixed(out, &child) && CBB_add_bytes(&child, body, len) &&
	       CBB_flush(out);
}

static int add_u16_record(CBB *out, uint16_t type, int critical, const uint16_t *vals, size_t n)
{
	CBB child;
	if (!CBB_add_u16(out, (uint16_t)(type | (critical ? NTSKE_CRITICAL : 0))) ||
	    !CBB_add_u16_length_prefixed(out, &child)) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!CBB_add_u16(&child, vals[i])) {
			return 0;
		}
	}
	return CBB_flush(out);
}

int ntske_build_response(CBB *out, const struct ntske_response *resp)
{
	uint16_t proto = NTSKE_PROTO_NTPV4;

	if (resp->num_cookies > NTSKE_MAX_COOKIES) {
		return 0;
	}
	if (!add_u16_record(out, NTSKE_REC_NEXT_PROTO, 1, &proto, resp->ntpv4 ? 1 : 0)) {
		return 0;
	}
	if (resp->ntpv4) {
		if (!add_u16_record(out, NTSKE_REC_AEAD, 1, &resp->aead, resp->aead != 0 ? 1 : 0)) {
			return 0;
		}
		if (resp->echo_compliant &&
		    !add_record(out, NTSKE_REC_COMPLIANT_GCM_SIV, 0, NULL, 0)) {
			return 0;
		}
		for (size_t i = 0; resp->aead != 0 && i < resp->num_cookies; i++) {
			if (!add_record(out, NTSKE_REC_NEW_COOKIE, 0, resp->cookies[i],
			                resp->cookie_lens[i])) {
				return 0;
			}
		}
		if (resp->aead != 0 && resp->server != NULL) {
			size_t len = strlen(resp->server);
			if (len == 0 || len > NTSKE_MAX_SERVER_LEN ||
			    !add_record(out, NTSKE_REC_SERVER, 1, (const uint8_t *)resp->server,
			                len)) {
				return 0;
			}
		}
		if (resp->aead != 0 && resp->port != 0 &&
		    !add_u16_record(out, NTSKE_REC_PORT, 1, &resp->port, 1)) {
			return 0;
		}
	}
	return add_record(out, NTSKE_REC_END, 1, NULL, 0);
}

int ntske_build_error(CBB *out, uint16_t code)
{
	return add_u16_record(out, NTSKE_REC_ERROR, 1, &code, 1) &&
	       add_record(out, NTSKE_REC_END, 1, NULL, 0);
}

void ntske_exporter_context(uint8_t out[NTSKE_EXPORTER_CONTEXT_LEN], uint16_t protocol,
                            uint16_t aead_id, int s2c)
{
	out[0] = (uint8_t)(protocol >> 8);
	out[1] = (uint8_t)protocol;
	out[2] = (uint8_t)(aead_id >> 8);
	out[3] = (uint8_t)aead_id;
	out[4] = s2c ? 1 : 0;
}

int ntske_build_request(CBB *out, const uint16_t *aeads, size_t num_aeads, int compliant_gcm_siv)
{
	uint16_t proto = NTSKE_PROTO_NTPV4;
	return add_u16_record(out, NTSKE_REC_NEXT_PROTO, 1, &proto, 1) &&
	       add_u16_record(out, NTSKE_REC_AEAD, 1, aeads, num_aeads) &&
	       (!compliant_gcm_siv || add_record(out, NTSKE_REC_COMPLIANT_GCM_SIV, 0, NULL, 0)) &&
	       add_record(out, NTSKE_REC_END, 1, NULL, 0);
}

/* What a client's parse of a response counts while it walks the records;
 * the outcome is decided after the walk (RFC 8915 s4). */
struct resp_walk {
	unsigned num_np, num_aead, num_err;
	int ended, malformed, ntpv4, aead_ok;
};

/* resp_take_aead records an AEAD choice that we offered and can use: a
 * caller may offer ids this build does not implement (NTPsec honours AEAD
 * 16, which we lack). */
static void resp_take_aead(struct ntske_response_view *out, struct resp_walk *w, CBS *body,
                           const uint16_t *aeads, size_t num_aeads)
{
	uint16_t a;
	w->num_aead++;
	if (CBS_len(body) != 2 || !CBS_get_u16(body, &a)) {
		return;
	}
	for (size_t i = 0; i < num_aeads; i++) {
		if (aeads[i] == a && aead_supported(a)) {
			out->aead = a;
			w->aead_ok = 1;
		}
	}
}

/* resp_take_record takes one record of a response into |out| and |w|. */
static void resp_take_record(struct ntske_response_view *out, struct resp_walk *w,
                             const struct ntske_record *rec, const uint16_t *aeads,
                             size_t num_aeads)
{
	CBS body = rec->body;
	uint16_t p;

	switch (rec->type) {
	case NTSKE_REC_END:
		w->ended = 1;
		w->malformed |= CBS_len(&body) != 0;
		break;
	case NTSKE_REC_NEXT_PROTO:
		w->num_np++;
		w->ntpv4 = CBS_len(&body) == 2 && CBS_get_u16(&body, &p) && p == NTSKE_PROTO_NTPV4;
		break;
	case NTSKE_REC_AEAD:
		resp_take_aead(out, w, &body, aeads, num_aeads);
		break;
	case NTSKE_REC_ERROR:
		w->num_err++;
		w->malformed |= !CBS_get_u16(&body, &out->error_code) || CBS_len(&body) != 0;
		break;
	case NTSKE_REC_WARNING:
		out->num_warnings++;
		break;
	case NTSKE_REC_NEW_COOKIE:
		if (CBS_len(&body) == 0) {
			w->malformed = 1;
		} else if (out->num_cookies < NTSKE_MAX_COOKIES) {
			out->cookies[out->num_cookies++] = body;
		}
		break;
	case NTSKE_REC_SERVER:
		w->malformed |=
		    out->has_server || CBS_len(&body) == 0 || CBS_len(&body) > NTSKE_MAX_SERVER_LEN;
		out->has_server = 1;
		out->server = body;
		break;
	case NTSKE_REC_PORT:
		w->malformed |= out->port != 0 || !CBS_get_u16(&body, &out->port) ||
		                CBS_len(&body) != 0 || out->port == 0;
		break;
	case NTSKE_REC_COMPLIANT_GCM_SIV:
		out->compliant_gcm_siv = 1;
		break;
	default:
		w->malformed |= rec->critical;
		break;
	}
}

int ntske_parse_response(struct ntske_response_view *out, CBS *msg, const uint16_t *aeads,
                         size_t num_aeads)
{
	CBS in = *msg;
	struct ntske_record rec;
	struct resp_walk w = {0};

	memset(out, 0, sizeof(*out));
	while (!w.ended && ntske_record_next(&in, &rec)) {
		resp_take_record(out, &w, &rec, aeads, num_aeads);
	}
	if (w.num_err > 0 && w.ended && !w.malformed) {
		out->result = NTSKE_RESP_ERROR;
	} else if (w.malformed || !w.ended || CBS_len(&in) != 0 || w.num_np != 1 || w.num_err > 0) {
		out->result = NTSKE_RESP_MALFORMED;
	} else if (!w.ntpv4) {
		out->result = NTSKE_RESP_NO_NTPV4;
	} else if (w.num_aead != 1 || !w.aead_ok) {
		out->result = NTSKE_RESP_NO_AEAD;
	} else if (out->num_cookies == 0) {
		out->result = NTSKE_RESP_NO_COOKIES;
	} else {
		out->result = NTSKE_RESP_OK;
	}
	return out->result == NTSKE_RESP_OK;
}
