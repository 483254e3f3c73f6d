/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The mounts of one mount namespace, by id, as a mountinfo file lists them
 * (/proc/self/mountinfo, /proc/PID/mountinfo: its first field, the id
 * statx(2) returns as stx_mnt_id and fdinfo as mnt_id).  A mount that no
 * namespace lists is in none: unmounted with MNT_DETACH while still in
 * use, or a tree open_tree(2) cloned and never attached; a path through it
 * leads from no root.  Reading procfs waits on no filesystem.
 */
#ifndef KSM_MOUNTIDS_H
#define KSM_MOUNTIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ksm_mount_ids {
	uint64_t *ids; /* sorted */
	size_t n;
};

/* Reads the ids of the mounts the mountinfo file at path lists; 0, or
 * -errno (the file could not be read, or a line does not start with an
 * id).  out is empty after a failure. */
int ksm_mount_ids_read(const char *path, struct ksm_mount_ids *out);
bool ksm_mount_ids_has(const struct ksm_mount_ids *m, uint64_t id);
void ksm_mount_ids_free(struct ksm_mount_ids *m);

/* Whether path lies at or below mount point (both as a mountinfo file and
 * d_path() show them, from the same root): where any file on a mount
 * still attached there is.  A mount detached since (MNT_DETACH) keeps its
 * id, but its files' paths are from its own top. */
bool ksm_path_under_mount(const char *path, const char *point);

/* Whether mount id is in the mount namespace of process pid, as
 * <proc>/<pid>/mountinfo lists it: 1 yes, 0 no, -errno when that cannot
 * be read (the process is gone). */
int ksm_mount_in_ns_of(const char *proc, uint32_t pid, uint64_t id);

#endif
