// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/decode.c: record validation and decoding, names, argv iteration. */
#include "unit.h"

#include <sys/sysmacros.h>

#define BOOT_NS 1600000000000000000ull

static const uint8_t SHA[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0xff,
};

static void assert_text(const struct ksm_text *t, const void *exp, size_t len, bool utf16)
{
	assert_true(t->present);
	assert_int_equal(t->len, len);
	assert_int_equal(t->utf16, utf16);
	assert_non_null(t->data);
	if (len)
		assert_memory_equal(t->data, exp, len);
}

static void assert_absent(const struct ksm_text *t)
{
	assert_false(t->present);
	assert_int_equal(t->len, 0);
	assert_null(t->data);
}

/* A well-formed record of each type, with every string present. */
static uint32_t build_sample(struct recb *r, unsigned type)
{
	switch (type) {
	case KSM_EV_PROCESS_CREATE: {
		struct ksm_process_create *c = recb_start(r, sizeof(*c), KSM_EV_PROCESS_CREATE,
							  KSM_HF_TIME_REALTIME | KSM_HF_UTF16, T_REAL);
		c->pid = 4242;
		c->ppid = 4200;
		c->parent_tid = 4201;
		memcpy(c->comm, "notepad.exe", 12);
		c->image = recb_u16(r, "C:\\Windows\\notepad.exe");
		c->cmdline = recb_u16(r, "notepad.exe a.txt");
		break;
	}
	case KSM_EV_PROCESS_EXEC:
		return mk_exec(r, 5000, 0, KSM_EXEC_ARGV_TRUNCATED, "/usr/bin/ls", "ls", "ls\0-l\0", 6);
	case KSM_EV_PROCESS_EXIT:
		return mk_exit(r, T_REAL, 3 << 8);
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT:
		return mk_thread(r, (uint16_t)type, T_REAL, 70, 77);
	case KSM_EV_IMAGE_LOAD:
		return mk_image(r, T_REAL, KSM_IMAGE_DELETED, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
	case KSM_EV_EVENTS_LOST: {
		struct ksm_events_lost *l = recb_start(r, sizeof(*l), KSM_EV_EVENTS_LOST,
						       KSM_HF_TIME_REALTIME, T_REAL);
		for (unsigned t = 0; t < KSM_EV_MAX; t++)
			l->lost[t] = 1000 * t + 1;
		break;
	}
	case KSM_EV_EXEC_BLOCKED: {
		struct ksm_exec_blocked *b = recb_start(r, sizeof(*b), KSM_EV_EXEC_BLOCKED,
							KSM_HF_TIME_REALTIME, T_REAL);
		b->pid = 4242;
		b->flags = KSM_BLOCKED_HAS_SHA256 | KSM_BLOCKED_AUDIT;
		memcpy(b->sha256, SHA, 32);
		b->path = recb_cstr(r, "/tmp/evil");
		b->rule = recb_cstr(r, "deny-tmp");
		break;
	}
	default:
		fail_msg("no sample for type %u", type);
	}
	return recb_end(r);
}

/* The fixed part of a record without KSM_HF_TASK_NS (the samples'). */
static size_t fixed_of(unsigned type)
{
	switch (type) {
	case KSM_EV_PROCESS_CREATE: return offsetof(struct ksm_process_create, ns);
	case KSM_EV_PROCESS_EXEC: return offsetof(struct ksm_process_exec, ns);
	case KSM_EV_PROCESS_EXIT: return offsetof(struct ksm_process_exit, ns);
	case KSM_EV_THREAD_CREATE:
	case KSM_EV_THREAD_EXIT: return sizeof(struct ksm_thread);
	case KSM_EV_IMAGE_LOAD: return offsetof(struct ksm_image_load, ns);
	case KSM_EV_EVENTS_LOST: return sizeof(struct ksm_events_lost);
	case KSM_EV_EXEC_BLOCKED: return offsetof(struct ksm_exec_blocked, ns);
	}
	fail_msg("type %u", type);
	return 0;
}

/* ---- the format itself ------------------------------------------------- */

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct ksm_header), 16);
	assert_int_equal(sizeof(struct ksm_str), 8);
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		assert_int_equal(fixed_of(t) % 8, 0);
	assert_int_equal(sizeof(struct ksm_events_lost), 16 + 8 * KSM_EV_MAX);
}

/* ---- round trips ------------------------------------------------------- */

/* The namespace block: decoded with KSM_HF_TASK_NS, its strings checked,
 * the container start moved to the wall clock; the same bytes without the
 * flag (an older record) decode with no namespace facts at all. */
static void test_task_ns(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	struct ksm_process_exec *e = recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXEC, KSM_HF_TASK_NS, 5000);
	e->pid = 4242;
	e->image = recb_cstr(&r, "/bin/sleep");
	e->ns.cgroup = recb_cstr(&r, "/libpod_parent/libpod-3f2a");
	e->ns.root = recb_cstr(&r, "/srv/jail");
	e->ns.cgroup_id = 77;
	e->ns.container_start = 1000;
	e->ns.pid_ns = 4026532250u;
	e->ns.user_ns = 4026531837u;
	e->ns.vpid = 1;
	e->ns.vppid = 0;
	e->ns.ns_uid = 0;
	e->ns.ns_euid = 0;
	e->ns.ns_gid = 0;
	e->ns.pid_ns_level = 1;
	e->ns.flags = KSM_NS_PID | KSM_NS_INIT_TREE_KNOWN | KSM_NS_IN_INIT_TREE | KSM_NS_USER;
	recb_end(&r);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_true(ev->has_ns);
	assert_int_equal(ev->ns.cgroup_id, 77);
	assert_int_equal(ev->ns.container_start_ns, 1000); /* boot time 0 */
	assert_int_equal(ev->ns.vpid, 1);
	assert_int_equal(ev->ns.pid_ns_level, 1);
	assert_int_equal(ev->ns.pid_ns, 4026532250u);
	assert_memory_equal(ev->ns.cgroup.data, "/libpod_parent/libpod-3f2a", ev->ns.cgroup.len);
	assert_memory_equal(ev->ns.root.data, "/srv/jail", ev->ns.root.len);
	exact_free(&x);

	/* a root string inside the fixed part is refused */
	e = (struct ksm_process_exec *)r.buf;
	struct ksm_str root = e->ns.root;
	e->ns.root.offset = offsetof(struct ksm_process_exec, ns);
	e->ns.root.length = 4;
	assert_int_equal(decode_exact(&x, r.buf, r.len, 123), KSM_DECODE_BAD_STRING);
	e->ns.root = root;

	/* without the flag: no facts, and the type's fields are unchanged */
	e->hdr.flags = 0;
	assert_int_equal(decode_exact(&x, r.buf, r.len, 123), KSM_DECODE_OK);
	assert_false(x.ev.has_ns);
	assert_int_equal(x.ev.pid, 4242);
	assert_memory_equal(x.ev.u.exec.image.data, "/bin/sleep", x.ev.u.exec.image.len);
	exact_free(&x);
	recb_free(&r);
}

