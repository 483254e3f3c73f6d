/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Hands the kernel-decidable part of the rules to the BPF sensor. */
#ifndef KSM_KFILTER_H
#define KSM_KFILTER_H

#include <stdint.h>

#include "rules.h"

struct ksysmon_bpf;

/* Before load: switches the exclusion checks on (read-only data). */
void ksm_kfilter_configure(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf);
/* After load: fills the exclusion maps; 0 or -errno. */
int ksm_kfilter_fill(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf);
/* Sum over the CPUs of a per-CPU counter (u64 values); 0 or -errno. */
int ksm_percpu_sum(int map_fd, uint32_t key, int ncpus, uint64_t *sum);
/* Events the kernel excluded so far, all types together. */
uint64_t ksm_kfilter_count(struct ksysmon_bpf *skel, int ncpus);

#endif
