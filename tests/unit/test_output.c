// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output rotation: files stay under the size, units are never split, the
 * oldest files go, a header starts every file. */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/output.h"

UNIT_SCRATCH_DIR("/tmp/ksm-output-XXXXXX")

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = calloc(1, 1 << 20);
	assert_non_null(data);
	*len = fread(data, 1, (1 << 20) - 1, f);
	fclose(f);
	return data;
}

static void path_of(char *out, size_t len, const char *name, unsigned n)
{
	if (n)
		snprintf(out, len, "%s/%s.%u", dir, name, n);
	else
		snprintf(out, len, "%s/%s", dir, name);
}

/* Line i: "line <i> " padded with x to a length that varies. */
static void put_line(struct ksm_output *o, unsigned i)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "line %u ", i);
	memset(line + n, 'x', 100 + (i * 37) % 400);
	n += 100 + (int)((i * 37) % 400);
	line[n++] = '\n';
	size_t mark = o->buf.len;
	ksm_buf_put(&o->buf, line, (size_t)n);
	/* fails only while the output is failing */
	assert_int_equal(ksm_output_commit(o, mark, KSM_EV_PROCESS_EXEC), -o->error);
}

static void test_lines_rotate_whole(void **state)
{
	(void)state;
	char path[256], err[256];
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 100 };
	const unsigned lines = 2000;

	path_of(path, sizeof(path), "out.json", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path), err, sizeof(err)), 0);
	for (unsigned i = 0; i < lines; i++)
		put_line(&o, i);
	assert_int_equal(ksm_output_flush(&o), 0);
	unsigned files = (unsigned)o.rotations + 1;
	free((char *)o.name);
	ksm_output_close(&o);
	assert_true(files > 5);

	/* oldest first: every line once, in order, none split, files <= size */
	unsigned next = 0;
	for (unsigned k = files; k-- > 0;) {
		size_t len;
		path_of(path, sizeof(path), "out.json", k);
		char *data = slurp(path, &len);
		assert_non_null(data);
		assert_true(len <= 64 << 10);
		assert_true(len > 0 && data[len - 1] == '\n');
		for (char *p = data; p < data + len; p = strchr(p, '\n') + 1) {
			unsigned got;
			assert_int_equal(sscanf(p, "line %u ", &got), 1);
			assert_int_equal(got, next);
			next++;
		}
		free(data);
	}
	assert_int_equal(next, lines);
	path_of(path, sizeof(path), "out.json", files);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_keep_drops_oldest(void **state)
{
	(void)state;
	char path[256], err[256];
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 2 };

	path_of(path, sizeof(path), "kept.json", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path), err, sizeof(err)), 0);
	for (unsigned i = 0; i < 2000; i++)
		put_line(&o, i);
	assert_int_equal(ksm_output_flush(&o), 0);
	assert_true(o.rotations > 3);
	free((char *)o.name);
	ksm_output_close(&o);
	for (unsigned k = 0; k <= 2; k++) {
		path_of(path, sizeof(path), "kept.json", k);
		assert_int_equal(access(path, F_OK), 0);
	}
	path_of(path, sizeof(path), "kept.json", 3);
	assert_int_equal(access(path, F_OK), -1);
	/* the newest file ends with the last line */
	size_t len;
	path_of(path, sizeof(path), "kept.json", 0);
	char *data = slurp(path, &len);
	assert_non_null(data);
	data[len - 1] = '\0';
	assert_non_null(strstr(strrchr(data, '\n') ? strrchr(data, '\n') : data, "line 1999 "));
	free(data);
}

static void header(void *ctx, struct ksm_buf *b)
{
	unsigned *n = ctx;
	char h[32];
	snprintf(h, sizeof(h), "HEADER %u\n", (*n)++);
	ksm_buf_puts(b, h);
}

/* Captures reserve room before each record; each file begins with its
 * header, and a record larger than the size still gets a file. */
static void test_reserve_and_headers(void **state)
{
	(void)state;
	char path[256], err[256];
	unsigned headers = 0;
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 10,
				.begin_file = header, .begin_ctx = &headers };
	static char big[100 << 10];

	memset(big, 'B', sizeof(big));
	path_of(path, sizeof(path), "cap", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path), err, sizeof(err)), 0);
	assert_int_equal(headers, 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(ksm_output_reserve(&o, 40 << 10), 0);
		memset(big, 'a' + (int)i, 40 << 10);
		ksm_buf_put(&o.buf, big, 40 << 10);
		ksm_output_unit(&o, KSM_EV_PROCESS_EXEC);
	}
	memset(big, 'Z', sizeof(big));
	assert_int_equal(ksm_output_reserve(&o, sizeof(big)), 0);
	ksm_buf_put(&o.buf, big, sizeof(big));
	ksm_output_unit(&o, KSM_EV_PROCESS_EXEC);
	assert_int_equal(ksm_output_flush(&o), 0);
	free((char *)o.name);
	ksm_output_close(&o);
	assert_int_equal(headers, 4); /* a, b, c each alone, then Z alone */
	const char expect[] = { 'a', 'b', 'c', 'Z' };
	for (unsigned k = 0; k < 4; k++) {
		size_t len;
		path_of(path, sizeof(path), "cap", 3 - k);
		char *data = slurp(path, &len);
		assert_non_null(data);
		char h[32];
		snprintf(h, sizeof(h), "HEADER %u\n", k);
		assert_memory_equal(data, h, strlen(h));
		assert_int_equal(data[strlen(h)], expect[k]);
		assert_int_equal(data[len - 1], expect[k]);
		free(data);
	}
}

