// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/select.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/escape.h"

/* Offsets into scratch; pointers are taken once every copy is made, since
 * the buffer may move while it grows. */
struct field_copy {
	size_t off;
	size_t len;
	bool set;
};

static void copy_text(struct ksm_buf *b, struct field_copy *f, const uint8_t *p, size_t len)
{
	f->off = b->len;
	f->len = len;
	f->set = true;
	ksm_buf_put(b, p, len);
	ksm_buf_putc(b, '\0');
}

static void copy_cmdline(struct ksm_buf *b, struct field_copy *f, const struct ksm_text *argv)
{
	f->off = b->len;
	f->set = true;
	ksm_argv_join(b, argv, ' ', NULL);
	f->len = b->len - f->off;
	ksm_buf_putc(b, '\0');
}

/* The event's program path, NULL when it has none a rule can be about: a
 * path no root leads to (KSM_PATH_UNREACHABLE) is not one rules are
 * written for, and is unknown to them. */
static const struct ksm_text *image_of(const struct ksm_event *ev)
{
	switch (ev->type) {
	case KSM_EV_PROCESS_EXEC:
		return (ev->u.exec.image_state & KSM_PATH_UNREACHABLE) ? NULL : &ev->u.exec.image;
	case KSM_EV_PROCESS_EXIT:
		return (ev->ctx.image_flags & KSM_PATH_UNREACHABLE) ? NULL : &ev->ctx.image;
	case KSM_EV_PROCESS_CREATE: return &ev->u.create.image;
	default: return NULL;
	}
}

bool ksm_select_event(const struct ksm_rules *rules, const struct ksm_event *ev,
		      struct ksm_buf *scratch)
{
	struct ksm_rule_input in = { .type = ev->type };
	struct field_copy f[KSM_F_COUNT] = { 0 };

	if (!rules)
		return true;
	unsigned used = ksm_rules_fields_used(rules, ev->type);
	ksm_buf_reset(scratch);

	const struct ksm_text *image = image_of(ev);
	if ((used & (1u << KSM_F_IMAGE)) && image && image->present && !image->utf16)
		copy_text(scratch, &f[KSM_F_IMAGE], image->data, image->len);
	if ((used & (1u << KSM_F_PATH)) && ev->type == KSM_EV_IMAGE_LOAD &&
	    !(ev->u.image.path_state & KSM_PATH_UNREACHABLE))
		copy_text(scratch, &f[KSM_F_PATH], ev->u.image.path.data, ev->u.image.path.len);
	if ((used & (1u << KSM_F_CMDLINE)) && ev->type == KSM_EV_PROCESS_EXEC)
		copy_cmdline(scratch, &f[KSM_F_CMDLINE], &ev->u.exec.argv);
	if ((used & (1u << KSM_F_PARENT_IMAGE)) && ev->ctx.parent_image.present &&
	    !(ev->ctx.parent_image_flags & KSM_PATH_UNREACHABLE))
		copy_text(scratch, &f[KSM_F_PARENT_IMAGE], ev->ctx.parent_image.data,
			  ev->ctx.parent_image.len);
	if ((used & (1u << KSM_F_USER)) && ev->ctx.user)
		copy_text(scratch, &f[KSM_F_USER], (const uint8_t *)ev->ctx.user, strlen(ev->ctx.user));
	if ((used & (1u << KSM_F_COMM)) && ev->type != KSM_EV_THREAD_CREATE &&
	    ev->type != KSM_EV_THREAD_EXIT && ev->type != KSM_EV_IMAGE_LOAD)
		copy_text(scratch, &f[KSM_F_COMM], (const uint8_t *)ev->comm, strlen(ev->comm));
	const struct ksm_container *c = ev->ctx.container;
	if ((used & (1u << KSM_F_CONTAINER_ID)) && c)
		copy_text(scratch, &f[KSM_F_CONTAINER_ID], (const uint8_t *)c->id, strlen(c->id));
	if ((used & (1u << KSM_F_CONTAINER_RUNTIME)) && c)
		copy_text(scratch, &f[KSM_F_CONTAINER_RUNTIME], (const uint8_t *)c->runtime,
			  strlen(c->runtime));
	/* the path the record carries (process_exec), or the one found for its id */
	const struct ksm_text *cg = ev->ns.cgroup.present ? &ev->ns.cgroup : &ev->ctx.cgroup;
	if ((used & (1u << KSM_F_CGROUP)) && ev->has_cgroup && cg->present)
		copy_text(scratch, &f[KSM_F_CGROUP], cg->data, cg->len);
	if (scratch->failed)
		return true; /* out of memory: show rather than lose */

