/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Execution policy enforcement with fanotify FAN_OPEN_EXEC_PERM (with
 * --audit, plain FAN_OPEN_EXEC notices, which no exec waits for).
 *
 * Every filesystem mounted in ksysmon's mount namespace (now and later:
 * /proc/self/mountinfo is watched by a thread of its own) is marked; each
 * exec is denied when the resolved path matches a --deny glob or the
 * content's SHA-256 a --deny-sha256 digest.  The threads that answer never
 * do I/O a filesystem can hold up: readers take one event per read (the
 * kernel's open of the file for the reader is the one wait left, and more
 * readers are started while all are in it; with --audit one reader takes
 * the notices in order), path rules are decided from
 * the dentry cache, content goes to hasher threads, and a timer answers
 * every exec whose timeout passed.  Refusals are queued as exec_blocked
 * records that the main loop takes with ksm_deny_drain(), each with the
 * cgroup of the process that tried (/proc/PID/cgroup), read before the
 * exec is answered.
 *
 * Safety: ksysmon's own process is always allowed; an exec that cannot be
 * decided within the timeout (or whose file cannot be read, or lives on
 * FUSE under content rules) is allowed, or denied with fail_closed; on
 * stop the marks go first, every pending exec is answered, and the
 * threads are joined within a time limit.
 */
#ifndef KSM_DENY_H
#define KSM_DENY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ksm_deny_config {
	const char *const *globs; /* checked --deny patterns */
	size_t n_globs;
	const char *const *sha256; /* --deny-sha256 digests, 64 hex digits */
	size_t n_sha256;
	bool audit;       /* report, never deny */
	bool fail_closed; /* deny what cannot be decided in time */
	uint32_t timeout_ms;
	/* execs from superblocks not watched are killed by the sensor
	 * (--deny-unverifiable): FUSE is then left unwatched, so that no
	 * decision ever waits on a FUSE server */
	bool unwatched_killed;
	/* told the superblocks watched (kernel dev_t encoding) after each
	 * marking, on the calling thread at start and on the mount thread
	 * later; may be NULL */
	void (*watched)(void *ctx, const uint32_t *sb_devs, size_t n);
	void *watched_ctx;
	/* the unified cgroup hierarchy's root directory (-1: none), where the
	 * id of a refused exec's cgroup is read; the engine keeps a copy */
	int cgroup_root_fd;
};

struct ksm_deny;

/* Marks the filesystems and starts the decision thread.  Returns 0, or -1
 * with a one-line reason in err. */
int ksm_deny_start(struct ksm_deny **out, const struct ksm_deny_config *cfg, char *err,
		   size_t errlen);

/* Hands each queued exec_blocked record (and, when the queue overflowed,
 * an events_lost record) to emit, oldest first; returns how many. */
size_t ksm_deny_drain(struct ksm_deny *d, void (*emit)(void *ctx, const void *rec, size_t size),
		      void *ctx);

/* Stops deciding: removes the marks, answers every pending exec, closes
 * the fanotify descriptor and prints a one-line summary on stderr.
 * Records still queued can be drained afterwards.  Idempotent. */
void ksm_deny_stop(struct ksm_deny *d);

/* Stops if needed and frees everything; d may be NULL. */
void ksm_deny_free(struct ksm_deny *d);

#endif
