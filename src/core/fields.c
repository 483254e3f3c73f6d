// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/fields.h"
#include "core/format.h"

#include <string.h>

struct walk {
	const struct ksm_field_sink *s;
	void *ctx;
};

static void comm(const struct walk *w, const char *c)
{
	struct ksm_text t = { .data = (const uint8_t *)c, .len = (uint32_t)strlen(c), .present = true };
	w->s->text(w->ctx, "comm", &t, NULL, NULL);
}

void ksm_guid_format(const uint8_t g[16], char out[37])
{
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		ksm_hex_encode(out + o, g + i, 1);
		o += 2;
	}
	out[o] = '\0';
}

static void guid(const struct walk *w, const char *name, const uint8_t g[16])
{
	char str[37];
	ksm_guid_format(g, str);
	w->s->string(w->ctx, name, str);
}

/* The flags of a path's state (enum ksm_path_state), under the names its
 * field gives them. */
static void state_flags(const struct walk *w, unsigned state, const char *deleted,
			const char *truncated, const char *unreachable)
{
	if (state & KSM_PATH_DELETED)
		w->s->boolean(w->ctx, deleted, true);
	if (state & KSM_PATH_TRUNCATED)
		w->s->boolean(w->ctx, truncated, true);
	if (state & KSM_PATH_UNREACHABLE)
		w->s->boolean(w->ctx, unreachable, true);
}

/* Fields the client adds from its own knowledge (struct ksm_context). */
static void context_fields(const struct walk *w, const struct ksm_event *ev)
{
	const struct ksm_context *c = &ev->ctx;
	if (c->has_guid)
		guid(w, "process_guid", c->guid);
	if (c->has_parent_guid)
		guid(w, "parent_guid", c->parent_guid);
	if (c->has_creator_guid)
		guid(w, "creator_guid", c->creator_guid);
	if (c->user)
		w->s->string(w->ctx, "user", c->user);
	if (c->container) {
		w->s->string(w->ctx, "container_id", c->container->id);
		w->s->string(w->ctx, "container_runtime", c->container->runtime);
	}
	/* program paths the client keeps: shown in their state already */
	if (c->parent_image.present)
		w->s->text(w->ctx, "parent_image", &c->parent_image, NULL, NULL);
	state_flags(w, c->parent_image_flags, "parent_image_deleted", "parent_image_truncated",
		    "parent_image_unreachable");
	if (c->parent_cmdline.present)
		w->s->text(w->ctx, "parent_cmdline", &c->parent_cmdline, NULL, NULL);
	if (c->image.present)
		w->s->text(w->ctx, "image", &c->image, NULL, NULL);
	state_flags(w, c->image_flags, "image_deleted", "image_truncated", "image_unreachable");
	if (c->has_sha256)
		w->s->digest(w->ctx, "sha256", c->sha256);
	if (c->sha256_error)
		w->s->string(w->ctx, "sha256_error", c->sha256_error);
	if (c->has_start) {
		w->s->time(w->ctx, "start_time", c->start_ns);
		w->s->num(w->ctx, "duration_ms", c->duration_ms);
	}
}

/* A path of the record, shown in its state (enum ksm_path_state). */
static void path(const struct walk *w, const char *name, const struct ksm_text *t, unsigned state)
{
	w->s->text(w->ctx, name, t, ksm_path_prefix(state), ksm_path_suffix(state));
}

static void create_fields(const struct walk *w, const struct ksm_event *ev)
{
	w->s->num(w->ctx, "ppid", ev->u.create.ppid);
	w->s->num(w->ctx, "parent_tid", ev->u.create.parent_tid);
	/* CLONE_PARENT: the creator is not the parent */
	if (ksm_created_by_other(ev))
		w->s->num(w->ctx, "creator_pid", ev->u.create.creator_pid);
	comm(w, ev->comm);
	if (ev->u.create.image.present)
		w->s->text(w->ctx, "image", &ev->u.create.image, NULL, NULL);
	if (ev->u.create.cmdline.present)
		w->s->text(w->ctx, "cmdline", &ev->u.create.cmdline, NULL, NULL);
}

/* The executed file's identity as stat(2) of /proc/PID/exe shows it, and
 * on an overlay which layer holds it. */
static void exec_file_fields(const struct walk *w, const struct ksm_event *ev)
{
	if (ev->u.exec.image_id.inode) {
		w->s->num(w->ctx, "image_dev", ev->u.exec.image_id.dev);
		w->s->num(w->ctx, "image_inode", ev->u.exec.image_id.inode);
	}
	if (!(ev->flags & KSM_EXEC_IMAGE_OVERLAY))
		return;
	if (ev->flags & KSM_EXEC_IMAGE_LAYER_UNKNOWN)
		w->s->boolean(w->ctx, "image_layer_unknown", true);
	else
		w->s->boolean(w->ctx, "image_upper_layer", ev->flags & KSM_EXEC_IMAGE_UPPER);
}

