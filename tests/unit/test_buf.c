// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/buf.c: the growable output buffer and its number formatting. */
#include "unit.h"

#include <inttypes.h>

static void test_empty(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_put(&b, "x", 0); /* nothing to add: no allocation either */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	ksm_buf_puts(&b, "");
	assert_int_equal(b.len, 0);
	assert_false(b.failed);
	ksm_buf_free(&b);
	ksm_buf_free(&b); /* twice is harmless */
}

static void test_put_putc_puts(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_put(&b, "ab", 2);
	ksm_buf_putc(&b, 'c');
	ksm_buf_puts(&b, "def");
	ksm_buf_put(&b, "g\0h", 3); /* embedded NUL kept */
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data, "abcdefg\0h", 9);
	ksm_buf_free(&b);
}

static void test_growth(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	/* byte by byte across several doublings */
	for (size_t i = 0; i < 100000; i++)
		ksm_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap >= b.len);
	assert_false(b.failed);
	for (size_t i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	/* one large put well beyond the capacity */
	size_t big = 3 * b.cap + 17;
	char *blob = malloc(big);
	assert_non_null(blob);
	memset(blob, 'z', big);
	ksm_buf_put(&b, blob, big);
	assert_int_equal(b.len, 100000 + big);
	assert_true(b.cap >= b.len);
	assert_int_equal(b.data[100000], 'z');
	assert_int_equal(b.data[b.len - 1], 'z');
	free(blob);
	ksm_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void test_first_reserve_and_exact_fit(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	assert_true(ksm_buf_reserve(&b, 1));
	size_t cap = b.cap;
	assert_true(cap >= 1);
	/* filling exactly to capacity must not reallocate */
	char *data = b.data;
	for (size_t i = 0; i < cap; i++)
		ksm_buf_putc(&b, 'x');
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	ksm_buf_putc(&b, 'y');
	assert_true(b.cap > cap);
	assert_int_equal(b.len, cap + 1);
	ksm_buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_puts(&b, "hello");
	size_t cap = b.cap;
	ksm_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	assert_non_null(b.data);
	ksm_buf_puts(&b, "bye");
	assert_buf(&b, "bye");
	ksm_buf_free(&b);
}

static void test_reserve_impossible(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_puts(&b, "abc");
	/* more than can ever be allocated: fails without wrapping around */
	assert_false(ksm_buf_reserve(&b, SIZE_MAX - 1));
	assert_true(b.failed);
	/* a failed buffer stays failed: later writes are dropped */
	ksm_buf_puts(&b, "def");
	assert_int_equal(b.len, 3);
	assert_false(ksm_buf_reserve(&b, 1));
	/* reset clears the failure */
	ksm_buf_reset(&b);
	assert_false(b.failed);
	ksm_buf_puts(&b, "ok");
	assert_buf(&b, "ok");
	ksm_buf_free(&b);
}

static void check_u64(uint64_t v, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_buf_u64(&b, v);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void check_i64(int64_t v, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_buf_i64(&b, v);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void check_hex(uint64_t v, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_buf_hex(&b, v);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void check_digits(uint64_t v, int width, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_buf_digits(&b, v, width);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void test_u64(void **state)
{
	(void)state;
	check_u64(0, "0");
	check_u64(1, "1");
	check_u64(9, "9");
	check_u64(10, "10");
	check_u64(4294967295u, "4294967295");
	check_u64(4294967296ull, "4294967296");
	check_u64(10000000000000000000ull, "10000000000000000000");
	check_u64(UINT64_MAX, "18446744073709551615");
	check_u64(UINT64_MAX - 1, "18446744073709551614");
	/* against printf for a spread of values */
	uint64_t v = 1;
	for (int i = 0; i < 200; i++) {
		char exp[32];
		snprintf(exp, sizeof(exp), "%" PRIu64, v);
		check_u64(v, exp);
		v = v * 6364136223846793005ull + 1442695040888963407ull;
	}
}

static void test_i64(void **state)
{
	(void)state;
	check_i64(0, "0");
	check_i64(-1, "-1");
	check_i64(1, "1");
	check_i64(-10, "-10");
	check_i64(INT64_MAX, "9223372036854775807");
	check_i64(INT64_MIN, "-9223372036854775808");
	check_i64(INT64_MIN + 1, "-9223372036854775807");
}

static void test_hex(void **state)
{
	(void)state;
	check_hex(0, "0x0");
	check_hex(1, "0x1");
	check_hex(0xf, "0xf");
	check_hex(0x10, "0x10");
	check_hex(0xabcdef, "0xabcdef");
	check_hex(0x1e000, "0x1e000");
	check_hex(0x7f12a0000000ull, "0x7f12a0000000");
	check_hex(0x8000000000000000ull, "0x8000000000000000");
	check_hex(UINT64_MAX, "0xffffffffffffffff");
}

static void test_digits(void **state)
{
	(void)state;
	check_digits(0, 1, "0");
	check_digits(7, 2, "07");
	check_digits(5, 9, "000000005");
	check_digits(123456789, 9, "123456789");
	check_digits(1999, 4, "1999");
	check_digits(12, 0, ""); /* no digits at all */
	/* too many digits: only the low `width` ones are kept */
	check_digits(12345, 3, "345");
	check_digits(UINT64_MAX, 20, "18446744073709551615");
	/* widths beyond 20 are capped (never overflow the scratch) */
	check_digits(42, 25, "00000000000000000042");
}

static void test_appends_after_numbers(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_puts(&b, "pid=");
	ksm_buf_u64(&b, 4242);
	ksm_buf_puts(&b, " off=");
	ksm_buf_i64(&b, -3);
	ksm_buf_puts(&b, " base=");
	ksm_buf_hex(&b, 0x1000);
	ksm_buf_puts(&b, " t=");
	ksm_buf_digits(&b, 7, 3);
	assert_buf(&b, "pid=4242 off=-3 base=0x1000 t=007");
	ksm_buf_free(&b);
}

/* Every byte to two lower-case digits and back; the value of every
 * character, both cases of a-f accepted, the neighbours of the ranges
 * refused. */
static void test_hex_codec(void **state)
{
	(void)state;
	uint8_t all[256];
	char out[512 + 1];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	memset(out, '#', sizeof(out));
	ksm_hex_encode(out, all, 256);
	assert_int_equal(out[512], '#'); /* no NUL, nothing past 2n */
	assert_memory_equal(out, "000102", 6);
	assert_memory_equal(out + 2 * 0xa5, "a5", 2);
	assert_memory_equal(out + 510, "ff", 2);
	for (int i = 0; i < 256; i++) {
		char want[3];
		snprintf(want, sizeof(want), "%02x", i);
		assert_memory_equal(out + 2 * i, want, 2);
		assert_int_equal(ksm_hex_value(out[2 * i]) << 4 | ksm_hex_value(out[2 * i + 1]), i);
	}
	for (int c = -1; c < 256; c++) {
		int want = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			   c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		assert_int_equal(ksm_hex_value(c), want);
	}
	assert_int_equal(ksm_hex_value('F'), 15);
	assert_int_equal(ksm_hex_value('G'), -1);
	assert_int_equal(ksm_hex_value('/'), -1);
	assert_int_equal(ksm_hex_value(':'), -1);
	assert_int_equal(ksm_hex_value('`'), -1);
	assert_int_equal(ksm_hex_value('@'), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_putc_puts),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_first_reserve_and_exact_fit),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_reserve_impossible),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_codec),
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_appends_after_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
