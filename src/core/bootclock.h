/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wall-clock time of boot over a run: what a CLOCK_BOOTTIME stamp of
 * the kernel (an event's time, a process's or a container's start) is
 * added to.
 *
 * The kernel's boot time (CLOCK_REALTIME - CLOCK_BOOTTIME) moves only when
 * the wall clock is set: a step (clock_settimeofday, NTP's step, a leap
 * second); NTP's slewing changes both clocks alike.  Reading it takes two
 * clock reads, whose distance is noise, not a move.  So a value is kept
 * until a reading proves that the boot time moved beyond both readings'
 * errors, and each value holds from the instant it was read on (an
 * epoch): an instant is given the wall clock that was in force when it
 * happened, as far as the readings tell.  The same instant thus has the
 * same wall-clock time in every event that names it, however much later,
 * and in a replay of a capture, which records the epochs.  Where a step
 * happened between two readings (one batch of events apart), the instants
 * in between are given the older value.
 */
#ifndef KSM_BOOTCLOCK_H
#define KSM_BOOTCLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Epochs kept: past that many steps in one run, the oldest after the
 * first are merged into the first (their instants then take its value). */
#define KSM_BOOT_EPOCHS 64

struct ksm_boot_epoch {
	uint64_t from;    /* CLOCK_BOOTTIME ns from which this value holds (the first: 0) */
	uint64_t boot_ns; /* the wall-clock time of boot, ns since the Unix epoch */
};

struct ksm_boot_clock {
	struct ksm_boot_epoch epochs[KSM_BOOT_EPOCHS]; /* ascending by from */
	unsigned n;
	uint64_t error_ns; /* how far the last epoch's value may be from the kernel's */
	uint64_t changes;  /* counts every change, for who keeps a copy (a capture) */
};

/* One reading of the boot time: value, error bound, and when it was read
 * (CLOCK_BOOTTIME ns). */
struct ksm_boot_reading {
	uint64_t boot_ns;
	uint64_t error_ns;
	uint64_t at;
};

/* One value for every instant (a capture's header, an older capture's
 * clock record, a live start). */
void ksm_boot_clock_init(struct ksm_boot_clock *c, uint64_t boot_ns, uint64_t error_ns);
/* Live: a new reading; a new epoch from r->at when it proves the boot
 * time moved (the wall clock was set).  true: a new epoch. */
bool ksm_boot_clock_update(struct ksm_boot_clock *c, const struct ksm_boot_reading *r);
/* A recorded epoch (replay): the epochs from `from` on are replaced by it
 * (from 0: the only one).  Recording every epoch again in order gives the
 * same clock. */
void ksm_boot_clock_add(struct ksm_boot_clock *c, uint64_t from, uint64_t boot_ns);

/* The wall-clock time (ns since the Unix epoch) of CLOCK_BOOTTIME instant
 * t; c NULL: t itself (records of realtime-stamped sensors only). */
static inline uint64_t ksm_boot_clock_wall(const struct ksm_boot_clock *c, uint64_t t)
{
	if (!c || !c->n)
		return t;
	unsigned i = c->n - 1;
	while (i > 0 && c->epochs[i].from > t)
		i--;
	return t + c->epochs[i].boot_ns;
}

#endif
