// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/timefmt.c: RFC 3339 and clock rendering of nanosecond timestamps. */
#include "unit.h"

#include <time.h>

#define NS 1000000000ull

static void check_rfc(uint64_t ns, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_time_rfc3339(&b, ns);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void check_clock(uint64_t ns, const char *exp)
{
	struct ksm_buf b = { 0 };
	ksm_time_clock(&b, ns);
	assert_buf(&b, exp);
	ksm_buf_free(&b);
}

static void test_epoch(void **state)
{
	(void)state;
	check_rfc(0, "1970-01-01T00:00:00.000000000Z");
	check_clock(0, "00:00:00.000");
	check_rfc(NS - 1, "1970-01-01T00:00:00.999999999Z");
	check_rfc(86399 * NS, "1970-01-01T23:59:59.000000000Z");
	check_rfc(86400 * NS, "1970-01-02T00:00:00.000000000Z");
}

static void test_reference(void **state)
{
	(void)state;
	check_rfc(T_REAL, "2023-11-14T22:13:20.123456789Z");
	check_clock(T_REAL, "22:13:20.123");
}

static void test_nanosecond_padding(void **state)
{
	(void)state;
	check_rfc(1, "1970-01-01T00:00:00.000000001Z");
	check_rfc(10, "1970-01-01T00:00:00.000000010Z");
	check_rfc(1000, "1970-01-01T00:00:00.000001000Z");
	check_rfc(1700000000 * NS + 5, "2023-11-14T22:13:20.000000005Z");
	check_rfc(1700000000 * NS + 100000000, "2023-11-14T22:13:20.100000000Z");
	/* the clock shows milliseconds, truncated (not rounded), zero-padded */
	check_clock(1700000000 * NS + 5, "22:13:20.000");
	check_clock(1700000000 * NS + 1000000, "22:13:20.001");
	check_clock(1700000000 * NS + 45000000, "22:13:20.045");
	check_clock(1700000000 * NS + 999999999, "22:13:20.999");
	check_clock(3661 * NS, "01:01:01.000");
}

static void test_leap_days(void **state)
{
	(void)state;
	check_rfc(68169600 * NS, "1972-02-29T00:00:00.000000000Z");
	check_rfc(1709164800 * NS, "2024-02-29T00:00:00.000000000Z");
	check_rfc(1709251199 * NS + 999999999, "2024-02-29T23:59:59.999999999Z");
	check_rfc(1709251200 * NS, "2024-03-01T00:00:00.000000000Z");
	/* 2000 is a leap year (divisible by 400) */
	check_rfc(951827696 * NS, "2000-02-29T12:34:56.000000000Z");
	check_rfc(951868800 * NS, "2000-03-01T00:00:00.000000000Z");
	check_rfc(946684799 * NS, "1999-12-31T23:59:59.000000000Z");
	check_rfc(946684800 * NS, "2000-01-01T00:00:00.000000000Z");
	/* 2100 is not (divisible by 100) */
	check_rfc(4107542399 * NS, "2100-02-28T23:59:59.000000000Z");
	check_rfc(4107542400 * NS, "2100-03-01T00:00:00.000000000Z");
	/* 2400 is again */
	check_rfc(13574563200ull * NS, "2400-02-29T00:00:00.000000000Z");
}

static void test_far(void **state)
{
	(void)state;
	check_rfc(2147483648ull * NS, "2038-01-19T03:14:08.000000000Z");
	check_rfc(UINT64_MAX, "2554-07-21T23:34:33.709551615Z");
	check_clock(UINT64_MAX, "23:34:33.709");
}

/* Agrees with gmtime_r everywhere a uint64_t of nanoseconds reaches. */
static void test_against_gmtime(void **state)
{
	(void)state;
	uint64_t s = 88172645463325252ull;
	struct ksm_buf b = { 0 };
	for (int i = 0; i < 100000; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		uint64_t ns = i < 50000 ? s : s % (4200000000ull * NS); /* dense up to 2103 */
		time_t secs = (time_t)(ns / NS);
		struct tm tm;
		assert_non_null(gmtime_r(&secs, &tm));
		char exp[64], clk[32];
		snprintf(exp, sizeof(exp), "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(ns % NS));
		snprintf(clk, sizeof(clk), "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(ns % NS / 1000000));
		ksm_buf_reset(&b);
		ksm_time_rfc3339(&b, ns);
		assert_string_equal(buf_str(&b), exp);
		ksm_buf_reset(&b);
		ksm_time_clock(&b, ns);
		assert_string_equal(buf_str(&b), clk);
	}
	ksm_buf_free(&b);
}

static void test_appends(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	ksm_buf_puts(&b, "t=");
	ksm_time_rfc3339(&b, 0);
	ksm_buf_putc(&b, ' ');
	ksm_time_clock(&b, T_REAL);
	assert_buf(&b, "t=1970-01-01T00:00:00.000000000Z 22:13:20.123");
	ksm_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_nanosecond_padding),
		cmocka_unit_test(test_leap_days),
		cmocka_unit_test(test_far),
		cmocka_unit_test(test_against_gmtime),
		cmocka_unit_test(test_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
