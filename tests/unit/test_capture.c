// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Capture files: what the writer lays down, the reader gives back; damaged
 * files are named by the byte offset of the damage. */
#include "unit.h"

#include "ksysmon_limits.h"

#include "sinks/capture.h"

static const struct ksm_capture_info info = {
	.boot_time_ns = 1700000000000000000ull,
	.start_time_ns = 1700000001000000000ull,
	.boot_id = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
	.hostname = "web-01",
	.kernel = "6.18.0-test",
};

/* A thread_create record of the sensor. */
static void put_thread(struct ksm_buf *b, uint32_t pid, uint32_t tid)
{
	struct ksm_thread t = { .hdr = { KSM_EV_THREAD_CREATE, 0, sizeof(t), 42 } };
	t.pid = pid;
	t.tid = tid;
	t.start_time = 7;
	ksm_buf_put(b, &t, sizeof(t));
}

static FILE *open_buf(struct ksm_buf *b)
{
	FILE *f = fmemopen(b->data, b->len, "rb");
	assert_non_null(f);
	return f;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	struct ksm_context hashed = { .has_sha256 = true, .sha256_error = NULL };
	struct ksm_context failed = { .sha256_error = "timeout" };
	const uint8_t guid[16] = { 0xaa };

	memset(hashed.sha256, 0x5a, 32);
	ksm_capture_header(&b, &info);
	ksm_capture_clock(&b, 0, info.boot_time_ns + 3);
	ksm_capture_clock(&b, 5000000000ull, info.boot_time_ns + 7);
	/* an older writer's record: no `from` */
	struct ksm_cap_clock old = { .hdr = { .type = KSM_CAP_CLOCK, .size = KSM_CAP_CLOCK_OLD_SIZE },
				     .boot_ns = info.boot_time_ns + 11 };
	ksm_buf_put(&b, &old, KSM_CAP_CLOCK_OLD_SIZE);
	ksm_capture_proc(&b, 10, 1, 100, 50, guid, true, KSM_PATH_DELETED | KSM_PATH_TRUNCATED,
			 "/bin/sh", 7, "", 0);
	ksm_capture_proc(&b, 11, 10, 200, 100, guid, false, 0, NULL, 0, NULL, 0);
	ksm_capture_user(&b, 0, 1000, 1000, "alice", false);
	ksm_capture_user(&b, 0, 4242, 4242, NULL, false);
	ksm_capture_user(&b, 4026532123ull, 100000, 1000, "ctruser", false);
	ksm_capture_user(&b, 4026532123ull, 1000, 1000, "chrooted", true);
	ksm_capture_hash(&b, &hashed);
	ksm_capture_hash(&b, &failed);
	struct ksm_context found = { .root_at = KSM_ROOT_AT_PATH,
				     .root_host = { (const uint8_t *)"/var/m", 6, false, true } };
	struct ksm_context gone = { .root_at = KSM_ROOT_AT_UNRESOLVED };
	ksm_capture_root(&b, &found);
	ksm_capture_root(&b, &gone);
	put_thread(&b, 10, 12);

	FILE *f = open_buf(&b);
	struct ksm_capture_reader r;
	char err[256];
	const uint8_t *rec;
	uint32_t size;
	assert_int_equal(ksm_capture_open(&r, f, err, sizeof(err)), 0);
	assert_string_equal(r.info.hostname, "web-01");
	assert_string_equal(r.info.kernel, "6.18.0-test");
	assert_memory_equal(r.info.boot_id, info.boot_id, 16);
	assert_true(r.info.boot_time_ns == info.boot_time_ns);
	assert_true(r.info.start_time_ns == info.start_time_ns);
	assert_int_equal(r.offset, sizeof(struct ksm_capture_header) + 6 + 11);

	uint64_t boot, from;
	bool has_from;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_clock(rec, size, &boot, &has_from, &from));
	assert_true(boot == info.boot_time_ns + 3 && has_from && from == 0);
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_clock(rec, size, &boot, &has_from, &from));
	assert_true(boot == info.boot_time_ns + 7 && has_from && from == 5000000000ull);
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_clock(rec, size, &boot, &has_from, &from));
	assert_true(boot == info.boot_time_ns + 11 && !has_from && from == 0);

	struct ksm_cap_proc_view p;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_proc(rec, size, &p));
	assert_int_equal(p.pid, 10);
	assert_int_equal(p.ppid, 1);
	assert_true(p.start == 100 && p.parent_start == 50 && p.seeded);
	assert_int_equal(p.image_flags, KSM_PATH_DELETED | KSM_PATH_TRUNCATED);
	assert_memory_equal(p.guid, guid, 16);
	assert_true(p.image.present && p.image.len == 7);
	assert_memory_equal(p.image.data, "/bin/sh", 7);
	assert_true(p.cmdline.present && p.cmdline.len == 0); /* known, empty */
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_proc(rec, size, &p));
	assert_false(p.seeded || p.image.present || p.cmdline.present);

	struct ksm_cap_user_view u;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_user(rec, size, &u));
	assert_int_equal(u.uid, 1000);
	assert_true(u.mnt_ns == 0 && !u.has_ns_uid && !u.own_root);
	assert_true(u.name.present && u.name.len == 5 && !memcmp(u.name.data, "alice", 5));
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_user(rec, size, &u));
	assert_int_equal(u.uid, 4242);
	assert_false(u.name.present);
	/* a name in a container's root: the mount namespace's own, for the
	 * uid its user namespace shows */
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_user(rec, size, &u));
	assert_int_equal(u.uid, 100000);
	assert_true(u.has_ns_uid);
	assert_int_equal(u.ns_uid, 1000);
	assert_true(u.mnt_ns == 4026532123ull);
	assert_true(u.name.present && u.name.len == 7 && !memcmp(u.name.data, "ctruser", 7));
	assert_false(u.own_root);
	/* a chrooted process's, for the next record only */
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_user(rec, size, &u));
	assert_true(u.own_root);
	assert_int_equal(u.uid, 1000);
	assert_true(u.name.present && u.name.len == 8 && !memcmp(u.name.data, "chrooted", 8));

	bool has;
	uint8_t d[32];
	struct ksm_text why;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_hash(rec, size, &has, d, &why));
	assert_true(has && !why.present && d[0] == 0x5a && d[31] == 0x5a);
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_hash(rec, size, &has, d, &why));
	assert_true(!has && why.present && why.len == 7 && !memcmp(why.data, "timeout", 7));

	uint8_t at;
	struct ksm_text where;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_root(rec, size, &at, &where));
	assert_true(at == KSM_ROOT_AT_PATH && where.len == 6 && !memcmp(where.data, "/var/m", 6));
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_true(ksm_capture_read_root(rec, size, &at, &where));
	assert_true(at == KSM_ROOT_AT_UNRESOLVED && !where.present);
	/* an answer it does not know, or a path answer without its path */
	struct ksm_cap_root bad;
	memcpy(&bad, rec, sizeof(bad));
	bad.at = 9;
	assert_false(ksm_capture_read_root((const uint8_t *)&bad, sizeof(bad), &at, &where));
	bad.at = KSM_ROOT_AT_PATH;
	assert_false(ksm_capture_read_root((const uint8_t *)&bad, sizeof(bad), &at, &where));

	struct ksm_event ev;
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_RECORD);
	assert_int_equal(ksm_decode(rec, size, 0, &ev), KSM_DECODE_OK);
	assert_int_equal(ev.type, KSM_EV_THREAD_CREATE);
	assert_int_equal(ev.tid, 12);
	assert_int_equal(ksm_capture_next(&r, &rec, &size, err, sizeof(err)), KSM_CAPTURE_END);
	assert_int_equal(r.offset, b.len);
	ksm_capture_close(&r);
	fclose(f);
	ksm_buf_free(&b);
}

