/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where ksysmon's own mount namespace (the host's) shows a directory that
 * the kernel named by its filesystem (device) and its path inside that
 * filesystem: the root of a process in another mount namespace, such as a
 * container's overlay after pivot_root.  Read from /proc/self/mountinfo,
 * kept while poll(2) on it says the mount table did not change.
 */
#ifndef KSM_MOUNTS_H
#define KSM_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decode.h"

/* One line of mountinfo, unescaped. */
struct ksm_mount {
	uint32_t id;     /* mount id (field 1), as statx(2) gives it (STATX_MNT_ID) */
	uint32_t dev;    /* major:minor (field 3), in st_dev form: the superblock's (stat
			  * gives a subvolume's own on btrfs) */
	char *root;      /* the mount's top inside its filesystem (field 4) */
	char *point;     /* where it is mounted, from ksysmon's root (field 5) */
	uint64_t since;  /* CLOCK_BOOTTIME ns: it was mounted before then */
};

struct ksm_mount_table {
	struct ksm_mount *v; /* in mountinfo's order */
	size_t n;
	bool cut;            /* mountinfo was longer than was read: mounts are missing */
};

/* Parses mountinfo text (len bytes); lines it cannot read are skipped.
 * Every entry's since is set to `since`.  0, or -ENOMEM. */
int ksm_mounts_parse(const char *text, size_t len, uint64_t since, struct ksm_mount_table *t);
void ksm_mounts_free(struct ksm_mount_table *t);

/* Undoes mountinfo's escapes (\ooo for space, tab, newline, backslash)
 * of s into out (len bytes, NUL-terminated, cut to fit). */
void ksm_mountinfo_unescape(const char *s, char *out, size_t len);

/*
 * The paths, in t's namespace, that would show the directory fs_path of
 * filesystem dev: through each mount of dev whose top holds fs_path.
 * Calls fn with each (shortest first; equal ones in mountinfo's order) and
 * its mount until fn returns true (fn proves that the path does show it:
 * a later mount, or one moved there, may lie over it); returns the index
 * of that mount, or -1.  Pure: the table is all it reads.
 */
long ksm_mounts_find(const struct ksm_mount_table *t, uint32_t dev, const char *fs_path,
		     bool (*fn)(void *ctx, const char *path, const struct ksm_mount *m), void *ctx);

/* The live mount table and the last answer. */
struct ksm_mounts {
	int fd;                    /* mountinfo, open: poll says when the table changed */
	const char *proc_dir;      /* "/proc" */
	size_t max;                /* bytes of mountinfo read at most */
	struct ksm_mount_table t;
	uint64_t valid_from;       /* CLOCK_BOOTTIME ns: t holds since then, until poll says otherwise */
	uint64_t generation;       /* tables read */
	struct {                   /* the last answer, for the same root in the same table */
		uint64_t generation;
		uint32_t dev;
		long index;
		char *fs_path;
		char *path;
		uint64_t shown_dev, shown_ino; /* what path showed, as stat(2) gives it */
	} last;
};

#define KSM_MOUNTINFO_MAX (64u << 20) /* bytes of mountinfo read; past it the table is cut */

/* Opens proc_dir's self/mountinfo and reads it (at most
 * KSM_MOUNTINFO_MAX bytes; _max: max bytes).  0, or -errno. */
int ksm_mounts_open(struct ksm_mounts *m, const char *proc_dir);
int ksm_mounts_open_max(struct ksm_mounts *m, const char *proc_dir, size_t max);
void ksm_mounts_close(struct ksm_mounts *m);

/* The root a process_exec names by its filesystem. */
struct ksm_root_query {
	uint32_t dev;        /* st_dev form */
	const char *fs_path; /* NUL-terminated */
	uint64_t exec_ns;    /* CLOCK_BOOTTIME ns of the exec */
	uint32_t pid;
	uint64_t start_ns;   /* of the process, ns since boot */
};

/*
 * Where ksysmon's namespace shows q's root.  The answer is exact: a path
 * is taken only when walking it ends on the mount of dev it was made
 * from, and when that mount was there before the exec or the process
 * still lives with that very directory as its root (its root holds the
 * filesystem, so no other can have taken its device number); none found
 * is unreachable when the whole table held already at the exec, or the
 * process still lives with its root on dev.  Otherwise (the process
 * ended and the table changed since: a container stopped before ksysmon
 * looked; or the table was cut) the answer is UNRESOLVED.  *path (PATH
 * only) stays valid until the next call.
 */
enum ksm_root_at ksm_root_locate(struct ksm_mounts *m, const struct ksm_root_query *q,
				     const char **path);

#endif
