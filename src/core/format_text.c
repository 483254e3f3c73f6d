// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One human-readable line per event, in the seed client's words. */
#include "core/escape.h"
#include "core/format.h"

#include <string.h>

struct ksm_exit_status ksm_exit_status(uint32_t status)
{
	struct ksm_exit_status st = { 0 };
	if (status & 0x7f) {
		st.signaled = true;
		st.code = (int)(status & 0x7f);
		st.core_dumped = status & 0x80;
	} else {
		st.code = (int)((status >> 8) & 0xff);
	}
	return st;
}

/* An argument is quoted when it would otherwise be ambiguous on the line:
 * empty, or holding a space, a quote or anything the escaper rewrites. */
static void text_arg(struct ksm_buf *b, const uint8_t *arg, size_t len)
{
	bool quote = len == 0 || ksm_bytes_escaped(arg, len);
	for (size_t i = 0; i < len && !quote; i++)
		quote = arg[i] == ' ' || arg[i] == '"';
	if (!quote) {
		ksm_text_bytes(b, arg, len);
		return;
	}
	ksm_buf_putc(b, '"');
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || arg[i] == '"') {
			ksm_text_bytes(b, arg + start, i - start);
			if (i < len)
				ksm_buf_put(b, "\\\"", 2);
			start = i + 1;
		}
	}
	ksm_buf_putc(b, '"');
}

static void text_argv(struct ksm_buf *b, const struct ksm_text *argv)
{
	ksm_argv_join(b, argv, ' ', text_arg);
}

static void sha256_tag(struct ksm_buf *b, const struct ksm_context *c)
{
	if (!c->has_sha256)
		return;
	ksm_buf_puts(b, " sha256:");
	ksm_buf_hexbytes(b, c->sha256, 32);
}

static void comm_tag(struct ksm_buf *b, const char *comm)
{
	ksm_buf_put(b, " [", 2);
	ksm_text_bytes(b, (const uint8_t *)comm, strlen(comm));
	ksm_buf_putc(b, ']');
}

/* The pid inside a non-initial pid namespace: how the process knows itself. */
static void vpid_tag(struct ksm_buf *b, const struct ksm_event *ev)
{
	if (!ev->has_ns || !(ev->ns.flags & KSM_NS_PID))
		return;
	ksm_buf_puts(b, " vpid:");
	ksm_buf_u64(b, ev->ns.vpid);
}

/* " [container 3f2a9c1b7d0e]": a hex id shortened as engines show it, a
 * name whole */
static void container_tag(struct ksm_buf *b, const struct ksm_container *c)
{
	if (!c)
		return;
	size_t n = strlen(c->id);
	if (n == KSM_CONTAINER_ID_MAX && strspn(c->id, "0123456789abcdef") == n)
		n = KSM_CONTAINER_SHORT;
	ksm_buf_puts(b, " [container ");
	ksm_text_bytes(b, (const uint8_t *)c->id, n);
	ksm_buf_putc(b, ']');
}

/* A path of the record, shown in its state (enum ksm_path_state). */
static void text_path(struct ksm_buf *b, const struct ksm_text *t, unsigned state)
{
	const char *prefix = ksm_path_prefix(state), *suffix = ksm_path_suffix(state);
	if (prefix)
		ksm_buf_puts(b, prefix);
	ksm_text_text(b, t);
	if (suffix)
		ksm_buf_puts(b, suffix);
}

static void text_exit(struct ksm_buf *b, const struct ksm_event *ev)
{
	struct ksm_exit_status st = ksm_exit_status(ev->u.exit.status);
	ksm_buf_puts(b, "Process ");
	ksm_buf_u64(b, ev->pid);
	if (st.signaled) {
		ksm_buf_puts(b, " Killed by signal ");
		ksm_buf_u64(b, (uint64_t)st.code);
		if (st.core_dumped)
			ksm_buf_puts(b, " (core dumped)");
	} else {
		ksm_buf_puts(b, " Exited with code ");
		ksm_buf_u64(b, (uint64_t)st.code);
	}
	comm_tag(b, ev->comm);
}

static void text_lost(struct ksm_buf *b, const struct ksm_event *ev)
{
	const struct ksm_text *file = &ev->u.lost.file, *error = &ev->u.lost.error;
	bool first = true;

	if (file->present) {
		ksm_buf_puts(b, "Events lost (writing ");
		ksm_text_text(b, file);
		ksm_buf_puts(b, " failed: ");
		ksm_text_text(b, error);
		ksm_buf_puts(b, "):");
	} else {
		ksm_buf_puts(b, "Events lost (queue full):");
	}
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (!ev->u.lost.lost[t])
			continue;
		ksm_buf_puts(b, first ? " " : ", ");
		ksm_buf_puts(b, ksm_event_name(t));
		ksm_buf_putc(b, ' ');
		ksm_buf_u64(b, ev->u.lost.lost[t]);
		first = false;
	}
}

