// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output rotation: files stay under the size, units are never split, the
 * oldest files go, a header starts every file. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

static char dir[] = "/tmp/ksm-output-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

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
	assert_int_equal(ksm_output_commit(o, mark), 0);
}

static void test_lines_rotate_whole(void **state)
{
	(void)state;
	char path[256];
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 100 };
	const unsigned lines = 2000;

	path_of(path, sizeof(path), "out.json", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path)), 0);
	for (unsigned i = 0; i < lines; i++)
		put_line(&o, i);
	assert_int_equal(ksm_output_flush(&o), 0);
	unsigned files = (unsigned)o.rotations + 1;
	free((char *)o.path);
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
	char path[256];
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 2 };

	path_of(path, sizeof(path), "kept.json", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path)), 0);
	for (unsigned i = 0; i < 2000; i++)
		put_line(&o, i);
	assert_int_equal(ksm_output_flush(&o), 0);
	assert_true(o.rotations > 3);
	free((char *)o.path);
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
	char path[256];
	unsigned headers = 0;
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 10,
				.begin_file = header, .begin_ctx = &headers };
	static char big[100 << 10];

	memset(big, 'B', sizeof(big));
	path_of(path, sizeof(path), "cap", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path)), 0);
	assert_int_equal(headers, 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(ksm_output_reserve(&o, 40 << 10), 0);
		memset(big, 'a' + (int)i, 40 << 10);
		ksm_buf_put(&o.buf, big, 40 << 10);
	}
	memset(big, 'Z', sizeof(big));
	assert_int_equal(ksm_output_reserve(&o, sizeof(big)), 0);
	ksm_buf_put(&o.buf, big, sizeof(big));
	assert_int_equal(ksm_output_flush(&o), 0);
	free((char *)o.path);
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
	char path[256];
	unsigned headers = 0;
	struct ksm_output o = { .rotate_size = 64 << 10, .rotate_keep = 10,
				.begin_file = big_header, .begin_ctx = &headers };
	char unit[1024];

	memset(unit, 'u', sizeof(unit));
	path_of(path, sizeof(path), "bighdr", 0);
	assert_int_equal(ksm_output_open(&o, strdup(path)), 0);
	for (unsigned i = 0; i < 40; i++) {
		assert_int_equal(ksm_output_reserve(&o, sizeof(unit)), 0);
		ksm_buf_put(&o.buf, unit, sizeof(unit));
	}
	assert_int_equal(ksm_output_flush(&o), 0);
	free((char *)o.path);
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
	struct ksm_output o = { 0 };
	assert_int_equal(ksm_output_open(&o, "/nonexistent-dir/out.json"), -ENOENT);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