/* A root named by its filesystem (another mount namespace): the device
 * decoded with KSM_NS_ROOT_FS only, and the fields the client's answer
 * gives (struct ksm_context's root_at). */
static void test_task_ns_root_fs(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	struct ksm_buf out = { 0 };
	struct ksm_process_exec *e = recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXEC, KSM_HF_TASK_NS, 5000);
	e->pid = 4242;
	e->image = recb_cstr(&r, "/bin/sleep");
	e->ns.root = recb_cstr(&r, "/");
	e->ns.root_dev = 76;
	e->ns.flags = KSM_NS_ROOT_FS;
	recb_end(&r);
	struct ksm_event ev = *decode_ok(&x, &r);
	assert_int_equal(ev.ns.root_dev, 76);
	assert_memory_equal(ev.ns.root.data, "/", 1);

	static const char merged[] = "/var/lib/containers/storage/overlay/ab/merged";
	ev.ctx.root_at = KSM_ROOT_AT_PATH;
	ev.ctx.root_host = (struct ksm_text){ (const uint8_t *)merged, sizeof(merged) - 1, false, true };
	ksm_format_json(&out, &ev);
	out.data[out.len - 1] = '\0';
	assert_non_null(strstr((char *)out.data, ",\"root\":\"/var/lib/containers/storage/overlay/ab/merged\",\"root_dev\":76"));
	assert_null(strstr((char *)out.data, "root_un"));
	struct { uint8_t at; const char *host, *has, *lacks; } cases[] = {
		{ KSM_ROOT_AT_PATH, "/", ",\"root_dev\":76", "\"root\"" }, /* the host's / */
		{ KSM_ROOT_AT_UNREACHABLE, NULL, ",\"root_dev\":76,\"root_unreachable\":true", "\"root\"" },
		{ KSM_ROOT_AT_UNRESOLVED, NULL, ",\"root_dev\":76,\"root_unresolved\":true", "\"root\"" },
		{ 0, NULL, ",\"root_dev\":76,\"root_unresolved\":true", "\"root\"" }, /* not asked */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ev.ctx.root_at = cases[i].at;
		ev.ctx.root_host = (struct ksm_text){ 0 };
		if (cases[i].host)
			ev.ctx.root_host = (struct ksm_text){ (const uint8_t *)cases[i].host, 1, false, true };
		ksm_buf_reset(&out);
		ksm_format_json(&out, &ev);
		out.data[out.len - 1] = '\0';
		assert_non_null(strstr((char *)out.data, cases[i].has));
		assert_null(strstr((char *)out.data, cases[i].lacks));
	}
	exact_free(&x);

	/* without the flag the device is not read: a path walked in the kernel */
	e = (struct ksm_process_exec *)r.buf;
	e->ns.flags = 0;
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_OK);
	assert_int_equal(x.ev.ns.root_dev, 0);
	exact_free(&x);
	ksm_buf_free(&out);
	recb_free(&r);
}

static void test_process_create_linux(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	mk_create(&r, 123, 0);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_PROCESS_CREATE);
	assert_int_equal(ev->hdr_flags, 0);
	assert_int_equal(ev->size, sizeof(struct ksm_process_create));
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->tid, 0);
	assert_int_equal(ev->u.create.ppid, 4200);
	assert_int_equal(ev->u.create.parent_tid, 4201);
	assert_string_equal(ev->comm, "bash");
	assert_absent(&ev->u.create.image);
	assert_absent(&ev->u.create.cmdline);
	exact_free(&x);
	recb_free(&r);
}

static void test_process_create_windows(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	build_sample(&r, KSM_EV_PROCESS_CREATE);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_PROCESS_CREATE);
	assert_int_equal(ev->hdr_flags, KSM_HF_TIME_REALTIME | KSM_HF_UTF16);
	assert_int_equal(ev->time_ns, T_REAL);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->u.create.ppid, 4200);
	assert_int_equal(ev->u.create.parent_tid, 4201);
	assert_string_equal(ev->comm, "notepad.exe");
	assert_true(ev->u.create.image.present);
	assert_true(ev->u.create.image.utf16);
	assert_int_equal(ev->u.create.image.len, 2 * strlen("C:\\Windows\\notepad.exe"));
	assert_memory_equal(ev->u.create.image.data, "C\0:\0\\\0W\0", 8);
	assert_int_equal(ev->u.create.cmdline.len, 2 * strlen("notepad.exe a.txt"));
	assert_true(ev->u.create.cmdline.utf16);
	assert_ptr_equal(ev->u.create.image.data, x.p + sizeof(struct ksm_process_create));
	exact_free(&x);
	recb_free(&r);
}

static void test_process_exec(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	mk_exec(&r, 5000, 0, KSM_EXEC_ARGV_TRUNCATED | KSM_EXEC_IMAGE_TRUNCATED, "/usr/bin/ls",
		"ls", "ls\0-l\0", 6);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_PROCESS_EXEC);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->tid, 4243);
	assert_int_equal(ev->u.exec.uid, 1000);
	assert_int_equal(ev->u.exec.gid, 100);
	assert_int_equal(ev->flags, KSM_EXEC_ARGV_TRUNCATED | KSM_EXEC_IMAGE_TRUNCATED);
	assert_string_equal(ev->comm, "ls");
	assert_text(&ev->u.exec.image, "/usr/bin/ls", 11, false);
	assert_text(&ev->u.exec.filename, "ls", 2, false);
	assert_text(&ev->u.exec.argv, "ls\0-l\0", 6, false);
	/* strings point into the record, not into a copy */
	size_t fixed = sizeof(struct ksm_process_exec);
	assert_ptr_equal(ev->u.exec.image.data, x.p + fixed);
	assert_ptr_equal(ev->u.exec.filename.data, x.p + fixed + 11);
	assert_ptr_equal(ev->u.exec.argv.data, x.p + fixed + 13);
	/* 8-byte padding counted in size */
	assert_int_equal(ev->size, (fixed + 19 + 7) / 8 * 8);
	exact_free(&x);
	recb_free(&r);
}

static void test_process_exec_absent_strings(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	mk_exec(&r, 5000, 0, KSM_EXEC_ARGV_UNREADABLE, "/bin/true", NULL, NULL, 0);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_text(&ev->u.exec.image, "/bin/true", 9, false);
	assert_absent(&ev->u.exec.filename);
	assert_absent(&ev->u.exec.argv);
	assert_int_equal(ev->flags, KSM_EXEC_ARGV_UNREADABLE);
	exact_free(&x);
	recb_free(&r);
}

static void test_process_exit(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	mk_exit(&r, T_REAL, 0x89);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_PROCESS_EXIT);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->tid, 4244);
	assert_int_equal(ev->u.exit.status, 0x89);
	assert_string_equal(ev->comm, "bash");
	assert_int_equal(ev->time_ns, T_REAL);
	assert_int_equal(ev->size, sizeof(struct ksm_process_exit));
	exact_free(&x);
	recb_free(&r);
}

