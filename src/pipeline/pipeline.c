// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/bounded.h"
#include "core/errmsg.h"
#include "core/format.h"
#include "pipeline/select.h"

#define PID_LIMIT 4194304u /* PID_MAX_LIMIT */

static bool recording(const struct ksm_pipeline *p)
{
	return p->capture.fd >= 0;
}

/* ---- the capture file's own records -------------------------------------- */

/* Every epoch of the boot time: replaying from here gives every instant
 * the wall-clock time it was given live. */
static void put_clock(struct ksm_pipeline *p, struct ksm_buf *b)
{
	for (unsigned i = 0; i < p->clock.n; i++)
		ksm_capture_clock(b, p->clock.epochs[i].from, p->clock.epochs[i].boot_ns);
	p->capture_clock = p->clock.changes;
}

/* What replaying from here on needs: the boot time, the processes known
 * now, the user names looked up so far.  Also written again after a gap
 * (records that could not be written). */
static void capture_state(void *ctx, struct ksm_buf *b)
{
	struct ksm_pipeline *p = ctx;
	const struct ksm_proctab *t = &p->enrich.procs;

	put_clock(p, b);
	for (size_t i = 0; i < t->cap; i++) {
		const struct ksm_proc *q = &t->slots[i];
		if (q->pid)
			ksm_capture_proc(b, q->pid, q->ppid, q->start, q->parent_start, q->guid,
					 q->seeded, q->image_flags, q->image, q->image_len, q->cmdline, q->cmdline_len);
	}
	for (unsigned i = 0; i < p->enrich.n_users; i++)
		ksm_capture_user(b, p->enrich.users[i].mnt_ns, p->enrich.users[i].uid,
				 p->enrich.users[i].ns_uid, p->enrich.users[i].name, false);
	for (size_t i = 0; i < KSM_CGROUP_CACHE; i++) {
		const struct ksm_cgroup_slot *s = &p->enrich.cgroups[i];
		struct ksm_cgroup_fact f = ksm_enrich_cgroup_fact(s);
		if (s->id)
			ksm_capture_cgroup(b, s->id, &f);
	}
}

/* Each file starts with its header and what replaying it alone needs. */
static void capture_begin(void *ctx, struct ksm_buf *b)
{
	struct ksm_pipeline *p = ctx;

	p->info.boot_time_ns = p->clock.n ? p->clock.epochs[p->clock.n - 1].boot_ns : 0;
	p->info.start_time_ns = ksm_clock_ns(CLOCK_REALTIME);
	ksm_capture_header(b, &p->info);
	capture_state(p, b);
}

/* Live: the answer, kept in the capture for a replay elsewhere (not one
 * that the process's end prevented: none is kept for it). */
static const char *record_user(void *ctx, const struct ksm_user_query *q, char *buf, size_t len,
			       bool *keep)
{
	struct ksm_pipeline *p = ctx;
	const char *name = ksm_enrich_lookup(&p->enrich, q, buf, len, keep);
	/* an answer not kept (a chroot's is its process's; a namespace
	 * already gone has none): written for its record alone */
	if (*keep || q->mnt_ns) {
		ksm_capture_user(&p->capture.buf, q->mnt_ns, q->uid, q->ns_uid, name, !*keep);
		p->user_recorded = true;
	}
	return name;
}

/* Live: what was found of a cgroup, kept in the capture. */
static void record_cgroup(void *ctx, uint64_t id, const struct ksm_cgroup_fact *f)
{
	struct ksm_pipeline *p = ctx;
	ksm_capture_cgroup(&p->capture.buf, id, f);
}

/* Replay: the name the capture recorded. */
static const char *recorded_user(void *ctx, const struct ksm_user_query *q, char *buf,
				 size_t len, bool *keep)
{
	struct ksm_pipeline *p = ctx;
	(void)buf;
	(void)len;
	if (q->own_root || p->once_user.set) { /* recorded with its record */
		*keep = false;
		return p->once_user.set && p->once_user.known && p->once_user.uid == q->uid
			       ? p->once_user.name : NULL;
	}
	for (size_t i = 0; i < p->n_users; i++)
		if (p->users[i].uid == q->uid && p->users[i].mnt_ns == q->mnt_ns &&
		    (!p->users[i].has_ns_uid || p->users[i].ns_uid == q->ns_uid))
			return p->users[i].known ? p->users[i].name : NULL;
	*keep = false; /* not recorded (yet): a later record may name it */
	return NULL;
}

