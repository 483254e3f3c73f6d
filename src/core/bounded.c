// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/bounded.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"

#define WORKER_STACK (256u << 10) /* the calls made here keep their buffers on the heap */

struct worker {
	pthread_cond_t cv; /* a call given, or done (both sides check state) */
	enum { IDLE, RUNNING, DONE } state;
	bool held;         /* given up for: it finishes alone */
	uint64_t key;
	void (*fn)(void *);
	void (*drop)(void *);
	void *arg;
};

/* One set for the process: a held worker may outlive any caller's state. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *ready; /* the worker calls go to; NULL: none started */
static struct worker *held[KSM_BOUNDED_HELD];
static unsigned n_held;
static uint64_t n_given_up;

static void unhold(struct worker *w)
{
	for (unsigned i = 0; i < n_held; i++)
		if (held[i] == w) {
			held[i] = held[--n_held];
			return;
		}
}

static void *work(void *p)
{
	struct worker *w = p;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (w->state != RUNNING)
			pthread_cond_wait(&w->cv, &lock);
		pthread_mutex_unlock(&lock);
		w->fn(w->arg);
		pthread_mutex_lock(&lock);
		if (w->held)
			break;
		w->state = DONE;
		pthread_cond_broadcast(&w->cv);
	}
	/* given up for: nobody waits for it any more */
	unhold(w);
	pthread_mutex_unlock(&lock);
	if (w->drop)
		w->drop(w->arg);
	pthread_cond_destroy(&w->cv);
	free(w);
	return NULL;
}

/* A worker waiting for calls (under lock); NULL with *err set. */
static struct worker *start_worker(int *err)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;

	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&ta, WORKER_STACK);
	int e = pthread_create(&t, &ta, work, w);
	pthread_attr_destroy(&ta);
	if (e) {
		pthread_cond_destroy(&w->cv);
		free(w);
		*err = -e;
		return NULL;
	}
	return w;
}

static bool is_held(uint64_t key)
{
	for (unsigned i = 0; key && i < n_held; i++)
		if (held[i]->key == key)
			return true;
	return false;
}

int ksm_bounded_call(uint64_t key, void (*fn)(void *arg), void *arg, void (*drop)(void *arg),
		     uint64_t timeout_ns)
{
	int err = 0;
	pthread_mutex_lock(&lock);
	if (is_held(key) || n_held == KSM_BOUNDED_HELD) {
		err = is_held(key) ? -EBUSY : -EAGAIN;
		n_given_up++;
		pthread_mutex_unlock(&lock);
		return err;
	}
	if (!ready && !(ready = start_worker(&err))) {
		pthread_mutex_unlock(&lock);
		return err;
	}
	struct worker *w = ready;
	w->key = key;
	w->fn = fn;
	w->drop = drop;
	w->arg = arg;
	w->state = RUNNING;
	pthread_cond_broadcast(&w->cv);
	struct timespec until = ksm_timespec_of(ksm_monotonic_ns() + timeout_ns);
	while (w->state == RUNNING && pthread_cond_timedwait(&w->cv, &lock, &until) != ETIMEDOUT)
		;
	if (w->state == DONE) {
		w->state = IDLE;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	w->held = true; /* it frees itself and arg once fn returns */
	held[n_held++] = w;
	n_given_up++;
	ready = NULL;
	pthread_mutex_unlock(&lock);
	return -ETIMEDOUT;
}

unsigned ksm_bounded_held(void)
{
	pthread_mutex_lock(&lock);
	unsigned n = n_held;
	pthread_mutex_unlock(&lock);
	return n;
}

uint64_t ksm_bounded_given_up(void)
{
	pthread_mutex_lock(&lock);
	uint64_t n = n_given_up;
	pthread_mutex_unlock(&lock);
	return n;
}
