// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The rules every written file is opened by: what may stand at the name,
 * inherited descriptors, colliding names, exact modes, links refused. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/safefile.h"

UNIT_SCRATCH_DIR("/tmp/ksm-safefile-XXXXXX")

static struct stat st_of(mode_t type, uid_t uid, nlink_t links)
{
	struct stat st = { 0 };
	st.st_mode = type | 0600;
	st.st_uid = uid;
	st.st_nlink = links;
	return st;
}

static void test_refusal(void **state)
{
	(void)state;
	struct stat st = st_of(S_IFREG, 1000, 1);
	assert_null(ksm_file_refusal(&st, 1000));
	assert_string_equal(ksm_file_refusal(&st, 0), "it belongs to another user");
	st = st_of(S_IFREG, 0, 2);
	assert_string_equal(ksm_file_refusal(&st, 0), "it has other hard links");
	st = st_of(S_IFLNK, 0, 1);
	assert_string_equal(ksm_file_refusal(&st, 0), "it is a symbolic link");
	st = st_of(S_IFDIR, 0, 2);
	assert_string_equal(ksm_file_refusal(&st, 0), "it is a directory");
	st = st_of(S_IFBLK, 0, 1);
	assert_non_null(ksm_file_refusal(&st, 0));
	st = st_of(S_IFSOCK, 0, 1);
	assert_non_null(ksm_file_refusal(&st, 0));
	/* streams: root's devices, and FIFOs of root or ksysmon's user */
	st = st_of(S_IFCHR, 0, 1);
	assert_null(ksm_file_refusal(&st, 1000));
	st = st_of(S_IFIFO, 1000, 1);
	assert_null(ksm_file_refusal(&st, 1000));
	assert_string_equal(ksm_file_refusal(&st, 0), "it belongs to another user");
}

static void test_inherited_fd(void **state)
{
	(void)state;
	assert_int_equal(ksm_file_inherited_fd("/dev/stdout"), 1);
	assert_int_equal(ksm_file_inherited_fd("/dev/stderr"), 2);
	assert_int_equal(ksm_file_inherited_fd("/dev/fd/63"), 63);
	assert_int_equal(ksm_file_inherited_fd("/proc/self/fd/7"), 7);
	assert_int_equal(ksm_file_inherited_fd("/dev/fd/"), -1);
	assert_int_equal(ksm_file_inherited_fd("/dev/fd/6x"), -1);
	assert_int_equal(ksm_file_inherited_fd("/dev/fd/12345678901"), -1);
	assert_int_equal(ksm_file_inherited_fd("/dev/stdout2"), -1);
	assert_int_equal(ksm_file_inherited_fd("/tmp/out"), -1);
}

static void test_names_collide(void **state)
{
	(void)state;
	assert_true(ksm_file_names_collide("f", "f", false, 0));
	assert_false(ksm_file_names_collide("f", "f.1", false, 5));
	assert_true(ksm_file_names_collide("f", "f.1", true, 5));
	assert_true(ksm_file_names_collide("f.5", "f", true, 5));
	assert_false(ksm_file_names_collide("f.6", "f", true, 5));
	assert_false(ksm_file_names_collide("f.01", "f", true, 5));
	assert_false(ksm_file_names_collide("f.", "f", true, 5));
	assert_false(ksm_file_names_collide("f.1x", "f", true, 5));
	assert_false(ksm_file_names_collide("fa", "f", true, 5));
	assert_false(ksm_file_names_collide("f", "g", true, 1000));
	assert_false(ksm_file_names_collide("f.1", "f", true, 0));
}

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* A new file has exactly the mode asked, whatever the umask, and nothing
 * of its temporary name is left. */
static void test_create_exact_mode(void **state)
{
	(void)state;
	char path[256], tmp[4200], err[256];
	struct ksm_file_target t;
	struct ksm_file_policy p = { 0640, (gid_t)-1 };
	struct stat st;

	path_in(path, sizeof(path), "new.log");
	mode_t old = umask(0);
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), 0);
	assert_false(t.exists);
	int fd = ksm_file_create(&t, &p, tmp, sizeof(tmp));
	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(tmp[0], '.');
	assert_int_equal(ksm_file_publish(&t, tmp), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	char tmppath[4500];
	snprintf(tmppath, sizeof(tmppath), "%s/%s", dir, tmp);
	assert_int_equal(access(tmppath, F_OK), -1);
	close(fd);
	ksm_file_release(&t);
}

