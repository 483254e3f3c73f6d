/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel-side exclusions (src/bpf/filter.bpf.h) as the client writes
 * them (src/linux/kfilter.c): sizes of the maps and the layout of their
 * keys and values.  Each value holds the set of event types (bit
 * 1 << type) the exclusion applies to, one set per generation: the client
 * fills the generation the programs do not read, then flips filter_gen.
 */
#ifndef KSYSMON_FILTER_H
#define KSYSMON_FILTER_H

#include "ksysmon_event.h"

#define KSM_MAX_EXCL 64     /* pid, uid and comm exclusions, each */
#define KSM_MAX_PREFIX 16   /* image/path prefix exclusions */
#define KSM_PREFIX_WORDS 8  /* a prefix: at most 8 64-bit words, NUL included */
#define KSM_PREFIX_BYTES (KSM_PREFIX_WORDS * 8)

/*
 * --container in the kernel: the cgroups that exist when ksysmon starts
 * and name a selected container (at most KSM_SEL_CGROUPS, found at most
 * KSM_SEL_CGROUP_DEPTH levels below the root), and the cgroups made since
 * (at most KSM_NEW_CGROUPS alive at once), which the kernel passes to the
 * client to decide.  A task deeper than KSM_SEL_CGROUP_DEPTH levels is
 * passed as well.
 */
#define KSM_SEL_CGROUPS 4096
#define KSM_NEW_CGROUPS 16384
#define KSM_SEL_CGROUP_DEPTH 32

/* value of excl_pid, excl_uid, excl_comm, excl_pidns and incl_pidns */
struct ksm_excl_types {
	ksm_u32 types[2]; /* per generation */
};

/* key of excl_comm: the task's comm, NUL-padded as the kernel keeps it */
struct ksm_comm_key {
	char comm[KSM_COMM_LEN];
};

/* value of excl_prefix (generation g's prefixes at g * KSM_MAX_PREFIX + i):
 * the prefix as little-endian 64-bit words with the mask of its
 * significant bytes, so that the program compares 8 bytes at a time */
struct ksm_prefix_excl {
	ksm_u32 types;
	ksm_u32 len;
	ksm_u64 word[KSM_PREFIX_WORDS];
	ksm_u64 mask[KSM_PREFIX_WORDS];
};

#endif
