// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON Lines view: one object per event, the fields of fields.c in order. */
#include "core/escape.h"
#include "core/fields.h"
#include "core/format.h"

#include <string.h>

struct json {
	struct ksm_buf *b;
	bool first;
};

static void key(struct json *j, const char *name)
{
	if (!j->first)
		ksm_buf_putc(j->b, ',');
	j->first = false;
	ksm_buf_putc(j->b, '"');
	ksm_buf_puts(j->b, name);
	ksm_buf_put(j->b, "\":", 2);
}

static void json_num(void *ctx, const char *name, uint64_t v)
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_u64(j->b, v);
}

static void json_boolean(void *ctx, const char *name, bool v)
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_puts(j->b, v ? "true" : "false");
}

static void json_text(void *ctx, const char *name, const struct ksm_text *t, const char *prefix,
		      const char *suffix)
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_putc(j->b, '"');
	if (prefix)
		ksm_buf_puts(j->b, prefix);
	ksm_json_text(j->b, t);
	if (suffix)
		ksm_buf_puts(j->b, suffix);
	ksm_buf_putc(j->b, '"');
}

static void json_string(void *ctx, const char *name, const char *s)
{
	struct json *j = ctx;
	key(j, name);
	ksm_json_string(j->b, (const uint8_t *)s, strlen(s));
}

static void json_time(void *ctx, const char *name, uint64_t ns)
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_putc(j->b, '"');
	ksm_time_rfc3339(j->b, ns);
	ksm_buf_putc(j->b, '"');
}

static void json_hex(void *ctx, const char *name, uint64_t v)
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_putc(j->b, '"');
	ksm_buf_hex(j->b, v);
	ksm_buf_putc(j->b, '"');
}

static void json_digest(void *ctx, const char *name, const uint8_t d[32])
{
	struct json *j = ctx;
	key(j, name);
	ksm_buf_putc(j->b, '"');
	ksm_buf_hexbytes(j->b, d, 32);
	ksm_buf_putc(j->b, '"');
}

static void json_argv(void *ctx, const struct ksm_text *argv)
{
	struct json *j = ctx;

	key(j, "argv");
	ksm_buf_putc(j->b, '[');
	ksm_argv_join(j->b, argv, ',', ksm_json_string);
	ksm_buf_putc(j->b, ']');

	key(j, "cmdline");
	ksm_buf_putc(j->b, '"');
	ksm_argv_join(j->b, argv, ' ', ksm_json_bytes);
	ksm_buf_putc(j->b, '"');
}

static void json_lost(void *ctx, const uint64_t lost[KSM_EV_MAX])
{
	struct json *j = ctx;
	uint64_t total = 0;
	bool first = true;

	key(j, "lost");
	ksm_buf_putc(j->b, '{');
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (!lost[t])
			continue;
		if (!first)
			ksm_buf_putc(j->b, ',');
		ksm_buf_putc(j->b, '"');
		ksm_buf_puts(j->b, ksm_event_name(t));
		ksm_buf_put(j->b, "\":", 2);
		ksm_buf_u64(j->b, lost[t]);
		total += lost[t];
		first = false;
	}
	ksm_buf_putc(j->b, '}');
	json_num(j, "total", total);
}

static const struct ksm_field_sink json_sink = {
	.num = json_num,
	.boolean = json_boolean,
	.text = json_text,
	.string = json_string,
	.time = json_time,
	.hex = json_hex,
	.digest = json_digest,
	.argv = json_argv,
	.lost = json_lost,
};

void ksm_format_json(struct ksm_buf *b, const struct ksm_event *ev)
{
	struct json j = { b, true };
	ksm_buf_putc(b, '{');
	ksm_event_fields(ev, &json_sink, &j);
	ksm_buf_put(b, "}\n", 2);
}
