/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Buffered output to a file, optionally rotated by size: lines (or capture
 * records) collect in memory and are written in large blocks, so a busy
 * machine costs few write(2) calls.  A rotation happens only between two
 * units (lines, records): FILE becomes FILE.1, FILE.1 FILE.2 and so on up
 * to FILE.<keep>, and a new FILE is started; no unit is split or lost.
 */
#ifndef KSM_OUTPUT_H
#define KSM_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define KSM_OUTPUT_FLUSH_BYTES (256u << 10)
#define KSM_ROTATE_MIN_BYTES (64u << 10)
#define KSM_ROTATE_DEFAULT_KEEP 5
#define KSM_ROTATE_MAX_KEEP 1000

struct ksm_output {
	int fd;
	struct ksm_buf buf;
	int error; /* errno of the first failed write; nothing is written after */
	/* rotation (rotate_size 0: never) */
	const char *path;
	uint64_t rotate_size;
	unsigned rotate_keep;
	uint64_t file_bytes;   /* written to the current file */
	uint64_t header_bytes; /* of those, the file's header */
	uint64_t rotations;
	/* called with buf empty when a new file starts: appends its header */
	void (*begin_file)(void *ctx, struct ksm_buf *buf);
	void *begin_ctx;
};

/* Opens path (truncated) and writes its header; stdout when path is NULL.
 * 0, or -errno. */
int ksm_output_open(struct ksm_output *out, const char *path);
void ksm_output_close(struct ksm_output *out);
/* Writes out what is buffered; returns 0 or -errno. */
int ksm_output_flush(struct ksm_output *out);
/* Flushes when the buffer has grown past KSM_OUTPUT_FLUSH_BYTES. */
int ksm_output_maybe_flush(struct ksm_output *out);
/* Before a unit of at most n bytes is appended: rotates first if the unit
 * would take the current file past rotate_size. */
int ksm_output_reserve(struct ksm_output *out, uint64_t n);
/* After a unit was appended at buffer offset mark: rotates if it took the
 * file past rotate_size (the unit then starts the new file), then flushes
 * if the buffer is large. */
int ksm_output_commit(struct ksm_output *out, size_t mark);

#endif