static void test_threads(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	static const uint16_t types[] = { KSM_EV_THREAD_CREATE, KSM_EV_THREAD_EXIT };
	for (int i = 0; i < 2; i++) {
		mk_thread(&r, types[i], T_REAL, 70, 77);
		const struct ksm_event *ev = decode_ok(&x, &r);
		assert_int_equal(ev->type, types[i]);
		assert_int_equal(ev->pid, 70);
		assert_int_equal(ev->tid, 77);
		assert_int_equal(ev->size, sizeof(struct ksm_thread));
		assert_string_equal(ev->comm, "");
	}
	exact_free(&x);
	recb_free(&r);
}

/* A thread record with its cgroup block (KSM_HF_CGROUP): the thread's
 * cgroup id, no path and no other namespace fact; the JSON view gives
 * cgroup_id alone.  The 32-byte record of captures written before (no
 * flag) still decodes, with no cgroup; the flag on a record too short
 * for the block is a bad size, and a path inside the fixed part a bad
 * string. */
static void test_thread_cgroup(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	struct ksm_buf out = { 0 };
	struct ksm_thread_cgroup *t = recb_start(&r, sizeof(*t), KSM_EV_THREAD_CREATE,
						 KSM_HF_CGROUP | KSM_HF_TIME_REALTIME, T_REAL);
	t->base.pid = 70;
	t->base.tid = 77;
	t->base.start_time = 5;
	t->cgroup.id = 6846;
	uint32_t n = recb_end(&r);
	assert_int_equal(n, 48);
	struct ksm_event ev = *decode_ok(&x, &r);
	assert_true(ev.has_cgroup);
	assert_false(ev.has_ns);
	assert_int_equal(ev.ns.cgroup_id, 6846);
	assert_absent(&ev.ns.cgroup);
	assert_int_equal(ev.size, 48);
	assert_int_equal(ev.pid, 70);
	assert_int_equal(ev.tid, 77);
	assert_int_equal(ev.start_time, 5);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"thread_create\",\"time\":\"2023-11-14T22:13:20.123456789Z\","
			 "\"pid\":70,\"tid\":77,\"cgroup_id\":6846}\n");
	/* the path the client found for the id, cut or not */
	static const char path[] = "/libpod_parent/libpod-3f2a";
	ev.ctx.cgroup = (struct ksm_text){ (const uint8_t *)path, sizeof(path) - 1, false, true };
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_non_null(strstr(buf_str(&out), "\"cgroup_id\":6846,\"cgroup\":\"/libpod_parent/libpod-3f2a\"}"));
	ev.ctx.cgroup_cut = true;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_non_null(strstr(buf_str(&out), "\"cgroup\":\"/libpod_parent/libpod-3f2a\",\"cgroup_truncated\":true}"));
	exact_free(&x);

	/* a path string inside the fixed part */
	t = (struct ksm_thread_cgroup *)r.buf;
	t->cgroup.path = (struct ksm_str){ offsetof(struct ksm_thread_cgroup, cgroup), 4 };
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_BAD_STRING);
	t->cgroup.path = (struct ksm_str){ 0, 0 };

	/* the older record: 32 bytes, no flag */
	mk_thread(&r, KSM_EV_THREAD_EXIT, T_REAL, 70, 77);
	ev = *decode_ok(&x, &r);
	assert_false(ev.has_cgroup);
	assert_int_equal(ev.ns.cgroup_id, 0);
	assert_int_equal(ev.size, sizeof(struct ksm_thread));
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_null(strstr(buf_str(&out), "cgroup"));
	/* the flag on a record without room for the block */
	((struct ksm_header *)r.buf)->flags |= KSM_HF_CGROUP;
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_SHORT);
	exact_free(&x);
	ksm_buf_free(&out);
	recb_free(&r);
}

/* An exec_blocked of the fanotify engine: the cgroup block in the
 * namespace block's place, its path among the record's strings.  The
 * namespace block wins when both flags are set; the flag on a type that
 * never has the block is not read. */
static void test_exec_blocked_cgroup(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	struct ksm_buf out = { 0 };
	struct ksm_exec_blocked *b = recb_start(&r, sizeof(*b), KSM_EV_EXEC_BLOCKED,
						KSM_HF_TIME_REALTIME | KSM_HF_CGROUP, T_REAL);
	b->pid = 4242;
	b->path = recb_cstr(&r, "/tmp/evil");
	b->rule = recb_cstr(&r, "/tmp/*");
	struct ksm_task_cgroup cg = { .id = 52275, .path = recb_cstr(&r, "/libpod_parent/libpod-ab") };
	memcpy(&b->ns, &cg, sizeof(cg));
	recb_end(&r);
	struct ksm_event ev = *decode_ok(&x, &r);
	assert_true(ev.has_cgroup);
	assert_false(ev.has_ns);
	assert_int_equal(ev.ns.cgroup_id, 52275);
	assert_text(&ev.ns.cgroup, "/libpod_parent/libpod-ab", 24, false);
	assert_text(&ev.u.blocked.path, "/tmp/evil", 9, false);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"exec_blocked\",\"time\":\"2023-11-14T22:13:20.123456789Z\","
			 "\"pid\":4242,\"path\":\"/tmp/evil\",\"rule\":\"/tmp/*\",\"audit\":false,"
			 "\"cgroup_id\":52275,\"cgroup\":\"/libpod_parent/libpod-ab\"}\n");
	exact_free(&x);

	/* both flags: the namespace block, whose cgroup is empty here */
	b = (struct ksm_exec_blocked *)r.buf;
	b->hdr.flags |= KSM_HF_TASK_NS;
	memset(&b->ns, 0, sizeof(b->ns));
	b->ns.cgroup_id = 9;
	ev = *decode_ok(&x, &r);
	assert_true(ev.has_ns);
	assert_int_equal(ev.ns.cgroup_id, 9);
	assert_absent(&ev.ns.cgroup);
	exact_free(&x);

	/* a process_exit with the flag: its fixed part as ever, no cgroup */
	mk_exit(&r, T_REAL, 0);
	((struct ksm_header *)r.buf)->flags |= KSM_HF_CGROUP;
	ev = *decode_ok(&x, &r);
	assert_false(ev.has_cgroup);
	exact_free(&x);
	ksm_buf_free(&out);
	recb_free(&r);
}

static void test_image_load(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	const char *path = "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13";
	mk_image(&r, T_REAL, KSM_IMAGE_MEMFD | KSM_IMAGE_TRUNCATED, path);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_IMAGE_LOAD);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->tid, 4243);
	assert_int_equal(ev->u.image.base, 0x7f12a0000000ull);
	assert_int_equal(ev->u.image.size, 0x1e000);
	assert_int_equal(ev->u.image.inode, 1234567);
	assert_int_equal(ev->u.image.dev, 0x801);
	assert_int_equal(ev->flags, KSM_IMAGE_MEMFD | KSM_IMAGE_TRUNCATED);
	assert_int_equal(ev->u.image.path_state, KSM_PATH_TRUNCATED);
	assert_text(&ev->u.image.path, path, strlen(path), false);
	exact_free(&x);
	recb_free(&r);
}