static bool replay_cgroup(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size)
{
	uint64_t id;
	struct ksm_cgroup_fact f;
	struct ksm_container c;
	if (!ksm_capture_read_cgroup(rec, size, &id, &f, &c))
		return false;
	ksm_enrich_set_cgroup(&p->enrich, id, &f);
	return true;
}

static bool remember_once(struct ksm_pipeline *p, uint32_t uid, const struct ksm_text *name)
{
	char *copy = strndup(name->len ? (const char *)name->data : "", name->len);
	if (!copy)
		return false;
	free(p->once_user.name);
	p->once_user.name = copy;
	p->once_user.uid = uid;
	p->once_user.known = name->present;
	p->once_user.set = true;
	return true;
}

static bool remember_user(struct ksm_pipeline *p, const struct ksm_cap_user_view *u)
{
	const struct ksm_text *name = &u->name;
	char *copy = strndup(name->len ? (const char *)name->data : "", name->len);
	if (!copy)
		return false;
	size_t i = 0;
	while (i < p->n_users &&
	       (p->users[i].uid != u->uid || p->users[i].mnt_ns != u->mnt_ns ||
		p->users[i].has_ns_uid != u->has_ns_uid || p->users[i].ns_uid != u->ns_uid))
		i++;
	if (i == p->n_users) {
		void *grown = realloc(p->users, (p->n_users + 1) * sizeof(*p->users));
		if (!grown) {
			free(copy);
			return false;
		}
		p->users = grown;
		p->n_users++;
	} else { /* named again: it changed while the capture was taken */
		free(p->users[i].name);
		ksm_enrich_forget_user(&p->enrich, u->mnt_ns, u->uid, u->ns_uid, u->has_ns_uid);
	}
	p->users[i].uid = u->uid;
	p->users[i].ns_uid = u->ns_uid;
	p->users[i].has_ns_uid = u->has_ns_uid;
	p->users[i].mnt_ns = u->mnt_ns;
	p->users[i].name = copy;
	p->users[i].known = name->present;
	return true;
}

/* ---- set-up ---------------------------------------------------------------- */

static void describe_host(struct ksm_capture_info *info, const uint8_t boot_id[16])
{
	struct utsname u;
	if (gethostname(info->hostname, sizeof(info->hostname) - 1))
		info->hostname[0] = '\0';
	info->hostname[sizeof(info->hostname) - 1] = '\0';
	if (!uname(&u))
		snprintf(info->kernel, sizeof(info->kernel), "%s", u.release);
	memcpy(info->boot_id, boot_id, sizeof(info->boot_id));
}

/* Two views writing one file would interleave (and a replay would read
 * what it writes): refused, whatever names lead to it. */
static int check_distinct(const struct ksm_pipeline *p, const struct ksm_options *o,
			  char *err, size_t errlen)
{
	struct ksm_file_target read = { .dirfd = -1 };

	if (p->print && o->write && ksm_file_same(&p->out.target, &p->capture.target,
						  o->rotate_size != 0, o->rotate_keep))
		return ksm_fail(err, errlen, "--write '%s' is the same file as the output '%s'",
				o->write, p->out.name);
	if (o->read && p->print && !stat(o->read, &read.st)) {
		read.exists = true;
		if (ksm_file_same(&p->out.target, &read, false, 0))
			return ksm_fail(err, errlen, "--read '%s' is the same file as the output '%s'",
					o->read, p->out.name);
	}
	return 0;
}

static int open_views(struct ksm_pipeline *p, const struct ksm_options *o, char *err, size_t errlen)
{
	struct ksm_file_policy policy = { o->file_mode, o->file_gid < 0 ? (gid_t)-1 : (gid_t)o->file_gid };
	struct ksm_output *views[] = { &p->out, &p->capture };

	for (size_t i = 0; i < 2; i++) {
		views[i]->policy = policy;
		views[i]->rotate_size = o->rotate_size;
		views[i]->rotate_keep = o->rotate_keep;
		/* a reader going away ends ksysmon, unless it enforces a policy */
		views[i]->quiet_epipe = !o->n_deny_globs && !o->n_deny_sha256;
	}
	if (p->print && ksm_output_resolve(&p->out, o->output, err, errlen))
		return -1;
	if (o->write) {
		p->capture.begin_file = capture_begin;
		p->capture.resync = capture_state;
		p->capture.begin_ctx = p;
		p->enrich.lookup_user = record_user;
		p->enrich.lookup_ctx = p;
		p->enrich.on_cgroup = record_cgroup;
		p->enrich.cgroup_ctx = p;
		if (ksm_output_resolve(&p->capture, o->write, err, errlen))
			return -1;
	}
	if (check_distinct(p, o, err, errlen))
		return -1;
	if (p->print && ksm_output_start(&p->out, err, errlen))
		return -1;
	if (o->write && ksm_output_start(&p->capture, err, errlen))
		return -1;
	if (o->syslog && ksm_syslog_open(&p->syslog, o->syslog_target, err, errlen))
		return -1;
	return 0;
}

