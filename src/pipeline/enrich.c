// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/enrich.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

int ksm_enrich_init(struct ksm_enricher *e, size_t max_procs, const char *proc_dir,
		    const char *boot_id_path)
{
	uint8_t boot_id[16] = { 0 };

	memset(e, 0, sizeof(*e));
	e->lookup_user = ksm_enrich_passwd;
	/* without a boot id, identities are still unique within this boot */
	if (boot_id_path)
		ksm_read_boot_id(boot_id_path, boot_id);
	if (ksm_proctab_init(&e->procs, max_procs, boot_id))
		return -1;
	if (proc_dir)
		ksm_proctab_seed(&e->procs, proc_dir);
	return 0;
}

void ksm_enrich_free(struct ksm_enricher *e)
{
	ksm_proctab_free(&e->procs);
	for (unsigned i = 0; i < e->n_users; i++)
		free(e->users[i].name);
}

const char *ksm_enrich_passwd(void *ctx, uint32_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	(void)ctx;
	if (getpwuid_r(uid, &pw, buf, len, &res) || !res)
		return NULL;
	return res->pw_name;
}

/* User names change rarely: looked up once per uid (a bounded cache),
 * a uid without a name too (NULL), such as a container's. */
static const char *user_name(struct ksm_enricher *e, uint32_t uid)
{
	for (unsigned i = 0; i < e->n_users; i++)
		if (e->users[i].uid == uid)
			return e->users[i].name;
	char buf[4096];
	const char *found = e->lookup_user(e->lookup_ctx, uid, buf, sizeof(buf));
	char *name = found ? strdup(found) : NULL;
	if (found && !name)
		return NULL; /* out of memory: asked again next time */
	unsigned slot;
	if (e->n_users < KSM_USER_CACHE) {
		slot = e->n_users++;
	} else {
		slot = uid % KSM_USER_CACHE;
		free(e->users[slot].name);
	}
	e->users[slot].uid = uid;
	e->users[slot].name = name;
	return name;
}

static struct ksm_text text_of(const char *s, size_t len)
{
	struct ksm_text t = { 0 };
	if (s) {
		t.data = (const uint8_t *)s;
		t.len = (uint32_t)len;
		t.present = true;
	}
	return t;
}

/* The identity of (pid, start): the table's, which for a process that was
 * already running at start-up was computed from a coarser start time. */
static void identity(struct ksm_enricher *e, uint32_t pid, uint64_t start, bool *has,
		     uint8_t out[16])
{
	struct ksm_proc *p = ksm_proctab_find(&e->procs, pid, start);
	if (p)
		memcpy(out, p->guid, 16);
	else
		ksm_guid(e->procs.boot_id, pid, start, out);
	*has = true;
}


/* A program's path as process_exec shows it (a deleted file's ends in
 * " (deleted)") into buf; returns its length, *state its enum ksm_path_state. */
static size_t shown_path(const struct ksm_text *t, bool deleted, bool truncated,
			 char buf[KSM_PROC_STR_MAX], uint8_t *state)
{
	static const char suffix[] = " (deleted)";
	size_t n = t->len < KSM_PROC_STR_MAX ? t->len : KSM_PROC_STR_MAX;

	if (n)
		memcpy(buf, t->data, n);
	*state = truncated ? KSM_PATH_TRUNCATED : 0;
	if (deleted && n + sizeof(suffix) - 1 <= KSM_PROC_STR_MAX) {
		memcpy(buf + n, suffix, sizeof(suffix) - 1);
		n += sizeof(suffix) - 1;
		*state |= KSM_PATH_DELETED;
	}
	return n;
}

/* The program as process_exec shows it, so that its exit and its
 * children's parent_image say the same. */
static void set_image(struct ksm_proc *p, const struct ksm_event *ev)
{
	char buf[KSM_PROC_STR_MAX];
	size_t n = shown_path(&ev->u.exec.image, ev->flags & KSM_EXEC_IMAGE_DELETED,
			      ev->flags & KSM_EXEC_IMAGE_TRUNCATED, buf, &p->image_flags);
	ksm_proc_set(&p->image, &p->image_len, buf, n);
}

/*
 * The entry of the event's process, made or found, with its identity and
 * parent's set in ev->ctx; NULL (identity computed all the same) when the
 * table is full.  *parent: the parent's entry, if known.
 */
static struct ksm_proc *track(struct ksm_enricher *e, struct ksm_event *ev, uint32_t ppid,
			      struct ksm_proc **parent)
{
	struct ksm_context *c = &ev->ctx;
	*parent = ksm_proctab_find(&e->procs, ppid, ev->parent_start_time);
	if (!*parent) /* ended just before: its exit came first */
		*parent = ksm_proctab_find_ended(&e->procs, ppid, ev->parent_start_time);
	identity(e, ppid, ev->parent_start_time, &c->has_parent_guid, c->parent_guid);
	struct ksm_proc *p = ksm_proctab_get(&e->procs, ev->pid, ev->start_time);
	c->has_guid = true;
	if (!p) {
		ksm_guid(e->procs.boot_id, ev->pid, ev->start_time, c->guid);
		return NULL;
	}
	memcpy(c->guid, p->guid, 16);
	p->ppid = ppid;
	p->parent_start = ev->parent_start_time;
	return p;
}

