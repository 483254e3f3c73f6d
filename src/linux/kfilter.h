/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Hands the kernel-decidable part of the rules to the BPF sensor. */
#ifndef KSM_KFILTER_H
#define KSM_KFILTER_H

#include <stdint.h>

#include "pipeline/rules.h"
#include "pipeline/select.h"

struct ksysmon_bpf;

/* After load: puts the exclusions of kf in force in place of those of old
 * (NULL: none), without a moment where neither applies: kf is written to
 * the generation the programs do not read, then they are switched to it,
 * then old's entries are removed.  0 or -errno (the old ones then stay in
 * force). */
int ksm_kfilter_swap(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *old,
		     const struct ksm_kernel_filter *kf);
/*
 * After attach (the programs noting new cgroups run): puts --container's
 * selection in force in the kernel when it names containers only.  Every
 * cgroup of tree (at any depth the tree walk reaches) whose container
 * sel selects is written to sel_cgroups; the kernel then drops the events
 * of tasks in no such cgroup nor below one, unless their cgroup was made
 * since attach (its container is the client's to judge).  0, or -errno
 * (-E2BIG: more such cgroups than the map holds); the kernel then passes
 * every event and the client selects alone.
 */
int ksm_kfilter_containers(struct ksysmon_bpf *skel, const struct ksm_container_sel *sel,
			   const struct ksm_cgroups *tree);
/* Sum over the CPUs of a per-CPU counter (u64 values); 0 or -errno. */
int ksm_percpu_sum(int map_fd, uint32_t key, int ncpus, uint64_t *sum);
/* Events the kernel excluded so far, all types together. */
uint64_t ksm_kfilter_count(struct ksysmon_bpf *skel, int ncpus);

#endif
