/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Buffered output to a file, optionally rotated by size: units (lines,
 * capture records) collect in memory and are written in large blocks, so a
 * busy machine costs few write(2) calls.  Files are opened by safefile.h's
 * rules.  A rotation happens only between two units: FILE becomes FILE.1,
 * FILE.1 FILE.2 and so on up to FILE.<keep>, and a new FILE is started.
 *
 * A write that fails (a full disk, an I/O error) never leaves part of a
 * unit in a regular file: the file is cut back to the end of the last
 * whole unit written.  The units that could not be written are counted by
 * event type; the failure is said once on stderr, naming the file, and
 * writing is tried again at most once a second until it works.
 */
#ifndef KSM_OUTPUT_H
#define KSM_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "ksysmon_event.h"
#include "sinks/safefile.h"

#define KSM_OUTPUT_FLUSH_BYTES (256u << 10)
#define KSM_ROTATE_MIN_BYTES (64u << 10)
#define KSM_ROTATE_DEFAULT_KEEP 5
#define KSM_ROTATE_MAX_KEEP 1000
#define KSM_OUTPUT_RETRY_NS 1000000000ull

/* A unit in the buffer: where it ends, what event it holds (0: none). */
struct ksm_output_unit {
	size_t end;
	unsigned type;
};

struct ksm_output {
	int fd;                 /* -1: closed */
	const char *name;       /* for messages: the path, or "standard output" */
	struct ksm_file_target target; /* a named file (dirfd -1: stdout) */
	struct ksm_file_policy policy;
	struct ksm_buf buf;
	struct ksm_output_unit *units; /* of buf, in order */
	size_t n_units, cap_units;
	/* failures: errno of the current episode (0: writing works) */
	int error;
	uint64_t retry_ns;      /* CLOCK_MONOTONIC time of the next attempt */
	bool new_file;          /* a file must be started before writing */
	bool quiet_epipe;       /* a reader that went away is not reported */
	bool seekable;          /* a regular file: a cut unit can be taken back */
	uint64_t episodes;
	uint64_t lost[KSM_EV_MAX];    /* units not written, by event type */
	uint64_t pending[KSM_EV_MAX]; /* of those, not yet reported */
	int pending_error;            /* errno of the last failure among them */
	/* rotation (rotate_size 0: never) */
	uint64_t rotate_size;
	unsigned rotate_keep;
	uint64_t file_bytes;   /* written to the current file */
	uint64_t header_bytes; /* of those, the file's header */
	uint64_t rotations;
	uint64_t reopens;      /* new files started by ksm_output_reopen() */
	/* called with buf empty when a new file starts: appends its header */
	void (*begin_file)(void *ctx, struct ksm_buf *buf);
	/* called after units were lost, before the next ones: appends what
	 * the units after a gap need (a capture's clock and process table) */
	void (*resync)(void *ctx, struct ksm_buf *buf);
	void *begin_ctx;
	bool need_resync;
};

/* Opens the file path (resolved, checked and created by safefile.h's
 * rules; a stream is used as it is) and writes its header; stdout when
 * path is NULL.  0, or -1 with a one-line reason naming the file in err. */
int ksm_output_open(struct ksm_output *out, const char *path, char *err, size_t errlen);
/* Checks a resolved target before it is opened: 0, or -1 with a reason
 * (a stream cannot be rotated). */
int ksm_output_resolve(struct ksm_output *out, const char *path, char *err, size_t errlen);
int ksm_output_start(struct ksm_output *out, char *err, size_t errlen);
void ksm_output_close(struct ksm_output *out);
/* After another program (logrotate) renamed or truncated the file: writes
 * out what is buffered, then, when the name no longer stands for the open
 * file (renamed, removed, replaced), starts a new file there by the rules
 * of a first start (safefile.h); when it still does (copied and truncated
 * in place), writes on at its end.  Streams are left as they are.  0, or -1
 * with a one-line reason in err, the old file then kept. */
int ksm_output_reopen(struct ksm_output *out, char *err, size_t errlen);
/* Marks the end of a unit of event type `type` at the end of the buffer. */
void ksm_output_unit(struct ksm_output *out, unsigned type);
/* Writes out what is buffered; returns 0 or -errno of the current failure
 * (the units not written are counted). */
int ksm_output_flush(struct ksm_output *out);
/* Flushes when the buffer has grown past KSM_OUTPUT_FLUSH_BYTES. */
int ksm_output_maybe_flush(struct ksm_output *out);
/* Before a unit of at most n bytes is appended: rotates first if the unit
 * would take the current file past rotate_size. */
int ksm_output_reserve(struct ksm_output *out, uint64_t n);
/* After a unit of event type `type` was appended at buffer offset mark:
 * rotates if it took the file past rotate_size (the unit then starts the
 * new file), then flushes if the buffer is large. */
int ksm_output_commit(struct ksm_output *out, size_t mark, unsigned type);
/* True when writing works again after units were lost: the counts not yet
 * reported are moved to lost[] (and cleared), with the errno. */
bool ksm_output_take_lost(struct ksm_output *out, uint64_t lost[KSM_EV_MAX], int *error);

#endif