static void exec_fields(const struct walk *w, const struct ksm_event *ev)
{
	w->s->num(w->ctx, "tid", ev->tid);
	path(w, "image", &ev->u.exec.image, ev->u.exec.image_state);
	state_flags(w, ev->u.exec.image_state, "image_deleted", "image_truncated", "image_unreachable");
	w->s->text(w->ctx, "filename", &ev->u.exec.filename, NULL, NULL);
	w->s->argv(w->ctx, &ev->u.exec.argv);
	w->s->boolean(w->ctx, "argv_truncated", ev->flags & KSM_EXEC_ARGV_TRUNCATED);
	if (ev->flags & KSM_EXEC_ARGV_UNREADABLE)
		w->s->boolean(w->ctx, "argv_unreadable", true);
	w->s->num(w->ctx, "uid", ev->u.exec.uid);
	w->s->num(w->ctx, "gid", ev->u.exec.gid);
	comm(w, ev->comm);
	if (ev->u.exec.cwd.present) {
		path(w, "cwd", &ev->u.exec.cwd, ev->u.exec.cwd_state);
		state_flags(w, ev->u.exec.cwd_state, "cwd_deleted", "cwd_truncated", "cwd_unreachable");
	}
	w->s->num(w->ctx, "euid", ev->u.exec.euid);
	w->s->num(w->ctx, "ppid", ev->u.exec.ppid);
	exec_file_fields(w, ev);
}

/* A root in another mount namespace: its filesystem, and where ksysmon's
 * namespace (the host's) shows it — root only when that is not "/". */
static void root_fs_fields(const struct walk *w, const struct ksm_event *ev)
{
	const struct ksm_context *c = &ev->ctx;

	if (c->root_at == KSM_ROOT_AT_PATH &&
	    !(c->root_host.len == 1 && c->root_host.data[0] == '/'))
		w->s->text(w->ctx, "root", &c->root_host, NULL, NULL);
	w->s->num(w->ctx, "root_dev", ev->ns.root_dev);
	if (c->root_at == KSM_ROOT_AT_UNREACHABLE)
		w->s->boolean(w->ctx, "root_unreachable", true);
	else if (c->root_at != KSM_ROOT_AT_PATH)
		w->s->boolean(w->ctx, "root_unresolved", true);
}

/* The namespaces and cgroup the kernel recorded for the process; facts of
 * a non-initial namespace only when the process is in one. */
static void ns_fields(const struct walk *w, const struct ksm_event *ev)
{
	const struct ksm_ns_view *n = &ev->ns;

	if (!ev->has_cgroup)
		return;
	if (n->cgroup_id)
		w->s->num(w->ctx, "cgroup_id", n->cgroup_id);
	/* the record's path, or the one the client found for the id */
	const struct ksm_text *cg = n->cgroup.present ? &n->cgroup : &ev->ctx.cgroup;
	bool cut = n->cgroup.present ? ev->has_ns && (n->flags & KSM_NS_CGROUP_TRUNCATED)
				     : ev->ctx.cgroup_cut;
	if (cg->present) {
		w->s->text(w->ctx, "cgroup", cg, NULL, NULL);
		if (cut)
			w->s->boolean(w->ctx, "cgroup_truncated", true);
	}
	if (!ev->has_ns)
		return; /* the cgroup alone */
	w->s->num(w->ctx, "pid_ns_level", n->pid_ns_level);
	if (n->flags & KSM_NS_PID) {
		w->s->num(w->ctx, "vpid", n->vpid);
		w->s->num(w->ctx, "vppid", n->vppid);
		if (n->flags & KSM_NS_INIT_TREE_KNOWN)
			w->s->boolean(w->ctx, "in_init_tree", n->flags & KSM_NS_IN_INIT_TREE);
		w->s->time(w->ctx, "container_start", n->container_start_ns);
	}
	w->s->num(w->ctx, "pid_ns", n->pid_ns);
	w->s->num(w->ctx, "mnt_ns", n->mnt_ns);
	w->s->num(w->ctx, "net_ns", n->net_ns);
	w->s->num(w->ctx, "user_ns", n->user_ns);
	w->s->num(w->ctx, "uts_ns", n->uts_ns);
	w->s->num(w->ctx, "ipc_ns", n->ipc_ns);
	w->s->num(w->ctx, "cgroup_ns", n->cgroup_ns);
	if ((n->flags & KSM_NS_USER) && !(n->flags & KSM_NS_IDS_UNKNOWN)) {
		w->s->num(w->ctx, "ns_uid", n->ns_uid);
		w->s->num(w->ctx, "ns_gid", n->ns_gid);
		w->s->num(w->ctx, "ns_euid", n->ns_euid);
	} else if (n->flags & KSM_NS_USER) {
		w->s->boolean(w->ctx, "ns_ids_unknown", true);
	}
	if (n->flags & KSM_NS_ROOT_FS)
		root_fs_fields(w, ev);
	else if (n->root.present)
		path(w, "root", &n->root, (n->flags & KSM_NS_ROOT_DELETED) ? KSM_PATH_DELETED : 0);
	if (n->flags & KSM_NS_ROOT_DELETED)
		w->s->boolean(w->ctx, "root_deleted", true);
	if (n->flags & KSM_NS_ROOT_TRUNCATED)
		w->s->boolean(w->ctx, "root_truncated", true);
}

