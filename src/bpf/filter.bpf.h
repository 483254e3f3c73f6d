/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exclusions decided in the kernel (the configuration's rules on pid, uid,
 * comm and image/path prefix): an excluded event costs a map lookup and
 * never takes ring buffer space.  Each map value is the set of event types
 * (bit 1 << type) the exclusion applies to.
 */
#ifndef KSM_FILTER_BPF_H
#define KSM_FILTER_BPF_H

#include "ksysmon_bpf.h"

#define KSM_MAX_EXCL 64
#define KSM_MAX_PREFIX 16
#define KSM_PREFIX_WORDS 8 /* 64 bytes */

const volatile bool excl_ids = false;      /* pid/uid/comm maps hold entries */
const volatile __u32 n_excl_prefixes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, __u32);
} excl_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, __u32);
} excl_uid SEC(".maps");

struct comm_key {
	char comm[KSM_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_MAX_EXCL);
	__type(key, struct comm_key);
	__type(value, __u32);
} excl_comm SEC(".maps");

/* A path prefix as 64-bit words with the mask of its significant bytes. */
struct prefix_excl {
	__u32 types;
	__u32 len;
	__u64 word[KSM_PREFIX_WORDS];
	__u64 mask[KSM_PREFIX_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KSM_MAX_PREFIX);
	__type(key, __u32);
	__type(value, struct prefix_excl);
} excl_prefix SEC(".maps");

/* Events dropped by these exclusions, per type (reported in the summary). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSM_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kfiltered SEC(".maps");

static __always_inline bool count_filtered(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&kfiltered, &type);
	if (n)
		*n += 1;
	return true;
}

static __always_inline bool in_types(__u32 *types, __u32 type)
{
	return types && (*types & (1u << type));
}

static __always_inline bool excluded_pid(__u32 type, __u32 pid)
{
	return excl_ids && in_types(bpf_map_lookup_elem(&excl_pid, &pid), type) &&
	       count_filtered(type);
}

static __always_inline bool excluded_uid(__u32 type, __u32 uid)
{
	return excl_ids && in_types(bpf_map_lookup_elem(&excl_uid, &uid), type) &&
	       count_filtered(type);
}

/* comm: the task's 16 bytes, NUL-padded as the kernel keeps them */
static __always_inline bool excluded_comm(__u32 type, struct task_struct *task)
{
	struct comm_key key;
	if (!excl_ids)
		return false;
	bpf_probe_read_kernel(&key, sizeof(key), &task->comm);
	return in_types(bpf_map_lookup_elem(&excl_comm, &key), type) && count_filtered(type);
}

/* path: at least KSM_PREFIX_WORDS * 8 readable bytes, len of them valid */
static __always_inline bool excluded_prefix(__u32 type, const char *path, __u32 len)
{
	__u64 words[KSM_PREFIX_WORDS];

	if (!n_excl_prefixes)
		return false;
	bpf_probe_read_kernel(words, sizeof(words), path);
	for (__u32 i = 0; i < KSM_MAX_PREFIX && i < n_excl_prefixes; i++) {
		struct prefix_excl *p = bpf_map_lookup_elem(&excl_prefix, &i);
		if (!p || !(p->types & (1u << type)) || p->len > len)
			continue;
		bool match = true;
		for (int w = 0; w < KSM_PREFIX_WORDS; w++)
			if ((words[w] & p->mask[w]) != p->word[w])
				match = false;
		if (match)
			return count_filtered(type);
	}
	return false;
}

#endif
