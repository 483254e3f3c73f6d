// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/select.h"

#include "core/escape.h"

#include <string.h>

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

static const struct ksm_text *image_of(const struct ksm_event *ev)
{
	switch (ev->type) {
	case KSM_EV_PROCESS_EXEC: return &ev->u.exec.image;
	case KSM_EV_PROCESS_EXIT: return &ev->ctx.image;
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
	if ((used & (1u << KSM_F_PATH)) && ev->type == KSM_EV_IMAGE_LOAD)
		copy_text(scratch, &f[KSM_F_PATH], ev->u.image.path.data, ev->u.image.path.len);
	if ((used & (1u << KSM_F_CMDLINE)) && ev->type == KSM_EV_PROCESS_EXEC)
		copy_cmdline(scratch, &f[KSM_F_CMDLINE], &ev->u.exec.argv);
	if ((used & (1u << KSM_F_PARENT_IMAGE)) && ev->ctx.parent_image.present)
		copy_text(scratch, &f[KSM_F_PARENT_IMAGE], ev->ctx.parent_image.data,
			  ev->ctx.parent_image.len);
	if ((used & (1u << KSM_F_USER)) && ev->ctx.user)
		copy_text(scratch, &f[KSM_F_USER], (const uint8_t *)ev->ctx.user, strlen(ev->ctx.user));
	if ((used & (1u << KSM_F_COMM)) && ev->type != KSM_EV_THREAD_CREATE &&
	    ev->type != KSM_EV_THREAD_EXIT && ev->type != KSM_EV_IMAGE_LOAD)
		copy_text(scratch, &f[KSM_F_COMM], (const uint8_t *)ev->comm, strlen(ev->comm));
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
	if (ev->type == KSM_EV_PROCESS_EXEC) {
		in.num[KSM_F_UID] = ev->u.exec.uid;
		in.has_num[KSM_F_UID] = true;
	}
	return ksm_rules_pass(rules, &in);
}