int ksm_pipeline_init(struct ksm_pipeline *p, const struct ksm_options *o,
		      const struct ksm_rules *rules, bool seed, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->rules = rules;
	p->out.fd = p->out.target.dirfd = p->out.target.fd = -1;
	p->capture.fd = p->capture.target.dirfd = p->capture.target.fd = -1;
	p->format = o->format;
	p->replay = o->read != NULL;
	/* -w alone records only; --print or an --output file shows as well */
	p->print = p->replay || !o->write || o->print || o->output;
	p->event_mask = o->event_mask;
	p->exit_on_output_error = o->exit_on_output_error;
	if (!p->replay)
		ksm_pipeline_read_clock(p);
	if (ksm_enrich_init(&p->enrich, KSM_MAX_PROCS, seed ? "/proc" : NULL,
			    seed ? "/proc/sys/kernel/random/boot_id" : NULL))
		return ksm_fail(err, errlen, "cannot allocate the process table: %s", strerror(errno));
	if (p->replay) {
		p->enrich.lookup_user = recorded_user;
		p->enrich.lookup_ctx = p;
	}
	if (ksm_container_sel_init(&p->containers, o->containers, o->n_containers,
				   p->replay ? NULL : &p->enrich.tree, err, errlen))
		return -1;
	if (p->replay && o->n_pids) {
		p->followed = calloc(PID_LIMIT / 8 + 1, 1);
		if (!p->followed)
			return ksm_fail(err, errlen, "out of memory");
		for (size_t i = 0; i < o->n_pids; i++)
			p->followed[o->pids[i] / 8] |= (uint8_t)(1u << (o->pids[i] % 8));
	}
	p->mounts.fd = -1;
	if (!p->replay && seed)
		ksm_mounts_open(&p->mounts, "/proc"); /* without it: roots unresolved */
	if (o->hash) {
		if (!p->replay && ksm_filehash_init(&p->hash))
			return ksm_fail(err, errlen, "cannot allocate the hash cache: %s", strerror(errno));
		p->hashing = true;
	}
	describe_host(&p->info, p->enrich.procs.boot_id);
	return open_views(p, o, err, errlen);
}

void ksm_pipeline_free(struct ksm_pipeline *p)
{
	ksm_output_close(&p->out);
	ksm_output_close(&p->capture);
	ksm_syslog_close(p->syslog);
	ksm_enrich_free(&p->enrich);
	ksm_buf_free(&p->scratch);
	ksm_filehash_free(&p->hash);
	ksm_mounts_close(&p->mounts);
	for (size_t i = 0; i < p->n_users; i++)
		free(p->users[i].name);
	free(p->users);
	free(p->once_user.name);
	free(p->followed);
}

/* ---- each record ------------------------------------------------------------- */

static bool followed(struct ksm_pipeline *p, uint32_t pid)
{
	return pid <= PID_LIMIT && (p->followed[pid / 8] & (1u << (pid % 8)));
}

static void follow(struct ksm_pipeline *p, uint32_t pid, bool on)
{
	if (pid > PID_LIMIT)
		return;
	if (on)
		p->followed[pid / 8] |= (uint8_t)(1u << (pid % 8));
	else
		p->followed[pid / 8] &= (uint8_t)~(1u << (pid % 8));
}

/* A replay selects what the sensor's kernel filters (--events, --pid)
 * would have, the pid filter following new processes as the kernel does. */