static void on_process_create(struct ksm_enricher *e, struct ksm_event *ev)
{
	struct ksm_proc *parent;
	struct ksm_proc *p = track(e, ev, ev->u.create.ppid, &parent);

	/* until it execs, a child runs its parent's program */
	if (p && parent && parent->image) {
		ksm_proc_set(&p->image, &p->image_len, parent->image, parent->image_len);
		p->image_flags = parent->image_flags;
	}
	if (p && parent && parent->cmdline)
		ksm_proc_set(&p->cmdline, &p->cmdline_len, parent->cmdline, parent->cmdline_len);
}

static void on_process_exec(struct ksm_enricher *e, struct ksm_event *ev)
{
	struct ksm_context *c = &ev->ctx;
	struct ksm_proc *parent;
	struct ksm_proc *p = track(e, ev, ev->u.exec.ppid, &parent);

	if (ev->u.exec.parent_image.present) {
		/* the kernel's, at the exec: exact whatever happened since */
		size_t n = shown_path(&ev->u.exec.parent_image,
				      ev->flags & KSM_EXEC_PARENT_IMAGE_DELETED,
				      ev->flags & KSM_EXEC_PARENT_IMAGE_TRUNCATED, e->parent_image,
				      &c->parent_image_flags);
		c->parent_image = text_of(e->parent_image, n);
	} else if (parent) {
		c->parent_image = text_of(parent->image, parent->image_len);
		c->parent_image_flags = parent->image_flags;
	}
	if (parent)
		c->parent_cmdline = text_of(parent->cmdline, parent->cmdline_len);
	c->user = user_name(e, ev->u.exec.uid);
	if (!p)
		return;
	set_image(p, ev);
	ksm_proc_set_cmdline(p, ev->u.exec.argv.data, ev->u.exec.argv.len);
}

static void on_process_exit(struct ksm_enricher *e, struct ksm_event *ev, uint64_t boot_ns)
{
	struct ksm_context *c = &ev->ctx;
	struct ksm_proc *p = ksm_proctab_find(&e->procs, ev->pid, ev->start_time);

	c->has_start = true;
	c->start_ns = ev->start_time + boot_ns;
	c->duration_ms = ev->time_ns > c->start_ns ? (ev->time_ns - c->start_ns) / 1000000u : 0;
	if (!p) {
		ksm_guid(e->procs.boot_id, ev->pid, ev->start_time, c->guid);
		c->has_guid = true;
		return;
	}
	memcpy(c->guid, p->guid, 16);
	c->has_guid = true;
	p = ksm_proctab_retire(&e->procs, p);
	c->image = text_of(p->image, p->image_len);
	c->image_flags = p->image_flags;
}

void ksm_enrich(struct ksm_enricher *e, struct ksm_event *ev, uint64_t boot_ns)
{
	if (!ev->start_time)
		return; /* no process identity in this record */
	switch (ev->type) {
	case KSM_EV_PROCESS_CREATE:
		on_process_create(e, ev);
		break;
	case KSM_EV_PROCESS_EXEC:
		on_process_exec(e, ev);
		break;
	case KSM_EV_PROCESS_EXIT:
		on_process_exit(e, ev, boot_ns);
		break;
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT:
	case KSM_EV_IMAGE_LOAD:
		identity(e, ev->pid, ev->start_time, &ev->ctx.has_guid, ev->ctx.guid);
		break;
	default:
		break;
	}
}

void ksm_enrich_restore(struct ksm_enricher *e, uint32_t pid, uint32_t ppid, uint64_t start,
			uint64_t parent_start, const uint8_t guid[16], bool seeded,
			uint8_t image_flags, const struct ksm_text *image,
			const struct ksm_text *cmdline)
{
	struct ksm_proc *p = ksm_proctab_get(&e->procs, pid, start);
	if (!p)
		return;
	p->seeded = seeded;
	p->image_flags = image_flags;
	p->ppid = ppid;
	p->parent_start = parent_start;
	memcpy(p->guid, guid, 16);
	if (image->present)
		ksm_proc_set(&p->image, &p->image_len, image->len ? image->data : (const uint8_t *)"",
			     image->len);
	if (cmdline->present)
		ksm_proc_set(&p->cmdline, &p->cmdline_len,
			     cmdline->len ? cmdline->data : (const uint8_t *)"", cmdline->len);
}
