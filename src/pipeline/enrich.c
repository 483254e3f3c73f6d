// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/enrich.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "ksysmon_limits.h"
#include "core/bounded.h"

/* the inode of a namespace file (/proc/self/ns/mnt); 0 when unknown */
static uint64_t ns_inode(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

int ksm_enrich_init(struct ksm_enricher *e, size_t max_procs, const char *proc_dir,
		    const char *boot_id_path)
{
	uint8_t boot_id[16] = { 0 };

	memset(e, 0, sizeof(*e));
	e->tree.mnt_fd = -1;
	e->lookup_user = ksm_enrich_lookup;
	e->lookup_ctx = e;
	/* without a boot id, identities are still unique within this boot */
	if (boot_id_path)
		ksm_read_boot_id(boot_id_path, boot_id);
	if (ksm_proctab_init(&e->procs, max_procs, boot_id))
		return -1;
	if (proc_dir) {
		char path[256];
		snprintf(path, sizeof(path), "%s/self/ns/mnt", proc_dir);
		e->own_mnt_ns = ns_inode(path);
		snprintf(path, sizeof(path), "%s/self/mountinfo", proc_dir);
		ksm_cgroups_open(&e->tree, path); /* without it: the records' paths only */
		e->live = true;
		ksm_stamp_of_path("/etc/passwd", &e->host_passwd);
		ksm_proctab_seed(&e->procs, proc_dir);
	}
	return 0;
}

void ksm_enrich_free(struct ksm_enricher *e)
{
	ksm_proctab_free(&e->procs);
	for (unsigned i = 0; i < e->n_users; i++)
		free(e->users[i].name);
	for (unsigned i = 0; i < e->n_roots; i++)
		ksm_passwd_free(&e->roots[i].pw);
	ksm_passwd_free(&e->chroot.pw);
	for (size_t i = 0; i < KSM_CGROUP_CACHE; i++)
		free(e->cgroups[i].path);
	ksm_cgroups_close(&e->tree);
	free(e->user_once);
}

static const char *host_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	if (getpwuid_r(uid, &pw, buf, len, &res) || !res)
		return NULL;
	return res->pw_name;
}

static struct ksm_root_names *find_root(struct ksm_enricher *e, uint64_t mnt_ns)
{
	for (unsigned i = 0; i < e->n_roots; i++)
		if (e->roots[i].mnt_ns == mnt_ns)
			return &e->roots[i];
	return NULL;
}

/* The names of the root of q's process, read once per mount namespace
 * (checked against their file before each use: names_current); NULL
 * when the process was gone before its root could be read, or the read
 * did not end within its bound (KSM_ROOT_WAIT_MS). */
static const struct ksm_root_names *root_names(struct ksm_enricher *e,
					       const struct ksm_user_query *q)
{
	struct ksm_root_names *found = q->own_root ? NULL : find_root(e, q->mnt_ns);
	if (found)
		return found;
	struct ksm_passwd pw;
	struct ksm_stamp id;
	struct ksm_passwd_of of = { q->pid, q->start, q->mnt_ns };
	int kind = ksm_passwd_of_root("/proc", &of, &pw, &id);
	/* gone already: another process of the namespace has the same root
	 * (not for a chroot, whose root is its own) */
	if (kind == -ESRCH && !q->own_root && !ksm_mnt_ns_member("/proc", q->mnt_ns, &of))
		kind = ksm_passwd_of_root("/proc", &of, &pw, &id);
	/* gone, or its file system did not answer in time: not known now */
	if (kind == -ESRCH || ksm_bounded_gave_up(kind))
		return NULL;
	if (q->own_root) { /* this process's only: read for it, not kept */
		ksm_passwd_free(&e->chroot.pw);
		e->chroot.kind = kind;
		e->chroot.pw = pw;
		return &e->chroot;
	}
	unsigned slot = e->n_roots < KSM_ROOT_CACHE ? e->n_roots++ : e->next_root++ % KSM_ROOT_CACHE;
	ksm_passwd_free(&e->roots[slot].pw);
	e->roots[slot] = (struct ksm_root_names){ q->mnt_ns, kind, pw, id, of };
	return &e->roots[slot];
}