static void big_header(void *ctx, struct ksm_buf *b)
{
	unsigned *n = ctx;
	static char h[50 << 10];
	memset(h, 'H', sizeof(h));
	ksm_buf_put(b, h, sizeof(h));
	(*n)++;
}

/* A header bigger than half the size: each file still keeps half the
 * size for units, instead of rotating after every few. */
static void test_big_header_leaves_half_for_units(void **state)
{
	(void)state;
	char path[256], err[256];
	unsigned headers = 0;
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 10,
				.begin_file = big_header, .begin_ctx = &headers };
	char unit[1024];

	memset(unit, 'u', sizeof(unit));
	path_of(path, sizeof(path), "bighdr", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path), err, sizeof(err)), 0);
	for (unsigned i = 0; i < 40; i++) {
		assert_int_equal(ksm_output_reserve(&o, sizeof(unit)), 0);
		ksm_buf_put(&o.buf, unit, sizeof(unit));
		ksm_output_unit(&o, KSM_EV_PROCESS_EXEC);
	}
	assert_int_equal(ksm_output_flush(&o), 0);
	free((char *)o.name);
	ksm_output_close(&o);
	assert_int_equal(headers, 2); /* 32 units, then 8 */
	size_t len;
	path_of(path, sizeof(path), "bighdr", 1);
	char *data = slurp(path, &len);
	assert_non_null(data);
	assert_int_equal(len, (50 << 10) + 32 * sizeof(unit));
	free(data);
	path_of(path, sizeof(path), "bighdr", 0);
	data = slurp(path, &len);
	assert_non_null(data);
	assert_int_equal(len, (50 << 10) + 8 * sizeof(unit));
	free(data);
}

