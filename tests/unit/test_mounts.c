// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The host paths that may show a directory named by its filesystem and
 * its path in it, from mountinfo text: overlays, bind mounts, a filesystem
 * mounted twice, escapes, and lines it cannot read; a table cut at its
 * bound.  (Which of them does show it is proven on the live system, by
 * the mount a walk of the path ends on: tests/integration.) */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pipeline/mounts.h"

static const char TABLE[] =
	"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	"40 22 0:35 / /tmp rw shared:2 - tmpfs tmpfs rw\n"
	"51 22 254:0 /srv/data /data rw shared:1 - ext4 /dev/vda rw\n"
	"60 22 0:76 / /var/lib/containers/storage/overlay/abc/merged rw - overlay overlay rw\n"
	"61 22 0:77 / /var/lib/a\\040b/merged rw - overlay overlay rw\n"
	"70 22 0:80 / /mnt/one rw - tmpfs tmpfs rw\n"
	"71 22 0:80 /sub /mnt/two rw - tmpfs tmpfs rw\n"
	"72 22 0:81 / /hidden rw - tmpfs tmpfs rw\n"
	"73 22 0:82 / /hidden rw - tmpfs tmpfs rw\n"
	"74 22 0:83 / /under/deep rw - tmpfs tmpfs rw\n"
	"75 22 0:84 / /under rw - tmpfs tmpfs rw\n"
	"not a mountinfo line\n"
	"80 22 x:y / /bad rw - tmpfs tmpfs rw\n"
	"81 22 0:90 / /last rw - tmpfs tmpfs rw"; /* no final newline */

struct seen {
	char paths[8][256];
	uint32_t ids[8];
	int n;
	int accept; /* the answer taken: this one (0-based), -1 none */
};

static bool take(void *ctx, const char *path, const struct ksm_mount *m)
{
	struct seen *s = ctx;
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
	s->ids[s->n] = m->id;
	return s->n++ == s->accept;
}

static const char *find(const struct ksm_mount_table *t, unsigned major, unsigned minor,
			const char *fs_path, struct seen *s, int accept)
{
	memset(s, 0, sizeof(*s));
	s->accept = accept;
	long i = ksm_mounts_find(t, (uint32_t)makedev(major, minor), fs_path, take, s);
	if (i < 0)
		return NULL;
	return s->paths[s->n - 1];
}

static void test_find(void **state)
{
	(void)state;
	struct ksm_mount_table t;
	struct seen s;
	assert_int_equal(ksm_mounts_parse(TABLE, sizeof(TABLE) - 1, 5, &t), 0);
	assert_int_equal(t.n, 12);
	assert_int_equal(t.v[0].id, 22);
	assert_int_equal(t.v[0].since, 5);
	assert_string_equal(t.v[4].point, "/var/lib/a b/merged");

	/* a container's overlay: its whole filesystem at MergedDir */
	assert_string_equal(find(&t, 0, 76, "/", &s, 0), "/var/lib/containers/storage/overlay/abc/merged");
	assert_string_equal(find(&t, 0, 77, "/", &s, 0), "/var/lib/a b/merged");
	/* a directory of the root filesystem: the shortest of / and the bind mount */
	assert_string_equal(find(&t, 254, 0, "/srv/data/jail", &s, 0), "/data/jail");
	assert_int_equal(s.n, 1);
	assert_string_equal(find(&t, 254, 0, "/srv/data/jail", &s, 1), "/srv/data/jail");
	assert_string_equal(s.paths[0], "/data/jail");
	assert_string_equal(find(&t, 254, 0, "/srv/database", &s, 0), "/srv/database"); /* not under /srv/data */
	assert_string_equal(find(&t, 254, 0, "/", &s, 0), "/");
	/* mounted twice: equal lengths in mountinfo's order; a sub-tree too */
	assert_string_equal(find(&t, 0, 80, "/sub/x", &s, 0), "/mnt/two/x");
	assert_string_equal(find(&t, 0, 80, "/", &s, 0), "/mnt/one");
	/* a mount under another one: offered all the same, with its mount,
	 * for the caller to prove (the table's order does not say which lies
	 * over which: a mount moved keeps its place in it) */
	assert_string_equal(find(&t, 0, 81, "/", &s, 0), "/hidden");
	assert_int_equal(s.ids[0], 72);
	assert_string_equal(find(&t, 0, 82, "/", &s, 0), "/hidden");
	assert_int_equal(s.ids[0], 73);
	assert_string_equal(find(&t, 0, 83, "/", &s, 0), "/under/deep");
	assert_int_equal(s.ids[0], 74);
	assert_string_equal(find(&t, 0, 84, "/deep", &s, 0), "/under/deep");
	assert_int_equal(s.ids[0], 75);
	/* nothing of that device; refused by the caller */
	assert_null(find(&t, 0, 99, "/", &s, 0));
	assert_null(find(&t, 0, 76, "/", &s, -1));
	assert_int_equal(s.n, 1);
	assert_string_equal(find(&t, 0, 90, "/", &s, 0), "/last");
	ksm_mounts_free(&t);
}

static void test_unescape(void **state)
{
	(void)state;
	char out[16];
	ksm_mountinfo_unescape("a\\040b\\011c\\134\\012", out, sizeof(out));
	assert_string_equal(out, "a b\tc\\\n");
	ksm_mountinfo_unescape("x\\9y\\", out, sizeof(out)); /* not escapes */
	assert_string_equal(out, "x\\9y\\");
	ksm_mountinfo_unescape("0123456789abcdefghij", out, 8); /* cut to fit */
	assert_string_equal(out, "0123456");
}

static void test_empty(void **state)
{
	(void)state;
	struct ksm_mount_table t;
	struct seen s;
	assert_int_equal(ksm_mounts_parse("", 0, 0, &t), 0);
	assert_int_equal(t.n, 0);
	assert_null(find(&t, 0, 76, "/", &s, 0));
	ksm_mounts_free(&t);
}

/* A table longer than the bound: read whole lines only, said to be cut,
 * and a root that none of those lines shows is unresolved, not
 * unreachable (the lines not read may hold it). */
static void test_cut(void **state)
{
	(void)state;
	char dir[] = "/tmp/ksm-mounts.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/self", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/self/mountinfo", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(TABLE, f);
	fclose(f);
	struct ksm_mounts m;
	struct ksm_root_query q = { .dev = (uint32_t)makedev(0, 99), .fs_path = "/",
				    .exec_ns = UINT64_MAX, .pid = 0 };
	const char *found;

	assert_int_equal(ksm_mounts_open_max(&m, dir, sizeof(TABLE) - 1), 0);
	assert_false(m.t.cut);
	assert_int_equal(m.t.n, 12);
	assert_int_equal(ksm_root_locate(&m, &q, &found), KSM_ROOT_AT_UNREACHABLE);
	ksm_mounts_close(&m);

	/* cut inside the line of /mnt/two: it and the lines after are not read */
	size_t at = (size_t)(strstr(TABLE, "/mnt/two") - TABLE);
	assert_int_equal(ksm_mounts_open_max(&m, dir, at), 0);
	assert_true(m.t.cut);
	assert_int_equal(m.t.n, 6);
	assert_string_equal(m.t.v[m.t.n - 1].point, "/mnt/one");
	assert_int_equal(ksm_root_locate(&m, &q, &found), KSM_ROOT_AT_UNRESOLVED);
	assert_null(found);
	ksm_mounts_close(&m);

	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/self", dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
