/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unified (cgroup v2) hierarchy as this machine mounts it: the path of
 * a cgroup id (the id the kernel records, the cgroup directory's inode)
 * and the containers whose cgroups exist now.
 */
#ifndef KSM_CGROUPS_H
#define KSM_CGROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/container.h"

#define KSM_CGROUP_PATH_MAX (64u << 10) /* bytes of a path a walk of the hierarchy finds */
#define KSM_CGROUP_WALK_DEPTH 512       /* levels it walks down: an fd and a DIR each */

struct ksm_cgroups {
	int mnt_fd;     /* the hierarchy's root directory; -1: not mounted */
	char mnt[4096]; /* where it is mounted */
};

/* Finds the cgroup2 mount in mountinfo ("/proc/self/mountinfo").  0, or
 * -errno (-ENOENT: none); g->mnt_fd is -1 then. */
int ksm_cgroups_open(struct ksm_cgroups *g, const char *mountinfo);
void ksm_cgroups_close(struct ksm_cgroups *g);

/* The path of cgroup id from the hierarchy's root ("/a/b", "/" for the
 * root) into buf (NUL-terminated); its length, or -errno (-ESTALE: the
 * cgroup no longer exists; -ENAMETOOLONG: longer than len, or deeper
 * than a search walks).  By its file handle, or (without
 * CAP_DAC_READ_SEARCH, or past PATH_MAX) by a walk of the hierarchy. */
int ksm_cgroup_path(const struct ksm_cgroups *g, uint64_t id, char *buf, size_t len);

/* Calls fn for each cgroup that names a container now (outermost first),
 * with its id, down to KSM_CGROUP_WALK_DEPTH levels and paths of
 * KSM_CGROUP_PATH_MAX bytes.  0, or -errno. */
int ksm_cgroups_containers(const struct ksm_cgroups *g,
			   void (*fn)(void *ctx, const struct ksm_container *c, uint64_t cgroup_id),
			   void *ctx);

#endif