/* The kept names of mount namespace mnt_ns (all: every one) dropped. */
static void forget_users(struct ksm_enricher *e, bool all, uint64_t mnt_ns)
{
	for (unsigned i = 0; i < e->n_users;) {
		if (!all && e->users[i].mnt_ns != mnt_ns) {
			i++;
			continue;
		}
		free(e->users[i].name);
		e->users[i] = e->users[--e->n_users];
	}
}

void ksm_enrich_forget_user(struct ksm_enricher *e, uint64_t mnt_ns, uint32_t uid,
			    uint32_t ns_uid, bool has_ns_uid)
{
	for (unsigned i = 0; i < e->n_users;) {
		struct ksm_user_name *u = &e->users[i];
		if (u->mnt_ns != mnt_ns || u->uid != uid || (has_ns_uid && u->ns_uid != ns_uid)) {
			i++;
			continue;
		}
		free(u->name);
		*u = e->users[--e->n_users];
	}
}

/* The host's user database: every name kept is dropped when /etc/passwd
 * changed (other NSS sources are not watched). */
static void host_names_current(struct ksm_enricher *e)
{
	struct ksm_stamp now;
	ksm_stamp_of_path("/etc/passwd", &now);
	if (ksm_stamp_equal(&now, &e->host_passwd))
		return;
	e->host_passwd = now;
	forget_users(e, true, 0);
}

/* The identity of the passwd file of mnt_ns's root, through q's process,
 * the last one seen there, or any other of the namespace; -ESRCH when
 * none is left. */
static int root_id(const struct ksm_user_query *q, struct ksm_root_names *r,
		   struct ksm_stamp *id, struct ksm_passwd_of *of)
{
	*of = (struct ksm_passwd_of){ q->pid, q->start, q->mnt_ns };
	int kind = ksm_passwd_id_of_root("/proc", of, id);
	if (kind == -ESRCH && r) {
		*of = r->member;
		kind = ksm_passwd_id_of_root("/proc", of, id);
	}
	if (kind == -ESRCH && !ksm_mnt_ns_member("/proc", q->mnt_ns, of))
		kind = ksm_passwd_id_of_root("/proc", of, id);
	return kind;
}

/* Live: whether the names kept for q (its mount namespace's, or the
 * host's) may be used: those of a passwd file that changed since it was
 * read are dropped (read again when asked).  false: no process of the
 * namespace is left to tell, or its root did not tell in time, so no
 * name. */
static bool names_current(struct ksm_enricher *e, const struct ksm_user_query *q)
{
	if (!q->mnt_ns || q->mnt_ns == e->own_mnt_ns) {
		host_names_current(e);
		return true;
	}
	struct ksm_root_names *r = find_root(e, q->mnt_ns);
	struct ksm_stamp id;
	struct ksm_passwd_of of;
	int kind = root_id(q, r, &id, &of);
	if (kind == -ESRCH || ksm_bounded_gave_up(kind))
		return false;
	if (r && (kind == KSM_ROOT_HOST) == (r->kind == KSM_ROOT_HOST) &&
	    ksm_stamp_equal(&id, &r->id)) {
		r->member = of;
		if (kind == KSM_ROOT_HOST)
			host_names_current(e);
		return true;
	}
	/* changed, or not kept: what was said of it is not known to hold */
	if (r) {
		ksm_passwd_free(&r->pw);
		r->mnt_ns = 0;
	}
	forget_users(e, false, q->mnt_ns);
	return true;
}

const char *ksm_enrich_lookup(void *ctx, const struct ksm_user_query *q, char *buf, size_t len,
			      bool *keep)
{
	struct ksm_enricher *e = ctx;
	*keep = true;
	/* the host's names, unless the process chrooted: its root's then */
	if ((!q->mnt_ns || q->mnt_ns == e->own_mnt_ns) && !q->own_root)
		return host_name(q->uid, buf, len);
	const struct ksm_root_names *r = root_names(e, q);
	/* gone: another process of the namespace may still tell; a chroot's
	 * names are its own */
	*keep = r && !q->own_root;
	if (!r)
		return NULL;
	if (r->kind == KSM_ROOT_HOST)
		return host_name(q->uid, buf, len);
	if (r->kind != KSM_ROOT_OWN || q->ns_uid == KSM_NS_ID_UNMAPPED)
		return NULL;
	return ksm_passwd_name(&r->pw, q->ns_uid);
}

