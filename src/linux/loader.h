/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading the BPF sensor: what the running kernel offers, which programs
 * the options need, map sizes, filters. */
#ifndef KSM_LOADER_H
#define KSM_LOADER_H

#include "pipeline/options.h"
#include "pipeline/rules.h"

struct ksysmon_bpf;

/* Opens, sizes and loads the sensor for these options and fills its
 * filter maps (not attached yet, but for fexit programs, which are
 * attached to learn whether the kernel takes them).  Optional features
 * the kernel refuses are left out, each told in one line.  *deny_in_kernel
 * is set when the --deny rules are decided by the kernel (BPF-LSM).  On
 * failure prints one line and returns NULL. */
struct ksysmon_bpf *ksm_sensor_load(const struct ksm_options *o, int ncpus,
				    const struct ksm_kernel_filter *kfilter, bool *deny_in_kernel);

/* --deny-unverifiable: the superblocks (kernel dev_t encoding) the fanotify
 * engine watches now, replacing the previous set; 0 or -errno.  Safe from
 * any thread. */
int ksm_sensor_set_watched(struct ksysmon_bpf *skel, const uint32_t *sb_devs, size_t n);
/* From now on an exec from any other superblock is killed. */
void ksm_sensor_arm_unwatched(struct ksysmon_bpf *skel);

#endif