/* Each path's state (enum ksm_path_state) from its own flags in the
 * record's: deleted, cut, and on a tree in no mount namespace. */
static void test_path_states(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	static const struct {
		uint32_t flags;
		uint8_t image, cwd, parent;
	} exec[] = {
		{ 0, 0, 0, 0 },
		{ KSM_EXEC_IMAGE_UNREACHABLE, KSM_PATH_UNREACHABLE, 0, 0 },
		{ KSM_EXEC_CWD_UNREACHABLE | KSM_EXEC_CWD_DELETED, 0,
		  KSM_PATH_UNREACHABLE | KSM_PATH_DELETED, 0 },
		{ KSM_EXEC_PARENT_IMAGE_UNREACHABLE | KSM_EXEC_PARENT_IMAGE_TRUNCATED, 0, 0,
		  KSM_PATH_UNREACHABLE | KSM_PATH_TRUNCATED },
		{ KSM_EXEC_IMAGE_DELETED | KSM_EXEC_IMAGE_TRUNCATED | KSM_EXEC_ARGV_TRUNCATED,
		  KSM_PATH_DELETED | KSM_PATH_TRUNCATED, 0, 0 },
		{ 0xffffffffu, 7, 7, 7 },
	};
	for (size_t i = 0; i < sizeof(exec) / sizeof(exec[0]); i++) {
		mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, exec[i].flags, "/x", "x", "x\0", 2);
		const struct ksm_event *ev = decode_ok(&x, &r);
		assert_int_equal(ev->u.exec.image_state, exec[i].image);
		assert_int_equal(ev->u.exec.cwd_state, exec[i].cwd);
		assert_int_equal(ev->u.exec.parent_image_state, exec[i].parent);
	}
	mk_image(&r, T_REAL, KSM_IMAGE_UNREACHABLE | KSM_IMAGE_DELETED | KSM_IMAGE_MEMFD, "/x");
	assert_int_equal(decode_ok(&x, &r)->u.image.path_state, KSM_PATH_UNREACHABLE | KSM_PATH_DELETED);
	build_sample(&r, KSM_EV_EXEC_BLOCKED);
	((struct ksm_exec_blocked *)r.buf)->flags = KSM_BLOCKED_PATH_UNREACHABLE | KSM_BLOCKED_AUDIT;
	assert_int_equal(decode_ok(&x, &r)->u.blocked.path_state, KSM_PATH_UNREACHABLE);
	((struct ksm_exec_blocked *)r.buf)->flags = KSM_BLOCKED_PATH_TRUNCATED;
	assert_int_equal(decode_ok(&x, &r)->u.blocked.path_state, KSM_PATH_TRUNCATED);
	/* how every view shows them */
	assert_string_equal(ksm_path_prefix(KSM_PATH_UNREACHABLE | KSM_PATH_DELETED), "(unreachable)");
	assert_null(ksm_path_prefix(KSM_PATH_DELETED | KSM_PATH_TRUNCATED));
	assert_string_equal(ksm_path_suffix(KSM_PATH_UNREACHABLE | KSM_PATH_DELETED), " (deleted)");
	assert_null(ksm_path_suffix(KSM_PATH_UNREACHABLE));
	exact_free(&x);
	recb_free(&r);
}

static void test_events_lost(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	build_sample(&r, KSM_EV_EVENTS_LOST);
	((struct ksm_events_lost *)r.buf)->lost[KSM_EV_PROCESS_EXEC] = UINT64_MAX;
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_EVENTS_LOST);
	assert_int_equal(ev->pid, 0);
	for (unsigned t = 0; t < KSM_EV_MAX; t++)
		assert_int_equal(ev->u.lost.lost[t],
				 t == KSM_EV_PROCESS_EXEC ? UINT64_MAX : 1000 * t + 1);
	assert_int_equal(ev->size, sizeof(struct ksm_events_lost));
	exact_free(&x);
	recb_free(&r);
}

static void test_exec_blocked_sha(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	build_sample(&r, KSM_EV_EXEC_BLOCKED);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->type, KSM_EV_EXEC_BLOCKED);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->flags, KSM_BLOCKED_HAS_SHA256 | KSM_BLOCKED_AUDIT);
	assert_non_null(ev->u.blocked.sha256);
	assert_memory_equal(ev->u.blocked.sha256, SHA, 32);
	assert_ptr_equal(ev->u.blocked.sha256, x.p + offsetof(struct ksm_exec_blocked, sha256));
	assert_text(&ev->u.blocked.path, "/tmp/evil", 9, false);
	assert_text(&ev->u.blocked.rule, "deny-tmp", 8, false);
	exact_free(&x);
	recb_free(&r);
}

static void test_exec_blocked_no_sha(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	build_sample(&r, KSM_EV_EXEC_BLOCKED);
	/* bytes in the sha256 field but no flag: not reported */
	((struct ksm_exec_blocked *)r.buf)->flags = KSM_BLOCKED_AUDIT;
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_null(ev->u.blocked.sha256);
	assert_int_equal(ev->flags, KSM_BLOCKED_AUDIT);
	((struct ksm_exec_blocked *)r.buf)->flags = 0;
	ev = decode_ok(&x, &r);
	assert_null(ev->u.blocked.sha256);
	assert_int_equal(ev->flags, 0);
	exact_free(&x);
	recb_free(&r);
}

static void test_comm_16_bytes(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	static const unsigned types[] = { KSM_EV_PROCESS_CREATE, KSM_EV_PROCESS_EXEC,
					  KSM_EV_PROCESS_EXIT };
	static const size_t off[] = { offsetof(struct ksm_process_create, comm),
				      offsetof(struct ksm_process_exec, comm),
				      offsetof(struct ksm_process_exit, comm) };
	for (int i = 0; i < 3; i++) {
		build_sample(&r, types[i]);
		memcpy(r.buf + off[i], "0123456789abcdef", 16); /* no NUL */
		const struct ksm_event *ev = decode_ok(&x, &r);
		assert_string_equal(ev->comm, "0123456789abcdef");
		assert_int_equal(ev->comm[16], '\0');
	}
	exact_free(&x);
	recb_free(&r);
}

/* The creator's start (KSM_HF_CREATOR_START): the last 8 bytes of the
 * fixed part, after the namespace block when there is one (whose facts
 * are unchanged by it); absent without the flag, whatever bytes follow;
 * a record too short for it is refused. */
