// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "unit.h"

#include "core/clock.h"

static uint64_t ns_of(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* Each clock against clock_gettime(2) read around it. */
static void test_clocks_against_clock_gettime(void **state)
{
	(void)state;
	static const clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct timespec a, b;
		clock_gettime(ids[i], &a);
		uint64_t ns = ksm_clock_ns(ids[i]);
		clock_gettime(ids[i], &b);
		uint64_t lo = (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec;
		uint64_t hi = (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec;
		assert_true(lo <= ns && ns <= hi);
	}
	uint64_t m1 = ksm_monotonic_ns(), m2 = ksm_monotonic_ns();
	assert_true(m1 <= m2);
}

/* The boot time against the kernel's own, /proc/stat btime (whole
 * seconds), and against the bracket of a reading made here: both hold the
 * kernel's value, so they overlap, and the reading is the narrowest of
 * its tries (a bracket of a few hundred ns at most on an idle machine; a
 * wide one is a preemption). */
static void test_boot_time(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		struct timespec b1, r, b2;
		struct ksm_boot_reading k;
		clock_gettime(CLOCK_BOOTTIME, &b1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_BOOTTIME, &b2);
		ksm_boot_time_read(&k);
		uint64_t lo = ns_of(&r) - ns_of(&b2), hi = ns_of(&r) - ns_of(&b1);
		assert_true(k.boot_ns + k.error_ns >= lo && k.boot_ns - k.error_ns <= hi);
		assert_true(k.at >= ns_of(&b2));
	}
	FILE *f = fopen("/proc/stat", "r");
	assert_non_null(f);
	char line[256];
	long long btime = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	assert_true(btime > 0);
	struct ksm_boot_reading k;
	ksm_boot_time_read(&k);
	long long s = (long long)(k.boot_ns / 1000000000u);
	assert_true(s >= btime - 1 && s <= btime + 1);
}

static void test_timespec_of(void **state)
{
	(void)state;
	struct timespec t = ksm_timespec_of(0);
	assert_int_equal(t.tv_sec, 0);
	assert_int_equal(t.tv_nsec, 0);
	t = ksm_timespec_of(999999999u);
	assert_int_equal(t.tv_sec, 0);
	assert_int_equal(t.tv_nsec, 999999999);
	t = ksm_timespec_of(1000000000u);
	assert_int_equal(t.tv_sec, 1);
	assert_int_equal(t.tv_nsec, 0);
	t = ksm_timespec_of(T_REAL);
	assert_int_equal(t.tv_sec, 1700000000);
	assert_int_equal(t.tv_nsec, 123456789);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clocks_against_clock_gettime),
		cmocka_unit_test(test_boot_time),
		cmocka_unit_test(test_timespec_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