static void test_unwritable(void **state)
{
	(void)state;
	char err[256];
	struct ksm_output o = { 0 };
	assert_int_equal(ksm_output_open(&o, "/nonexistent-dir/out.json", err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "cannot write '/nonexistent-dir/out.json': its directory: No such file or directory");
	ksm_output_close(&o);
}

static void set_fsize(rlim_t limit)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* Lines in a file, each checked whole and in order from `first`. */
static unsigned count_lines(const char *path, unsigned first)
{
	size_t len;
	unsigned n = 0;
	char *data = slurp(path, &len);
	assert_non_null(data);
	assert_true(len == 0 || data[len - 1] == '\n');
	for (char *p = data; p < data + len; p = strchr(p, '\n') + 1) {
		unsigned got;
		char *nl = strchr(p, '\n');
		assert_int_equal(sscanf(p, "line %u ", &got), 1);
		assert_int_equal(got, first + n);
		assert_int_equal((size_t)(nl - p), strlen("line  ") + (size_t)snprintf(NULL, 0, "%u", got) + 100 + (got * 37) % 400);
		n++;
	}
	free(data);
	return n;
}

/* A write cut short (the file size limit stands for a full disk) leaves
 * whole lines only; every line not written is counted by type, once
 * writing works again they are handed over for a report. */
static void test_failed_write_cuts_back_and_counts(void **state)
{
	(void)state;
	char path[256], err[256];
	struct ksm_output o = { 0 };
	uint64_t lost[KSM_EV_MAX];
	int e;

	signal(SIGXFSZ, SIG_IGN);
	path_of(path, sizeof(path), "full.json", 0);
	assert_int_equal(ksm_output_open(&o, path, err, sizeof(err)), 0);
	set_fsize(20000);
	for (unsigned i = 0; i < 100; i++) {
		size_t mark = o.buf.len;
		put_line(&o, i);
		o.units[o.n_units - 1].type = i % 2 ? KSM_EV_PROCESS_EXIT : KSM_EV_PROCESS_EXEC;
		(void)mark;
	}
	assert_int_equal(ksm_output_flush(&o), -EFBIG);
	assert_int_equal(o.episodes, 1);
	unsigned written = count_lines(path, 0);
	assert_true(written > 10 && written < 100);
	assert_int_equal(o.lost[KSM_EV_PROCESS_EXEC] + o.lost[KSM_EV_PROCESS_EXIT], 100 - written);
	assert_int_equal(o.lost[KSM_EV_PROCESS_EXEC], 50 - (written + 1) / 2);
	assert_false(ksm_output_take_lost(&o, lost, &e)); /* still failing */
	/* within the retry delay nothing is tried: counted at once */
	put_line(&o, 100);
	assert_int_equal(ksm_output_flush(&o), -EFBIG);
	assert_int_equal(count_lines(path, 0), written);
	assert_int_equal(o.lost[KSM_EV_PROCESS_EXEC], 50 - (written + 1) / 2 + 1);
	/* room again: the next attempt writes, the failure is over */
	set_fsize(RLIM_INFINITY);
	o.retry_ns = 0;
	put_line(&o, written);
	assert_int_equal(ksm_output_flush(&o), 0);
	assert_int_equal(count_lines(path, 0), written + 1);
	assert_true(ksm_output_take_lost(&o, lost, &e));
	assert_int_equal(e, EFBIG);
	assert_int_equal(lost[KSM_EV_PROCESS_EXEC] + lost[KSM_EV_PROCESS_EXIT], 101 - written);
	assert_false(ksm_output_take_lost(&o, lost, &e)); /* reported once */
	assert_int_equal(o.episodes, 1);
	ksm_output_close(&o);
}

/* A device that refuses every write: nothing is written, all is counted. */
static void test_full_device(void **state)
{
	(void)state;
	char err[256];
	struct ksm_output o = { 0 };

	assert_int_equal(ksm_output_open(&o, "/dev/full", err, sizeof(err)), 0);
	for (unsigned i = 0; i < 10; i++)
		put_line(&o, i);
	assert_int_equal(ksm_output_flush(&o), -ENOSPC);
	assert_int_equal(o.lost[KSM_EV_PROCESS_EXEC], 10);
	ksm_output_close(&o);
	struct stat st;
	assert_int_equal(stat("/dev/full", &st), 0);
	assert_true(S_ISCHR(st.st_mode)); /* written to, never replaced */
	/* a stream cannot be rotated */
	o = (struct ksm_output){ .rotate_size = 64 << 10 };
	assert_int_equal(ksm_output_open(&o, "/dev/full", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot rotate '/dev/full': not a regular file");
	ksm_output_close(&o);
}

/* Whole file contents as a string (for short files). */
static void assert_file(const char *path, const char *expect)
{
	size_t len;
	char *data = slurp(path, &len);
	assert_non_null(data);
	assert_string_equal(data, expect);
	free(data);
}

static void put_text(struct ksm_output *o, const char *s)
{
	size_t mark = o->buf.len;
	ksm_buf_puts(&o->buf, s);
	assert_int_equal(ksm_output_commit(o, mark, KSM_EV_PROCESS_EXEC), 0);
}

/* logrotate's two ways: rename (then a new file with its header, buffered
 * units going to the renamed one) and copytruncate (the same file, written
 * on at its new end); a file of another user at the name is refused. */
static void test_reopen(void **state)
{
	(void)state;
	char path[256], old[256], err[256];
	unsigned headers = 0;
	struct ksm_output o = { .begin_file = header, .begin_ctx = &headers };
	struct stat st;

	path_of(path, sizeof(path), "log", 0);
	path_of(old, sizeof(old), "log", 1);
	assert_int_equal(ksm_output_open(&o, path, err, sizeof(err)), 0);
	put_text(&o, "a\n");
	assert_int_equal(ksm_output_reopen(&o, err, sizeof(err)), 0); /* not moved */
	assert_int_equal(o.reopens, 0);
	put_text(&o, "b\n");
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(ksm_output_reopen(&o, err, sizeof(err)), 0);
	assert_int_equal(o.reopens, 1);
	put_text(&o, "c\n");
	assert_int_equal(ksm_output_flush(&o), 0);
	assert_file(old, "HEADER 0\na\nb\n");
	assert_file(path, "HEADER 1\nc\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, KSM_FILE_DEFAULT_MODE);

	assert_int_equal(truncate(path, 0), 0);
	put_text(&o, "d\n");
	assert_int_equal(ksm_output_reopen(&o, err, sizeof(err)), 0);
	assert_int_equal(o.file_bytes, 2);
	put_text(&o, "e\n");
	assert_int_equal(ksm_output_flush(&o), 0);
	assert_file(path, "d\ne\n");

	assert_int_equal(unlink(path), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(ksm_output_reopen(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "it belongs to another user; writing on to the file it was"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(old), 0);
	ksm_output_close(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_rotate_whole),
		cmocka_unit_test(test_keep_drops_oldest),
		cmocka_unit_test(test_reserve_and_headers),
		cmocka_unit_test(test_big_header_leaves_half_for_units),
		cmocka_unit_test(test_unwritable),
		cmocka_unit_test(test_failed_write_cuts_back_and_counts),
		cmocka_unit_test(test_full_device),
		cmocka_unit_test(test_reopen),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
