// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --syslog's messages: RFC 5424, built from an event alone (no socket, no
 * clock, no host lookup here; the transport in syslog.c passes the host
 * name and process id).
 *
 * Message: <PRI>1 TIMESTAMP HOSTNAME ksysmon PROCID MSGID [ksysmon@32473 ...] BOM MSG
 * with facility user, severity warning for events_lost and exec_blocked
 * (something was missed or refused) and info otherwise.  The structured
 * data holds the fields of fields.h under their JSON names, except "type"
 * (the MSGID) and "time" (the TIMESTAMP).  The arguments are given as
 * argc="N" and cmdline="..." (the arguments joined by spaces, as the JSON
 * "cmdline"); the exact arguments, quoted where ambiguous, are in MSG,
 * the text view's line.  Lost counts are lost_<type>="N" and total="N".
 * Strings are escaped by the text escaper first (so every value is valid
 * UTF-8 without control characters) and then for PARAM-VALUE.
 */
#include "sinks/syslog_format.h"

#include "core/escape.h"
#include "core/fields.h"
#include "core/format.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SD_ID "ksysmon@32473" /* 32473: the documentation enterprise number (RFC 5612) */
#define APP_NAME "ksysmon"
#define PRI_INFO 14    /* facility user (1) * 8 + severity info (6) */
#define PRI_WARNING 12 /* facility user (1) * 8 + severity warning (4) */

struct sd {
	struct ksm_buf *b;
	struct ksm_buf tmp; /* a value before PARAM-VALUE escaping */
	size_t value_max;   /* 0: no limit */
	bool cut;           /* a value was shortened */
};

/* Where to cut s (len bytes) to at most max bytes without splitting a
 * UTF-8 sequence or a backslash escape. */
static size_t safe_cut(const char *s, size_t len, size_t max)
{
	size_t n = ksm_utf8_cut(s, len, max);
	if (n == len)
		return len;
	size_t bs = 0;
	while (bs < n && s[n - 1 - bs] == '\\')
		bs++;
	/* an odd run of backslashes at the end would escape the closing '"' */
	return bs % 2 ? n - 1 : n;
}

/* Appends tmp as a PARAM-VALUE: '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static void sd_value_end(struct sd *d)
{
	struct ksm_buf *b = d->b;
	size_t start = b->len;
	const char *p = d->tmp.data;
	for (size_t i = 0; i < d->tmp.len; i++) {
		if (p[i] == '"' || p[i] == '\\' || p[i] == ']')
			ksm_buf_putc(b, '\\');
		ksm_buf_putc(b, p[i]);
	}
	if (d->value_max && !b->failed && b->len - start > d->value_max) {
		b->len = start + safe_cut(b->data + start, b->len - start, d->value_max);
		d->cut = true;
	}
	ksm_buf_putc(b, '"');
	ksm_buf_reset(&d->tmp);
}

/* Starts a param: ` name="`; the value goes to d->tmp. */
static void sd_param(struct sd *d, const char *name)
{
	ksm_buf_putc(d->b, ' ');
	ksm_buf_puts(d->b, name);
	ksm_buf_put(d->b, "=\"", 2);
	ksm_buf_reset(&d->tmp);
}

static void sd_num(void *ctx, const char *name, uint64_t v)
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_buf_u64(&d->tmp, v);
	sd_value_end(d);
}

static void sd_boolean(void *ctx, const char *name, bool v)
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_buf_puts(&d->tmp, v ? "true" : "false");
	sd_value_end(d);
}

static void sd_text(void *ctx, const char *name, const struct ksm_text *t, const char *prefix,
		    const char *suffix)
{
	struct sd *d = ctx;
	sd_param(d, name);
	if (prefix)
		ksm_buf_puts(&d->tmp, prefix);
	ksm_text_text(&d->tmp, t);
	if (suffix)
		ksm_buf_puts(&d->tmp, suffix);
	sd_value_end(d);
}

static void sd_string(void *ctx, const char *name, const char *s)
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_text_bytes(&d->tmp, (const uint8_t *)s, strlen(s));
	sd_value_end(d);
}

static void sd_time(void *ctx, const char *name, uint64_t ns)
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_time_rfc3339(&d->tmp, ns);
	sd_value_end(d);
}

static void sd_hex(void *ctx, const char *name, uint64_t v)
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_buf_hex(&d->tmp, v);
	sd_value_end(d);
}

static void sd_digest(void *ctx, const char *name, const uint8_t dg[32])
{
	struct sd *d = ctx;
	sd_param(d, name);
	ksm_buf_hexbytes(&d->tmp, dg, 32);
	sd_value_end(d);
}