/* User names change rarely: looked up once per mount namespace, uid and
 * uid in the process's user namespace (a bounded cache), a uid without a
 * name too (NULL).  Both ids are the key: a root's passwd file names the
 * latter, which two processes of one host uid in one mount namespace but
 * different user namespaces do not share. */
static const char *user_name(struct ksm_enricher *e, const struct ksm_user_query *q)
{
	/* a chroot's answer, or one a replay has for this exec alone, is asked */
	bool ask = q->own_root || e->answer_once;
	if (e->live && !q->own_root && !names_current(e, q))
		return NULL;
	for (unsigned i = 0; i < e->n_users && !ask; i++)
		if (e->users[i].uid == q->uid && e->users[i].ns_uid == q->ns_uid &&
		    e->users[i].mnt_ns == q->mnt_ns)
			return e->users[i].name;
	char buf[4096];
	bool keep = true;
	const char *found = e->lookup_user(e->lookup_ctx, q, buf, sizeof(buf), &keep);
	if (found && strnlen(found, KSM_USER_NAME_MAX + 1) > KSM_USER_NAME_MAX)
		found = NULL; /* no login name: rather none than one cut */
	if (!keep) { /* this answer only, whole */
		free(e->user_once);
		e->user_once = found ? strdup(found) : NULL;
		return e->user_once;
	}
	char *name = found ? strdup(found) : NULL;
	if (found && !name)
		return NULL; /* out of memory: asked again next time */
	unsigned slot;
	if (e->n_users < KSM_USER_CACHE) {
		slot = e->n_users++;
	} else {
		slot = q->uid % KSM_USER_CACHE;
		free(e->users[slot].name);
	}
	e->users[slot].mnt_ns = q->mnt_ns;
	e->users[slot].uid = q->uid;
	e->users[slot].ns_uid = q->ns_uid;
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


/* A program's path as process_exec shows it in its state (state: enum
 * ksm_path_state; "(unreachable)" before it, " (deleted)" after) into buf;
 * returns its length, *shown its state.  A path too long to be kept with
 * them keeps its end, as the kernel cuts paths, and is marked cut. */
static size_t shown_path(const struct ksm_text *t, unsigned state, char buf[KSM_PROC_STR_MAX],
			 uint8_t *shown)
{
	const char *prefix = ksm_path_prefix(state), *suffix = ksm_path_suffix(state);
	size_t plen = prefix ? strlen(prefix) : 0, slen = suffix ? strlen(suffix) : 0;
	size_t room = KSM_PROC_STR_MAX - plen - slen, n = t->len, skip = 0;

	*shown = (uint8_t)state;
	if (n > room) {
		skip = n - room;
		n = room;
		*shown |= KSM_PATH_TRUNCATED;
	}
	if (plen)
		memcpy(buf, prefix, plen);
	if (n)
		memcpy(buf + plen, t->data + skip, n);
	if (slen)
		memcpy(buf + plen + n, suffix, slen);
	return plen + n + slen;
}

/* The program as process_exec shows it, so that its exit and its
 * children's parent_image say the same. */
static void set_image(struct ksm_proc *p, const struct ksm_event *ev)
{
	char buf[KSM_PROC_STR_MAX];
	size_t n = shown_path(&ev->u.exec.image, ev->u.exec.image_state, buf, &p->image_flags);
	ksm_proc_set(&p->image, &p->image_len, buf, n);
}

/* The live or just ended process (pid, start), or NULL. */
static struct ksm_proc *find_any(struct ksm_enricher *e, uint32_t pid, uint64_t start)
{
	struct ksm_proc *p = ksm_proctab_find(&e->procs, pid, start);
	return p ? p : ksm_proctab_find_ended(&e->procs, pid, start);
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
	/* ended just before: its exit came first */
	*parent = find_any(e, ppid, ev->parent_start_time);
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

/* Whose program a new process runs until it execs: its creator's, which
 * is its parent unless CLONE_PARENT made the creator's parent the parent.
 * Found by identity; NULL when not known (a record without the creator's
 * start): rather no program than the parent's. */
static struct ksm_proc *creator_of(struct ksm_enricher *e, struct ksm_event *ev,
				   struct ksm_proc *parent)
{
	if (!ksm_created_by_other(ev))
		return parent;
	if (!ev->u.create.creator_start)
		return NULL;
	identity(e, ev->u.create.creator_pid, ev->u.create.creator_start,
		 &ev->ctx.has_creator_guid, ev->ctx.creator_guid);
	return find_any(e, ev->u.create.creator_pid, ev->u.create.creator_start);
}

static void on_process_create(struct ksm_enricher *e, struct ksm_event *ev)
{
	struct ksm_proc *parent;
	struct ksm_proc *p = track(e, ev, ev->u.create.ppid, &parent);
	struct ksm_proc *creator = creator_of(e, ev, parent);

	if (p && creator && creator->image) {
		ksm_proc_set(&p->image, &p->image_len, creator->image, creator->image_len);
		p->image_flags = creator->image_flags;
	}
	if (p && creator && creator->cmdline)
		ksm_proc_set(&p->cmdline, &p->cmdline_len, creator->cmdline, creator->cmdline_len);
}

/* The user of an exec, where its process sees it: its mount namespace
 * (0: not recorded, then the host's names apply) and its uid in its own
 * user namespace. */
static struct ksm_user_query user_query(const struct ksm_event *ev)
{
	const struct ksm_ns_view *n = &ev->ns;
	struct ksm_user_query q = { .uid = ev->u.exec.uid, .ns_uid = ev->u.exec.uid,
				    .pid = ev->pid, .start = ev->start_time };
	if (!ev->has_ns)
		return q;
	q.mnt_ns = n->mnt_ns;
	if (n->flags & KSM_NS_USER)
		q.ns_uid = n->flags & KSM_NS_IDS_UNKNOWN ? KSM_NS_ID_UNMAPPED : n->ns_uid;
	/* a root below its namespace's top: its own passwd, not the namespace's */
	q.own_root = n->root.present &&
		     (!(n->flags & KSM_NS_ROOT_FS) || (n->flags & KSM_NS_ROOT_CHROOT));
	return q;
}

static void on_process_exec(struct ksm_enricher *e, struct ksm_event *ev)
{
	struct ksm_context *c = &ev->ctx;
	struct ksm_proc *parent;
	struct ksm_proc *p = track(e, ev, ev->u.exec.ppid, &parent);

	if (ev->u.exec.parent_image.present) {
		/* the kernel's, at the exec: exact whatever happened since */
		size_t n = shown_path(&ev->u.exec.parent_image, ev->u.exec.parent_image_state,
				      e->parent_image, &c->parent_image_flags);
		c->parent_image = text_of(e->parent_image, n);
	} else if (parent) {
		c->parent_image = text_of(parent->image, parent->image_len);
		c->parent_image_flags = parent->image_flags;
	}
	if (parent)
		c->parent_cmdline = text_of(parent->cmdline, parent->cmdline_len);
	struct ksm_user_query q = user_query(ev);
	c->user = user_name(e, &q);
	if (!p)
		return;
	set_image(p, ev);
	ksm_proc_set_cmdline(p, ev->u.exec.argv.data, ev->u.exec.argv.len);
}

static void on_process_exit(struct ksm_enricher *e, struct ksm_event *ev,
			    const struct ksm_boot_clock *clock)
{
	struct ksm_context *c = &ev->ctx;
	struct ksm_proc *p = ksm_proctab_find(&e->procs, ev->pid, ev->start_time);

	c->has_start = true;
	c->start_ns = ksm_boot_clock_wall(clock, ev->start_time);
	/* on the boot clock, which the wall clock's steps do not move */
	uint64_t end = ev->since_boot_ns ? ev->since_boot_ns : ev->time_ns;
	uint64_t start = ev->since_boot_ns ? ev->start_time : c->start_ns;
	c->duration_ms = end > start ? (end - start) / 1000000u : 0;
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

struct ksm_cgroup_fact ksm_enrich_cgroup_fact(const struct ksm_cgroup_slot *s)
{
	struct ksm_cgroup_fact f = { .container = s->in_container ? &s->c : NULL,
				     .path = text_of(s->path, s->path_len), .path_cut = s->path_cut };
	return f;
}

/* Keeps the path as shown: its last KSM_NS_PATH_MAX - 1 bytes, as the
 * kernel cuts the path of a process_exec. */
static void keep_path(struct ksm_cgroup_slot *s, const uint8_t *path, size_t len, bool cut)
{
	size_t n = len < KSM_NS_PATH_MAX - 1 ? len : KSM_NS_PATH_MAX - 1;
	s->path = malloc(n + 1);
	if (!s->path)
		return; /* out of memory: not shown */
	memcpy(s->path, path + len - n, n);
	s->path[n] = '\0';
	s->path_len = (uint32_t)n;
	s->path_cut = cut || n < len;
}

/* What is known of cgroup id from now on (c NULL: no container; path
 * NULL: not known), told to the capture when live. */
static const struct ksm_cgroup_slot *keep_cgroup(struct ksm_enricher *e, uint64_t id,
						 const struct ksm_container *c, const uint8_t *path,
						 size_t len, bool cut)
{
	struct ksm_cgroup_slot *s = &e->cgroups[id % KSM_CGROUP_CACHE];
	free(s->path);
	*s = (struct ksm_cgroup_slot){ .id = id, .in_container = c != NULL };
	if (c)
		s->c = *c;
	if (path)
		keep_path(s, path, len, cut);
	if (e->on_cgroup) {
		struct ksm_cgroup_fact f = ksm_enrich_cgroup_fact(s);
		e->on_cgroup(e->cgroup_ctx, id, &f);
	}
	return s;
}

void ksm_enrich_set_cgroup(struct ksm_enricher *e, uint64_t id, const struct ksm_cgroup_fact *f)
{
	keep_cgroup(e, id, f->container, f->path.present ? f->path.data : NULL, f->path.len,
		    f->path_cut);
}

/*
 * What is known of the event's cgroup: found once per cgroup id, from the
 * path the record carries (process_exec, exec_blocked) or, live, the path
 * of the id in the hierarchy now; a replay has what the capture says of
 * the id (ksm_enrich_set_cgroup).  NULL when the record has no cgroup, or
 * the id could not be looked up (not kept: a later record may say); a
 * cgroup gone before any record named its path is kept as in none.
 */
static const struct ksm_cgroup_slot *cgroup_of(struct ksm_enricher *e, const struct ksm_event *ev)
{
	const struct ksm_ns_view *n = &ev->ns;
	if (!ev->has_cgroup || !n->cgroup_id)
		return NULL;
	struct ksm_cgroup_slot *s = &e->cgroups[n->cgroup_id % KSM_CGROUP_CACHE];
	if (s->id == n->cgroup_id)
		return s;
	char *buf = e->cgroup_path;
	const uint8_t *path = n->cgroup.data;
	size_t len = n->cgroup.len;
	if (!n->cgroup.present || (ev->has_ns && (n->flags & KSM_NS_CGROUP_TRUNCATED))) {
		int rc = ksm_cgroup_path(&e->tree, n->cgroup_id, buf, sizeof(e->cgroup_path));
		if (rc == -ESTALE) /* gone, and ids are not reused: asked once */
			return keep_cgroup(e, n->cgroup_id, NULL, NULL, 0, false);
		if (rc < 0)
			return NULL;
		path = (const uint8_t *)buf;
		len = (size_t)rc;
	}
	struct ksm_container c;
	bool in = ksm_container_from_cgroup(path, len, &c);
	return keep_cgroup(e, n->cgroup_id, in ? &c : NULL, path, len, false);
}

void ksm_enrich_cgroup(struct ksm_enricher *e, struct ksm_event *ev)
{
	const struct ksm_cgroup_slot *s = cgroup_of(e, ev);
	if (!s)
		return;
	ev->ctx.container = s->in_container ? &s->c : NULL;
	if (!ev->ns.cgroup.present) { /* the record's own path, when it has one */
		ev->ctx.cgroup = text_of(s->path, s->path_len);
		ev->ctx.cgroup_cut = s->path_cut;
	}
}

void ksm_enrich(struct ksm_enricher *e, struct ksm_event *ev, const struct ksm_boot_clock *clock)
{
	ksm_enrich_cgroup(e, ev);
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
		on_process_exit(e, ev, clock);
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
