/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps and helpers shared by every ksysmon BPF program. */
#ifndef KSM_MAPS_BPF_H
#define KSM_MAPS_BPF_H

#include "ksysmon_bpf.h"

/* Set by the loader before load; read-only afterwards, so the verifier
 * prunes disabled paths. */
const volatile __u32 event_mask = ~0u;      /* bit (1 << type) per event type */
const volatile bool filter_pids = false;    /* consult pid_filter */
const volatile __u32 max_args_bytes = KSM_DEFAULT_ARGS_BYTES;
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the reader past this backlog */
const volatile bool exit_has_group_dead = false;
const volatile bool group_dead_noted = false; /* note_group_dead is attached */

/* The bounded queue: events are lost (and counted) when it is full. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KSM_DEFAULT_RINGBUF_BYTES);
} events SEC(".maps");

/* Events lost because the queue was full, per type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KSM_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* --pid: thread-group ids whose events are wanted: the given ones and,
 * added at fork and removed at exit, their descendants. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_PID_FILTER_ENTRIES);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

static __always_inline bool type_enabled(__u32 type)
{
	return event_mask & (1u << type);
}

static __always_inline bool pid_selected(__u32 pid)
{
	return !filter_pids || bpf_map_lookup_elem(&pid_filter, &pid);
}

/* A process created by a selected one is selected too, until it exits. */
static __always_inline void follow_pid(__u32 pid, bool on)
{
	__u8 yes = 1;
	if (!filter_pids)
		return;
	if (on)
		bpf_map_update_elem(&pid_filter, &pid, &yes, BPF_ANY);
	else
		bpf_map_delete_elem(&pid_filter, &pid);
}

static __always_inline void count_lost(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &type);
	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/* Waking the reader for every event is what makes tracing expensive:
 * wake it only when the backlog grows large; otherwise it drains the queue
 * on its own schedule (bounded delivery latency). */
static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Start of a task's process (its group leader), ns since boot: with the
 * pid it names the process uniquely, whatever pid reuse. */
static __always_inline __u64 process_start(struct task_struct *task)
{
	return task->group_leader->start_boottime;
}

static __always_inline void fill_header(struct ksm_header *h, __u16 type, __u32 size)
{
	h->type = type;
	h->flags = 0;
	h->size = size;
	h->time = bpf_ktime_get_boot_ns();
}

#endif
