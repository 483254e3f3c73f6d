/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exclusions decided in the kernel (the configuration's rules on pid, uid,
 * comm, image/path prefix and pid_ns, and --container): an excluded event
 * costs a map lookup or a few and never takes ring buffer space.  Each map value is the set of event types
 * (bit 1 << type) the exclusion applies to.
 */
#ifndef KSM_FILTER_BPF_H
#define KSM_FILTER_BPF_H

#include "ksysmon_bpf.h"
#include "ksysmon_filter.h"

/*
 * Two generations of exclusions, so that a new configuration replaces the
 * old one without a moment where neither applies: the client writes the
 * new generation's slots while the programs read the current one's, then
 * flips filter_gen.  Each check reads filter_gen once; an event is thus
 * excluded only by a rule of one configuration or the other.
 */
volatile __u32 filter_gen = 0;
volatile bool excl_ids[2];      /* pid/uid/comm/pid_ns maps hold entries, per generation */
volatile __u32 n_excl_prefixes[2];
volatile __u32 incl_pidns_types[2]; /* types whose include rules are pid_ns values only */

/* room for the entries of both generations */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, struct ksm_excl_types);
} excl_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, struct ksm_excl_types);
} excl_uid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * KSM_MAX_EXCL);
	__type(key, struct ksm_comm_key);
	__type(value, struct ksm_excl_types);
} excl_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, struct ksm_excl_types);
} excl_pidns SEC(".maps");

/* the pid namespaces an include rule names, for the types of incl_pidns_types */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * KSM_MAX_EXCL);
	__type(key, __u32);
	__type(value, struct ksm_excl_types);
} incl_pidns SEC(".maps");

/* --container: the selected containers' cgroups found at start (by id) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_SEL_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} sel_cgroups SEC(".maps");

/* --container: the cgroups made since the programs were attached, whose
 * container the client decides from their path */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_NEW_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} new_cgroups SEC(".maps");

/* generation g's prefixes at g * KSM_MAX_PREFIX + i */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KSM_MAX_PREFIX);
	__type(key, __u32);
	__type(value, struct ksm_prefix_excl);
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

static __always_inline __u32 current_gen(void)
{
	return filter_gen & 1;
}

static __always_inline bool in_types(struct ksm_excl_types *t, __u32 gen, __u32 type)
{
	return t && (t->types[gen & 1] & (1u << type));
}

/* one lookup in an exclusion map of the current generation */
static __always_inline bool excluded_key(void *map, const void *key, __u32 type)
{
	__u32 gen = current_gen();
	return excl_ids[gen] && in_types(bpf_map_lookup_elem(map, key), gen, type) &&
	       count_filtered(type);
}

static __always_inline bool excluded_pid(__u32 type, __u32 pid)
{
	return excluded_key(&excl_pid, &pid, type);
}

static __always_inline bool excluded_uid(__u32 type, __u32 uid)
{
	return excluded_key(&excl_uid, &uid, type);
}

/* comm: the task's 16 bytes, NUL-padded as the kernel keeps them */
static __always_inline bool excluded_comm(__u32 type, struct task_struct *task)
{
	struct ksm_comm_key key;
	if (!excl_ids[current_gen()])
		return false;
	bpf_probe_read_kernel(&key, sizeof(key), &task->comm);
	return excluded_key(&excl_comm, &key, type);
}

/* path: at least KSM_PREFIX_WORDS * 8 readable bytes, len of them valid */
static __always_inline bool excluded_prefix(__u32 type, const char *path, __u32 len)
{
	__u64 words[KSM_PREFIX_WORDS];
	__u32 gen = current_gen(), n = n_excl_prefixes[gen];

	if (!n)
		return false;
	bpf_probe_read_kernel(words, sizeof(words), path);
	for (__u32 i = 0; i < KSM_MAX_PREFIX && i < n; i++) {
		__u32 slot = gen * KSM_MAX_PREFIX + i;
		struct ksm_prefix_excl *p = bpf_map_lookup_elem(&excl_prefix, &slot);
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
