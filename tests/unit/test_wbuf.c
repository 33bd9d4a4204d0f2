/* test_wbuf.c: the fixed-buffer writer and its length-prefixed child at
 * the edges: overflow, nesting, padding, the u16 limit. */
#include <stdlib.h>
#include <string.h>

#include "common/wbuf.h"

#include "tests/unit/testutil.h"

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* an extension-field-like record: type, length covering the header, body
 * padded to 4, at least 16 bytes in all */
static int record(struct wbuf *w, uint16_t type, const uint8_t *body, size_t len)
{
	struct wbuf_child c;
	return wbuf_u16(w, type) && wbuf_child_open(w, &c, 4, 4, 16) && wbuf_bytes(w, body, len) &&
	       wbuf_child_close(w, &c);
}

static void test_padding(void)
{
	uint8_t buf[64], body[32];
	struct wbuf w;

	memset(body, 0x5a, sizeof(body));
	for (size_t len = 0; len <= sizeof(body); len++) {
		size_t want = 4 + ((len + 3) & ~(size_t)3);
		want = want < 16 ? 16 : want;
		memset(buf, 0xee, sizeof(buf));
		wbuf_init(&w, buf, sizeof(buf));
		CHECK(record(&w, 0x0104, body, len));
		CHECK_EQ(w.len, want);
		CHECK_EQ(get_u16(buf), 0x0104);
		CHECK_EQ(get_u16(buf + 2), want);
		CHECK(memcmp(buf + 4, body, len) == 0);
		for (size_t i = 4 + len; i < want; i++) {
			CHECK_EQ(buf[i], 0);
		}
		CHECK_EQ(buf[want], 0xee); /* nothing written past the record */
	}
	/* no alignment, no minimum: the length is exactly what was written,
	 * counted from after the length field */
	wbuf_init(&w, buf, sizeof(buf));
	struct wbuf_child c;
	CHECK(wbuf_child_open(&w, &c, 0, 1, 0));
	CHECK(wbuf_bytes(&w, body, 3));
	CHECK(wbuf_child_close(&w, &c));
	CHECK_EQ(w.len, 5);
	CHECK_EQ(get_u16(buf), 3);
	/* an empty child */
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(wbuf_child_open(&w, &c, 0, 4, 0));
	CHECK(wbuf_child_close(&w, &c));
	CHECK_EQ(w.len, 2);
	CHECK_EQ(get_u16(buf), 0);
}

static void test_overflow(void)
{
	uint8_t buf[32], body[32] = {0};
	struct wbuf w;
	struct wbuf_child c;

	/* the body fits exactly: last byte */
	wbuf_init(&w, buf, 16);
	CHECK(record(&w, 1, body, 12));
	CHECK_EQ(w.len, 16);
	/* one past: the body does not fit */
	wbuf_init(&w, buf, 16);
	CHECK(!record(&w, 1, body, 13));
	CHECK(w.failed);
	/* the body fits but its padding does not */
	wbuf_init(&w, buf, 17);
	CHECK(!record(&w, 1, body, 13));
	CHECK(w.failed);
	/* the minimum does not fit */
	wbuf_init(&w, buf, 15);
	CHECK(!record(&w, 1, body, 0));
	/* no room for the length itself */
	wbuf_init(&w, buf, 1);
	CHECK(!wbuf_child_open(&w, &c, 0, 1, 0));
	CHECK(w.failed);
	/* failure sticks: close after a failed write fails */
	wbuf_init(&w, buf, 4);
	CHECK(wbuf_child_open(&w, &c, 0, 1, 0));
	CHECK(!wbuf_bytes(&w, body, 3));
	CHECK(!wbuf_child_close(&w, &c));
	/* a header reaching before the buffer's start is our bug, refused */
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(!wbuf_child_open(&w, &c, 3, 1, 0));
	CHECK(w.failed);
	/* align 0 is refused too */
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(!wbuf_child_open(&w, &c, 0, 0, 0));
}

static void test_u16_limit(void)
{
	size_t cap = 0x10000 + 16;
	uint8_t *buf = calloc(1, cap);
	struct wbuf w;
	struct wbuf_child c;

	CHECK(buf != NULL);
	if (buf == NULL) {
		return;
	}
	/* 0xffff bytes counted from the length field: fits */
	wbuf_init(&w, buf, cap);
	CHECK(wbuf_child_open(&w, &c, 2, 1, 0));
	CHECK(wbuf_zeros(&w, 0xffff - 2));
	CHECK(wbuf_child_close(&w, &c));
	CHECK_EQ(get_u16(buf), 0xffff);
	/* one more: refused */
	wbuf_init(&w, buf, cap);
	CHECK(wbuf_child_open(&w, &c, 2, 1, 0));
	CHECK(wbuf_zeros(&w, 0xffff - 1));
	CHECK(!wbuf_child_close(&w, &c));
	/* padding that would cross the limit: refused */
	wbuf_init(&w, buf, cap);
	CHECK(wbuf_child_open(&w, &c, 2, 4, 0));
	CHECK(wbuf_zeros(&w, 0xfffd - 2));
	CHECK(!wbuf_child_close(&w, &c));
	/* a minimum over the limit: refused */
	wbuf_init(&w, buf, cap);
	CHECK(wbuf_child_open(&w, &c, 0, 1, 0x10000));
	CHECK(!wbuf_child_close(&w, &c));
	free(buf);
}

static void test_nesting(void)
{
	uint8_t buf[128], body[8];
	struct wbuf w;
	struct wbuf_child outer, inner;

	memset(body, 0x11, sizeof(body));
	wbuf_init(&w, buf, sizeof(buf));
	/* outer: u16 length of what follows it, no padding */
	CHECK(wbuf_child_open(&w, &outer, 0, 1, 0));
	CHECK(record(&w, 7, body, 5));               /* 16 bytes (minimum) */
	CHECK(wbuf_child_open(&w, &inner, 2, 4, 0)); /* counts itself */
	CHECK(wbuf_bytes(&w, body, 7));
	CHECK(wbuf_child_close(&w, &inner)); /* 2 + 7 -> 12 */
	CHECK(record(&w, 8, body, 8));       /* 16 */
	CHECK(wbuf_child_close(&w, &outer));
	CHECK_EQ(w.len, 2 + 16 + 12 + 16);
	CHECK_EQ(get_u16(buf), 16 + 12 + 16);
	CHECK_EQ(get_u16(buf + 2), 7);
	CHECK_EQ(get_u16(buf + 4), 16);
	CHECK_EQ(get_u16(buf + 18), 12);
	CHECK_EQ(get_u16(buf + 30), 8);
	CHECK_EQ(get_u16(buf + 32), 16);
	/* wbuf_pad: relative to its start */
	wbuf_init(&w, buf, sizeof(buf));
	CHECK(wbuf_u8(&w, 1));
	size_t at = w.len;
	CHECK(wbuf_pad(&w, at, 4));
	CHECK_EQ(w.len, 1);
	CHECK(wbuf_bytes(&w, body, 5));
	CHECK(wbuf_pad(&w, at, 4));
	CHECK_EQ(w.len, 9);
	CHECK(!wbuf_pad(&w, w.len + 1, 4));
}

int main(void)
{
	test_padding();
	test_overflow();
	test_u16_limit();
	test_nesting();
	return test_summary("wbuf");
}
