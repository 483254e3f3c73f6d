/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What happens to each record, live or replayed: decoding, enrichment,
 * the rules, digests, then the views (text or JSON output, syslog) and the
 * capture file.  The live sensor and a replay feed the same pipeline, which
 * is why a replay prints what the live run printed.
 */
#ifndef KSM_PIPELINE_H
#define KSM_PIPELINE_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "core/clock.h"
#include "sinks/capture.h"
#include "pipeline/enrich.h"
#include "policy/filehash.h"
#include "pipeline/mounts.h"
#include "pipeline/options.h"
#include "sinks/output.h"
#include "pipeline/rules.h"
#include "pipeline/select.h"
#include "sinks/syslog.h"

struct ksm_pipeline {
	enum ksm_format format;
	bool print;                /* the formatted view is written */
	struct ksm_output out;     /* the formatted view */
	struct ksm_syslog *syslog; /* --syslog, or NULL */
	struct ksm_output capture; /* -w; fd -1 when not recording */
	uint64_t capture_clock;    /* the clock's changes the capture last said */
	struct ksm_capture_info info;

	struct ksm_enricher enrich;
	const struct ksm_rules *rules; /* --config (not owned), or NULL */
	struct ksm_buf scratch;  /* fields the rules look at */
	bool hashing;            /* --hash sha256 */
	struct ksm_filehash hash;
	struct ksm_mounts mounts; /* live: where the host shows other namespaces' roots */

	/* replay only: what the kernel selected live is selected here */
	bool replay;
	uint32_t event_mask;
	uint8_t *followed; /* --pid: a bit per pid, descendants included */
	struct ksm_container_sel containers; /* --container */
	bool pending_hash; /* a KSM_CAP_HASH came before the next record */
	struct ksm_context recorded; /* its digest */
	char recorded_error[257];
	bool pending_root; /* a KSM_CAP_ROOT came before the next record (recorded.root_at) */
	char recorded_root[KSM_CAP_ROOT_MAX + 1];
	struct {
		uint64_t mnt_ns;
		uint32_t uid, ns_uid;
		bool has_ns_uid; /* else recorded for the uid in any user namespace */
		char *name;
		bool known;
	} *users; /* recorded names */
	/* the name live gave for the next record only (a chrooted process's
	 * root's, or none: its namespace was gone) */
	struct { bool set, known; uint32_t uid; char *name; } once_user;
	bool user_recorded; /* live: a user name was written for this record */
	size_t n_users;

	bool exit_on_output_error; /* --on-output-error exit */
	const volatile sig_atomic_t *stop; /* set by a signal: a replay stops */

	struct ksm_boot_clock clock; /* wall clock of boot, for CLOCK_BOOTTIME stamps */
	uint64_t seen[KSM_EV_MAX];
	uint64_t lost[KSM_EV_MAX]; /* reported by events_lost records */
	uint64_t filtered[KSM_EV_MAX]; /* dropped by the rules in user space, per type */
	uint64_t malformed;
};

/* Sets up the views, the process table and the capture of opts; seed:
 * fill the process table from /proc (live) or not (a replay restores it).
 * 0, or -1 with a one-line reason in err. */
int ksm_pipeline_init(struct ksm_pipeline *p, const struct ksm_options *opts,
		      const struct ksm_rules *rules, bool seed, char *err, size_t errlen);
void ksm_pipeline_free(struct ksm_pipeline *p);

/* Live, before each batch: the boot time read again, so that a step of
 * the wall clock (it was set) moves the times of the events after it. */
void ksm_pipeline_read_clock(struct ksm_pipeline *p);
/* One record of the sensor or of the exec policy. */
void ksm_pipeline_record(struct ksm_pipeline *p, const void *data, size_t size);
/* One record of a capture (annotations included); false: malformed. */
bool ksm_pipeline_replay_record(struct ksm_pipeline *p, const uint8_t *rec, uint32_t size);
/* Writes out what the views hold (and, for a view writing again after a
 * failure, an events_lost record of what it lost).  A view that fails
 * counts what it could not write; ksm_pipeline_write_end says whether
 * that ends the run. */
void ksm_pipeline_flush(struct ksm_pipeline *p);
/* At the end, before the last summary: everything flushed, and the syslog
 * messages on their way delivered or counted as dropped. */
void ksm_pipeline_finish(struct ksm_pipeline *p);
/* Whether failing views end the run: 0 (they do not: their events are
 * counted as lost), -EPIPE (a stream's reader went away and no exec
 * policy is enforced: a quiet end) or the -errno of --on-output-error exit. */
int ksm_pipeline_write_end(const struct ksm_pipeline *p);
/* After the files were renamed or truncated (logrotate): each view's file
 * is reopened (ksm_output_reopen); a failure is said on stderr, naming the
 * file, and that view writes on to its old file.  0, or -1 if any failed. */
int ksm_pipeline_reopen(struct ksm_pipeline *p);
/* Events the rules dropped in user space, all types together. */
uint64_t ksm_pipeline_filtered(const struct ksm_pipeline *p);
/* The summary lines on stderr; kernel_filtered < 0: not known. */
void ksm_pipeline_summary(const struct ksm_pipeline *p, int64_t kernel_filtered);

#endif