static void expect_refused(const char *path, const char *why)
{
	char err[256], expect[512];
	struct ksm_file_target t;
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "refusing to write '%s': %s", path, why);
	assert_string_equal(err, expect);
	ksm_file_release(&t);
}

static void test_links_refused(void **state)
{
	(void)state;
	char path[256], target[256];

	path_in(target, sizeof(target), "victim");
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	path_in(path, sizeof(path), "symlink.log");
	assert_int_equal(symlink(target, path), 0);
	expect_refused(path, "it is a symbolic link");
	path_in(path, sizeof(path), "dangling.log");
	assert_int_equal(symlink("/nonexistent/x", path), 0);
	expect_refused(path, "it is a symbolic link");
	path_in(path, sizeof(path), "hardlink.log");
	assert_int_equal(link(target, path), 0);
	expect_refused(path, "it has other hard links");
	expect_refused(target, "it has other hard links");
	expect_refused(dir, "it is a directory");
}

/* A link on the directory path is followed when root (the test's user)
 * owns it, not when another user does. */
static void test_directory_links(void **state)
{
	(void)state;
	char link[256], path[512], err[512], expect[1024];
	struct ksm_file_target t;

	path_in(link, sizeof(link), "dirlink");
	assert_int_equal(symlink(dir, link), 0);
	snprintf(path, sizeof(path), "%s/./new", link);
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), 0);
	assert_string_equal(t.name, "new");
	ksm_file_release(&t);
	assert_int_equal(lchown(link, 65534, 65534), 0); /* as another user's (root only) */
	snprintf(path, sizeof(path), "%s/sub/new", link);
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "refusing to write '%s': '%s' is a symbolic link of another user",
		 path, link);
	assert_string_equal(err, expect);
	ksm_file_release(&t);
	snprintf(path, sizeof(path), "%s/missing/new", dir);
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	ksm_file_release(&t);
}

/* A stream is opened as it is; a file name ending in / is no file. */
static void test_streams(void **state)
{
	(void)state;
	char err[256];
	struct ksm_file_target t;

	assert_int_equal(ksm_file_resolve(&t, "/dev/null", err, sizeof(err)), 0);
	assert_true(t.stream);
	assert_true(t.fd > 2);
	ksm_file_release(&t);
	char fifo[256];
	path_in(fifo, sizeof(fifo), "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(ksm_file_resolve(&t, fifo, err, sizeof(err)), -1);
	assert_int_equal(errno, ENXIO); /* no reader: refused, not waited for */
	assert_non_null(strstr(err, "no process is reading the FIFO"));
	ksm_file_release(&t);
	assert_int_equal(ksm_file_resolve(&t, "/tmp/", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot write '/tmp/': not a file name");
	ksm_file_release(&t);
}

/* One file under two names, or two names of one rotation, is the same. */
static void test_same(void **state)
{
	(void)state;
	char a[256], b[256], err[256];
	struct ksm_file_target ta, tb;

	path_in(a, sizeof(a), "same");
	snprintf(b, sizeof(b), "%s/../%s/same", dir, strrchr(dir, '/') + 1);
	assert_int_equal(ksm_file_resolve(&ta, a, err, sizeof(err)), 0);
	assert_int_equal(ksm_file_resolve(&tb, b, err, sizeof(err)), 0);
	assert_true(ksm_file_same(&ta, &tb, false, 0));
	ksm_file_release(&tb);
	path_in(b, sizeof(b), "same.2");
	assert_int_equal(ksm_file_resolve(&tb, b, err, sizeof(err)), 0);
	assert_false(ksm_file_same(&ta, &tb, false, 5));
	assert_true(ksm_file_same(&ta, &tb, true, 5));
	assert_false(ksm_file_same(&ta, &tb, true, 1));
	ksm_file_release(&tb);
	ksm_file_release(&ta);
	assert_int_equal(ksm_file_resolve(&ta, "/dev/null", err, sizeof(err)), 0);
	assert_int_equal(ksm_file_resolve(&tb, "/dev/null", err, sizeof(err)), 0);
	assert_true(ksm_file_same(&ta, &tb, false, 0));
	ksm_file_release(&tb);
	ksm_file_release(&ta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_inherited_fd),
		cmocka_unit_test(test_names_collide),
		cmocka_unit_test(test_create_exact_mode),
		cmocka_unit_test(test_links_refused),
		cmocka_unit_test(test_directory_links),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_same),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
