/*
 * test_numparse: strict command-line numbers at their edges: empty, signs,
 * spaces, overflow, trailing garbage and both ends of the range.
 */
#include "common/numparse.h"

#include "testutil.h"

static void test_i64(void)
{
	int64_t v = 42;
	CHECK(!num_parse_i64(&v, "", 0, 10));
	CHECK(!num_parse_i64(&v, "-", -10, 10));
	CHECK(!num_parse_i64(&v, "+1", 0, 10));
	CHECK(!num_parse_i64(&v, " 1", 0, 10));
	CHECK(!num_parse_i64(&v, "1 ", 0, 10));
	CHECK(!num_parse_i64(&v, "1x", 0, 10));
	CHECK(!num_parse_i64(&v, "x1", 0, 10));
	CHECK(!num_parse_i64(&v, "0x1", 0, 10));
	CHECK(!num_parse_i64(&v, "1.0", 0, 10));
	CHECK(!num_parse_i64(&v, "--1", -10, 10));
	CHECK(!num_parse_i64(&v, "garbage", INT64_MIN, INT64_MAX));
	CHECK_EQ(v, 42); /* untouched on failure */
	CHECK(num_parse_i64(&v, "0", 0, 10));
	CHECK_EQ(v, 0);
	CHECK(num_parse_i64(&v, "10", 0, 10));
	CHECK_EQ(v, 10);
	CHECK(!num_parse_i64(&v, "11", 0, 10));
	CHECK(!num_parse_i64(&v, "-1", 0, 10));
	CHECK(num_parse_i64(&v, "-10", -10, 10));
	CHECK_EQ(v, (uint64_t)(int64_t)-10);
	CHECK(num_parse_i64(&v, "007", 0, 10));
	CHECK_EQ(v, 7);
	CHECK(num_parse_i64(&v, "9223372036854775807", INT64_MIN, INT64_MAX));
	CHECK_EQ(v, (uint64_t)INT64_MAX);
	CHECK(!num_parse_i64(&v, "9223372036854775808", INT64_MIN, INT64_MAX));
	CHECK(num_parse_i64(&v, "-9223372036854775808", INT64_MIN, INT64_MAX));
	CHECK_EQ(v, (uint64_t)INT64_MIN);
	CHECK(!num_parse_i64(&v, "-9223372036854775809", INT64_MIN, INT64_MAX));
	CHECK(!num_parse_i64(&v, "99999999999999999999999", INT64_MIN, INT64_MAX));
}

static void test_int(void)
{
	int v = 5;
	CHECK(num_parse_int(&v, "2147483647", 0, 2147483647));
	CHECK_EQ(v, 2147483647);
	CHECK(!num_parse_int(&v, "2147483648", 0, 2147483647));
	CHECK(num_parse_int(&v, "1", 1, 100));
	CHECK_EQ(v, 1);
	CHECK(!num_parse_int(&v, "0", 1, 100));
	CHECK(!num_parse_int(&v, "101", 1, 100));
	CHECK(!num_parse_int(&v, "", 1, 100));
}

static void test_u64(void)
{
	uint64_t v = 3;
	CHECK(!num_parse_u64(&v, "", 0, UINT64_MAX));
	CHECK(!num_parse_u64(&v, "-1", 0, UINT64_MAX)); /* strtoull would wrap it */
	CHECK(!num_parse_u64(&v, "+1", 0, UINT64_MAX));
	CHECK(!num_parse_u64(&v, "1k", 0, UINT64_MAX));
	CHECK(num_parse_u64(&v, "18446744073709551615", 0, UINT64_MAX));
	CHECK_EQ(v, UINT64_MAX);
	CHECK(!num_parse_u64(&v, "18446744073709551616", 0, UINT64_MAX));
	CHECK(!num_parse_u64(&v, "0", 1, UINT64_MAX));
	CHECK(num_parse_u64(&v, "1", 1, UINT64_MAX));
	CHECK_EQ(v, 1);
}

static void test_double(void)
{
	double v = 7;
	CHECK(!num_parse_double(&v, "", 0, 10));
	CHECK(!num_parse_double(&v, ".", 0, 10));
	CHECK(!num_parse_double(&v, ".5", 0, 10));
	CHECK(!num_parse_double(&v, "5.", 0, 10));
	CHECK(!num_parse_double(&v, "+1", 0, 10));
	CHECK(!num_parse_double(&v, " 1", 0, 10));
	CHECK(!num_parse_double(&v, "1s", 0, 10));
	CHECK(!num_parse_double(&v, "1e3", 0, 1e9));
	CHECK(!num_parse_double(&v, "0x10", 0, 1e9));
	CHECK(!num_parse_double(&v, "inf", 0, 1e308));
	CHECK(!num_parse_double(&v, "nan", -1e308, 1e308));
	CHECK(!num_parse_double(&v, "1.2.3", 0, 10));
	CHECK(!num_parse_double(&v, "abc", 0, 10));
	CHECK(v == 7);
	CHECK(num_parse_double(&v, "0", 0, 10));
	CHECK(v == 0);
	CHECK(num_parse_double(&v, "10", 0, 10));
	CHECK(v == 10);
	CHECK(!num_parse_double(&v, "10.000001", 0, 10));
	CHECK(num_parse_double(&v, "2.5", 0, 10));
	CHECK(v == 2.5);
	CHECK(num_parse_double(&v, "-0.25", -1, 0));
	CHECK(v == -0.25);
	CHECK(!num_parse_double(&v, "-1", 0, 10));
	/* 400 digits: beyond DBL_MAX, ERANGE */
	char big[402];
	memset(big, '9', 400);
	big[400] = '\0';
	CHECK(!num_parse_double(&v, big, 0, 1e308));
}

int main(void)
{
	test_i64();
	test_int();
	test_u64();
	test_double();
	return test_summary("numparse");
}
