// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/errmsg.h"

/* A regular file ksysmon creates (not standard output, not a stream). */
static bool named(const struct ksm_output *out)
{
	return out->target.dirfd >= 0 && !out->target.stream;
}

/* Counts units [from, to) of the buffer as lost, because of error e. */
static void count_lost(struct ksm_output *out, size_t from, size_t to, int e)
{
	for (size_t i = from; i < to; i++) {
		unsigned t = out->units[i].type < KSM_EV_MAX ? out->units[i].type : 0;
		out->lost[t]++;
		out->pending[t]++;
	}
	if (to > from) {
		out->pending_error = e;
		out->need_resync = true;
	}
}

/* The start of a failure episode is said once, naming the file. */
static void fail(struct ksm_output *out, int e)
{
	if (!out->error && !(e == EPIPE && out->quiet_epipe)) {
		fprintf(stderr, "ksysmon: cannot write %s: %s; events are counted as lost until writing works again\n",
			out->name, strerror(e));
		out->episodes++;
	}
	out->error = e;
	out->retry_ns = ksm_monotonic_ns() + KSM_OUTPUT_RETRY_NS;
}

/* Drops the first len bytes of the buffer and the units they hold. */
static void consume(struct ksm_output *out, size_t len, size_t units)
{
	memmove(out->buf.data, out->buf.data + len, out->buf.len - len);
	out->buf.len -= len;
	memmove(out->units, out->units + units, (out->n_units - units) * sizeof(*out->units));
	out->n_units -= units;
	for (size_t i = 0; i < out->n_units; i++)
		out->units[i].end -= len;
}

/* A new file: created under a temporary name with its header, then put in
 * place (after the older files were shifted, when rotating). */