static void test_creator_start(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	const uint64_t creator_start = 0x1122334455667788ull;

	struct ksm_process_create *c = recb_start(&r, sizeof(*c), KSM_EV_PROCESS_CREATE,
						  KSM_HF_TASK_NS | KSM_HF_CREATOR_START, 5000);
	c->pid = 301;
	c->ppid = 100;
	c->parent_tid = 201;
	c->creator_pid = 200;
	c->start_time = 9301;
	c->parent_start_time = 1100;
	c->ns.pid_ns = 4026531836u;
	c->ns.cgroup_ns = 4026531835u;
	c->creator_start_time = creator_start;
	recb_end(&r);
	assert_int_equal(r.len, offsetof(struct ksm_process_create, creator_start_time) + 8);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_true(ev->has_ns);
	assert_int_equal(ev->ns.pid_ns, 4026531836u);
	assert_int_equal(ev->ns.cgroup_ns, 4026531835u);
	assert_int_equal(ev->u.create.creator_pid, 200);
	assert_true(ev->u.create.creator_start == creator_start);
	assert_true(ev->start_time == 9301 && ev->parent_start_time == 1100);
	assert_true(ksm_created_by_other(ev));

	/* the flag alone: right after the type's fields */
	uint8_t *p = (uint8_t *)r.buf;
	((struct ksm_header *)p)->flags = KSM_HF_CREATOR_START;
	memcpy(p + offsetof(struct ksm_process_create, ns), &creator_start, 8);
	((struct ksm_header *)p)->size = offsetof(struct ksm_process_create, ns) + 8;
	assert_int_equal(decode_exact(&x, p, offsetof(struct ksm_process_create, ns) + 8, 0),
			 KSM_DECODE_OK);
	assert_false(x.ev.has_ns);
	assert_true(x.ev.u.create.creator_start == creator_start);

	/* without it: unknown, the bytes after the fixed part ignored */
	((struct ksm_header *)p)->flags = 0;
	assert_int_equal(decode_exact(&x, p, offsetof(struct ksm_process_create, ns) + 8, 0),
			 KSM_DECODE_OK);
	assert_true(x.ev.u.create.creator_start == 0);

	/* too short for the flags it has */
	((struct ksm_header *)p)->flags = KSM_HF_CREATOR_START;
	((struct ksm_header *)p)->size = offsetof(struct ksm_process_create, ns) + 4;
	assert_int_equal(decode_exact(&x, p, offsetof(struct ksm_process_create, ns) + 4, 0),
			 KSM_DECODE_SHORT);
	/* the flag means nothing on another type */
	recb_start(&r, sizeof(struct ksm_thread), KSM_EV_THREAD_CREATE, KSM_HF_CREATOR_START, 7);
	recb_end(&r);
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_OK);
	exact_free(&x);
	recb_free(&r);
}

/* Each instant of a record takes the boot time in force when it
 * happened: after the wall clock was set, an event's time moves, the
 * start of a container made before does not. */
static void test_instants_by_epoch(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct ksm_boot_clock clock;
	struct ksm_event ev;
	ksm_boot_clock_init(&clock, BOOT_NS, 0);
	ksm_boot_clock_add(&clock, 3000, BOOT_NS + 3600000000000ull);
	struct ksm_process_exit *e = recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXIT, KSM_HF_TASK_NS, 5000);
	e->pid = 4242;
	e->start_time = 2000;
	e->ns.container_start = 1000;
	e->ns.flags = KSM_NS_PID;
	recb_end(&r);
	assert_int_equal(ksm_decode(r.buf, r.len, &clock, &ev), KSM_DECODE_OK);
	assert_true(ev.time_ns == BOOT_NS + 3600000000000ull + 5000);
	assert_true(ev.since_boot_ns == 5000);
	assert_true(ev.ns.container_start_ns == BOOT_NS + 1000);
	/* a realtime record's instants are the wall clock's already */
	e = (struct ksm_process_exit *)r.buf;
	e->hdr.flags |= KSM_HF_TIME_REALTIME;
	e->hdr.time = T_REAL;
	e->ns.container_start = T_REAL - 7;
	assert_int_equal(ksm_decode(r.buf, r.len, &clock, &ev), KSM_DECODE_OK);
	assert_true(ev.time_ns == T_REAL && ev.since_boot_ns == 0);
	assert_true(ev.ns.container_start_ns == T_REAL - 7);
	recb_free(&r);
}

static void test_time_conversion(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };

	/* CLOCK_BOOTTIME: the boot time is added */
	mk_create(&r, 5000000000ull, 0);
	assert_int_equal(decode_exact(&x, r.buf, r.len, BOOT_NS), KSM_DECODE_OK);
	assert_int_equal(x.ev.time_ns, BOOT_NS + 5000000000ull);
	assert_int_equal(x.ev.hdr_flags, 0);

	/* realtime: taken as is, whatever boot_ns says */
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	assert_int_equal(decode_exact(&x, r.buf, r.len, BOOT_NS), KSM_DECODE_OK);
	assert_int_equal(x.ev.time_ns, T_REAL);
	assert_int_equal(x.ev.hdr_flags, KSM_HF_TIME_REALTIME);

	/* boot_ns 0 with boottime: the raw value */
	mk_create(&r, 42, 0);
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_OK);
	assert_int_equal(x.ev.time_ns, 42);

	/* the UTF-16 flag alone does not make time realtime */
	mk_create(&r, 42, KSM_HF_UTF16);
	assert_int_equal(decode_exact(&x, r.buf, r.len, 1000), KSM_DECODE_OK);
	assert_int_equal(x.ev.time_ns, 1042);
	exact_free(&x);
	recb_free(&r);
}

/* Two records end to end, and a record that is not 8-aligned in memory. */
static void test_back_to_back_and_unaligned(void **state)
{
	(void)state;
	struct recb r = { 0 };
	uint32_t n1 = mk_exec(&r, 1, KSM_HF_TIME_REALTIME, 0, "/a", "a", "a\0", 2);
	uint8_t *all = malloc(1 + n1 + sizeof(struct ksm_thread));
	assert_non_null(all);
	memcpy(all + 1, r.buf, n1);
	uint32_t n2 = mk_thread(&r, KSM_EV_THREAD_EXIT, 2, 5, 6);
	assert_int_equal(n2, sizeof(struct ksm_thread));
	memcpy(all + 1 + n1, r.buf, n2);

	struct ksm_event ev;
	assert_int_equal(ksm_decode(all + 1, n1 + n2, 0, &ev), KSM_DECODE_OK);
	assert_int_equal(ev.type, KSM_EV_PROCESS_EXEC);
	assert_int_equal(ev.size, n1);
	assert_text(&ev.u.exec.image, "/a", 2, false);
	assert_int_equal(ksm_decode(all + 1 + ev.size, n2, 0, &ev), KSM_DECODE_OK);
	assert_int_equal(ev.type, KSM_EV_THREAD_EXIT);
	assert_int_equal(ev.pid, 5);
	assert_int_equal(ev.tid, 6);
	assert_int_equal(ev.time_ns, 2);
	free(all);
	recb_free(&r);
}

