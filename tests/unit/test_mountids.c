// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/policy/mountids.c: the mount ids a mountinfo file lists, whether a
 * mount is in a process's namespace; lines across the reader's chunks,
 * files it cannot read. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/mountids.h"

static char dir[] = "/tmp/ksm-mountids.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* dir/name holding text; returns its path (static). */
static const char *file(const char *name, const char *text, size_t len)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (char *slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0'; /* its directories */
		mkdir(path, 0755);
		*slash = '/';
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

#define TEXT(name, lit) file(name, lit, sizeof(lit) - 1)

static void test_reads_ids(void **state)
{
	(void)state;
	struct ksm_mount_ids m;
	const char *p = TEXT("a", "29 1 254:0 / / rw - ext4 /dev/vda rw\n"
				  "1 0 0:1 / / rw - rootfs rootfs rw\n"
				  "4294967296 29 0:35 / /tmp rw - tmpfs tmpfs rw\n"
				  "30 29 0:36 /a\\040b /m rw - tmpfs tmpfs rw"); /* no final newline */
	assert_int_equal(ksm_mount_ids_read(p, &m), 0);
	assert_int_equal(m.n, 4);
	assert_true(m.ids[0] == 1 && m.ids[1] == 29 && m.ids[2] == 30 && m.ids[3] == 4294967296ull);
	assert_true(ksm_mount_ids_has(&m, 29));
	assert_true(ksm_mount_ids_has(&m, 4294967296ull));
	assert_false(ksm_mount_ids_has(&m, 0));
	assert_false(ksm_mount_ids_has(&m, 31));
	ksm_mount_ids_free(&m);
	assert_false(ksm_mount_ids_has(&m, 29));
	/* an empty file lists no mount */
	assert_int_equal(ksm_mount_ids_read(TEXT("e", ""), &m), 0);
	assert_int_equal(m.n, 0);
	assert_false(ksm_mount_ids_has(&m, 1));
}

/* Lines across the reader's 16 KiB chunks, ids split between two reads. */
static void test_long_table(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	for (unsigned i = 0; i < 3000; i++) {
		ksm_buf_u64(&b, 100000 + i * 7);
		ksm_buf_puts(&b, " 29 0:99 / /mnt/a-long-enough-mount-point-to-fill-chunks rw - tmpfs t rw\n");
	}
	assert_true(b.len > 3 * 16384);
	struct ksm_mount_ids m;
	assert_int_equal(ksm_mount_ids_read(file("long", b.data, b.len), &m), 0);
	assert_int_equal(m.n, 3000);
	for (unsigned i = 0; i < 3000; i++)
		assert_true(ksm_mount_ids_has(&m, 100000 + i * 7));
	assert_false(ksm_mount_ids_has(&m, 100001));
	ksm_mount_ids_free(&m);
	ksm_buf_free(&b);
}

/* What is not a mountinfo file is refused whole, never half read. */
static void test_refuses_other_text(void **state)
{
	(void)state;
	struct ksm_mount_ids m;
	assert_int_equal(ksm_mount_ids_read(TEXT("b1", "29 1 254:0 / /\nnot a line\n"), &m), -EINVAL);
	assert_int_equal(m.n, 0);
	assert_null(m.ids);
	assert_int_equal(ksm_mount_ids_read(TEXT("b2", " 29 1 254:0 / /\n"), &m), -EINVAL);
	assert_int_equal(ksm_mount_ids_read(TEXT("b3", "29\n"), &m), -EINVAL);
	assert_int_equal(ksm_mount_ids_read(TEXT("b4", "29 1\n12"), &m), -EINVAL); /* cut in an id */
	assert_int_equal(ksm_mount_ids_read(TEXT("b5", "99999999999999999999 1 0:1 / /\n"), &m),
			 -EINVAL);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_int_equal(ksm_mount_ids_read(missing, &m), -ENOENT);
	assert_int_equal(m.n, 0);
}

/* A process's namespace: <proc>/<pid>/mountinfo. */
static void test_in_ns_of(void **state)
{
	(void)state;
	TEXT("proc/77/mountinfo", "29 1 254:0 / / rw - ext4 /dev/vda rw\n40 29 0:35 / /tmp rw - t t rw\n");
	char proc[300];
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	assert_int_equal(ksm_mount_in_ns_of(proc, 77, 40), 1);
	assert_int_equal(ksm_mount_in_ns_of(proc, 77, 41), 0);
	assert_int_equal(ksm_mount_in_ns_of(proc, 78, 40), -ENOENT); /* gone */
	/* this process's own, from the real procfs: its root's mount is there */
	struct statx x;
	assert_int_equal(statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &x), 0);
	assert_true(x.stx_mask & STATX_MNT_ID);
	assert_int_equal(ksm_mount_in_ns_of("/proc", (uint32_t)getpid(), x.stx_mnt_id), 1);
}

/* A file of a mount still attached lies below its mount point; a bound
 * file detached since is "/", its own top. */
static void test_path_under_mount(void **state)
{
	(void)state;
	assert_true(ksm_path_under_mount("/tmp/b/target", "/tmp/b/target"));
	assert_true(ksm_path_under_mount("/tmp/b/x/y", "/tmp/b"));
	assert_false(ksm_path_under_mount("/", "/tmp/b/target"));
	assert_false(ksm_path_under_mount("/sub/w", "/tmp/b"));
	assert_false(ksm_path_under_mount("/tmp/bb/x", "/tmp/b")); /* a component, not a prefix */
	assert_false(ksm_path_under_mount("/tmp", "/tmp/b"));
	assert_true(ksm_path_under_mount("/usr/bin/true", "/"));
	assert_true(ksm_path_under_mount("/", "/"));
	assert_false(ksm_path_under_mount("(unknown)", "/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_ids),
		cmocka_unit_test(test_long_table),
		cmocka_unit_test(test_refuses_other_text),
		cmocka_unit_test(test_in_ns_of),
		cmocka_unit_test(test_path_under_mount),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