static bool kernel_selects(struct ksm_pipeline *p, const struct ksm_event *ev)
{
	bool yes = p->event_mask & (1u << ev->type);
	if (!p->followed)
		return yes;
	/* followed whether or not creations and exits are reported */
	if (ev->type == KSM_EV_PROCESS_CREATE &&
	    (followed(p, ev->u.create.ppid) || followed(p, ev->u.create.creator_pid)))
		follow(p, ev->pid, true);
	yes = yes && followed(p, ev->pid);
	if (ev->type == KSM_EV_PROCESS_EXIT)
		follow(p, ev->pid, false);
	return yes;
}

static bool has_file(const struct ksm_event *ev)
{
	return ev->type == KSM_EV_PROCESS_EXEC || ev->type == KSM_EV_IMAGE_LOAD;
}

static void digest(struct ksm_pipeline *p, struct ksm_event *ev)
{
	if (!p->replay) {
		ksm_filehash_event(&p->hash, ev);
		return;
	}
	if (!has_file(ev))
		return;
	if (!p->pending_hash) {
		ev->ctx.sha256_error = "not recorded";
		return;
	}
	ev->ctx.has_sha256 = p->recorded.has_sha256;
	memcpy(ev->ctx.sha256, p->recorded.sha256, 32);
	ev->ctx.sha256_error = p->recorded.sha256_error;
}

/* An exec whose root the kernel named by its filesystem (another mount
 * namespace's root): where the host shows it. */
static bool root_by_fs(const struct ksm_event *ev)
{
	return ev->type == KSM_EV_PROCESS_EXEC && ev->has_ns && (ev->ns.flags & KSM_NS_ROOT_FS);
}

/* Live: asks the mount table (a cut or removed root's path names nothing
 * exactly, and a path too long for a capture is not kept); a replay shows
 * what the capture recorded, never the replaying machine's mounts. */
static void locate_root(struct ksm_pipeline *p, struct ksm_event *ev)
{
	struct ksm_context *c = &ev->ctx;
	char fs_path[KSM_PATH_MAX + 1];
	const char *path;

	c->root_at = KSM_ROOT_AT_UNRESOLVED;
	if (p->replay) {
		if (p->pending_root) {
			c->root_at = p->recorded.root_at;
			c->root_host = p->recorded.root_host;
		}
		return;
	}
	const struct ksm_text *r = &ev->ns.root;
	if ((ev->ns.flags & (KSM_NS_ROOT_DELETED | KSM_NS_ROOT_TRUNCATED)) || r->utf16 ||
	    r->len > KSM_PATH_MAX || (ev->hdr_flags & KSM_HF_TIME_REALTIME))
		return;
	memcpy(fs_path, r->data, r->len);
	fs_path[r->len] = '\0';
	struct ksm_root_query q = { .dev = ev->ns.root_dev, .fs_path = fs_path,
				    .exec_ns = ev->since_boot_ns, .pid = ev->pid,
				    .start_ns = ev->start_time };
	enum ksm_root_at at = ksm_root_locate(&p->mounts, &q, &path);
	if (at == KSM_ROOT_AT_PATH && strlen(path) > KSM_CAP_ROOT_MAX)
		return;
	c->root_at = (uint8_t)at;
	if (path)
		c->root_host = (struct ksm_text){ .data = (const uint8_t *)path,
						  .len = (uint32_t)strlen(path), .present = true };
}

static void emit(struct ksm_pipeline *p, const struct ksm_event *ev)
{
	if (p->print) {
		size_t mark = p->out.buf.len;
		if (p->format == KSM_FORMAT_JSON)
			ksm_format_json(&p->out.buf, ev);
		else
			ksm_format_text(&p->out.buf, ev);
		ksm_output_commit(&p->out, mark, ev->type);
	}
	if (p->syslog)
		ksm_syslog_send(p->syslog, ev);
}

/* An exec of another mount namespace whose user live had no name for,
 * unasked (every process of the namespace gone): said for this record
 * alone, so that a replay does not name it from an earlier answer. */
static void record_no_user(struct ksm_pipeline *p, const struct ksm_event *ev)
{
	if (ev->type != KSM_EV_PROCESS_EXEC || ev->ctx.user || p->user_recorded || !ev->has_ns ||
	    !ev->ns.mnt_ns || ev->ns.mnt_ns == p->enrich.own_mnt_ns)
		return;
	uint32_t ns_uid = ev->ns.flags & KSM_NS_USER ? ev->ns.ns_uid : ev->u.exec.uid;
	ksm_capture_user(&p->capture.buf, ev->ns.mnt_ns, ev->u.exec.uid, ns_uid, NULL, true);
}