/* ---- malformed records ------------------------------------------------- */

static void test_short(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	build_sample(&r, KSM_EV_PROCESS_EXEC);
	assert_int_equal(decode_exact(&x, r.buf, 0, 0), KSM_DECODE_SHORT);
	assert_int_equal(decode_exact(&x, r.buf, 15, 0), KSM_DECODE_SHORT);
	/* a whole header but not the fixed part */
	assert_int_equal(decode_exact(&x, r.buf, 16, 0), KSM_DECODE_SHORT);
	assert_int_equal(decode_exact(&x, r.buf, offsetof(struct ksm_process_exec, ns) - 1, 0),
			 KSM_DECODE_SHORT);
	exact_free(&x);
	recb_free(&r);
}

static void test_size_below_fixed(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		uint32_t n = build_sample(&r, t);
		struct ksm_header *h = (struct ksm_header *)r.buf;
		uint32_t sizes[] = { 0, 1, 15, 16, (uint32_t)fixed_of(t) - 1 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			h->size = sizes[i];
			assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_SIZE);
		}
		/* exactly the fixed part is fine when it holds no strings */
		h->size = (uint32_t)fixed_of(t);
		enum ksm_decode_status st = decode_exact(&x, r.buf, n, 0);
		if (t == KSM_EV_PROCESS_CREATE || t == KSM_EV_PROCESS_EXEC ||
		    t == KSM_EV_IMAGE_LOAD || t == KSM_EV_EXEC_BLOCKED)
			assert_int_equal(st, KSM_DECODE_BAD_STRING);
		else
			assert_int_equal(st, KSM_DECODE_OK);
	}
	exact_free(&x);
	recb_free(&r);
}

static void test_size_beyond_avail(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		uint32_t n = build_sample(&r, t);
		struct ksm_header *h = (struct ksm_header *)r.buf;
		uint32_t sizes[] = { n + 1, n + 8, 0x80000000u, UINT32_MAX };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			h->size = sizes[i];
			assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_SIZE);
		}
		/* more bytes available than the record: only the record is taken */
		h->size = n;
		assert_int_equal(decode_exact(&x, r.buf, n + 64, 0), KSM_DECODE_OK);
		assert_int_equal(x.ev.size, n);
	}
	exact_free(&x);
	recb_free(&r);
}

static void test_bad_type(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	uint32_t n = build_sample(&r, KSM_EV_EVENTS_LOST);
	static const uint16_t bad[] = { KSM_EV_NONE, KSM_EV_MAX, KSM_EV_MAX + 1, 200, 0x7fff,
					0xffff };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		((struct ksm_header *)r.buf)->type = bad[i];
		assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_TYPE);
		/* only a header is needed to tell */
		assert_int_equal(decode_exact(&x, r.buf, 16, 0), KSM_DECODE_BAD_TYPE);
	}
	exact_free(&x);
	recb_free(&r);
}

static void test_strerror(void **state)
{
	(void)state;
	const char *s[5];
	for (int i = 0; i < 5; i++) {
		s[i] = ksm_decode_strerror((enum ksm_decode_status)i);
		assert_non_null(s[i]);
		assert_true(strlen(s[i]) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s[i], s[j]);
	}
	assert_string_equal(ksm_decode_strerror(KSM_DECODE_OK), "ok");
	assert_non_null(ksm_decode_strerror((enum ksm_decode_status)99));
}

/* An events_lost of the queue (the fixed part alone) carries no file; one
 * of a file names it, and its strings must lie in the record. */
static void test_events_lost_forms(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };

	struct ksm_events_lost *l =
		recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	l->lost[KSM_EV_THREAD_EXIT] = 5;
	recb_end(&r);
	const struct ksm_event *ev = decode_ok(&x, &r);
	assert_int_equal(ev->u.lost.lost[KSM_EV_THREAD_EXIT], 5);
	assert_false(ev->u.lost.file.present);

	struct ksm_events_lost_write *w =
		recb_start(&r, sizeof(*w), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	w->base.lost[KSM_EV_PROCESS_EXEC] = 7;
	w->file = recb_cstr(&r, "/var/log/x");
	w->error = recb_cstr(&r, "Input/output error");
	recb_end(&r);
	ev = decode_ok(&x, &r);
	assert_int_equal(ev->u.lost.lost[KSM_EV_PROCESS_EXEC], 7);
	assert_true(ev->u.lost.file.present);
	assert_memory_equal(ev->u.lost.file.data, "/var/log/x", 10);
	assert_int_equal(ev->u.lost.error.len, strlen("Input/output error"));
	w = (struct ksm_events_lost_write *)r.buf;
	w->file.offset = (uint32_t)r.len;
	w->file.length = 1;
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_BAD_STRING);
	w->file.offset = 8; /* inside the fixed part */
	assert_int_equal(decode_exact(&x, r.buf, r.len, 0), KSM_DECODE_BAD_STRING);
	exact_free(&x);
	recb_free(&r);
}

/* Rewrites the image string of a sample exec record and decodes it. */
static enum ksm_decode_status exec_with_image(struct recb *r, struct exact *x, uint32_t offset,
					      uint32_t length)
{
	uint32_t n = build_sample(r, KSM_EV_PROCESS_EXEC);
	struct ksm_process_exec *e = (struct ksm_process_exec *)r->buf;
	e->image.offset = offset;
	e->image.length = length;
	return decode_exact(x, r->buf, n, 0);
}

static void test_bad_strings(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	const uint32_t fixed = offsetof(struct ksm_process_exec, ns);
	uint32_t n = build_sample(&r, KSM_EV_PROCESS_EXEC);

	/* inside the fixed part */
	assert_int_equal(exec_with_image(&r, &x, fixed - 1, 1), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, 16, 4), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, 0, 4), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, 8, 0), KSM_DECODE_BAD_STRING);
	/* beyond the record */
	assert_int_equal(exec_with_image(&r, &x, n + 1, 0), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, n, 1), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, fixed, n - fixed + 1), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, UINT32_MAX, 0), KSM_DECODE_BAD_STRING);
	/* offset + length wraps around 2^32 */
	assert_int_equal(exec_with_image(&r, &x, fixed, UINT32_MAX), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, fixed + 8, UINT32_MAX - 7), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, 0xfffffff0u, 0x20), KSM_DECODE_BAD_STRING);
	assert_int_equal(exec_with_image(&r, &x, UINT32_MAX, UINT32_MAX), KSM_DECODE_BAD_STRING);

	/* the edges that are valid */
	assert_int_equal(exec_with_image(&r, &x, fixed, n - fixed), KSM_DECODE_OK);
	assert_int_equal(x.ev.u.exec.image.len, n - fixed);
	assert_int_equal(exec_with_image(&r, &x, n, 0), KSM_DECODE_OK); /* empty, at the end */
	assert_true(x.ev.u.exec.image.present);
	assert_int_equal(x.ev.u.exec.image.len, 0);
	assert_int_equal(exec_with_image(&r, &x, fixed, 0), KSM_DECODE_OK);
	assert_true(x.ev.u.exec.image.present);

	/* the last string of each kind is checked too */
	n = build_sample(&r, KSM_EV_PROCESS_EXEC);
	((struct ksm_process_exec *)r.buf)->argv.length = n;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	n = build_sample(&r, KSM_EV_EXEC_BLOCKED);
	((struct ksm_exec_blocked *)r.buf)->rule.offset = 8;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	n = build_sample(&r, KSM_EV_IMAGE_LOAD);
	((struct ksm_image_load *)r.buf)->path.offset = n + 100;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	n = build_sample(&r, KSM_EV_PROCESS_CREATE);
	((struct ksm_process_create *)r.buf)->cmdline.length += 1000;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	exact_free(&x);
	recb_free(&r);
}

