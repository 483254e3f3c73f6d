/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Calls waited for at most a bound: file system work done on behalf of an
 * event through another process's view (its root, its passwd file, a path
 * of its filesystem) runs on a worker thread, so that a file system whose
 * server never answers (FUSE, a hung NFS) holds up that worker only, never
 * the caller.  A worker still running past its bound is left to finish on
 * its own (it then frees what it was given); a new one takes its place, up
 * to KSM_BOUNDED_HELD such held workers.  Linux only (pthreads).
 */
#ifndef KSM_BOUNDED_H
#define KSM_BOUNDED_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define KSM_BOUNDED_HELD 32 /* workers still running past their bound, at most */

/*
 * Runs fn(arg) on a worker and waits for it at most timeout_ns.  key (not
 * 0) names what the call is about (a mount namespace, a file system):
 * while a call of that key is held past its bound, another one is not
 * made.  Returns:
 *   0            fn returned; its results are in arg, still the caller's;
 *   -ETIMEDOUT   it had not returned in time: it goes on, and calls
 *                drop(arg) once it has (arg is no longer the caller's);
 *   -EBUSY       a call of the same key is held: fn not called;
 *   -EAGAIN      KSM_BOUNDED_HELD calls are held: fn not called;
 *   -errno       no worker could be started: fn not called.
 */
int ksm_bounded_call(uint64_t key, void (*fn)(void *arg), void *arg, void (*drop)(void *arg),
		     uint64_t timeout_ns);

/* Whether rc says the answer was given up for (not waited for, or not
 * asked because a call is held). */
static inline bool ksm_bounded_gave_up(int rc)
{
	return rc == -ETIMEDOUT || rc == -EBUSY || rc == -EAGAIN;
}

/* Calls still held past their bound now (a process ends only once its
 * threads return from the file system: then, when they are answered). */
unsigned ksm_bounded_held(void);
/* Calls whose answer was given up for, since start. */
uint64_t ksm_bounded_given_up(void);

#endif