static void handle(struct ksm_pipeline *p, struct ksm_event *ev, const void *raw)
{
	/* the policy's and the queue's own reports are always shown */
	bool own = ev->type == KSM_EV_EVENTS_LOST || ev->type == KSM_EV_EXEC_BLOCKED;
	bool shown = true;

	if (own) {
		ksm_enrich_cgroup(&p->enrich, ev); /* a refused exec's container */
	} else {
		/* the process table learns from every event, shown or not */
		p->user_recorded = false;
		p->enrich.answer_once = p->replay && p->once_user.set;
		ksm_enrich(&p->enrich, ev, &p->clock);
		if (!p->replay && recording(p))
			record_no_user(p, ev);
		shown = (!p->replay || kernel_selects(p, ev)) &&
			ksm_container_selected(&p->containers, ev->ctx.container) &&
			ksm_select_event(p->rules, ev, &p->scratch);
		if (shown && p->hashing)
			digest(p, ev);
		if (root_by_fs(ev) && (shown || recording(p)))
			locate_root(p, ev);
	}
	if (recording(p)) {
		if (ev->ctx.has_sha256 || ev->ctx.sha256_error)
			ksm_capture_hash(&p->capture.buf, &ev->ctx);
		if (ev->ctx.root_at)
			ksm_capture_root(&p->capture.buf, &ev->ctx);
		/* the record as its header sizes it: the reader's framing */
		ksm_buf_put(&p->capture.buf, raw, ev->size);
		ksm_output_unit(&p->capture, ev->type);
		ksm_output_maybe_flush(&p->capture);
	}
	/* the queue's losses; a view's own are counted by the view */
	if (ev->type == KSM_EV_EVENTS_LOST && !ev->u.lost.file.present)
		for (unsigned t = 1; t < KSM_EV_MAX; t++)
			p->lost[t] += ev->u.lost.lost[t];
	if (!shown) {
		p->filtered[ev->type < KSM_EV_MAX ? ev->type : 0]++;
		return;
	}
	p->seen[ev->type]++;
	emit(p, ev);
}

void ksm_pipeline_read_clock(struct ksm_pipeline *p)
{
	struct ksm_boot_reading r;
	ksm_boot_time_read(&r);
	ksm_boot_clock_update(&p->clock, &r);
}

void ksm_pipeline_record(struct ksm_pipeline *p, const void *data, size_t size)
{
	struct ksm_event ev;

	if (ksm_decode(data, size, &p->clock, &ev) != KSM_DECODE_OK) {
		p->malformed++;
		return;
	}
	if (recording(p)) {
		/* a new file starts before the event changes the process table,
		 * so that its snapshot is the state the event applies to */
		ksm_output_reserve(&p->capture, size + KSM_CAPTURE_ANNOTATION_MAX);
		if (p->capture_clock != p->clock.changes && !(ev.hdr_flags & KSM_HF_TIME_REALTIME))
			put_clock(p, &p->capture.buf);
	}
	handle(p, &ev, data);
}

/* An epoch of the boot time; an older capture's record holds one value
 * for every instant. */
static bool replay_clock(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size)
{
	uint64_t boot_ns, from;
	bool has_from;

	if (!ksm_capture_read_clock(rec, size, &boot_ns, &has_from, &from))
		return false;
	if (has_from)
		ksm_boot_clock_add(&p->clock, from, boot_ns);
	else
		ksm_boot_clock_init(&p->clock, boot_ns, 0);
	return true;
}

static bool replay_root(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size)
{
	struct ksm_text path;
	struct ksm_context *c = &p->recorded;

	if (!ksm_capture_read_root(rec, size, &c->root_at, &path))
		return false;
	size_t n = path.len < KSM_CAP_ROOT_MAX ? path.len : KSM_CAP_ROOT_MAX;
	if (n) /* a root not found has no path */
		memcpy(p->recorded_root, path.data, n);
	c->root_host = (struct ksm_text){ .data = (const uint8_t *)p->recorded_root,
					  .len = (uint32_t)n, .present = path.present };
	p->pending_root = true;
	return true;
}