	for (int i = 0; i < KSM_F_COUNT; i++) {
		if (f[i].set) {
			in.str[i] = scratch->data + f[i].off;
			in.len[i] = f[i].len;
		}
	}
	in.num[KSM_F_PID] = ev->pid;
	in.has_num[KSM_F_PID] = true;
	if (ev->has_ns) {
		in.num[KSM_F_PID_NS] = ev->ns.pid_ns;
		in.has_num[KSM_F_PID_NS] = true;
	}
	if (ev->type == KSM_EV_PROCESS_EXEC) {
		in.num[KSM_F_UID] = ev->u.exec.uid;
		in.has_num[KSM_F_UID] = true;
	}
	return ksm_rules_pass(rules, &in);
}

/* ---- --container ------------------------------------------------------------ */

/* The running containers whose id begins with a prefix. */
struct prefix_match {
	const char *prefix;
	size_t len;
	char id[KSM_CONTAINER_NAME_MAX + 1]; /* the first found */
	bool ambiguous;
	uint64_t cgroup_id; /* the outermost cgroup of it */
};

static void match_prefix(void *ctx, const struct ksm_container *c, uint64_t cgroup_id)
{
	struct prefix_match *m = ctx;
	if (!ksm_container_id_begins(c, m->prefix, m->len))
		return;
	if (!m->id[0]) {
		snprintf(m->id, sizeof(m->id), "%s", c->id);
		m->cgroup_id = cgroup_id;
	} else if (strcmp(m->id, c->id)) {
		m->ambiguous = true;
	}
}

/* An id as engines write it: hex digits in either case mean the same id,
 * and engines give lowercase ones.  false: not hex, or too long. */
static bool lower_id(const char *v, char out[KSM_CONTAINER_ID_MAX + 1])
{
	size_t n = strlen(v);
	if (n > KSM_CONTAINER_ID_MAX || strspn(v, "0123456789abcdefABCDEF") != n)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	return true;
}

static int resolve(struct ksm_container_sel *s, const char *given, const struct ksm_cgroups *tree,
		   char *err, size_t errlen)
{
	char v[KSM_CONTAINER_ID_MAX + 1];
	if (!lower_id(given, v))
		return ksm_fail(err, errlen, "--container '%s' is not a container id", given);
	struct prefix_match m = { .prefix = v, .len = strlen(v) };
	if (!tree) {
		snprintf(s->ids[s->n].id, sizeof(s->ids[s->n].id), "%s", v);
		s->ids[s->n++].len = m.len;
		return 0;
	}
	if (ksm_cgroups_containers(tree, match_prefix, &m))
		return ksm_fail(err, errlen, "--container '%s': the cgroup hierarchy cannot be read", given);
	if (m.ambiguous)
		return ksm_fail(err, errlen, "--container '%s' is ambiguous: several running containers have ids beginning so", given);
	if (!m.id[0])
		return ksm_fail(err, errlen, "--container '%s': no running container has an id beginning so", given);
	snprintf(s->ids[s->n].id, sizeof(s->ids[s->n].id), "%s", m.id);
	s->ids[s->n].len = strlen(m.id);
	s->ids[s->n++].whole = true;
	s->cgroup_ids[s->n_cgroups++] = m.cgroup_id;
	return 0;
}

int ksm_container_sel_init(struct ksm_container_sel *s, const char *const *vals, size_t n,
			   const struct ksm_cgroups *tree, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->on = n > 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(vals[i], "all"))
			s->all = true;
		else if (!strcmp(vals[i], "host"))
			s->host = true;
		else if (resolve(s, vals[i], tree, err, errlen))
			return -1;
	}
	return 0;
}

bool ksm_containers_by_id(const struct ksm_options *o)
{
	for (size_t i = 0; i < o->n_containers; i++)
		if (!strcmp(o->containers[i], "all") || !strcmp(o->containers[i], "host"))
			return false;
	return o->n_containers > 0;
}

bool ksm_container_selected(const struct ksm_container_sel *s, const struct ksm_container *c)
{
	if (!s->on)
		return true;
	if (!c)
		return s->host;
	if (s->all)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i].whole ? !strcmp(c->id, s->ids[i].id)
				    : ksm_container_id_begins(c, s->ids[i].id, s->ids[i].len))
			return true;
	return false;
}
