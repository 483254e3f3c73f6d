// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/clock.h"

uint64_t ksm_clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * KSM_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t ksm_boot_time_ns(void)
{
	return ksm_clock_ns(CLOCK_REALTIME) - ksm_clock_ns(CLOCK_BOOTTIME);
}

struct timespec ksm_timespec_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / KSM_NS_PER_SEC), .tv_nsec = (long)(ns % KSM_NS_PER_SEC) };
}
