/*
 * wbuf.h: a non-allocating writer into a fixed buffer, for the per-packet
 * builders (NTP header, NTS fields, cookies) and the key files.
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

/*
 * A length-prefixed child: wbuf_child_open reserves a big-endian u16
 * length at the writer's position, the caller writes the contents, and
 * wbuf_child_close pads them with zeros and patches the length in. The
 * child lives in the parent's buffer (no second buffer, no allocation), so
 * children nest as long as they are closed innermost first.
 *
 * The length counts the contents and the |hdr_len| bytes just before them:
 * 0 for a plain length-prefixed body, 2 to count the length field itself,
 * 4 for a type-length header counted in its own length (an NTP extension
 * field). On close the counted bytes are zero-padded to a multiple of
 * |align| (1: none) and to at least |min_len|, and must then fit in the
 * u16; otherwise the writer fails.
 */
struct wbuf_child {
	size_t start;   /* where the counted bytes begin */
	size_t len_at;  /* offset of the reserved u16 */
	size_t align;   /* pad to a multiple of this (1: none) */
	size_t min_len; /* and to at least this */
};

static inline int wbuf_child_open(struct wbuf *w, struct wbuf_child *out_child, size_t hdr_len,
                                  size_t align, size_t min_len)
{
	out_child->len_at = w->len;
	out_child->start = w->len + 2 - hdr_len;
	out_child->align = align;
	out_child->min_len = min_len;
	if (hdr_len > w->len + 2 || align == 0) {
		w->failed = 1;
		return 0;
	}
	return wbuf_u16(w, 0);
}

static inline int wbuf_child_close(struct wbuf *w, const struct wbuf_child *c)
{
	if (w->failed || c->len_at + 2 > w->len) {
		w->failed = 1;
		return 0;
	}
	size_t len = w->len - c->start;
	size_t padded = len < c->min_len ? c->min_len : len;
	if (padded % c->align != 0) {
		padded += c->align - padded % c->align;
	}
	if (padded > 0xffff || !wbuf_zeros(w, padded - len)) {
		w->failed = 1;
		return 0;
	}
	w->buf[c->len_at] = (uint8_t)(padded >> 8);
	w->buf[c->len_at + 1] = (uint8_t)padded;
	return 1;
}

/* wbuf_pad appends zeros until the bytes written since |start| are a
 * multiple of |align|. */
static inline int wbuf_pad(struct wbuf *w, size_t start, size_t align)
{
	if (start > w->len || align == 0) {
		w->failed = 1;
		return 0;
	}
	size_t rem = (w->len - start) % align;
	return wbuf_zeros(w, rem == 0 ? 0 : align - rem);
}

#endif
