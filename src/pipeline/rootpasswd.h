/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User names as a process's own root sees them: the /etc/passwd of that
 * root (a container's, not the host's), read through /proc/PID/root
 * without ever leaving it (symbolic links resolve inside the root, magic
 * links are refused), of a bounded size, and only while /proc/PID is still
 * the process the event is about.
 */
#ifndef KSM_ROOTPASSWD_H
#define KSM_ROOTPASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_PASSWD_MAX (4u << 20) /* bytes of a passwd file read; a larger one is refused */
/* longest an event waits for what is read through a process's root: its
 * file system may be served by a process that never answers (FUSE) */
#define KSM_ROOT_WAIT_MS 200

/* uid -> name, as a passwd file lists them (the first line of a uid wins,
 * as getpwuid(3) answers); v sorted by uid, one entry per uid */
struct ksm_passwd {
	struct ksm_passwd_entry {
		uint32_t uid;
		size_t line; /* the entry's rank in the file */
		char *name;
	} *v;
	size_t n;
};

/* Parses passwd(5) text (len bytes); malformed lines are skipped.  0, or
 * -ENOMEM.  O(n log n) in the lines: a hostile file of the largest size
 * accepted is read in milliseconds. */
int ksm_passwd_parse(const char *data, size_t len, struct ksm_passwd *out);
/* The name of uid, or NULL. */
const char *ksm_passwd_name(const struct ksm_passwd *p, uint32_t uid);
void ksm_passwd_free(struct ksm_passwd *p);

/* Which process, and what the caller knows of it. */
struct ksm_passwd_of {
	uint32_t pid;
	uint64_t start_ns; /* start of the process, ns since boot: a reused pid is refused */
	uint64_t mnt_ns;   /* its mount namespace's inode; 0: not checked */
};

/* What a file was when looked at: any change of it (replaced, written,
 * truncated) changes one of these, but for a write of the same size within
 * one tick of the file system's clock. */
struct ksm_stamp {
	bool present; /* else there was no file */
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

bool ksm_stamp_equal(const struct ksm_stamp *a, const struct ksm_stamp *b);
/* The identity of the file at path (links followed); absent when stat fails. */
void ksm_stamp_of_path(const char *path, struct ksm_stamp *id);

enum ksm_root_kind {
	KSM_ROOT_HOST,  /* the process's root is ksysmon's own: the host's user database applies */
	KSM_ROOT_OWN,   /* another root: *out holds its passwd file's names */
};

/*
 * Reads the passwd file of the root of process `of` under proc_dir
 * ("/proc").  Returns the kind of root, or -errno: -ESRCH when the process
 * is gone or is no longer the one named (pid reused, or another mount
 * namespace), -EFBIG past KSM_PASSWD_MAX, -EINVAL when it is not a regular
 * file, the open's error otherwise (-ENOENT: the root has none; then *out
 * is empty and KSM_ROOT_OWN returned); or, when the answer did not come
 * within KSM_ROOT_WAIT_MS or a read of the same root is still held,
 * core/bounded.h's errors (ksm_bounded_gave_up).
 */
int ksm_passwd_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
		       struct ksm_passwd *out, struct ksm_stamp *id);
/* As ksm_passwd_of_root, with *id the identity of the file read (absent
 * for KSM_ROOT_HOST or no file; taken before the read, so that a change
 * during it is seen as one next time). */

/* The identity of the passwd file of the root of `of`, not read: the kind
 * of root, or -errno as ksm_passwd_of_root (-ESRCH: gone; given up for,
 * as there); the open's errors but -ENOENT (then KSM_ROOT_OWN, id absent)
 * returned. */
int ksm_passwd_id_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
			  struct ksm_stamp *id);

/* A live process of mount namespace mnt_ns (its root stands for the
 * namespace's when the event's process is gone): 0 and *of, or -ESRCH. */
int ksm_mnt_ns_member(const char *proc_dir, uint64_t mnt_ns, struct ksm_passwd_of *of);

/* A directory as stat(2) gives it. */
struct ksm_dir_id {
	uint64_t dev, ino;
};

/* The device and inode of the root directory of process pid, while
 * proc_dir/PID is still the process that started at start_ns (ns since
 * boot): 0 and *id, or -ESRCH; or given up for, as ksm_passwd_of_root. */
int ksm_proc_root_id(const char *proc_dir, uint32_t pid, uint64_t start_ns, struct ksm_dir_id *id);

#endif