static int start_file(struct ksm_output *out, bool rotating)
{
	char tmp[4200];
	int e = 0;
	int fd = ksm_file_create(&out->target, &out->policy, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	struct ksm_buf header = { 0 };
	if (out->begin_file)
		out->begin_file(out->begin_ctx, &header);
	if (header.failed)
		e = ENOMEM;
	else
		ksm_file_write_all(fd, header.data, header.len, &e);
	int err = e ? -e : rotating ? ksm_file_shift(&out->target, out->rotate_keep) : 0;
	if (!err)
		err = ksm_file_publish(&out->target, tmp);
	else
		unlinkat(out->target.dirfd, tmp, 0);
	if (err) {
		close(fd);
		ksm_buf_free(&header);
		return err;
	}
	if (out->fd >= 0)
		close(out->fd); /* a failed close of a finished file changes nothing now */
	out->fd = fd;
	out->file_bytes = out->header_bytes = header.len;
	out->new_file = false;
	out->need_resync = false; /* the header holds what a reader needs */
	ksm_buf_free(&header);
	return 0;
}

static int rotate(struct ksm_output *out)
{
	int err = start_file(out, true);
	if (err) {
		out->new_file = true; /* tried again when something is written */
		fail(out, -err);
		return err;
	}
	out->rotations++;
	return 0;
}

/* Writes the first len bytes of the buffer (they end with a unit) and
 * drops them; what cannot be written is counted, and a regular file is
 * cut back to its last whole unit. */
static int write_prefix(struct ksm_output *out, size_t len)
{
	size_t units = 0;
	int e;

	while (units < out->n_units && out->units[units].end <= len)
		units++;
	if (!len)
		return -out->error;
	int err = out->fd < 0 ? -EBADF : 0;
	if (!err && out->error && ksm_monotonic_ns() < out->retry_ns)
		err = -out->error;
	if (!err && out->new_file)
		err = rotate(out);
	if (err) {
		count_lost(out, 0, units, -err);
		consume(out, len, units);
		return err;
	}
	size_t done = ksm_file_write_all(out->fd, out->buf.data, len, &e);
	if (!e) {
		out->file_bytes += len;
		out->error = 0;
		out->need_resync = false;
		consume(out, len, units);
		return 0;
	}
	size_t whole = 0, kept = 0;
	while (kept < units && out->units[kept].end <= done)
		whole = out->units[kept++].end;
	/* a unit cut in the middle is taken back; a pipe or a device cannot
	 * take it back and keeps the cut unit, counted as lost all the same */
	if (done > whole && out->seekable) {
		off_t end = lseek(out->fd, 0, SEEK_CUR), keep = end - (off_t)(done - whole);
		if (end < 0 || ftruncate(out->fd, keep) || lseek(out->fd, keep, SEEK_SET) < 0)
			e = errno;
	}
	out->file_bytes += whole;
	fail(out, e);
	count_lost(out, kept, units, e);
	consume(out, len, units);
	return -e;
}

int ksm_output_resolve(struct ksm_output *out, const char *path, char *err, size_t errlen)
{
	out->fd = -1;
	out->target.dirfd = out->target.fd = -1;
	out->name = path ? path : "standard output";
	if (!out->policy.mode)
		out->policy = (struct ksm_file_policy){ KSM_FILE_DEFAULT_MODE, (gid_t)-1 };
	if (!path) {
		out->rotate_size = 0; /* nothing to rename */
		out->target.stream = true;
		out->target.exists = !fstat(STDOUT_FILENO, &out->target.st);
		return 0;
	}
	if (ksm_file_resolve(&out->target, path, err, errlen))
		return -1;
	if (out->target.stream && out->rotate_size) {
		errno = EINVAL;
		return ksm_fail(err, errlen, "cannot rotate '%s': not a regular file", path);
	}
	return 0;
}

int ksm_output_start(struct ksm_output *out, char *err, size_t errlen)
{
	if (!named(out)) {
		/* standard output, or a stream opened when resolved */
		out->fd = out->target.fd >= 0 ? out->target.fd : STDOUT_FILENO;
		out->target.fd = -1;
		/* standard output redirected to a file is cut back like ours */
		out->seekable = out->target.exists && S_ISREG(out->target.st.st_mode);
		return 0;
	}
	out->seekable = true;
	int rc = start_file(out, false);
	if (rc) {
		errno = -rc;
		return ksm_fail(err, errlen, "cannot write '%s': %s", out->name, strerror(-rc));
	}
	return 0;
}

int ksm_output_reopen(struct ksm_output *out, char *err, size_t errlen)
{
	struct stat at, cur;

	if (!named(out))
		return 0; /* a stream is written as it is */
	ksm_output_flush(out); /* what was formatted goes to the file it was meant for */
	bool exists = !fstatat(out->target.dirfd, out->target.name, &at, AT_SYMLINK_NOFOLLOW);
	if (exists && out->fd >= 0 && !fstat(out->fd, &cur) && at.st_dev == cur.st_dev &&
	    at.st_ino == cur.st_ino) {
		/* still in place (copied and truncated, or not moved at all):
		 * O_APPEND writes on at its end, whatever its size now */
		out->file_bytes = (uint64_t)cur.st_size;
		return 0;
	}
	const char *why = exists ? ksm_file_refusal(&at, geteuid()) : NULL;
	if (why) {
		errno = EPERM;
		return ksm_fail(err, errlen, "refusing to write '%s': %s; writing on to the file it was",
				out->name, why);
	}
	int rc = start_file(out, false);
	if (rc) {
		errno = -rc;
		return ksm_fail(err, errlen, "cannot write a new '%s': %s; writing on to the file it was",
				out->name, strerror(-rc));
	}
	out->reopens++;
	return 0;
}

int ksm_output_open(struct ksm_output *out, const char *path, char *err, size_t errlen)
{
	if (ksm_output_resolve(out, path, err, errlen))
		return -1;
	return ksm_output_start(out, err, errlen);
}

void ksm_output_close(struct ksm_output *out)
{
	if (out->fd > STDERR_FILENO)
		close(out->fd);
	out->fd = -1;
	ksm_file_release(&out->target);
	ksm_buf_free(&out->buf);
	free(out->units);
	out->units = NULL;
	out->n_units = out->cap_units = 0;
}

void ksm_output_unit(struct ksm_output *out, unsigned type)
{
	if (out->n_units == out->cap_units) {
		size_t cap = out->cap_units ? 2 * out->cap_units : 256;
		struct ksm_output_unit *u = realloc(out->units, cap * sizeof(*u));
		if (!u) {
			out->buf.failed = true;
			return;
		}
		out->units = u;
		out->cap_units = cap;
	}
	out->units[out->n_units++] = (struct ksm_output_unit){ out->buf.len, type };
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
	if (out->buf.failed) {
		/* out of memory while formatting: what the buffer holds is not
		 * whole; its units are counted as lost */
		count_lost(out, 0, out->n_units, ENOMEM);
		consume(out, out->buf.len, out->n_units);
		ksm_buf_reset(&out->buf);
		return -ENOMEM;
	}
	return write_prefix(out, out->buf.len);
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
	if (over(out, out->buf.len + n) && holds_one) {
		if (!ksm_output_flush(out) && !out->new_file)
			rotate(out);
	}
	/* a rotation that failed is tried again here too, when it is time:
	 * the new file's header then describes the state before this unit */
	if (out->new_file && !out->buf.len && ksm_monotonic_ns() >= out->retry_ns)
		rotate(out);
	/* after a gap, the first unit of a buffer is preceded by what a
	 * reader needs to make sense of it */
	if (out->need_resync && out->resync && !out->buf.len && !out->new_file)
		out->resync(out->begin_ctx, &out->buf);
	return -out->error;
}

int ksm_output_commit(struct ksm_output *out, size_t mark, unsigned type)
{
	ksm_output_unit(out, type);
	bool holds_one = out->file_bytes + mark > out->header_bytes;
	if (over(out, out->buf.len) && holds_one && !out->new_file) {
		/* what came before the unit ends the current file */
		int err = write_prefix(out, mark);
		if (!err)
			rotate(out);
	}
	return ksm_output_maybe_flush(out);
}

bool ksm_output_take_lost(struct ksm_output *out, uint64_t lost[KSM_EV_MAX], int *error)
{
	bool any = false;

	if (out->error)
		return false;
	for (unsigned t = 0; t < KSM_EV_MAX; t++) {
		lost[t] = out->pending[t];
		any = any || (t && lost[t]); /* slot 0: bytes that held no event */
		out->pending[t] = 0;
	}
	*error = out->pending_error;
	return any;
}