static void text_image(struct ksm_buf *b, const struct ksm_event *ev)
{
	if (ev->flags & KSM_IMAGE_KERNEL) {
		ksm_buf_puts(b, "Kernel image loaded at ");
	} else {
		ksm_buf_puts(b, "Image loaded into process ");
		ksm_buf_u64(b, ev->pid);
		ksm_buf_puts(b, " at ");
	}
	ksm_buf_hex(b, ev->u.image.base);
	ksm_buf_puts(b, " (size ");
	ksm_buf_hex(b, ev->u.image.size);
	ksm_buf_puts(b, "): ");
	text_path(b, &ev->u.image.path, ev->u.image.path_state);
	sha256_tag(b, &ev->ctx);
}

static void text_blocked(struct ksm_buf *b, const struct ksm_event *ev)
{
	ksm_buf_puts(b, "Process ");
	ksm_buf_u64(b, ev->pid);
	ksm_buf_puts(b, ev->flags & KSM_BLOCKED_AUDIT ? " would be denied exec of " :
							 " denied exec of ");
	text_path(b, &ev->u.blocked.path, ev->u.blocked.path_state);
	ksm_buf_puts(b, " (rule: ");
	ksm_text_text(b, &ev->u.blocked.rule);
	ksm_buf_putc(b, ')');
}

void ksm_format_text(struct ksm_buf *b, const struct ksm_event *ev)
{
	ksm_time_clock(b, ev->time_ns);
	ksm_buf_put(b, ": ", 2);

	switch (ev->type) {
	case KSM_EV_PROCESS_CREATE:
		ksm_buf_puts(b, "Process ");
		ksm_buf_u64(b, ev->pid);
		/* the thread is the creator's: with CLONE_PARENT not the parent's */
		ksm_buf_puts(b, " Created by ");
		ksm_buf_u64(b, ksm_created_by_other(ev) ? ev->u.create.creator_pid : ev->u.create.ppid);
		ksm_buf_puts(b, " (thread ");
		ksm_buf_u64(b, ev->u.create.parent_tid);
		ksm_buf_putc(b, ')');
		if (ksm_created_by_other(ev)) {
			ksm_buf_puts(b, " with parent ");
			ksm_buf_u64(b, ev->u.create.ppid);
		}
		if (ev->u.create.image.present) {
			ksm_buf_putc(b, ' ');
			ksm_text_text(b, &ev->u.create.image);
		}
		if (ev->u.create.cmdline.present) {
			ksm_buf_puts(b, ": ");
			ksm_text_text(b, &ev->u.create.cmdline);
		}
		if (ev->comm[0])
			comm_tag(b, ev->comm);
		vpid_tag(b, ev);
		break;
	case KSM_EV_PROCESS_EXEC:
		ksm_buf_puts(b, "Process ");
		ksm_buf_u64(b, ev->pid);
		ksm_buf_puts(b, " Exec ");
		text_path(b, &ev->u.exec.image, ev->u.exec.image_state);
		ksm_buf_put(b, ": ", 2);
		text_argv(b, &ev->u.exec.argv);
		if (ev->flags & KSM_EXEC_ARGV_TRUNCATED)
			ksm_buf_puts(b, " (arguments truncated)");
		sha256_tag(b, &ev->ctx);
		vpid_tag(b, ev);
		break;
	case KSM_EV_PROCESS_EXIT:
		text_exit(b, ev);
		vpid_tag(b, ev);
		break;
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT:
		ksm_buf_puts(b, "Thread ");
		ksm_buf_u64(b, ev->tid);
		ksm_buf_puts(b, ev->type == KSM_EV_THREAD_CREATE ? " Created in process " :
								  " Exited from process ");
		ksm_buf_u64(b, ev->pid);
		break;
	case KSM_EV_IMAGE_LOAD:
		text_image(b, ev);
		break;
	case KSM_EV_EVENTS_LOST:
		text_lost(b, ev);
		break;
	case KSM_EV_EXEC_BLOCKED:
		text_blocked(b, ev);
		break;
	default:
		ksm_buf_puts(b, "Unknown event");
		break;
	}
	container_tag(b, ev->ctx.container);
	ksm_buf_putc(b, '\n');
}
