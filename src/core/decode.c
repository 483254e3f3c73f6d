// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/decode.h"

#include <string.h>

static const char *const event_names[KSM_EV_MAX] = {
	[KSM_EV_PROCESS_CREATE] = "process_create",
	[KSM_EV_PROCESS_EXEC] = "process_exec",
	[KSM_EV_PROCESS_EXIT] = "process_exit",
	[KSM_EV_THREAD_CREATE] = "thread_create",
	[KSM_EV_THREAD_EXIT] = "thread_exit",
	[KSM_EV_IMAGE_LOAD] = "image_load",
	[KSM_EV_EVENTS_LOST] = "events_lost",
	[KSM_EV_EXEC_BLOCKED] = "exec_blocked",
};

/* Size of each type's fixed part without a namespace block (the whole
 * part for types that never have one); 0 for types that cannot be decoded. */
static const uint32_t fixed_size[KSM_EV_MAX] = {
	[KSM_EV_PROCESS_CREATE] = offsetof(struct ksm_process_create, ns),
	[KSM_EV_PROCESS_EXEC] = offsetof(struct ksm_process_exec, ns),
	[KSM_EV_PROCESS_EXIT] = offsetof(struct ksm_process_exit, ns),
	[KSM_EV_THREAD_CREATE] = sizeof(struct ksm_thread),
	[KSM_EV_THREAD_EXIT] = sizeof(struct ksm_thread),
	[KSM_EV_IMAGE_LOAD] = offsetof(struct ksm_image_load, ns),
	[KSM_EV_EVENTS_LOST] = sizeof(struct ksm_events_lost),
	[KSM_EV_EXEC_BLOCKED] = offsetof(struct ksm_exec_blocked, ns),
};

/* Types whose records may end with a struct ksm_task_ns. */
static bool has_ns_block(unsigned type)
{
	return type == KSM_EV_PROCESS_CREATE || type == KSM_EV_PROCESS_EXEC ||
	       type == KSM_EV_PROCESS_EXIT || type == KSM_EV_IMAGE_LOAD ||
	       type == KSM_EV_EXEC_BLOCKED;
}

/* Types whose records may end with a struct ksm_task_cgroup instead. */
static bool has_cgroup_block(unsigned type)
{
	return type == KSM_EV_THREAD_CREATE || type == KSM_EV_THREAD_EXIT ||
	       type == KSM_EV_EXEC_BLOCKED;
}

const char *ksm_event_name(unsigned type)
{
	return type < KSM_EV_MAX ? event_names[type] : NULL;
}

enum ksm_event_type ksm_event_by_name(const char *name, size_t len)
{
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		if (strlen(event_names[t]) == len && !memcmp(event_names[t], name, len))
			return (enum ksm_event_type)t;
	return KSM_EV_NONE;
}

const char *ksm_decode_strerror(enum ksm_decode_status st)
{
	switch (st) {
	case KSM_DECODE_OK: return "ok";
	case KSM_DECODE_SHORT: return "record shorter than its fixed part";
	case KSM_DECODE_BAD_SIZE: return "record size out of bounds";
	case KSM_DECODE_BAD_TYPE: return "unknown record type";
	case KSM_DECODE_BAD_STRING: return "string outside the record";
	}
	return "unknown decode error";
}

/* Locates a string; fails when it is not wholly inside the record's
 * variable part (strings never overlap the fixed part). */
static bool get_text(const uint8_t *rec, uint32_t size, uint32_t fixed, bool utf16,
		     const struct ksm_str *s, struct ksm_text *out)
{
	struct ksm_str v;
	memcpy(&v, s, sizeof(v)); /* records may be unaligned in a read buffer */
	memset(out, 0, sizeof(*out));
	if (v.offset == 0 && v.length == 0)
		return true;
	if (v.offset < fixed || v.offset > size || v.length > size - v.offset)
		return false;
	if (utf16 && (v.length & 1))
		return false;
	out->data = rec + v.offset;
	out->len = v.length;
	out->utf16 = utf16;
	out->present = true;
	return true;
}

