// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/bootclock.c: the boot time kept through readings' noise, its
 * epochs when the wall clock is set, and the same clock rebuilt from the
 * epochs a capture records. */
#include "unit.h"

#include "core/bootclock.h"

#define BOOT 1700000000000000000ull
#define SEC 1000000000ull

static struct ksm_boot_reading reading(uint64_t boot_ns, uint64_t error_ns, uint64_t at)
{
	return (struct ksm_boot_reading){ .boot_ns = boot_ns, .error_ns = error_ns, .at = at };
}

/* Readings that differ by no more than their errors say the same boot
 * time: every instant keeps the value it had, reading after reading
 * (REALTIME - BOOTTIME read twice differs by tens of ns, sometimes by
 * hundreds of us when the reader is preempted in between). */
static void test_noise_is_not_a_move(void **state)
{
	(void)state;
	struct ksm_boot_clock c;
	ksm_boot_clock_init(&c, BOOT, 40);
	uint64_t changes = c.changes;
	const int64_t jitter[] = { 40, -40, 79, -80, 0, 25, -13 };
	for (size_t i = 0; i < sizeof(jitter) / sizeof(jitter[0]); i++) {
		struct ksm_boot_reading r = reading(BOOT + (uint64_t)jitter[i], 40, (i + 1) * SEC);
		assert_false(ksm_boot_clock_update(&c, &r));
		assert_int_equal(ksm_boot_clock_wall(&c, 5 * SEC + 123), BOOT + 5 * SEC + 123);
	}
	/* a wide reading (preempted between its reads) is not a move either */
	struct ksm_boot_reading wide = reading(BOOT + 150000, 160000, 9 * SEC);
	assert_false(ksm_boot_clock_update(&c, &wide));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.changes, changes);
	/* just past both errors: the kernel's value moved */
	struct ksm_boot_reading past = reading(BOOT + 81, 40, 10 * SEC);
	assert_true(ksm_boot_clock_update(&c, &past));
	assert_int_equal(c.n, 2);
}

/* A step of the wall clock: instants from the reading on take the new
 * value, earlier ones keep theirs; a step back is one more epoch. */
static void test_step(void **state)
{
	(void)state;
	struct ksm_boot_clock c;
	ksm_boot_clock_init(&c, BOOT, 30);
	struct ksm_boot_reading fwd = reading(BOOT + 3600 * SEC, 30, 100 * SEC);
	assert_true(ksm_boot_clock_update(&c, &fwd));
	assert_int_equal(ksm_boot_clock_wall(&c, 99 * SEC), BOOT + 99 * SEC);
	assert_int_equal(ksm_boot_clock_wall(&c, 100 * SEC - 1), BOOT + 100 * SEC - 1);
	assert_int_equal(ksm_boot_clock_wall(&c, 100 * SEC), BOOT + 3700 * SEC);
	assert_int_equal(ksm_boot_clock_wall(&c, 0), BOOT);
	/* the new value's noise is no move */
	struct ksm_boot_reading same = reading(BOOT + 3600 * SEC - 50, 30, 101 * SEC);
	assert_false(ksm_boot_clock_update(&c, &same));
	struct ksm_boot_reading back = reading(BOOT - 2 * SEC, 30, 200 * SEC);
	assert_true(ksm_boot_clock_update(&c, &back));
	assert_int_equal(c.n, 3);
	assert_int_equal(ksm_boot_clock_wall(&c, 150 * SEC), BOOT + 3750 * SEC);
	assert_int_equal(ksm_boot_clock_wall(&c, 250 * SEC), BOOT + 248 * SEC);
	assert_int_equal(ksm_boot_clock_wall(&c, 10 * SEC), BOOT + 10 * SEC);
	assert_int_equal(c.changes, 2);
	/* no clock: the instant itself */
	assert_int_equal(ksm_boot_clock_wall(NULL, 77), 77);
}

static void assert_same_clock(const struct ksm_boot_clock *a, const struct ksm_boot_clock *b)
{
	assert_int_equal(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		assert_int_equal(a->epochs[i].from, b->epochs[i].from);
		assert_int_equal(a->epochs[i].boot_ns, b->epochs[i].boot_ns);
	}
}

/* A capture records every epoch; a replay adds them in order and gets the
 * same clock, also when they are recorded again (a new file's snapshot, a
 * resync after a gap) and when an epoch comes later in the file. */
static void test_recorded_epochs(void **state)
{
	(void)state;
	struct ksm_boot_clock live, replay;
	ksm_boot_clock_init(&live, BOOT, 20);
	struct ksm_boot_reading r1 = reading(BOOT + 7 * SEC, 20, 50 * SEC);
	struct ksm_boot_reading r2 = reading(BOOT + 5 * SEC, 20, 80 * SEC);
	ksm_boot_clock_update(&live, &r1);

	ksm_boot_clock_init(&replay, BOOT - 1, 0); /* the header's, replaced */
	for (int again = 0; again < 2; again++)
		for (unsigned i = 0; i < live.n; i++)
			ksm_boot_clock_add(&replay, live.epochs[i].from, live.epochs[i].boot_ns);
	assert_same_clock(&live, &replay);
	ksm_boot_clock_update(&live, &r2);
	ksm_boot_clock_add(&replay, r2.at, r2.boot_ns);
	assert_same_clock(&live, &replay);
	/* an epoch recorded again changes nothing (a capture writes its
	 * clock whenever the clock changed since it last did) */
	uint64_t changes = replay.changes;
	ksm_boot_clock_add(&replay, r2.at, r2.boot_ns);
	assert_int_equal(replay.changes, changes);
	assert_same_clock(&live, &replay);
	/* an older capture's record: one value for every instant */
	ksm_boot_clock_init(&replay, BOOT + 9, 0);
	assert_int_equal(replay.n, 1);
	assert_int_equal(ksm_boot_clock_wall(&replay, 90 * SEC), BOOT + 9 + 90 * SEC);
}

/* Past KSM_BOOT_EPOCHS steps, the oldest after the first are merged into
 * the first; the recent ones stay exact. */
static void test_many_steps(void **state)
{
	(void)state;
	struct ksm_boot_clock c;
	ksm_boot_clock_init(&c, BOOT, 10);
	const unsigned steps = KSM_BOOT_EPOCHS + 10;
	for (unsigned i = 1; i <= steps; i++) {
		struct ksm_boot_reading r = reading(BOOT + i * SEC, 10, i * 100 * SEC);
		assert_true(ksm_boot_clock_update(&c, &r));
	}
	assert_int_equal(c.n, KSM_BOOT_EPOCHS);
	assert_int_equal(c.epochs[0].from, 0);
	for (unsigned i = 1; i < c.n; i++)
		assert_true(c.epochs[i].from > c.epochs[i - 1].from);
	for (unsigned i = steps - KSM_BOOT_EPOCHS + 2; i <= steps; i++)
		assert_int_equal(ksm_boot_clock_wall(&c, i * 100 * SEC + 5), BOOT + i * SEC + i * 100 * SEC + 5);
	assert_int_equal(ksm_boot_clock_wall(&c, 50 * SEC), BOOT + 50 * SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noise_is_not_a_move),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_recorded_epochs),
		cmocka_unit_test(test_many_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
