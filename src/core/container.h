/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which container a process runs in, read from its cgroup path (the
 * unified hierarchy's, as /proc/PID/cgroup's "0::" line shows it).
 * Pure: no allocation, no I/O.
 *
 * The names container engines give the cgroups they make for a container:
 *   podman         libpod-<id>[.scope]            (systemd or cgroupfs manager,
 *                                                   rootful or rootless, in a pod)
 *   docker         docker-<id>.scope, /docker/<id>, /actions_job/<id>
 *   containerd     cri-containerd-<id>.scope, nerdctl-<id>.scope,
 *                  <slice>:cri-containerd:<id>
 *   cri-o          crio-<id>[.scope]
 *   kubernetes     <id> under a kubepods pod<uid> cgroup, engine unnamed
 *   lxc            lxc.payload.<name>, lxc.payload/<name>, /lxc/<name>
 *   systemd-nspawn systemd-nspawn@<name>.service/payload,
 *                  machine-<name>.scope/payload (unit-name escapes undone)
 * A cgroup below a container's is that container's.
 * The engines' own processes on the host (podman's conmon, cri-o's
 * conmon, nspawn's supervisor) are not in the container and are not
 * matched.  Where containers nest, the innermost one is the answer, at
 * any depth.  The answer is the cgroup's name: whoever may create cgroups
 * (root, or a container given its own subtree) can make one named as an
 * engine names its containers, and the processes in it are then reported
 * as that container's.
 */
#ifndef KSM_CONTAINER_H
#define KSM_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_CONTAINER_ID_MAX 64    /* hex digits of an engine's id */
#define KSM_CONTAINER_NAME_MAX 255 /* an lxc or nspawn name: a cgroup's name, whole (NAME_MAX) */
#define KSM_CONTAINER_SHORT 12   /* hex digits of the short id the text view shows */

struct ksm_container {
	const char *runtime; /* "podman", "docker", "containerd", "cri-o", "kubernetes",
			      * "lxc", "systemd-nspawn" (static) */
	char id[KSM_CONTAINER_NAME_MAX + 1]; /* 64 lowercase hex, or the lxc/nspawn name
					      * whole; NUL-terminated */
};

/* The container of the cgroup path (len bytes, not NUL-terminated); false
 * (out untouched) when the path names none: a host process. */
bool ksm_container_from_cgroup(const uint8_t *path, size_t len, struct ksm_container *out);

/* The runtime named s (len bytes), as the static string
 * ksm_container_from_cgroup gives; NULL for a name it never gives. */
const char *ksm_container_runtime(const char *s, size_t len);

/* Whether s (len bytes) is a prefix of the container id (so of the full
 * 64-hex id, or of an lxc/nspawn name). */
bool ksm_container_id_begins(const struct ksm_container *c, const char *s, size_t len);

#endif