static void copy_comm(char dst[KSM_COMM_LEN + 1], const char src[KSM_COMM_LEN])
{
	memcpy(dst, src, KSM_COMM_LEN);
	dst[KSM_COMM_LEN] = '\0'; /* comm is not terminated when 16 bytes long */
}

/* The namespace block, at byte at of a fixed part of length fixed. */
static bool decode_ns(const uint8_t *rec, uint32_t size, uint32_t at, uint32_t fixed, bool utf16,
		      const struct ksm_boot_clock *clock, struct ksm_event *ev)
{
	struct ksm_task_ns n;
	struct ksm_ns_view *v = &ev->ns;

	memcpy(&n, rec + at, sizeof(n));
	if (!get_text(rec, size, fixed, utf16, &n.cgroup, &v->cgroup) ||
	    !get_text(rec, size, fixed, utf16, &n.root, &v->root))
		return false;
	ev->has_ns = ev->has_cgroup = true;
	v->cgroup_id = n.cgroup_id;
	v->container_start_ns = (n.flags & KSM_NS_PID) ? ksm_boot_clock_wall(clock, n.container_start) : 0;
	v->pid_ns = n.pid_ns;
	v->mnt_ns = n.mnt_ns;
	v->net_ns = n.net_ns;
	v->user_ns = n.user_ns;
	v->uts_ns = n.uts_ns;
	v->ipc_ns = n.ipc_ns;
	v->cgroup_ns = n.cgroup_ns;
	v->vpid = n.vpid;
	v->vppid = n.vppid;
	v->ns_uid = n.ns_uid;
	v->ns_euid = n.ns_euid;
	v->ns_gid = n.ns_gid;
	v->pid_ns_level = n.pid_ns_level;
	v->flags = n.flags;
	v->root_dev = (n.flags & KSM_NS_ROOT_FS) ? n.root_dev : 0;
	return true;
}

/* The cgroup block (KSM_HF_CGROUP) at offset at, in the fixed part of
 * length fixed: the task's cgroup, the other namespace facts unknown. */
static bool decode_cgroup(const uint8_t *rec, uint32_t size, uint32_t at, uint32_t fixed,
			  bool utf16, struct ksm_event *ev)
{
	struct ksm_task_cgroup c;

	memcpy(&c, rec + at, sizeof(c));
	if (!get_text(rec, size, fixed, utf16, &c.path, &ev->ns.cgroup))
		return false;
	ev->has_cgroup = true;
	ev->ns.cgroup_id = c.id;
	return true;
}

/* A record without its namespace block may be shorter than its struct:
 * only its own bytes are read (r.ns is never used; decode_ns reads it). */
#define LOAD(type, var, rec) \
	type var; \
	memset(&var, 0, sizeof(var)); \
	memcpy(&var, rec, hdr.size < sizeof(var) ? hdr.size : sizeof(var))
#define TEXT(field, out) \
	if (!get_text(p, hdr.size, fixed, utf16, &r.field, out)) \
		return KSM_DECODE_BAD_STRING

/* A path's enum ksm_path_state from its flags in the record's flags. */
static uint8_t path_state(uint32_t flags, uint32_t deleted, uint32_t cut, uint32_t unreachable)
{
	return (uint8_t)(((flags & deleted) ? KSM_PATH_DELETED : 0) |
			 ((flags & cut) ? KSM_PATH_TRUNCATED : 0) |
			 ((flags & unreachable) ? KSM_PATH_UNREACHABLE : 0));
}

