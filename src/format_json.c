// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON Lines view.  Field names are a stable interface: extend, never
 * rename. */
#include "escape.h"
#include "format.h"

#include <string.h>

static void key(struct ksm_buf *b, const char *name)
{
	ksm_buf_putc(b, ',');
	ksm_buf_putc(b, '"');
	ksm_buf_puts(b, name);
	ksm_buf_put(b, "\":", 2);
}

static void num(struct ksm_buf *b, const char *name, uint64_t v)
{
	key(b, name);
	ksm_buf_u64(b, v);
}

static void boolean(struct ksm_buf *b, const char *name, bool v)
{
	key(b, name);
	ksm_buf_puts(b, v ? "true" : "false");
}

static void text(struct ksm_buf *b, const char *name, const struct ksm_text *t)
{
	key(b, name);
	ksm_buf_putc(b, '"');
	ksm_json_text(b, t);
	ksm_buf_putc(b, '"');
}

/* A file's path; a deleted file's gets " (deleted)", as in /proc/PID/maps. */
static void path(struct ksm_buf *b, const char *name, const struct ksm_text *t, bool deleted)
{
	key(b, name);
	ksm_buf_putc(b, '"');
	ksm_json_text(b, t);
	if (deleted)
		ksm_buf_puts(b, " (deleted)");
	ksm_buf_putc(b, '"');
}

static void comm(struct ksm_buf *b, const char *c)
{
	key(b, "comm");
	ksm_json_string(b, (const uint8_t *)c, strlen(c));
}

static void sha256(struct ksm_buf *b, const uint8_t d[32])
{
	key(b, "sha256");
	ksm_buf_putc(b, '"');
	ksm_buf_hexbytes(b, d, 32);
	ksm_buf_putc(b, '"');
}

static void argv_fields(struct ksm_buf *b, const struct ksm_text *argv)
{
	struct ksm_argv_iter it;
	const uint8_t *arg;
	size_t len;
	bool first = true;

	key(b, "argv");
	ksm_buf_putc(b, '[');
	ksm_argv_begin(&it, argv);
	while (ksm_argv_next(&it, &arg, &len)) {
		if (!first)
			ksm_buf_putc(b, ',');
		ksm_json_string(b, arg, len);
		first = false;
	}
	ksm_buf_putc(b, ']');

	key(b, "cmdline");
	ksm_buf_putc(b, '"');
	first = true;
	ksm_argv_begin(&it, argv);
	while (ksm_argv_next(&it, &arg, &len)) {
		if (!first)
			ksm_buf_putc(b, ' ');
		ksm_json_bytes(b, arg, len);
		first = false;
	}
	ksm_buf_putc(b, '"');
}

void ksm_guid_format(const uint8_t g[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[g[i] >> 4];
		out[o++] = hex[g[i] & 15];
	}
	out[o] = '\0';
}

static void guid(struct ksm_buf *b, const char *name, const uint8_t g[16])
{
	char str[37];
	ksm_guid_format(g, str);
	key(b, name);
	ksm_buf_putc(b, '"');
	ksm_buf_put(b, str, 36);
	ksm_buf_putc(b, '"');
}

/* Fields the client adds from its own knowledge (struct ksm_context). */
static void context_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	const struct ksm_context *c = &ev->ctx;
	if (c->has_guid)
		guid(b, "process_guid", c->guid);
	if (c->has_parent_guid)
		guid(b, "parent_guid", c->parent_guid);
	if (c->user) {
		key(b, "user");
		ksm_json_string(b, (const uint8_t *)c->user, strlen(c->user));
	}
	if (c->parent_image.present)
		text(b, "parent_image", &c->parent_image);
	if (c->parent_cmdline.present)
		text(b, "parent_cmdline", &c->parent_cmdline);
	if (c->image.present)
		text(b, "image", &c->image);
	if (c->has_sha256)
		sha256(b, c->sha256);
	if (c->sha256_error) {
		key(b, "sha256_error");
		ksm_json_string(b, (const uint8_t *)c->sha256_error, strlen(c->sha256_error));
	}
	if (c->has_start) {
		key(b, "start_time");
		ksm_buf_putc(b, '"');
		ksm_time_rfc3339(b, c->start_ns);
		ksm_buf_putc(b, '"');
		num(b, "duration_ms", c->duration_ms);
	}
}

