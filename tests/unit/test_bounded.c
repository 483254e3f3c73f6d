// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Calls waited for at most a bound: a call that returns in time gives its
 * answer; one that does not (held until the test lets it go, as a file
 * system whose server never answers) is given up for, then frees what it
 * was given once it returns; a key held is not asked again; no more than
 * KSM_BOUNDED_HELD calls are held at once. */
#include "unit.h"

#include <pthread.h>

#include "core/bounded.h"

#define SHORT_NS 20000000ull /* 20 ms */

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool open;
};

static struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };

struct call {
	int answer;      /* set by the call */
	bool wait_gate;  /* held until the gate opens */
};

static int dropped; /* calls freed by their worker, under gate.lock */

static void run(void *p)
{
	struct call *c = p;
	if (c->wait_gate) {
		pthread_mutex_lock(&gate.lock);
		while (!gate.open)
			pthread_cond_wait(&gate.cv, &gate.lock);
		pthread_mutex_unlock(&gate.lock);
	}
	c->answer = 42;
}

static void drop(void *p)
{
	pthread_mutex_lock(&gate.lock);
	dropped++;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.lock);
	free(p);
}

static struct call *new_call(bool held)
{
	struct call *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->wait_gate = held;
	return c;
}

static void set_gate(bool open)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = open;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.lock);
}

/* Waits until n held calls have been freed by their workers (each left
 * the held set before). */
static void wait_dropped(int n)
{
	pthread_mutex_lock(&gate.lock);
	while (dropped < n)
		pthread_cond_wait(&gate.cv, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	assert_int_equal(ksm_bounded_held(), 0);
}

static void test_in_time(void **state)
{
	(void)state;
	struct call *c = new_call(false);
	/* a bound far past what a call takes: answered */
	assert_int_equal(ksm_bounded_call(7, run, c, drop, 60 * 1000000000ull), 0);
	assert_int_equal(c->answer, 42);
	free(c);
	assert_int_equal(ksm_bounded_held(), 0);
}

static void test_held_then_freed(void **state)
{
	(void)state;
	uint64_t given_up = ksm_bounded_given_up();
	set_gate(false);
	dropped = 0;
	struct call *held = new_call(true);
	assert_int_equal(ksm_bounded_call(1, run, held, drop, SHORT_NS), -ETIMEDOUT);
	assert_int_equal(ksm_bounded_held(), 1);
	/* the same key is not asked again while held; arg stays the caller's */
	struct call *again = new_call(false);
	assert_int_equal(ksm_bounded_call(1, run, again, drop, SHORT_NS), -EBUSY);
	assert_int_equal(again->answer, 0);
	/* another key is, on a worker of its own */
	assert_int_equal(ksm_bounded_call(2, run, again, drop, 60 * 1000000000ull), 0);
	assert_int_equal(again->answer, 42);
	free(again);
	assert_int_equal(ksm_bounded_given_up(), given_up + 2);
	set_gate(true);
	wait_dropped(1);
	/* the key is free again */
	struct call *c = new_call(false);
	assert_int_equal(ksm_bounded_call(1, run, c, drop, 60 * 1000000000ull), 0);
	free(c);
}

static void test_at_most_held(void **state)
{
	(void)state;
	set_gate(false);
	dropped = 0;
	for (unsigned i = 0; i < KSM_BOUNDED_HELD; i++)
		assert_int_equal(ksm_bounded_call(100 + i, run, new_call(true), drop, SHORT_NS),
				 -ETIMEDOUT);
	assert_int_equal(ksm_bounded_held(), KSM_BOUNDED_HELD);
	struct call *c = new_call(false);
	assert_int_equal(ksm_bounded_call(99, run, c, drop, SHORT_NS), -EAGAIN);
	assert_int_equal(c->answer, 0);
	set_gate(true);
	wait_dropped(KSM_BOUNDED_HELD);
	assert_int_equal(ksm_bounded_call(99, run, c, drop, 60 * 1000000000ull), 0);
	assert_int_equal(c->answer, 42);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_time),
		cmocka_unit_test(test_held_then_freed),
		cmocka_unit_test(test_at_most_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