enum ksm_decode_status ksm_decode(const void *data, size_t avail,
				  const struct ksm_boot_clock *clock, struct ksm_event *ev)
{
	const uint8_t *p = data;
	struct ksm_header hdr;

	memset(ev, 0, sizeof(*ev));
	if (avail < sizeof(hdr))
		return KSM_DECODE_SHORT;
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.type == KSM_EV_NONE || hdr.type >= KSM_EV_MAX)
		return KSM_DECODE_BAD_TYPE;
	/* the fixed part: the type's, then the namespace block (or the
	 * cgroup block), then the creator's start (each when its flag says so) */
	uint32_t ns_at = fixed_size[hdr.type], fixed = ns_at;
	bool ns = (hdr.flags & KSM_HF_TASK_NS) && has_ns_block(hdr.type);
	bool cg = !ns && (hdr.flags & KSM_HF_CGROUP) && has_cgroup_block(hdr.type);
	if (ns)
		fixed += sizeof(struct ksm_task_ns);
	else if (cg)
		fixed += sizeof(struct ksm_task_cgroup);
	bool creator = (hdr.flags & KSM_HF_CREATOR_START) && hdr.type == KSM_EV_PROCESS_CREATE;
	if (creator)
		fixed += sizeof(ksm_u64);
	if (avail < fixed)
		return KSM_DECODE_SHORT;
	if (hdr.size < fixed || hdr.size > avail)
		return KSM_DECODE_BAD_SIZE;

	bool utf16 = hdr.flags & KSM_HF_UTF16;
	ev->type = (enum ksm_event_type)hdr.type;
	ev->hdr_flags = hdr.flags;
	ev->size = hdr.size;
	/* a realtime record's instants are the wall clock's already */
	if (hdr.flags & KSM_HF_TIME_REALTIME)
		clock = NULL;
	else
		ev->since_boot_ns = hdr.time;
	ev->time_ns = ksm_boot_clock_wall(clock, hdr.time);
	if (ns && !decode_ns(p, hdr.size, ns_at, fixed, utf16, clock, ev))
		return KSM_DECODE_BAD_STRING;
	if (cg && !decode_cgroup(p, hdr.size, ns_at, fixed, utf16, ev))
		return KSM_DECODE_BAD_STRING;

	switch (hdr.type) {
	case KSM_EV_PROCESS_CREATE: {
		LOAD(struct ksm_process_create, r, p);
		ev->pid = r.pid;
		ev->u.create.ppid = r.ppid;
		ev->u.create.parent_tid = r.parent_tid;
		ev->u.create.creator_pid = r.creator_pid;
		if (creator)
			memcpy(&ev->u.create.creator_start, p + fixed - sizeof(ksm_u64), sizeof(ksm_u64));
		copy_comm(ev->comm, r.comm);
		ev->start_time = r.start_time;
		ev->parent_start_time = r.parent_start_time;
		TEXT(image, &ev->u.create.image);
		TEXT(cmdline, &ev->u.create.cmdline);
		break;
	}
	case KSM_EV_PROCESS_EXEC: {
		LOAD(struct ksm_process_exec, r, p);
		ev->pid = r.pid;
		ev->tid = r.tid;
		ev->flags = r.flags;
		ev->u.exec.uid = r.uid;
		ev->u.exec.gid = r.gid;
		copy_comm(ev->comm, r.comm);
		TEXT(image, &ev->u.exec.image);
		TEXT(filename, &ev->u.exec.filename);
		TEXT(argv, &ev->u.exec.argv);
		TEXT(cwd, &ev->u.exec.cwd);
		TEXT(parent_image, &ev->u.exec.parent_image);
		ev->u.exec.euid = r.euid;
		ev->u.exec.ppid = r.ppid;
		ev->u.exec.image_id = r.image_id;
		ev->u.exec.image_state = path_state(r.flags, KSM_EXEC_IMAGE_DELETED,
						    KSM_EXEC_IMAGE_TRUNCATED, KSM_EXEC_IMAGE_UNREACHABLE);
		ev->u.exec.cwd_state = path_state(r.flags, KSM_EXEC_CWD_DELETED, KSM_EXEC_CWD_TRUNCATED,
						  KSM_EXEC_CWD_UNREACHABLE);
		ev->u.exec.parent_image_state =
			path_state(r.flags, KSM_EXEC_PARENT_IMAGE_DELETED, KSM_EXEC_PARENT_IMAGE_TRUNCATED,
				   KSM_EXEC_PARENT_IMAGE_UNREACHABLE);
		ev->start_time = r.start_time;
		ev->parent_start_time = r.parent_start_time;
		break;
	}
	case KSM_EV_PROCESS_EXIT: {
		LOAD(struct ksm_process_exit, r, p);
		ev->pid = r.pid;
		ev->tid = r.tid;
		ev->u.exit.status = r.status;
		copy_comm(ev->comm, r.comm);
		ev->start_time = r.start_time;
		break;
	}
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT: {
		LOAD(struct ksm_thread, r, p);
		ev->pid = r.pid;
		ev->tid = r.tid;
		ev->start_time = r.start_time;
		break;
	}
	case KSM_EV_IMAGE_LOAD: {
		LOAD(struct ksm_image_load, r, p);
		ev->pid = r.pid;
		ev->tid = r.tid;
		ev->flags = r.flags;
		ev->u.image.base = r.base;
		ev->u.image.size = r.size;
		ev->u.image.inode = r.inode;
		ev->u.image.dev = r.dev;
		ev->u.image.file = r.file;
		ev->u.image.path_state = path_state(r.flags, KSM_IMAGE_DELETED, KSM_IMAGE_TRUNCATED,
						    KSM_IMAGE_UNREACHABLE);
		ev->start_time = r.start_time;
		TEXT(path, &ev->u.image.path);
		break;
	}
	case KSM_EV_EVENTS_LOST: {
		LOAD(struct ksm_events_lost, r, p);
		memcpy(ev->u.lost.lost, r.lost, sizeof(r.lost));
		if (hdr.size >= sizeof(struct ksm_events_lost_write)) {
			LOAD(struct ksm_events_lost_write, w, p);
			fixed = sizeof(w);
			if (!get_text(p, hdr.size, fixed, utf16, &w.file, &ev->u.lost.file) ||
			    !get_text(p, hdr.size, fixed, utf16, &w.error, &ev->u.lost.error))
				return KSM_DECODE_BAD_STRING;
		}
		break;
	}
	case KSM_EV_EXEC_BLOCKED: {
		LOAD(struct ksm_exec_blocked, r, p);
		ev->pid = r.pid;
		ev->flags = r.flags;
		if (r.flags & KSM_BLOCKED_HAS_SHA256)
			ev->u.blocked.sha256 = p + offsetof(struct ksm_exec_blocked, sha256);
		ev->u.blocked.path_state = path_state(r.flags, KSM_BLOCKED_PATH_DELETED,
						      KSM_BLOCKED_PATH_TRUNCATED,
						      KSM_BLOCKED_PATH_UNREACHABLE);
		TEXT(path, &ev->u.blocked.path);
		TEXT(rule, &ev->u.blocked.rule);
		break;
	}
	}
	return KSM_DECODE_OK;
}

bool ksm_created_by_other(const struct ksm_event *ev)
{
	return ev->type == KSM_EV_PROCESS_CREATE && ev->u.create.creator_pid &&
	       ev->u.create.creator_pid != ev->u.create.ppid;
}

void ksm_argv_begin(struct ksm_argv_iter *it, const struct ksm_text *argv)
{
	it->p = argv->data;
	it->end = argv->data ? argv->data + argv->len : NULL;
}

bool ksm_argv_next(struct ksm_argv_iter *it, const uint8_t **arg, size_t *len)
{
	if (!it->p || it->p >= it->end)
		return false;
	const uint8_t *nul = memchr(it->p, 0, (size_t)(it->end - it->p));
	const uint8_t *stop = nul ? nul : it->end;
	*arg = it->p;
	*len = (size_t)(stop - it->p);
	it->p = nul ? nul + 1 : it->end;
	return true;
}