/* Opens a capture made of the header and two thread records, damaged by
 * damage(); returns the reader's first failure. */
static void expect_open_error(struct ksm_buf *b, const char *expected)
{
	struct ksm_capture_reader r;
	char err[256] = "";
	FILE *f = open_buf(b);
	assert_int_equal(ksm_capture_open(&r, f, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
	ksm_capture_close(&r);
	fclose(f);
}

static void test_bad_headers(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };

	ksm_buf_put(&b, "not a capture at all, but long enough for a header......", 56);
	expect_open_error(&b, "not a ksysmon capture (bad magic at byte 0)");

	ksm_buf_reset(&b);
	ksm_capture_header(&b, &info);
	b.len = 30;
	expect_open_error(&b, "truncated capture header at byte 30 (30 of 56 bytes)");

	ksm_buf_reset(&b);
	ksm_capture_header(&b, &info);
	b.data[8] = 9;
	expect_open_error(&b, "unsupported capture version 9 at byte 8 (this ksysmon reads versions 2 to 4)");

	ksm_buf_reset(&b);
	ksm_capture_header(&b, &info);
	b.data[12] = 0x7f;
	expect_open_error(&b, "bad capture header size 127 at byte 12");

	ksm_buf_reset(&b);
	ksm_capture_header(&b, &info);
	b.len -= 3;
	expect_open_error(&b, "truncated capture header at byte 70");
	ksm_buf_free(&b);
}

/* Reads every record of b; returns the last status and the error text. */
static enum ksm_capture_next read_all(struct ksm_buf *b, unsigned *records, char *err)
{
	struct ksm_capture_reader r;
	const uint8_t *rec;
	uint32_t size;
	enum ksm_capture_next n;
	FILE *f = open_buf(b);

	*records = 0;
	assert_int_equal(ksm_capture_open(&r, f, err, 256), 0);
	while ((n = ksm_capture_next(&r, &rec, &size, err, 256)) == KSM_CAPTURE_RECORD)
		(*records)++;
	ksm_capture_close(&r);
	fclose(f);
	return n;
}

static void test_damaged_records(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	char err[256];
	unsigned n;
	const size_t first = sizeof(struct ksm_capture_header) + 6 + 11; /* 73 */

	ksm_capture_header(&b, &info);
	put_thread(&b, 1, 2);
	put_thread(&b, 1, 3);
	assert_int_equal(read_all(&b, &n, err), KSM_CAPTURE_END);
	assert_int_equal(n, 2);

	/* cut inside the second record: the first is still read */
	b.len -= 5;
	assert_int_equal(read_all(&b, &n, err), KSM_CAPTURE_BROKEN);
	assert_int_equal(n, 1);
	assert_string_equal(err, "truncated record at byte 105 (27 of 32 bytes)");
	b.len = first + 32 + 7;
	assert_int_equal(read_all(&b, &n, err), KSM_CAPTURE_BROKEN);
	assert_string_equal(err, "truncated record at byte 105 (7 of 16 header bytes)");
	b.len = first + 64;

	/* a size no record has: nothing after it can be found */
	uint32_t bad = 3;
	memcpy(b.data + first + 32 + 4, &bad, 4);
	assert_int_equal(read_all(&b, &n, err), KSM_CAPTURE_BROKEN);
	assert_int_equal(n, 1);
	assert_string_equal(err, "bad record size 3 at byte 105");
	bad = KSM_CAPTURE_MAX_RECORD + 1;
	memcpy(b.data + first + 32 + 4, &bad, 4);
	assert_int_equal(read_all(&b, &n, err), KSM_CAPTURE_BROKEN);
	assert_string_equal(err, "bad record size 16777217 at byte 105");
	ksm_buf_free(&b);
}

static void test_annotation_bounds(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	const uint8_t guid[16] = { 0 };
	struct ksm_cap_proc_view p;
	uint64_t boot;

	ksm_capture_proc(&b, 10, 1, 100, 50, guid, false, KSM_PATH_DELETED, "/bin/sh", 7, "sh", 2);
	assert_true(ksm_capture_read_proc((uint8_t *)b.data, (uint32_t)b.len, &p));
	assert_int_equal(p.image_flags, KSM_PATH_DELETED);
	/* an image no root leads to keeps saying so in a replay */
	ksm_buf_reset(&b);
	ksm_capture_proc(&b, 10, 1, 100, 50, guid, false, KSM_PATH_UNREACHABLE | KSM_PATH_TRUNCATED,
			 "(unreachable)/", 14, "sh", 2);
	assert_true(ksm_capture_read_proc((uint8_t *)b.data, (uint32_t)b.len, &p));
	assert_int_equal(p.image_flags, KSM_PATH_UNREACHABLE | KSM_PATH_TRUNCATED);
	ksm_buf_reset(&b);
	ksm_capture_proc(&b, 10, 1, 100, 50, guid, false, KSM_PATH_DELETED, "/bin/sh", 7, "sh", 2);
	/* a string that would end past the record */
	assert_false(ksm_capture_read_proc((uint8_t *)b.data, (uint32_t)b.len - 1, &p));
	/* a fixed part cut short */
	assert_false(ksm_capture_read_proc((uint8_t *)b.data, 40, &p));
	ksm_buf_reset(&b);
	struct ksm_cap_user_view uv;
	ksm_capture_user(&b, 0, 1, 1, "root", false);
	struct ksm_cap_user *u = (struct ksm_cap_user *)b.data;
	u->name.offset = 4; /* inside the fixed part */
	assert_false(ksm_capture_read_user((uint8_t *)b.data, (uint32_t)b.len, &uv));
	ksm_buf_reset(&b);
	ksm_capture_user(&b, 7, 1, 0, "root", false);
	struct ksm_cap_user_ns *un = (struct ksm_cap_user_ns *)b.data;
	assert_int_equal(un->name.offset, sizeof(*un) + sizeof(struct ksm_cap_user_ns_id));
	un->name.offset = sizeof(*un); /* inside the namespace's uid */
	assert_false(ksm_capture_read_user((uint8_t *)b.data, (uint32_t)b.len, &uv));
	un->name.offset = 8;
	assert_false(ksm_capture_read_user((uint8_t *)b.data, (uint32_t)b.len, &uv));
	/* cut short, also within the namespace's uid */
	assert_false(ksm_capture_read_user((uint8_t *)b.data, 36, &uv));
	assert_false(ksm_capture_read_user((uint8_t *)b.data, sizeof(*un) + 4, &uv));
	/* a record of an older writer: no namespace uid, the name right
	 * after the fixed part, for the uid in any user namespace */
	ksm_buf_reset(&b);
	struct ksm_cap_user_ns old = { .hdr = { .type = KSM_CAP_USER_NS, .size = sizeof(old) + 4 },
				       .uid = 5, .flags = KSM_CAP_USER_KNOWN, .mnt_ns = 7,
				       .name = { sizeof(old), 4 } };
	ksm_buf_put(&b, &old, sizeof(old));
	ksm_buf_put(&b, "olds", 4);
	assert_true(ksm_capture_read_user((uint8_t *)b.data, (uint32_t)b.len, &uv));
	assert_true(uv.uid == 5 && uv.mnt_ns == 7 && !uv.has_ns_uid);
	assert_true(uv.name.present && uv.name.len == 4 && !memcmp(uv.name.data, "olds", 4));
	bool has_from;
	uint64_t from;
	assert_false(ksm_capture_read_clock((uint8_t *)b.data, 16, &boot, &has_from, &from));
	ksm_buf_free(&b);
}

static struct ksm_cgroup_fact fact(const struct ksm_container *c, const char *path, bool cut)
{
	struct ksm_cgroup_fact f = { .container = c, .path_cut = cut };
	if (path)
		f.path = (struct ksm_text){ (const uint8_t *)path, (uint32_t)strlen(path), false, true };
	return f;
}

/* What a live monitor found of a cgroup: a container of any runtime, its
 * name whole (255 bytes), or none; its path, cut or not; a forged
 * runtime, an id too long or holding a NUL, a path longer than is ever
 * shown, or a string out of the record is refused. */
static void test_cgroup_annotation(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	struct ksm_container c = { .runtime = "lxc" }, got;
	struct ksm_cgroup_fact f;
	uint64_t id;
	memset(c.id, 'n', KSM_CONTAINER_NAME_MAX);
	c.id[KSM_CONTAINER_NAME_MAX] = '\0';
	struct ksm_cgroup_fact in = fact(&c, "/lxc.payload.nnn", false);
	ksm_capture_cgroup(&b, 4242, &in);
	assert_true(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	assert_int_equal(id, 4242);
	assert_ptr_equal(f.container, &got);
	assert_ptr_equal(got.runtime, ksm_container_runtime("lxc", 3));
	assert_string_equal(got.id, c.id);
	assert_true(f.path.present);
	assert_int_equal(f.path.len, 16);
	assert_memory_equal(f.path.data, "/lxc.payload.nnn", 16);
	assert_false(f.path_cut);
	ksm_buf_reset(&b);
	in = fact(NULL, "/", true);
	ksm_capture_cgroup(&b, 17, &in);
	assert_true(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	assert_int_equal(id, 17);
	assert_null(f.container);
	assert_int_equal(f.path.len, 1);
	assert_true(f.path_cut);
	/* gone before its path was found: neither */
	ksm_buf_reset(&b);
	in = fact(NULL, NULL, false);
	ksm_capture_cgroup(&b, 18, &in);
	assert_true(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	assert_null(f.container);
	assert_false(f.path.present);
	/* a longer path: its end, as shown */
	char longer[KSM_NS_PATH_MAX + 10];
	memset(longer, 'd', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 2] = 'E';
	longer[sizeof(longer) - 1] = '\0';
	ksm_buf_reset(&b);
	in = fact(NULL, longer, true);
	ksm_capture_cgroup(&b, 19, &in);
	assert_true(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	assert_int_equal(f.path.len, KSM_NS_PATH_MAX - 1);
	assert_int_equal(f.path.data[f.path.len - 1], 'E');
	/* forged longer than that */
	struct ksm_cap_cgroup *r = (struct ksm_cap_cgroup *)b.data;
	r->path.length += 1;
	r->path.offset -= 1;
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));

	/* forged: a runtime the parser never gives */
	ksm_buf_reset(&b);
	struct ksm_container bad = { .runtime = "rkt" };
	snprintf(bad.id, sizeof(bad.id), "x");
	in = fact(&bad, NULL, false);
	ksm_capture_cgroup(&b, 5, &in);
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	/* an id longer than any cgroup name, or holding a NUL */
	ksm_buf_reset(&b);
	in = fact(&c, NULL, false);
	ksm_capture_cgroup(&b, 5, &in);
	r = (struct ksm_cap_cgroup *)b.data;
	uint8_t *idp = (uint8_t *)b.data + r->id.offset;
	idp[3] = '\0';
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	idp[3] = 'n';
	r->id.length = KSM_CONTAINER_NAME_MAX + 1;
	r->hdr.size += 1;
	ksm_buf_putc(&b, 'n');
	r = (struct ksm_cap_cgroup *)b.data;
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	/* cut short: before the path's string too */
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, 30, &id, &f, &got));
	assert_false(ksm_capture_read_cgroup((uint8_t *)b.data, offsetof(struct ksm_cap_cgroup, path) + 4,
					     &id, &f, &got));
	ksm_buf_free(&b);
}

/* A cgroup annotation of an older capture: no path (its fixed part ends
 * before it), its strings right after; read whatever its size, with no
 * path rather than bytes of its other strings. */
static void test_cgroup_annotation_older(void **state)
{
	(void)state;
	struct ksm_buf b = { 0 };
	struct ksm_container got;
	struct ksm_cgroup_fact f;
	uint64_t id;
	size_t fixed = offsetof(struct ksm_cap_cgroup, path);
	static const char runtime[] = "podman";
	char cid[65];
	memset(cid, 'a', 64);
	cid[64] = '\0';
	struct ksm_cap_cgroup r = { .hdr = { KSM_CAP_CGROUP, 0, (uint32_t)(fixed + 6 + 64), 0 },
				    .cgroup_id = 6846, .flags = KSM_CAP_CGROUP_CONTAINER,
				    .runtime = { (uint32_t)fixed, 6 },
				    .id = { (uint32_t)fixed + 6, 64 } };
	ksm_buf_put(&b, &r, fixed);
	ksm_buf_put(&b, runtime, 6);
	ksm_buf_put(&b, cid, 64);
	assert_true(ksm_capture_read_cgroup((uint8_t *)b.data, (uint32_t)b.len, &id, &f, &got));
	assert_int_equal(id, 6846);
	assert_non_null(f.container);
	assert_string_equal(got.runtime, "podman");
	assert_string_equal(got.id, cid);
	assert_false(f.path.present);
	assert_false(f.path_cut);
	ksm_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_damaged_records),
		cmocka_unit_test(test_annotation_bounds),
		cmocka_unit_test(test_cgroup_annotation),
		cmocka_unit_test(test_cgroup_annotation_older),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
