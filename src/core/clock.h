/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The clocks, in nanoseconds. */
#ifndef KSM_CLOCK_H
#define KSM_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "core/bootclock.h"

#define KSM_NS_PER_SEC 1000000000u

/* Now on clock id as nanoseconds: since the Unix epoch for CLOCK_REALTIME,
 * since boot for CLOCK_BOOTTIME (suspend included), since an unspecified
 * start for CLOCK_MONOTONIC. */
uint64_t ksm_clock_ns(clockid_t id);

static inline uint64_t ksm_monotonic_ns(void)
{
	return ksm_clock_ns(CLOCK_MONOTONIC);
}

/* Reads the Unix time of boot, ns (what a CLOCK_BOOTTIME time is added
 * to), as CLOCK_REALTIME between two reads of CLOCK_BOOTTIME: the value
 * of the narrowest of a few tries, with half its width as the error. */
void ksm_boot_time_read(struct ksm_boot_reading *r);

/* ns as a struct timespec (an absolute time for a timed wait, or a file
 * time). */
struct timespec ksm_timespec_of(uint64_t ns);

#endif
