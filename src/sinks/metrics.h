/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --metrics-file: ksysmon's counters in the Prometheus text format, for
 * node_exporter's textfile collector.  The file is replaced whole each
 * time (a new file by safefile.h's rules, renamed over the old one), so a
 * reader never sees half of it.
 */
#ifndef KSM_METRICS_H
#define KSM_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "ksysmon_event.h"
#include "sinks/safefile.h"

#define KSM_METRICS_MODE 0644 /* counters only: no command line, no path */
#define KSM_METRICS_INTERVAL_NS 5000000000ull

/* Counters since start, per event type where they have one. */
struct ksm_metrics {
	uint64_t shown[KSM_EV_MAX];           /* written to the views */
	uint64_t filtered_user[KSM_EV_MAX];   /* dropped by the rules in ksysmon */
	uint64_t filtered_kernel[KSM_EV_MAX]; /* dropped by the rules in the kernel */
	uint64_t lost[KSM_EV_MAX];            /* the queue was full */
	uint64_t queue_used, queue_size;      /* bytes, now */
	struct {
		const char *file;    /* as named on the command line, or "standard output" */
		uint64_t not_written; /* events */
		uint64_t failures;   /* episodes */
	} views[2];
	unsigned n_views;
	bool syslog;
	uint64_t syslog_sent, syslog_dropped, syslog_waiting, syslog_failures;
	bool syslog_failing;
	bool hashing;
	uint64_t digests_computed, digests_cached, digests_failed;
	uint64_t reloads;
	uint64_t start_time; /* seconds since the epoch */
};

/* m as Prometheus text (HELP, TYPE, one sample per line). */
void ksm_metrics_format(struct ksm_buf *b, const struct ksm_metrics *m);
/* Replaces the file t names with the text of b: 0 or -errno. */
int ksm_metrics_write(const struct ksm_file_target *t, gid_t gid, const struct ksm_buf *b);

#endif