static bool replay_hash(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size)
{
	struct ksm_text error;
	struct ksm_context *c = &p->recorded;

	if (!ksm_capture_read_hash(rec, size, &c->has_sha256, c->sha256, &error))
		return false;
	c->sha256_error = NULL;
	if (error.present) {
		size_t n = error.len < sizeof(p->recorded_error) - 1 ? error.len : sizeof(p->recorded_error) - 1;
		memcpy(p->recorded_error, error.data, n);
		p->recorded_error[n] = '\0';
		c->sha256_error = p->recorded_error;
	}
	p->pending_hash = true;
	return true;
}

bool ksm_pipeline_replay_record(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size)
{
	struct ksm_header h;
	struct ksm_event ev;
	struct ksm_cap_proc_view proc;
	struct ksm_cap_user_view user;

	memcpy(&h, rec, sizeof(h));
	switch (h.type) {
	case KSM_CAP_CLOCK:
		return replay_clock(p, rec, size);
	case KSM_CAP_PROC:
		if (!ksm_capture_read_proc(rec, size, &proc))
			return false;
		ksm_enrich_restore(&p->enrich, proc.pid, proc.ppid, proc.start, proc.parent_start,
				   proc.guid, proc.seeded, proc.image_flags, &proc.image, &proc.cmdline);
		return true;
	case KSM_CAP_USER:
	case KSM_CAP_USER_NS:
		if (!ksm_capture_read_user(rec, size, &user))
			return false;
		return user.own_root ? remember_once(p, user.uid, &user.name) : remember_user(p, &user);
	case KSM_CAP_HASH:
		return replay_hash(p, rec, size);
	case KSM_CAP_CGROUP:
		return replay_cgroup(p, rec, size);
	case KSM_CAP_ROOT:
		return replay_root(p, rec, size);
	default:
		if (ksm_decode(rec, size, &p->clock, &ev) != KSM_DECODE_OK || ev.size != size) {
			p->malformed++;
			p->pending_hash = p->pending_root = false;
			p->once_user.set = false;
			return false;
		}
		handle(p, &ev, rec);
		p->pending_hash = p->pending_root = false;
		p->once_user.set = false;
		return true;
	}
}

/* Once a view writes again after losing events, an events_lost record
 * names it and counts what it lost, in every view. */
static void report_view_loss(struct ksm_pipeline *p, struct ksm_output *o)
{
	struct ksm_events_lost_write r = { 0 };
	uint64_t lost[KSM_EV_MAX];
	int e;

	if (!ksm_output_take_lost(o, lost, &e))
		return;
	const char *why = strerror(e);
	size_t flen = strlen(o->name), elen = strlen(why);
	struct ksm_buf b = { 0 };
	memcpy(r.base.lost, lost, sizeof(lost));
	r.base.lost[0] = 0;
	r.base.hdr.type = KSM_EV_EVENTS_LOST;
	r.base.hdr.flags = KSM_HF_TIME_REALTIME;
	r.base.hdr.time = ksm_clock_ns(CLOCK_REALTIME);
	r.base.hdr.size = (ksm_u32)(sizeof(r) + flen + elen);
	r.file = (struct ksm_str){ sizeof(r), (ksm_u32)flen };
	r.error = (struct ksm_str){ (ksm_u32)(sizeof(r) + flen), (ksm_u32)elen };
	ksm_buf_put(&b, &r, sizeof(r));
	ksm_buf_put(&b, o->name, flen);
	ksm_buf_put(&b, why, elen);
	if (!b.failed)
		ksm_pipeline_record(p, b.data, b.len);
	ksm_buf_free(&b);
}

static void flush_views(struct ksm_pipeline *p)
{
	if (p->print)
		ksm_output_flush(&p->out);
	if (recording(p))
		ksm_output_flush(&p->capture);
}

void ksm_pipeline_flush(struct ksm_pipeline *p)
{
	ksm_syslog_flush(p->syslog);
	flush_views(p);
	report_view_loss(p, &p->out);
	report_view_loss(p, &p->capture);
	flush_views(p);
}

static int view_end(const struct ksm_output *o, bool exit_on_error)
{
	if (o->error == EPIPE && o->quiet_epipe)
		return -EPIPE;
	return exit_on_error ? -o->error : 0;
}

void ksm_pipeline_finish(struct ksm_pipeline *p)
{
	ksm_pipeline_flush(p);
	ksm_syslog_finish(p->syslog);
}