static void exit_fields(const struct walk *w, const struct ksm_event *ev)
{
	struct ksm_exit_status st = ksm_exit_status(ev->u.exit.status);
	w->s->num(w->ctx, "tid", ev->tid);
	if (st.signaled) {
		w->s->num(w->ctx, "signal", (uint64_t)st.code);
		w->s->boolean(w->ctx, "core_dumped", st.core_dumped);
	} else {
		w->s->num(w->ctx, "exit_code", (uint64_t)st.code);
	}
	comm(w, ev->comm);
}

static void image_fields(const struct walk *w, const struct ksm_event *ev)
{
	w->s->num(w->ctx, "tid", ev->tid);
	path(w, "path", &ev->u.image.path, ev->u.image.path_state);
	w->s->hex(w->ctx, "base", ev->u.image.base);
	w->s->num(w->ctx, "size", ev->u.image.size);
	w->s->num(w->ctx, "inode", ev->u.image.inode);
	w->s->num(w->ctx, "dev", ev->u.image.dev);
	if (ev->flags & KSM_IMAGE_DELETED)
		w->s->boolean(w->ctx, "deleted", true);
	if (ev->flags & KSM_IMAGE_MEMFD)
		w->s->boolean(w->ctx, "memfd", true);
	if (ev->flags & KSM_IMAGE_KERNEL)
		w->s->boolean(w->ctx, "kernel", true);
	if (ev->flags & KSM_IMAGE_TRUNCATED)
		w->s->boolean(w->ctx, "path_truncated", true);
	if (ev->flags & KSM_IMAGE_UNREACHABLE)
		w->s->boolean(w->ctx, "path_unreachable", true);
}

static void blocked_fields(const struct walk *w, const struct ksm_event *ev)
{
	path(w, "path", &ev->u.blocked.path, ev->u.blocked.path_state);
	state_flags(w, ev->u.blocked.path_state, "deleted", "path_truncated", "path_unreachable");
	w->s->text(w->ctx, "rule", &ev->u.blocked.rule, NULL, NULL);
	if (ev->u.blocked.sha256)
		w->s->digest(w->ctx, "sha256", ev->u.blocked.sha256);
	w->s->boolean(w->ctx, "audit", ev->flags & KSM_BLOCKED_AUDIT);
}

void ksm_event_fields(const struct ksm_event *ev, const struct ksm_field_sink *s, void *ctx)
{
	const char *name = ksm_event_name(ev->type);

	s->string(ctx, "type", name ? name : "unknown");
	s->time(ctx, "time", ev->time_ns);
	ksm_event_body_fields(ev, s, ctx);
}

void ksm_event_body_fields(const struct ksm_event *ev, const struct ksm_field_sink *s,
			   void *ctx)
{
	const struct walk w = { s, ctx };

	if (ev->type != KSM_EV_EVENTS_LOST)
		s->num(ctx, "pid", ev->pid);

	switch (ev->type) {
	case KSM_EV_PROCESS_CREATE:
		create_fields(&w, ev);
		break;
	case KSM_EV_PROCESS_EXEC:
		exec_fields(&w, ev);
		break;
	case KSM_EV_PROCESS_EXIT:
		exit_fields(&w, ev);
		break;
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT:
		s->num(ctx, "tid", ev->tid);
		break;
	case KSM_EV_IMAGE_LOAD:
		image_fields(&w, ev);
		break;
	case KSM_EV_EVENTS_LOST:
		s->lost(ctx, ev->u.lost.lost);
		if (ev->u.lost.file.present) {
			s->text(ctx, "file", &ev->u.lost.file, NULL, NULL);
			s->text(ctx, "error", &ev->u.lost.error, NULL, NULL);
		}
		break;
	case KSM_EV_EXEC_BLOCKED:
		blocked_fields(&w, ev);
		break;
	default:
		break;
	}
	ns_fields(&w, ev);
	context_fields(&w, ev);
}
