// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "core/decode.h"

/* Event types with counters: all but events_lost, which is a report. */
static bool counted(unsigned t)
{
	return t && t < KSM_EV_MAX && t != KSM_EV_EVENTS_LOST;
}

static void family(struct ksm_buf *b, const char *name, const char *type, const char *help)
{
	ksm_buf_puts(b, "# HELP ");
	ksm_buf_puts(b, name);
	ksm_buf_putc(b, ' ');
	ksm_buf_puts(b, help);
	ksm_buf_puts(b, "\n# TYPE ");
	ksm_buf_puts(b, name);
	ksm_buf_putc(b, ' ');
	ksm_buf_puts(b, type);
	ksm_buf_putc(b, '\n');
}

static void sample_end(struct ksm_buf *b, uint64_t v)
{
	ksm_buf_putc(b, ' ');
	ksm_buf_u64(b, v);
	ksm_buf_putc(b, '\n');
}

/* One counter per event type, with extra labels (or ""). */
static void per_type(struct ksm_buf *b, const char *name, const char *labels, const uint64_t v[KSM_EV_MAX])
{
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		if (!counted(t))
			continue;
		ksm_buf_puts(b, name);
		ksm_buf_puts(b, "{type=\"");
		ksm_buf_puts(b, ksm_event_name(t));
		ksm_buf_putc(b, '"');
		ksm_buf_puts(b, labels);
		ksm_buf_putc(b, '}');
		sample_end(b, v[t]);
	}
}

/* A label value: \\, " and newline escaped. */
static void label(struct ksm_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			ksm_buf_putc(b, '\\');
		if (*s == '\n')
			ksm_buf_puts(b, "\\n");
		else
			ksm_buf_putc(b, *s);
	}
}

static void view_counter(struct ksm_buf *b, const struct ksm_metrics *m, const char *name, bool failures)
{
	for (unsigned i = 0; i < m->n_views; i++) {
		ksm_buf_puts(b, name);
		ksm_buf_puts(b, "{file=\"");
		label(b, m->views[i].file);
		ksm_buf_puts(b, "\"}");
		sample_end(b, failures ? m->views[i].failures : m->views[i].not_written);
	}
}

static void scalar(struct ksm_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	family(b, name, type, help);
	ksm_buf_puts(b, name);
	sample_end(b, v);
}

void ksm_metrics_format(struct ksm_buf *b, const struct ksm_metrics *m)
{
	uint64_t seen[KSM_EV_MAX];
	for (unsigned t = 0; t < KSM_EV_MAX; t++)
		seen[t] = m->shown[t] + m->filtered_user[t];

	family(b, "ksysmon_events_seen_total", "counter", "Events that reached ksysmon from the kernel queue, by type.");
	per_type(b, "ksysmon_events_seen_total", "", seen);
	family(b, "ksysmon_events_shown_total", "counter", "Events passed by the rules and written to the views, by type.");
	per_type(b, "ksysmon_events_shown_total", "", m->shown);
	family(b, "ksysmon_events_filtered_total", "counter", "Events dropped by the configuration's rules, by type and where (kernel: before the queue).");
	per_type(b, "ksysmon_events_filtered_total", ",where=\"kernel\"", m->filtered_kernel);
	per_type(b, "ksysmon_events_filtered_total", ",where=\"user\"", m->filtered_user);
	family(b, "ksysmon_events_lost_total", "counter", "Events the kernel queue could not hold, by type.");
	per_type(b, "ksysmon_events_lost_total", "", m->lost);
	scalar(b, "ksysmon_queue_used_bytes", "gauge", "Bytes waiting in the kernel queue.", m->queue_used);
	scalar(b, "ksysmon_queue_size_bytes", "gauge", "Size of the kernel queue in bytes.", m->queue_size);
	family(b, "ksysmon_output_events_not_written_total", "counter", "Events that could not be written to a view's file.");
	view_counter(b, m, "ksysmon_output_events_not_written_total", false);
	family(b, "ksysmon_output_failures_total", "counter", "Episodes of failed writes to a view's file.");
	view_counter(b, m, "ksysmon_output_failures_total", true);
	if (m->syslog) {
		scalar(b, "ksysmon_syslog_sent_total", "counter", "Messages delivered to syslog (TCP: acknowledged by the server).", m->syslog_sent);
		scalar(b, "ksysmon_syslog_dropped_total", "counter", "Messages that could not be delivered to syslog.", m->syslog_dropped);
		scalar(b, "ksysmon_syslog_waiting", "gauge", "Messages sent to syslog over TCP and not yet acknowledged by the server.", m->syslog_waiting);
		scalar(b, "ksysmon_syslog_failures_total", "counter", "Episodes of the syslog target failing.", m->syslog_failures);
		scalar(b, "ksysmon_syslog_failing", "gauge", "1 while the syslog target is failing, else 0.", m->syslog_failing);
	}
	if (m->hashing) {
		scalar(b, "ksysmon_digests_computed_total", "counter", "SHA-256 digests computed.", m->digests_computed);
		scalar(b, "ksysmon_digest_cache_hits_total", "counter", "SHA-256 digests found in the cache.", m->digests_cached);
		scalar(b, "ksysmon_digests_failed_total", "counter", "Digests that could not be computed.", m->digests_failed);
	}
	scalar(b, "ksysmon_reloads_total", "counter", "SIGHUP reloads done.", m->reloads);
	scalar(b, "ksysmon_start_time_seconds", "gauge", "When ksysmon started, seconds since the epoch.", m->start_time);
}

int ksm_metrics_write(const struct ksm_file_target *t, gid_t gid, const struct ksm_buf *b)
{
	struct ksm_file_policy p = { KSM_METRICS_MODE, gid };
	char tmp[4200];

	if (b->failed)
		return -ENOMEM;
	int e, fd = ksm_file_create(t, &p, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	ksm_file_write_all(fd, b->data, b->len, &e);
	if (close(fd) && !e)
		e = errno;
	if (e) {
		unlinkat(t->dirfd, tmp, 0);
		return -e;
	}
	return ksm_file_publish(t, tmp);
}
