/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Several producer threads (the notify routines) against one reader
 * (IRP_MJ_READ) on one small queue, built with -fsanitize=thread.  Every
 * event must arrive exactly once, in per-producer order, or be accounted
 * for by an events_lost record.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "harness.h"
#include "queue.h"

#define PRODUCERS 4
#define PER_PRODUCER 20000

static struct ksm_queue q;
static atomic_int producers_left = PRODUCERS;
static atomic_long built_failures;

static void *producer(void *arg)
{
	ksm_u32 pid = (ksm_u32)(uintptr_t)arg;
	static const WCHAR name[] = { '\\', 'a', '.', 'd', 'l', 'l' };
	struct ksm_wstr path = { name, sizeof(name) };

	for (ksm_u32 i = 1; i <= PER_PRODUCER; i++) {
		struct ksm_entry *e;
		ksm_u64 now = ksm_now_ns();

		if (i % 3 == 0)
			e = ksm_rec_image_load(now, pid, i, 0, 0, FALSE, &path, 100);
		else
			e = ksm_rec_thread(now, KSM_EV_THREAD_CREATE, pid, i);
		if (!e) {
			atomic_fetch_add(&built_failures, 1);
			ksm_queue_count_lost(&q, KSM_EV_THREAD_CREATE, now);
			continue;
		}
		ksm_queue_push(&q, e);
	}
	atomic_fetch_sub(&producers_left, 1);
	return NULL;
}

int main(void)
{
	pthread_t th[PRODUCERS];
	ksm_u32 last[PRODUCERS + 1] = { 0 };
	unsigned long long received = 0, lost = 0, lost_records = 0;
	static uint8_t buf[4096];
	int order_ok = 1, decode_ok = 1;

	ksm_rt_init();
	/* Small on purpose: the producers must overrun the reader. */
	ksm_queue_init(&q, 64, 1 << 20);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, (void *)(i + 1));
	for (;;) {
		int done = atomic_load(&producers_left) == 0;
		ksm_u32 got = 0, needed = 0, off = 0;

		if (ksm_queue_read(&q, buf, sizeof(buf), &got, &needed) != STATUS_SUCCESS)
			decode_ok = 0;
		while (off < got) {
			struct ksm_event ev;
			if (ksm_decode(buf + off, got - off, 0, &ev) != KSM_DECODE_OK) {
				decode_ok = 0;
				break;
			}
			if (ev.type == KSM_EV_EVENTS_LOST) {
				lost_records++;
				for (int t = 0; t < KSM_EV_MAX; t++)
					lost += ev.u.lost.lost[t];
			} else if (ev.pid >= 1 && ev.pid <= PRODUCERS) {
				if (ev.tid <= last[ev.pid])
					order_ok = 0;
				last[ev.pid] = ev.tid;
				received++;
			} else {
				decode_ok = 0;
			}
			off += ev.size;
		}
		if (done && got == 0)
			break;
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);

	printf("received %llu, lost %llu in %llu reports\n", received, lost, lost_records);

	int before = h_failed_checks;
	CHECK(decode_ok);
	CHECK(order_ok);
	CHECK_EQ(received + lost, (unsigned long long)PRODUCERS * PER_PRODUCER);
	CHECK(lost > 0); /* the bound was exercised */
	CHECK_EQ(q.count, 0);
	CHECK_EQ(shim_live_allocs(), 0);
	if (h_failed_checks == before) {
		h_passed++;
		printf("ok   producers_vs_reader\n");
	} else {
		h_failed++;
		printf("FAIL producers_vs_reader\n");
	}
	return SUMMARY();
}
