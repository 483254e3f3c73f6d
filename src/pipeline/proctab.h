/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The client's table of live processes: what the kernel event lacks
 * (the parent's image and command line, the image of an exiting process,
 * stable identities) comes from here.  Seeded from /proc at start, kept
 * up to date from the event stream, bounded in memory.
 */
#ifndef KSM_PROCTAB_H
#define KSM_PROCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_PROC_STR_MAX 4096 /* longest image or command line kept */
#define KSM_TICK_NS 10000000u
#define KSM_MAX_PROCS 32768   /* processes tracked at once (default pid_max) */ /* /proc start times are in USER_HZ (100) ticks */
#define KSM_ENDED_MAX 1024    /* ended processes kept for the events that still name them */

struct ksm_proc {
	uint32_t pid;     /* 0: free slot */
	bool seeded;      /* from /proc: start known to a tick only */
	uint8_t image_flags; /* enum ksm_path_state of image */
	uint64_t start;   /* ns since boot */
	uint32_t ppid;
	uint64_t parent_start;
	uint8_t guid[16];
	char *image;
	char *cmdline;
	size_t image_len, cmdline_len;
};

struct ksm_proctab {
	struct ksm_proc *slots;
	size_t cap; /* a power of two */
	size_t count;
	uint8_t boot_id[16];
	uint64_t full; /* processes not tracked because the table was full */
	/* The last processes that ended, oldest overwritten first: a child's
	 * exec recorded just after its parent's exit (the parent's exit comes
	 * before the kernel gives the child a new parent) still finds it. */
	struct ksm_proc ended[KSM_ENDED_MAX];
	size_t n_ended;
};

/* A process's identity: boot id, start time and pid in one 128-bit value,
 * unique across pid reuse and reboots. */
void ksm_guid(const uint8_t boot_id[16], uint32_t pid, uint64_t start, uint8_t out[16]);

int ksm_proctab_init(struct ksm_proctab *t, size_t max_procs, const uint8_t boot_id[16]);
void ksm_proctab_free(struct ksm_proctab *t);
/* The live process (pid, start), or NULL.  A seeded entry matches any start
 * within its tick. */
struct ksm_proc *ksm_proctab_find(struct ksm_proctab *t, uint32_t pid, uint64_t start);
/* The entry for (pid, start), created (replacing a stale one of a reused
 * pid) if needed; NULL when the table is full. */
struct ksm_proc *ksm_proctab_get(struct ksm_proctab *t, uint32_t pid, uint64_t start);
void ksm_proctab_remove(struct ksm_proctab *t, struct ksm_proc *p);
/* Removes an ended process, keeping it among the last KSM_ENDED_MAX ended
 * ones; returns where it is kept (valid until that many more end). */
struct ksm_proc *ksm_proctab_retire(struct ksm_proctab *t, struct ksm_proc *p);
/* An ended process (pid, start) still kept, or NULL. */
struct ksm_proc *ksm_proctab_find_ended(struct ksm_proctab *t, uint32_t pid, uint64_t start);
/* Replaces a string field (copy, cut to KSM_PROC_STR_MAX). */
void ksm_proc_set(char **field, size_t *field_len, const void *s, size_t len);
/* Sets the command line from NUL-separated arguments (a record's argv,
 * /proc/PID/cmdline), joined as ksm_argv_join() does, cut to
 * KSM_PROC_STR_MAX. */
void ksm_proc_set_cmdline(struct ksm_proc *p, const void *argv, size_t len);
/* Fills the table from a /proc-like directory; returns processes read. */
int ksm_proctab_seed(struct ksm_proctab *t, const char *proc);
/* Reads the boot id (a UUID) from /proc/sys/kernel/random/boot_id. */
int ksm_read_boot_id(const char *path, uint8_t out[16]);

#endif