static void test_utf16_odd_length(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	uint32_t n = build_sample(&r, KSM_EV_PROCESS_CREATE);
	struct ksm_process_create *c = (struct ksm_process_create *)r.buf;
	c->image.length -= 1;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	/* the same odd length is fine for byte strings */
	c->hdr.flags &= (uint16_t)~KSM_HF_UTF16;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_OK);
	assert_false(x.ev.u.create.image.utf16);
	assert_int_equal(x.ev.u.create.image.len, 2 * strlen("C:\\Windows\\notepad.exe") - 1);
	/* odd length 1 */
	c->hdr.flags |= KSM_HF_UTF16;
	c->image.length = 1;
	assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_BAD_STRING);
	exact_free(&x);
	recb_free(&r);
}

/* Every prefix of every record is rejected, without reading past it. */
static void test_truncated_every_length(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		uint32_t n = build_sample(&r, t);
		for (uint32_t len = 0; len < n; len++) {
			enum ksm_decode_status st = decode_exact(&x, r.buf, len, 0);
			if (st == KSM_DECODE_OK)
				fail_msg("type %u truncated to %u of %u bytes decoded", t, len, n);
			assert_int_equal(st, len < fixed_of(t) ? KSM_DECODE_SHORT : KSM_DECODE_BAD_SIZE);
		}
		assert_int_equal(decode_exact(&x, r.buf, n, 0), KSM_DECODE_OK);
	}
	exact_free(&x);
	recb_free(&r);
}

/* Prefixes whose header was rewritten to claim just the prefix: strings
 * that now lie outside are refused; anything accepted lies inside. */
static void test_truncated_size_rewritten(void **state)
{
	(void)state;
	struct recb r = { 0 };
	struct exact x = { 0 };
	uint8_t *copy = malloc(RECB_CAP);
	assert_non_null(copy);
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		uint32_t n = build_sample(&r, t);
		for (uint32_t len = 16; len < n; len++) {
			memcpy(copy, r.buf, len);
			((struct ksm_header *)copy)->size = len;
			enum ksm_decode_status st = decode_exact(&x, copy, len, 0);
			if (len < fixed_of(t)) {
				assert_int_equal(st, KSM_DECODE_SHORT);
				continue;
			}
			if (st != KSM_DECODE_OK) {
				assert_int_equal(st, KSM_DECODE_BAD_STRING);
				continue;
			}
			assert_int_equal(x.ev.size, len);
			const struct ksm_text *texts[] = {
				&x.ev.u.exec.image, &x.ev.u.exec.filename, &x.ev.u.exec.argv,
			};
			if (t == KSM_EV_PROCESS_EXEC)
				for (int i = 0; i < 3; i++)
					assert_true(texts[i]->data + texts[i]->len <= x.p + len);
		}
	}
	free(copy);
	exact_free(&x);
	recb_free(&r);
}

/* Random garbage never decodes to anything that points outside. */
static void test_random_records(void **state)
{
	(void)state;
	struct exact x = { 0 };
	uint8_t buf[256];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 20000; i++) {
		for (size_t j = 0; j < sizeof(buf); j++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			buf[j] = (uint8_t)s;
		}
		size_t len = s % sizeof(buf);
		struct ksm_header *h = (struct ksm_header *)buf;
		h->type = (uint16_t)(1 + (s >> 8) % (KSM_EV_MAX - 1));
		h->size = (uint32_t)((s >> 16) % (len + 1));
		/* small offsets so that some strings land inside */
		for (size_t j = 16; j + 8 <= sizeof(buf); j += 8) {
			if ((s >> (j % 48)) & 1) {
				uint32_t small[2] = { buf[j], buf[j + 4] };
				memcpy(buf + j, small, 8);
			}
		}
		if (decode_exact(&x, buf, len, 0) == KSM_DECODE_OK) {
			assert_true(x.ev.size <= len);
			assert_true(x.ev.type > KSM_EV_NONE && x.ev.type < KSM_EV_MAX);
			assert_int_equal(strlen(x.ev.comm) <= 16, 1);
		}
	}
	exact_free(&x);
}

/* ---- names ------------------------------------------------------------- */

static void test_event_names(void **state)
{
	(void)state;
	static const char *const names[KSM_EV_MAX] = {
		NULL,          "process_create", "process_exec", "process_exit", "thread_create",
		"thread_exit", "image_load",     "events_lost",  "exec_blocked",
	};
	assert_null(ksm_event_name(KSM_EV_NONE));
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		assert_string_equal(ksm_event_name(t), names[t]);
		assert_int_equal(ksm_event_by_name(names[t], strlen(names[t])), t);
	}
	assert_null(ksm_event_name(KSM_EV_MAX));
	assert_null(ksm_event_name(KSM_EV_MAX + 1));
	assert_null(ksm_event_name(0xffffffffu));
}

static void test_event_by_name(void **state)
{
	(void)state;
	/* the length bounds the name: a longer buffer is fine */
	assert_int_equal(ksm_event_by_name("process_exec,thread_exit", 12), KSM_EV_PROCESS_EXEC);
	assert_int_equal(ksm_event_by_name("thread_exit,", 11), KSM_EV_THREAD_EXIT);
	/* prefixes, extensions, case, empty */
	assert_int_equal(ksm_event_by_name("process", 7), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("process_exe", 11), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("process_execx", 13), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("Process_exec", 12), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("", 0), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("all", 3), KSM_EV_NONE);
	assert_int_equal(ksm_event_by_name("unknown", 7), KSM_EV_NONE);
	/* a NUL inside the length does not match */
	assert_int_equal(ksm_event_by_name("image_load\0", 11), KSM_EV_NONE);
}

/* ---- argv iterator ----------------------------------------------------- */

