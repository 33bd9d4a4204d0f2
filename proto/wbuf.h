/*
 * wbuf.h: a non-allocating writer into a fixed buffer, for the per-packet
 * builders (NTP header, NTS fields, cookies).
 *
 * BoringSSL's CBB is the house tool for building wire data, but the
 * BoringSSL that Debian ships heap-allocates a CBB's base even over a
 * fixed buffer (struct cbb_st holds a pointer to it), which would put a
 * malloc/free pair on every response. wbuf keeps the same discipline
 * (every write checked, the first failure sticks, nothing written past
 * |cap|) without the allocation. The NTS-KE builders, which run once per
 * handshake, keep using CBB.
 */
#ifndef NTS_WBUF_H
#define NTS_WBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wbuf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int failed; /* sticky */
};

static inline void wbuf_init(struct wbuf *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->failed = 0;
}

/* wbuf_space reserves |n| bytes and returns a pointer to them, or NULL
 * (and marks the writer failed) if they do not fit. */
static inline uint8_t *wbuf_space(struct wbuf *w, size_t n)
{
	if (w->failed || w->cap - w->len < n) {
		w->failed = 1;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

/* wbuf_space_to is wbuf_space in the 1/0 style: |*out| points at the
 * reserved bytes on success. */
static inline int wbuf_space_to(struct wbuf *w, uint8_t **out, size_t n)
{
	*out = wbuf_space(w, n);
	return *out != NULL;
}

static inline int wbuf_bytes(struct wbuf *w, const uint8_t *data, size_t n)
{
	uint8_t *p = wbuf_space(w, n);
	if (p == NULL) {
		return 0;
	}
	if (n > 0) {
		memcpy(p, data, n);
	}
	return 1;
}

static inline int wbuf_zeros(struct wbuf *w, size_t n)
{
	uint8_t *p = wbuf_space(w, n);
	if (p == NULL) {
		return 0;
	}
	if (n > 0) {
		memset(p, 0, n);
	}
	return 1;
}

static inline int wbuf_u8(struct wbuf *w, uint8_t v)
{
	return wbuf_bytes(w, &v, 1);
}

static inline int wbuf_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return wbuf_bytes(w, b, 2);
}

static inline int wbuf_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return wbuf_bytes(w, b, 4);
}

static inline int wbuf_u64(struct wbuf *w, uint64_t v)
{
	return wbuf_u32(w, (uint32_t)(v >> 32)) && wbuf_u32(w, (uint32_t)v);
}

#endif