/* argc and the space-joined cmdline: one value per argument (argv0..)
 * would repeat the names for nothing, MSG has them unambiguously. */
static void sd_argv(void *ctx, const struct ksm_text *argv)
{
	struct sd *d = ctx;
	struct ksm_argv_iter it;
	const uint8_t *arg;
	size_t len;
	uint64_t argc = 0;

	ksm_argv_begin(&it, argv);
	while (ksm_argv_next(&it, &arg, &len))
		argc++;
	sd_num(d, "argc", argc);

	sd_param(d, "cmdline");
	ksm_argv_join(&d->tmp, argv, ' ', ksm_text_bytes);
	sd_value_end(d);
}

static void sd_lost(void *ctx, const uint64_t lost[KSM_EV_MAX])
{
	struct sd *d = ctx;
	uint64_t total = 0;
	char name[64];

	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (!lost[t])
			continue;
		snprintf(name, sizeof(name), "lost_%s", ksm_event_name(t));
		sd_num(d, name, lost[t]);
		total += lost[t];
	}
	sd_num(d, "total", total);
}

static const struct ksm_field_sink sd_sink = {
	.num = sd_num,
	.boolean = sd_boolean,
	.text = sd_text,
	.string = sd_string,
	.time = sd_time,
	.hex = sd_hex,
	.digest = sd_digest,
	.argv = sd_argv,
	.lost = sd_lost,
};

/* RFC 5424 TIMESTAMP: RFC 3339 UTC with at most 6 fractional digits, so
 * the nanoseconds are cut (not rounded: a time never moves forward). */
static void put_timestamp(struct ksm_buf *b, uint64_t ns)
{
	ksm_time_rfc3339(b, ns); /* ...SS.nnnnnnnnnZ */
	if (b->failed || b->len < 4)
		return;
	b->len -= 4;
	ksm_buf_putc(b, 'Z');
}

/* A header field: 1..max printable US-ASCII characters, or "-". */
static void put_token(struct ksm_buf *b, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;
	if (!n) {
		ksm_buf_putc(b, '-');
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		ksm_buf_putc(b, c > 32 && c < 127 ? (char)c : '_');
	}
}

static int event_pri(const struct ksm_event *ev)
{
	if (ev->type == KSM_EV_EVENTS_LOST || ev->type == KSM_EV_EXEC_BLOCKED)
		return PRI_WARNING;
	return PRI_INFO;
}

static void put_header(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
		       uint32_t procid)
{
	const char *name = ksm_event_name(ev->type);
	ksm_buf_putc(b, '<');
	ksm_buf_u64(b, (uint64_t)event_pri(ev));
	ksm_buf_put(b, ">1 ", 3);
	put_timestamp(b, ev->time_ns);
	ksm_buf_putc(b, ' ');
	put_token(b, hostname, KSM_SYSLOG_HOSTNAME_MAX);
	ksm_buf_puts(b, " " APP_NAME " ");
	ksm_buf_u64(b, procid);
	ksm_buf_putc(b, ' ');
	put_token(b, name ? name : "unknown", 32);
	ksm_buf_putc(b, ' ');
}

/* MSG: the BOM that marks UTF-8 (RFC 5424 6.4), then the text line. */
static void put_msg(struct ksm_buf *b, const struct ksm_event *ev, size_t max)
{
	size_t start;
	ksm_buf_put(b, "\xef\xbb\xbf", 3);
	start = b->len;
	ksm_format_text(b, ev);
	if (b->failed)
		return;
	if (b->len > start && b->data[b->len - 1] == '\n')
		b->len--;
	/* the text escaper leaves only '\\' escapes, cut like a value */
	if (max)
		b->len = start + safe_cut(b->data + start, b->len - start, max);
}

/* value_max 0: the whole message; else every value and MSG shortened. */
static void format_message(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
			   uint32_t procid, size_t value_max)
{
	struct sd d = { .b = b, .value_max = value_max };

	put_header(b, ev, hostname, procid);
	ksm_buf_puts(b, "[" SD_ID);
	ksm_event_body_fields(ev, &sd_sink, &d); /* type, time: in the header */
	if (d.cut)
		ksm_buf_puts(b, " truncated=\"true\"");
	ksm_buf_put(b, "] ", 2);
	put_msg(b, ev, value_max);
	if (d.tmp.failed)
		b->failed = true;
	ksm_buf_free(&d.tmp);
}

void ksm_syslog_format(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
		       uint32_t procid)
{
	format_message(b, ev, hostname, procid, 0);
}

void ksm_syslog_format_short(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
			     uint32_t procid)
{
	format_message(b, ev, hostname, procid, KSM_SYSLOG_SHORT_VALUE);
}