/* Collects the arguments as "[a][b]..." */
static void argv_dump(const void *data, size_t len, char *out, size_t outlen)
{
	struct ksm_text t = { .data = data, .len = (uint32_t)len, .present = data != NULL };
	struct ksm_argv_iter it;
	const uint8_t *arg;
	size_t n;
	uint8_t *copy = NULL;

	if (data) { /* exact-size copy for ASan */
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, data, len);
		t.data = copy;
	}
	out[0] = '\0';
	ksm_argv_begin(&it, &t);
	while (ksm_argv_next(&it, &arg, &n)) {
		size_t o = strlen(out);
		assert_true(o + n + 3 < outlen);
		assert_null(memchr(arg, 0, n));
		out[o] = '[';
		memcpy(out + o + 1, arg, n);
		out[o + 1 + n] = ']';
		out[o + 2 + n] = '\0';
	}
	/* stays at the end */
	assert_false(ksm_argv_next(&it, &arg, &n));
	free(copy);
}

#define ARGV(lit, exp)                                           \
	do {                                                     \
		char out_[256];                                  \
		argv_dump(lit, sizeof(lit) - 1, out_, sizeof(out_)); \
		assert_string_equal(out_, exp);                  \
	} while (0)

static void test_argv_iter(void **state)
{
	(void)state;
	ARGV("ls\0-l\0", "[ls][-l]");
	ARGV("a\0\0b\0", "[a][][b]");  /* empty arguments are kept */
	ARGV("a\0\0", "[a][]");        /* including a last one */
	ARGV("\0", "[]");              /* a single empty argument */
	ARGV("\0\0\0", "[][][]");
	ARGV("a\0bc", "[a][bc]");      /* the limit cut the last one: no NUL */
	ARGV("abc", "[abc]");
	ARGV("", "");                  /* empty blob: no arguments */
	char out[16];
	argv_dump(NULL, 0, out, sizeof(out)); /* absent */
	assert_string_equal(out, "");
}

static void test_argv_iter_large(void **state)
{
	(void)state;
	/* 10000 arguments "0".."9999" */
	struct ksm_buf b = { 0 };
	for (int i = 0; i < 10000; i++) {
		ksm_buf_u64(&b, (uint64_t)i);
		ksm_buf_putc(&b, '\0');
	}
	struct ksm_text t = { .data = (const uint8_t *)b.data, .len = (uint32_t)b.len,
			      .present = true };
	struct ksm_argv_iter it;
	const uint8_t *arg;
	size_t n;
	int count = 0;
	ksm_argv_begin(&it, &t);
	while (ksm_argv_next(&it, &arg, &n)) {
		char exp[8];
		snprintf(exp, sizeof(exp), "%d", count);
		assert_int_equal(n, strlen(exp));
		assert_memory_equal(arg, exp, n);
		count++;
	}
	assert_int_equal(count, 10000);
	ksm_buf_free(&b);
}

static void bracketed(struct ksm_buf *b, const uint8_t *arg, size_t len)
{
	ksm_buf_putc(b, '[');
	ksm_buf_put(b, arg, len);
	ksm_buf_putc(b, ']');
}

#define JOIN(lit, sep, put, exp)                                                      \
	do {                                                                          \
		struct ksm_text t_ = { .data = (const uint8_t *)(lit), .len = sizeof(lit) - 1, \
				       .present = true };                             \
		struct ksm_buf b_ = { 0 };                                            \
		ksm_argv_join(&b_, &t_, sep, put);                                    \
		assert_int_equal(b_.len, sizeof(exp) - 1);                            \
		assert_memory_equal(b_.len ? b_.data : "", exp, sizeof(exp) - 1);     \
		ksm_buf_free(&b_);                                                    \
	} while (0)

/* The command line: one separator between two arguments, whatever they
 * hold; an empty last argument (two NULs at the end) is an argument. */
static void test_argv_join(void **state)
{
	(void)state;
	JOIN("ls\0-l\0", ' ', NULL, "ls -l");
	JOIN("a\0\0", ' ', NULL, "a ");      /* argv {"a", ""} */
	JOIN("a\0\0b\0", ' ', NULL, "a  b");
	JOIN("\0", ' ', NULL, "");            /* argv {""} */
	JOIN("\0\0\0", ' ', NULL, "  ");
	JOIN("a\0bc", ' ', NULL, "a bc");     /* the limit cut the last one */
	JOIN("", ' ', NULL, "");
	JOIN("a\0\0", ',', bracketed, "[a],[]");
	JOIN("x y\0z\0", ' ', bracketed, "[x y] [z]");
	struct ksm_text absent = { 0 };
	struct ksm_buf b = { 0 };
	ksm_argv_join(&b, &absent, ' ', NULL);
	assert_int_equal(b.len, 0);
	ksm_buf_free(&b);
}

/* The sensor's device numbers against glibc's: the kernel's dev_t
 * (MKDEV) of a superblock encoded as stat(2) gives it, and back. */
static void test_device_numbers(void **state)
{
	(void)state;
	static const unsigned majors[] = { 0, 1, 8, 253, 254, 255, 256, 4095 };
	static const unsigned minors[] = { 0, 1, 5, 255, 256, 0x1234, 0xfff00, 0xfffff };
	for (size_t i = 0; i < sizeof(majors) / sizeof(majors[0]); i++) {
		for (size_t k = 0; k < sizeof(minors) / sizeof(minors[0]); k++) {
			unsigned ma = majors[i], mi = minors[k];
			uint32_t dev = ksm_encode_dev(ksm_kdev(ma, mi));
			assert_int_equal(dev, (uint32_t)makedev(ma, mi));
			assert_int_equal(ksm_dev_major(dev), ma);
			assert_int_equal(ksm_dev_minor(dev), mi);
			assert_int_equal(ksm_kdev(ma, mi) >> 20, ma);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_task_ns),
		cmocka_unit_test(test_creator_start),
		cmocka_unit_test(test_instants_by_epoch),
		cmocka_unit_test(test_task_ns_root_fs),
		cmocka_unit_test(test_process_create_linux),
		cmocka_unit_test(test_process_create_windows),
		cmocka_unit_test(test_process_exec),
		cmocka_unit_test(test_process_exec_absent_strings),
		cmocka_unit_test(test_process_exit),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_thread_cgroup),
		cmocka_unit_test(test_exec_blocked_cgroup),
		cmocka_unit_test(test_image_load),
		cmocka_unit_test(test_path_states),
		cmocka_unit_test(test_events_lost),
		cmocka_unit_test(test_exec_blocked_sha),
		cmocka_unit_test(test_exec_blocked_no_sha),
		cmocka_unit_test(test_comm_16_bytes),
		cmocka_unit_test(test_time_conversion),
		cmocka_unit_test(test_back_to_back_and_unaligned),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_size_below_fixed),
		cmocka_unit_test(test_size_beyond_avail),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_utf16_odd_length),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_truncated_size_rewritten),
		cmocka_unit_test(test_random_records),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_event_by_name),
		cmocka_unit_test(test_events_lost_forms),
		cmocka_unit_test(test_argv_iter),
		cmocka_unit_test(test_argv_iter_large),
		cmocka_unit_test(test_device_numbers),
		cmocka_unit_test(test_argv_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