int ksm_pipeline_write_end(const struct ksm_pipeline *p)
{
	int end = p->print ? view_end(&p->out, p->exit_on_output_error) : 0;
	if (!end && recording(p))
		end = view_end(&p->capture, p->exit_on_output_error);
	return end;
}

int ksm_pipeline_reopen(struct ksm_pipeline *p)
{
	char err[512];
	int rc = 0;
	struct ksm_output *views[] = { p->print ? &p->out : NULL, recording(p) ? &p->capture : NULL };

	for (size_t i = 0; i < 2; i++) {
		if (views[i] && ksm_output_reopen(views[i], err, sizeof(err))) {
			fprintf(stderr, "ksysmon: %s\n", err);
			rc = -1;
		}
	}
	return rc;
}

/* A view's events not written, if any: one line naming the file. */
static void view_loss_summary(const struct ksm_output *o)
{
	uint64_t total = 0;
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		total += o->lost[t];
	if (!total && !o->episodes)
		return;
	fprintf(stderr, "ksysmon: not written to %s:", o->name);
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		fprintf(stderr, " %s=%llu", ksm_event_name(t), (unsigned long long)o->lost[t]);
	fprintf(stderr, " total=%llu failures=%llu\n", (unsigned long long)total,
		(unsigned long long)o->episodes);
}

uint64_t ksm_pipeline_filtered(const struct ksm_pipeline *p)
{
	uint64_t n = 0;
	for (unsigned t = 0; t < KSM_EV_MAX; t++)
		n += p->filtered[t];
	return n;
}

void ksm_pipeline_summary(const struct ksm_pipeline *p, int64_t kernel_filtered)
{
	uint64_t total_lost = 0;

	fprintf(stderr, "ksysmon: summary:");
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		if (t != KSM_EV_EVENTS_LOST)
			fprintf(stderr, " %s=%llu", ksm_event_name(t), (unsigned long long)p->seen[t]);
	fprintf(stderr, "\nksysmon: lost:");
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (t == KSM_EV_EVENTS_LOST)
			continue;
		fprintf(stderr, " %s=%llu", ksm_event_name(t), (unsigned long long)p->lost[t]);
		total_lost += p->lost[t];
	}
	fprintf(stderr, " total=%llu\n", (unsigned long long)total_lost);
	if (p->malformed)
		fprintf(stderr, "ksysmon: %llu malformed records skipped\n",
			(unsigned long long)p->malformed);
	if (p->hashing && !p->replay)
		fprintf(stderr, "ksysmon: hash: computed=%llu cached=%llu failed=%llu\n",
			(unsigned long long)p->hash.hashed, (unsigned long long)p->hash.cached,
			(unsigned long long)p->hash.failed);
	if (p->rules || p->containers.on) {
		if (kernel_filtered >= 0)
			fprintf(stderr, "ksysmon: filtered: kernel=%lld user=%llu\n",
				(long long)kernel_filtered, (unsigned long long)ksm_pipeline_filtered(p));
		else
			fprintf(stderr, "ksysmon: filtered: user=%llu\n", (unsigned long long)ksm_pipeline_filtered(p));
	}
	if (p->syslog) {
		struct ksm_syslog_stats st;
		ksm_syslog_stats(p->syslog, &st);
		fprintf(stderr, "ksysmon: syslog: sent=%llu dropped=%llu waiting=%llu failures=%llu\n",
			(unsigned long long)st.sent, (unsigned long long)st.dropped,
			(unsigned long long)st.waiting, (unsigned long long)st.failures);
	}
	uint64_t given_up = ksm_bounded_given_up();
	if (given_up && !p->replay)
		fprintf(stderr,
			"ksysmon: file system calls given up (a root's after %u ms, a digest's after %u ms): %llu; held now: %u\n",
			KSM_ROOT_WAIT_MS, KSM_HASH_BUDGET_MS, (unsigned long long)given_up,
			ksm_bounded_held());
	view_loss_summary(&p->out);
	view_loss_summary(&p->capture);
	if (p->out.reopens || p->capture.reopens)
		fprintf(stderr, "ksysmon: reopened: output=%llu capture=%llu\n",
			(unsigned long long)p->out.reopens, (unsigned long long)p->capture.reopens);
	if (p->out.rotations || p->capture.rotations)
		fprintf(stderr, "ksysmon: rotated: output=%llu capture=%llu\n",
			(unsigned long long)p->out.rotations, (unsigned long long)p->capture.rotations);
}
