// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(struct ksm_output *out, const char *p, size_t len)
{
	size_t done = 0;

	if (out->error)
		return -out->error;
	while (done < len) {
		ssize_t n = write(out->fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			out->error = errno;
			break;
		}
		done += (size_t)n;
	}
	out->file_bytes += done;
	return -out->error;
}

/* Starts a file: truncated, then its header (capture files have one). */
static int start_file(struct ksm_output *out)
{
	out->fd = open(out->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out->fd < 0) {
		out->error = errno;
		return -errno;
	}
	out->file_bytes = 0;
	out->header_bytes = 0;
	if (!out->begin_file)
		return 0;
	struct ksm_buf header = { 0 };
	out->begin_file(out->begin_ctx, &header);
	int err = header.failed ? -ENOMEM : write_all(out, header.data, header.len);
	ksm_buf_free(&header);
	out->header_bytes = out->file_bytes;
	return err;
}

int ksm_output_open(struct ksm_output *out, const char *path)
{
	out->path = path;
	if (!path) {
		out->fd = STDOUT_FILENO;
		out->rotate_size = 0; /* nothing to rename */
		return 0;
	}
	return start_file(out);
}

void ksm_output_close(struct ksm_output *out)
{
	if (out->fd > STDOUT_FILENO)
		close(out->fd);
	out->fd = -1;
	ksm_buf_free(&out->buf);
}

/* FILE.<keep-1> -> FILE.<keep>, ..., FILE -> FILE.1; with keep 0 the old
 * file is simply replaced. */
static int shift_files(const struct ksm_output *out)
{
	char from[4096], to[4096];

	for (unsigned i = out->rotate_keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", out->path);
		else
			snprintf(from, sizeof(from), "%s.%u", out->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", out->path, i);
		if (rename(from, to) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static int rotate(struct ksm_output *out)
{
	int err;

	if (out->error)
		return -out->error;
	int rc = close(out->fd);
	out->fd = -1; /* closed even when close() reports an error */
	if (rc) {
		out->error = errno;
		return -errno;
	}
	err = shift_files(out);
	if (err) {
		out->error = -err;
		return err;
	}
	out->rotations++;
	return start_file(out);
}

/* A header taking most of the size (a capture's process snapshot on a
 * busy machine) would leave room for a few units per file, and cost a
 * rotation and a new snapshot every few events: every file keeps at least
 * half the size for its units, and may then pass the size by its header. */
static uint64_t file_limit(const struct ksm_output *out)
{
	uint64_t half = out->rotate_size / 2;
	return out->header_bytes > half ? out->header_bytes + half : out->rotate_size;
}

static bool over(const struct ksm_output *out, uint64_t bytes)
{
	return out->rotate_size && out->file_bytes + bytes > file_limit(out);
}

int ksm_output_flush(struct ksm_output *out)
{
	int err = write_all(out, out->buf.data, out->buf.len);
	ksm_buf_reset(&out->buf);
	return err;
}

int ksm_output_maybe_flush(struct ksm_output *out)
{
	if (out->buf.len < KSM_OUTPUT_FLUSH_BYTES)
		return -out->error;
	return ksm_output_flush(out);
}

int ksm_output_reserve(struct ksm_output *out, uint64_t n)
{
	/* a file holds at least one unit, however large */
	bool holds_one = out->file_bytes + out->buf.len > out->header_bytes;
	if (!over(out, out->buf.len + n) || !holds_one)
		return -out->error;
	int err = ksm_output_flush(out);
	return err ? err : rotate(out);
}

int ksm_output_commit(struct ksm_output *out, size_t mark)
{
	bool holds_one = out->file_bytes + mark > out->header_bytes;
	if (over(out, out->buf.len) && holds_one) {
		/* what came before the unit ends the current file */
		int err = write_all(out, out->buf.data, mark);
		if (!err)
			err = rotate(out);
		memmove(out->buf.data, out->buf.data + mark, out->buf.len - mark);
		out->buf.len -= mark;
		if (err)
			return err;
	}
	return ksm_output_maybe_flush(out);
}
