// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/clock.h"

uint64_t ksm_clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * KSM_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Tries for the narrowest bracket: a read interrupted in between (a
 * preemption, an interrupt) can widen one by hundreds of microseconds. */
#define BOOT_READ_TRIES 5

void ksm_boot_time_read(struct ksm_boot_reading *r)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < BOOT_READ_TRIES; i++) {
		uint64_t b1 = ksm_clock_ns(CLOCK_BOOTTIME);
		uint64_t real = ksm_clock_ns(CLOCK_REALTIME);
		uint64_t b2 = ksm_clock_ns(CLOCK_BOOTTIME);
		/* real was read at a CLOCK_BOOTTIME between b1 and b2: the boot
		 * time is between real - b2 and real - b1 */
		if (b2 - b1 >= best)
			continue;
		best = b2 - b1;
		r->boot_ns = real - b1 - best / 2;
		r->error_ns = (best + 1) / 2;
		r->at = b1;
	}
}

struct timespec ksm_timespec_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / KSM_NS_PER_SEC), .tv_nsec = (long)(ns % KSM_NS_PER_SEC) };
}