static void exec_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	num(b, "tid", ev->tid);
	path(b, "image", &ev->u.exec.image, ev->flags & KSM_EXEC_IMAGE_DELETED);
	if (ev->flags & KSM_EXEC_IMAGE_DELETED)
		boolean(b, "image_deleted", true);
	if (ev->flags & KSM_EXEC_IMAGE_TRUNCATED)
		boolean(b, "image_truncated", true);
	text(b, "filename", &ev->u.exec.filename);
	argv_fields(b, &ev->u.exec.argv);
	boolean(b, "argv_truncated", ev->flags & KSM_EXEC_ARGV_TRUNCATED);
	if (ev->flags & KSM_EXEC_ARGV_UNREADABLE)
		boolean(b, "argv_unreadable", true);
	num(b, "uid", ev->u.exec.uid);
	num(b, "gid", ev->u.exec.gid);
	comm(b, ev->comm);
	if (ev->u.exec.cwd.present)
		text(b, "cwd", &ev->u.exec.cwd);
	num(b, "euid", ev->u.exec.euid);
	num(b, "ppid", ev->u.exec.ppid);
}

static void exit_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	struct ksm_exit_status st = ksm_exit_status(ev->u.exit.status);
	num(b, "tid", ev->tid);
	if (st.signaled) {
		num(b, "signal", (uint64_t)st.code);
		boolean(b, "core_dumped", st.core_dumped);
	} else {
		num(b, "exit_code", (uint64_t)st.code);
	}
	comm(b, ev->comm);
}

static void image_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	num(b, "tid", ev->tid);
	path(b, "path", &ev->u.image.path, ev->flags & KSM_IMAGE_DELETED);
	key(b, "base");
	ksm_buf_putc(b, '"');
	ksm_buf_hex(b, ev->u.image.base);
	ksm_buf_putc(b, '"');
	num(b, "size", ev->u.image.size);
	num(b, "inode", ev->u.image.inode);
	num(b, "dev", ev->u.image.dev);
	if (ev->flags & KSM_IMAGE_DELETED)
		boolean(b, "deleted", true);
	if (ev->flags & KSM_IMAGE_MEMFD)
		boolean(b, "memfd", true);
	if (ev->flags & KSM_IMAGE_KERNEL)
		boolean(b, "kernel", true);
	if (ev->flags & KSM_IMAGE_TRUNCATED)
		boolean(b, "path_truncated", true);
}

static void lost_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	uint64_t total = 0;
	bool first = true;

	key(b, "lost");
	ksm_buf_putc(b, '{');
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (!ev->u.lost.lost[t])
			continue;
		if (!first)
			ksm_buf_putc(b, ',');
		ksm_buf_putc(b, '"');
		ksm_buf_puts(b, ksm_event_name(t));
		ksm_buf_put(b, "\":", 2);
		ksm_buf_u64(b, ev->u.lost.lost[t]);
		total += ev->u.lost.lost[t];
		first = false;
	}
	ksm_buf_putc(b, '}');
	num(b, "total", total);
}

static void blocked_fields(struct ksm_buf *b, const struct ksm_event *ev)
{
	text(b, "path", &ev->u.blocked.path);
	text(b, "rule", &ev->u.blocked.rule);
	if (ev->u.blocked.sha256)
		sha256(b, ev->u.blocked.sha256);
	boolean(b, "audit", ev->flags & KSM_BLOCKED_AUDIT);
}

void ksm_format_json(struct ksm_buf *b, const struct ksm_event *ev)
{
	const char *name = ksm_event_name(ev->type);

	ksm_buf_puts(b, "{\"type\":\"");
	ksm_buf_puts(b, name ? name : "unknown");
	ksm_buf_puts(b, "\",\"time\":\"");
	ksm_time_rfc3339(b, ev->time_ns);
	ksm_buf_putc(b, '"');
	if (ev->type != KSM_EV_EVENTS_LOST)
		num(b, "pid", ev->pid);

	switch (ev->type) {
	case KSM_EV_PROCESS_CREATE:
		num(b, "ppid", ev->u.create.ppid);
		num(b, "parent_tid", ev->u.create.parent_tid);
		comm(b, ev->comm);
		if (ev->u.create.image.present)
			text(b, "image", &ev->u.create.image);
		if (ev->u.create.cmdline.present)
			text(b, "cmdline", &ev->u.create.cmdline);
		break;
	case KSM_EV_PROCESS_EXEC:
		exec_fields(b, ev);
		break;
	case KSM_EV_PROCESS_EXIT:
		exit_fields(b, ev);
		break;
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT:
		num(b, "tid", ev->tid);
		break;
	case KSM_EV_IMAGE_LOAD:
		image_fields(b, ev);
		break;
	case KSM_EV_EVENTS_LOST:
		lost_fields(b, ev);
		break;
	case KSM_EV_EXEC_BLOCKED:
		blocked_fields(b, ev);
		break;
	default:
		break;
	}
	context_fields(b, ev);
	ksm_buf_put(b, "}\n", 2);
}
