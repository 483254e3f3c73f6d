// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/format_json.c: one JSON object per event, exact lines. */
#include "unit.h"

#define TS "2023-11-14T22:13:20.123456789Z"

FORMAT_TEST_FIXTURE();

#define LINE() fmt_rec(&out, &r, ksm_format_json)

/* ---- a small strict JSON checker --------------------------------------- */

struct js {
	const uint8_t *p, *end;
};

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool js_lit(struct js *j, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
		return false;
	j->p += n;
	return true;
}

/* A string: escapes as RFC 8259, raw bytes valid UTF-8 >= 0x20. */
static bool js_string(struct js *j)
{
	if (j->p >= j->end || *j->p++ != '"')
		return false;
	while (j->p < j->end) {
		uint8_t c = *j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = *j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (j->p >= j->end || ksm_hex_value(*j->p++) < 0)
						return false;
			} else if (!c || !strchr("\"\\/bfnrt", c)) {
				return false;
			}
			continue;
		}
		if (c < 0x80)
			continue;
		/* strict UTF-8 */
		int n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || j->end - j->p < n)
			return false;
		uint32_t v = c & (0x3f >> n);
		for (int i = 0; i < n; i++) {
			if ((j->p[i] & 0xc0) != 0x80)
				return false;
			v = v << 6 | (j->p[i] & 0x3f);
		}
		static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
		if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return false;
		j->p += n;
	}
	return false;
}

static bool js_number(struct js *j)
{
	const uint8_t *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
		return false; /* no leading zeros */
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool js_value(struct js *j, int depth)
{
	if (depth > 16)
		return false;
	js_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return js_string(j);
	case '{':
		j->p++;
		js_ws(j);
		if (js_lit(j, "}"))
			return true;
		for (;;) {
			js_ws(j);
			if (!js_string(j))
				return false;
			js_ws(j);
			if (!js_lit(j, ":") || !js_value(j, depth + 1))
				return false;
			js_ws(j);
			if (js_lit(j, "}"))
				return true;
			if (!js_lit(j, ","))
				return false;
		}
	case '[':
		j->p++;
		js_ws(j);
		if (js_lit(j, "]"))
			return true;
		for (;;) {
			if (!js_value(j, depth + 1))
				return false;
			js_ws(j);
			if (js_lit(j, "]"))
				return true;
			if (!js_lit(j, ","))
				return false;
		}
	case 't': return js_lit(j, "true");
	case 'f': return js_lit(j, "false");
	case 'n': return js_lit(j, "null");
	default: return js_number(j);
	}
}

/* One JSON object followed by exactly one '\n'. */
static void assert_json_line(const struct ksm_buf *b)
{
	assert_true(b->len >= 3);
	assert_memory_equal(b->data + b->len - 2, "}\n", 2);
	for (size_t i = 0; i + 1 < b->len; i++)
		if ((uint8_t)b->data[i] < 0x20)
			fail_msg("raw control byte 0x%02x at %zu", (uint8_t)b->data[i], i);
	struct js j = { (const uint8_t *)b->data, (const uint8_t *)b->data + b->len - 1 };
	assert_int_equal(*j.p, '{');
	if (!js_value(&j, 0) || j.p != j.end)
		fail_msg("invalid JSON near offset %td: %.*s", j.p - (const uint8_t *)b->data,
			 (int)b->len, b->data);
}

static bool js_ok(const char *s)
{
	struct js j = { (const uint8_t *)s, (const uint8_t *)s + strlen(s) };
	return js_value(&j, 0) && j.p == j.end;
}

static void test_checker_self(void **state)
{
	(void)state;
	assert_true(js_ok("{}"));
	assert_true(js_ok("{\"a\":[1,\"x\",true,false,null,{}]}"));
	assert_true(js_ok("{\"s\":\"\\udcff\\n\\\"\xc3\xa9\"}"));
	assert_false(js_ok("{\"a\":\"\x01\"}"));
	assert_false(js_ok("{\"a\":\"\xff\"}"));
	assert_false(js_ok("{\"a\":01}"));
	assert_false(js_ok("{\"a\":\"\\x41\"}"));
	assert_false(js_ok("{\"a\":1,}"));
	assert_false(js_ok("{\"a\":1"));
}

/* ---- each event type --------------------------------------------------- */

static void test_process_create(void **state)
{
	(void)state;
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	assert_string_equal(LINE(), "{\"type\":\"process_create\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"ppid\":4200,\"parent_tid\":4201,\"comm\":\"bash\"}\n");
	assert_json_line(&out);
}

/* CLONE_PARENT: creator_pid, and the creator's identity when known. */
static void test_process_create_clone_parent(void **state)
{
	(void)state;
	struct exact x = { 0 };
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	((struct ksm_process_create *)r.buf)->creator_pid = 4300;
	struct ksm_event ev = *decode_ok(&x, &r);
	for (int i = 0; i < 16; i++)
		ev.ctx.creator_guid[i] = (uint8_t)(0xc0 | i);
	ev.ctx.has_creator_guid = true;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"process_create\",\"time\":\"" TS "\",\"pid\":4242,"
			 "\"ppid\":4200,\"parent_tid\":4201,\"creator_pid\":4300,\"comm\":\"bash\","
			 "\"creator_guid\":\"c0c1c2c3-c4c5-c6c7-c8c9-cacbcccdcecf\"}\n");
	assert_json_line(&out);
	exact_free(&x);
}

static void test_process_create_boottime(void **state)
{
	(void)state;
	mk_create(&r, 5000, 0); /* decoded with boot_ns 0 */
	assert_string_equal(LINE(), "{\"type\":\"process_create\",\"time\":\"1970-01-01T00:00:00.000005000Z\","
				    "\"pid\":4242,\"ppid\":4200,\"parent_tid\":4201,\"comm\":\"bash\"}\n");
}

static void test_process_create_windows(void **state)
{
	(void)state;
	struct ksm_process_create *c = recb_start(&r, sizeof(*c), KSM_EV_PROCESS_CREATE,
						  KSM_HF_TIME_REALTIME | KSM_HF_UTF16, T_REAL);
	c->pid = 4242;
	c->ppid = 4200;
	c->parent_tid = 4201;
	memcpy(c->comm, "notepad.exe", 12);
	c->image = recb_u16(&r, "C:\\Windows\\notepad.exe");
	static const uint16_t cmd[] = { '"', 'C', ':', '\\', 'n', '.', 'e', 'x', 'e', '"', ' ',
					0x00e9, 0xd83d, 0xde00, '\t', 0xd800 };
	c->cmdline = recb_units(&r, cmd, sizeof(cmd) / sizeof(cmd[0]));
	recb_end(&r);
	assert_string_equal(LINE(),
			    "{\"type\":\"process_create\",\"time\":\"" TS "\",\"pid\":4242,"
			    "\"ppid\":4200,\"parent_tid\":4201,\"comm\":\"notepad.exe\","
			    "\"image\":\"C:\\\\Windows\\\\notepad.exe\","
			    "\"cmdline\":\"\\\"C:\\\\n.exe\\\" \xc3\xa9\xf0\x9f\x98\x80\\t\\ud800\"}\n");
	assert_json_line(&out);

	/* image only */
	c = recb_start(&r, sizeof(*c), KSM_EV_PROCESS_CREATE, KSM_HF_TIME_REALTIME | KSM_HF_UTF16,
		       T_REAL);
	c->pid = 8;
	c->image = recb_u16(&r, "x");
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"process_create\",\"time\":\"" TS "\",\"pid\":8,"
				    "\"ppid\":0,\"parent_tid\":0,\"comm\":\"\",\"image\":\"x\"}\n");
}

static void test_comm_escaped(void **state)
{
	(void)state;
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	memcpy(((struct ksm_process_create *)r.buf)->comm, "a\"b\\\n\xff" "0123456789", 16);
	assert_string_equal(LINE(), "{\"type\":\"process_create\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"ppid\":4200,\"parent_tid\":4201,"
				    "\"comm\":\"a\\\"b\\\\\\n\\udcff0123456789\"}\n");
	assert_json_line(&out);
}

static void test_process_exec(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/usr/bin/ls", "ls", "ls\0-l\0", 6);
	assert_string_equal(LINE(), "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"image\":\"/usr/bin/ls\",\"filename\":\"ls\","
				    "\"argv\":[\"ls\",\"-l\"],\"cmdline\":\"ls -l\","
				    "\"argv_truncated\":false,\"uid\":1000,\"gid\":100,"
				    "\"comm\":\"ls\",\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
}

static void test_process_exec_tricky_argv(void **state)
{
	(void)state;
	static const char argv[] = "echo\0\0say \"hi\"\0a\nb\0back\\slash\0\xff\0";
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/usr/bin/echo", "/bin/echo", argv,
		sizeof(argv) - 1);
	assert_string_equal(LINE(),
			    "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
			    "\"tid\":4243,\"image\":\"/usr/bin/echo\",\"filename\":\"/bin/echo\","
			    "\"argv\":[\"echo\",\"\",\"say \\\"hi\\\"\",\"a\\nb\",\"back\\\\slash\",\"\\udcff\"],"
			    "\"cmdline\":\"echo  say \\\"hi\\\" a\\nb back\\\\slash \\udcff\","
			    "\"argv_truncated\":false,\"uid\":1000,\"gid\":100,\"comm\":\"ls\",\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
}

static void test_process_exec_truncated(void **state)
{
	(void)state;
	static const char argv[] = "cat\0/very/lo";
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_ARGV_TRUNCATED | KSM_EXEC_IMAGE_TRUNCATED,
		"/usr/bin/cat", "cat", argv, sizeof(argv) - 1);
	assert_string_equal(LINE(), "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"image\":\"/usr/bin/cat\",\"image_truncated\":true,"
				    "\"filename\":\"cat\",\"argv\":[\"cat\",\"/very/lo\"],"
				    "\"cmdline\":\"cat /very/lo\",\"argv_truncated\":true,"
				    "\"uid\":1000,\"gid\":100,\"comm\":\"ls\",\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
}

static void test_process_exec_deleted(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_IMAGE_DELETED | KSM_EXEC_IMAGE_TRUNCATED,
		"/tmp/\"x\"", "./x", "./x\0", 4);
	assert_string_equal(LINE(), "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"image\":\"/tmp/\\\"x\\\" (deleted)\","
				    "\"image_deleted\":true,\"image_truncated\":true,"
				    "\"filename\":\"./x\",\"argv\":[\"./x\"],\"cmdline\":\"./x\","
				    "\"argv_truncated\":false,\"uid\":1000,\"gid\":100,\"comm\":\"ls\",\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
}

/* Paths no root leads to (a tree in no mount namespace): after
 * "(unreachable)", with their flag, each field under its own name. */
static void test_process_exec_unreachable(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME,
		KSM_EXEC_IMAGE_UNREACHABLE | KSM_EXEC_IMAGE_DELETED | KSM_EXEC_CWD_UNREACHABLE, "/",
		"/dev/fd/5", "runc\0init\0", 10);
	struct ksm_str cwd = recb_cstr(&r, "/sub");
	struct ksm_process_exec *e = (struct ksm_process_exec *)r.buf;
	e->cwd = cwd;
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"image\":\"(unreachable)/ (deleted)\","
				    "\"image_deleted\":true,\"image_unreachable\":true,"
				    "\"filename\":\"/dev/fd/5\",\"argv\":[\"runc\",\"init\"],"
				    "\"cmdline\":\"runc init\",\"argv_truncated\":false,\"uid\":1000,"
				    "\"gid\":100,\"comm\":\"ls\",\"cwd\":\"(unreachable)/sub\","
				    "\"cwd_unreachable\":true,\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
	/* the parent's program, as the client shows it (enrich.c decorates it) */
	e->flags = KSM_EXEC_PARENT_IMAGE_UNREACHABLE;
	struct exact x = { 0 };
	struct ksm_event ev = *decode_ok(&x, &r);
	assert_int_equal(ev.u.exec.parent_image_state, KSM_PATH_UNREACHABLE);
	assert_int_equal(ev.u.exec.image_state | ev.u.exec.cwd_state, 0);
	ev.ctx.parent_image = (struct ksm_text){ (const uint8_t *)"(unreachable)/", 14, false, true };
	ev.ctx.parent_image_flags = KSM_PATH_UNREACHABLE;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_non_null(strstr(buf_str(&out), ",\"parent_image\":\"(unreachable)/\","
					       "\"parent_image_unreachable\":true}"));
	assert_null(strstr(buf_str(&out), "\"image_unreachable\""));
	exact_free(&x);
}

static void test_process_exec_unreadable(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_ARGV_UNREADABLE, "/bin/true", NULL, NULL,
		0);
	assert_string_equal(LINE(), "{\"type\":\"process_exec\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"image\":\"/bin/true\",\"filename\":\"\","
				    "\"argv\":[],\"cmdline\":\"\",\"argv_truncated\":false,"
				    "\"argv_unreadable\":true,\"uid\":1000,\"gid\":100,"
				    "\"comm\":\"ls\",\"euid\":0,\"ppid\":0}\n");
	assert_json_line(&out);
	/* an empty (present) argv is the same */
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/bin/true", "", "", 0);
	assert_non_null(strstr(LINE(), ",\"filename\":\"\",\"argv\":[],\"cmdline\":\"\","
					"\"argv_truncated\":false,\"uid\""));
}

/* Fields the client adds (struct ksm_context): identities, parent,
 * user, exit image and lifetime, digest. */
static void test_context_fields(void **state)
{
	(void)state;
	struct exact x = { 0 };
	static const uint8_t digest[32] = { 0xab, 0xcd, [31] = 0x01 };

	mk_exit(&r, T_REAL, 3 << 8);
	struct ksm_event ev = *decode_ok(&x, &r);
	for (int i = 0; i < 16; i++) {
		ev.ctx.guid[i] = (uint8_t)i;
		ev.ctx.parent_guid[i] = (uint8_t)(0xf0 | i);
	}
	ev.ctx.has_guid = ev.ctx.has_parent_guid = true;
	ev.ctx.user = "r\"oot";
	ev.ctx.parent_image = (struct ksm_text){ (const uint8_t *)"/bin/ba\nsh", 10, false, true };
	ev.ctx.image = (struct ksm_text){ (const uint8_t *)"/usr/bin/x", 10, false, true };
	ev.ctx.has_start = true;
	ev.ctx.start_ns = T_REAL - 1500000000ull;
	ev.ctx.duration_ms = 1500;
	ev.ctx.has_sha256 = true;
	memcpy(ev.ctx.sha256, digest, 32);
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"process_exit\",\"time\":\"" TS "\",\"pid\":4242,\"tid\":4244,"
			 "\"exit_code\":3,\"comm\":\"bash\","
			 "\"process_guid\":\"00010203-0405-0607-0809-0a0b0c0d0e0f\","
			 "\"parent_guid\":\"f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff\","
			 "\"user\":\"r\\\"oot\",\"parent_image\":\"/bin/ba\\nsh\","
			 "\"image\":\"/usr/bin/x\",\"sha256\":\"abcd"
			 "000000000000000000000000000000000000000000000000000000000001\","
			 "\"start_time\":\"2023-11-14T22:13:18.623456789Z\",\"duration_ms\":1500}\n");
	/* an exit's image kept in its state (unreachable: already shown so) */
	ev.ctx.image = (struct ksm_text){ (const uint8_t *)"(unreachable)/x", 15, false, true };
	ev.ctx.image_flags = KSM_PATH_UNREACHABLE | KSM_PATH_TRUNCATED;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_non_null(strstr(buf_str(&out), ",\"image\":\"(unreachable)/x\",\"image_truncated\":true,"
					       "\"image_unreachable\":true,\"sha256\""));
	ev.ctx.has_sha256 = false;
	ev.ctx.sha256_error = "timeout";
	ksm_buf_reset(&out);
	ksm_format_text(&out, &ev);
	assert_buf(&out, "22:13:20.123: Process 4242 Exited with code 3 [bash]\n");
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_non_null(strstr(buf_str(&out), ",\"sha256_error\":\"timeout\","));
	exact_free(&x);
}

static void test_process_exit(void **state)
{
	(void)state;
	static const struct {
		uint32_t status;
		const char *fields;
	} cases[] = {
		{ 0, "\"exit_code\":0" },
		{ 3 << 8, "\"exit_code\":3" },
		{ 255 << 8, "\"exit_code\":255" },
		{ 9, "\"signal\":9,\"core_dumped\":false" },
		{ 15, "\"signal\":15,\"core_dumped\":false" },
		{ 6 | 0x80, "\"signal\":6,\"core_dumped\":true" },
		{ 11 | 0x80, "\"signal\":11,\"core_dumped\":true" },
		{ 64, "\"signal\":64,\"core_dumped\":false" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mk_exit(&r, T_REAL, cases[i].status);
		char exp[256];
		snprintf(exp, sizeof(exp),
			 "{\"type\":\"process_exit\",\"time\":\"" TS "\",\"pid\":4242,\"tid\":4244,"
			 "%s,\"comm\":\"bash\"}\n",
			 cases[i].fields);
		assert_string_equal(LINE(), exp);
		assert_json_line(&out);
	}
}

static void test_threads(void **state)
{
	(void)state;
	mk_thread(&r, KSM_EV_THREAD_CREATE, T_REAL, 70, 77);
	assert_string_equal(LINE(), "{\"type\":\"thread_create\",\"time\":\"" TS "\",\"pid\":70,"
				    "\"tid\":77}\n");
	mk_thread(&r, KSM_EV_THREAD_EXIT, T_REAL, 70, 77);
	assert_string_equal(LINE(), "{\"type\":\"thread_exit\",\"time\":\"" TS "\",\"pid\":70,"
				    "\"tid\":77}\n");
	assert_json_line(&out);
}

static void test_image_load(void **state)
{
	(void)state;
	mk_image(&r, T_REAL, 0, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
	assert_string_equal(LINE(), "{\"type\":\"image_load\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"path\":\"/usr/lib/x86_64-linux-gnu/libz.so.1.2.13\","
				    "\"base\":\"0x7f12a0000000\",\"size\":122880,\"inode\":1234567,"
				    "\"dev\":2049}\n");
	assert_json_line(&out);
	mk_image(&r, T_REAL,
		 KSM_IMAGE_DELETED | KSM_IMAGE_MEMFD | KSM_IMAGE_KERNEL | KSM_IMAGE_TRUNCATED,
		 "/memfd:x");
	assert_string_equal(LINE(), "{\"type\":\"image_load\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"path\":\"/memfd:x (deleted)\","
				    "\"base\":\"0x7f12a0000000\",\"size\":122880,\"inode\":1234567,"
				    "\"dev\":2049,\"deleted\":true,\"memfd\":true,\"kernel\":true,"
				    "\"path_truncated\":true}\n");
	assert_json_line(&out);
	mk_image(&r, T_REAL, KSM_IMAGE_UNREACHABLE, "/sub/w");
	assert_string_equal(LINE(), "{\"type\":\"image_load\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"tid\":4243,\"path\":\"(unreachable)/sub/w\","
				    "\"base\":\"0x7f12a0000000\",\"size\":122880,\"inode\":1234567,"
				    "\"dev\":2049,\"path_unreachable\":true}\n");
	assert_json_line(&out);
	/* base 0 and the largest */
	mk_image(&r, T_REAL, 0, "/x");
	((struct ksm_image_load *)r.buf)->base = 0;
	assert_non_null(strstr(LINE(), "\"base\":\"0x0\","));
	((struct ksm_image_load *)r.buf)->base = UINT64_MAX;
	((struct ksm_image_load *)r.buf)->size = UINT64_MAX;
	assert_non_null(strstr(LINE(), "\"base\":\"0xffffffffffffffff\",\"size\":18446744073709551615,"));
}

static void test_image_load_utf16(void **state)
{
	(void)state;
	mk_image(&r, T_REAL, KSM_IMAGE_KERNEL, "");
	struct ksm_image_load *i = (struct ksm_image_load *)r.buf;
	i->hdr.flags |= KSM_HF_UTF16;
	i->path = recb_u16(&r, "\\SystemRoot\\System32\\drivers\\x.sys");
	recb_end(&r);
	assert_non_null(strstr(LINE(), ",\"path\":\"\\\\SystemRoot\\\\System32\\\\drivers\\\\x.sys\","));
	assert_json_line(&out);
}

static void test_events_lost(void **state)
{
	(void)state;
	struct ksm_events_lost *l =
		recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	l->lost[KSM_EV_PROCESS_EXEC] = 3;
	l->lost[KSM_EV_THREAD_CREATE] = 1;
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"events_lost\",\"time\":\"" TS "\","
				    "\"lost\":{\"process_exec\":3,\"thread_create\":1},\"total\":4}\n");
	assert_json_line(&out);

	l = recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	l->lost[0] = 99; /* slot 0 is no type: not reported */
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"events_lost\",\"time\":\"" TS "\","
				    "\"lost\":{},\"total\":0}\n");
	assert_json_line(&out);

	l = recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		l->lost[t] = t;
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"events_lost\",\"time\":\"" TS "\",\"lost\":{"
				    "\"process_create\":1,\"process_exec\":2,\"process_exit\":3,"
				    "\"thread_create\":4,\"thread_exit\":5,\"image_load\":6,"
				    "\"events_lost\":7,\"exec_blocked\":8},\"total\":36}\n");
	assert_json_line(&out);
}

/* Events a file could not take: the file and the reason follow. */
static void test_events_lost_writing(void **state)
{
	(void)state;
	struct ksm_events_lost_write *w =
		recb_start(&r, sizeof(*w), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	w->base.lost[KSM_EV_PROCESS_EXEC] = 3;
	w->base.lost[KSM_EV_EVENTS_LOST] = 1;
	w->file = recb_cstr(&r, "/var/log/k\"x.json");
	w->error = recb_cstr(&r, "No space left on device");
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"events_lost\",\"time\":\"" TS "\","
				    "\"lost\":{\"process_exec\":3,\"events_lost\":1},\"total\":4,"
				    "\"file\":\"/var/log/k\\\"x.json\",\"error\":\"No space left on device\"}\n");
	assert_json_line(&out);
}

static void test_exec_blocked(void **state)
{
	(void)state;
	struct ksm_exec_blocked *b =
		recb_start(&r, sizeof(*b), KSM_EV_EXEC_BLOCKED, KSM_HF_TIME_REALTIME, T_REAL);
	b->pid = 4242;
	b->flags = KSM_BLOCKED_HAS_SHA256 | KSM_BLOCKED_AUDIT;
	for (int i = 0; i < 32; i++)
		b->sha256[i] = (uint8_t)(i * 8 + 7);
	b->path = recb_cstr(&r, "/tmp/evil \"x\"");
	b->rule = recb_cstr(&r, "/tmp/*");
	recb_end(&r);
	assert_string_equal(LINE(), "{\"type\":\"exec_blocked\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"path\":\"/tmp/evil \\\"x\\\"\",\"rule\":\"/tmp/*\","
				    "\"sha256\":\"070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff\","
				    "\"audit\":true}\n");
	assert_json_line(&out);

	b->flags = KSM_BLOCKED_PATH_UNREACHABLE | KSM_BLOCKED_PATH_DELETED;
	assert_string_equal(LINE(), "{\"type\":\"exec_blocked\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"path\":\"(unreachable)/tmp/evil \\\"x\\\" (deleted)\",\"deleted\":true,"
				    "\"path_unreachable\":true,\"rule\":\"/tmp/*\",\"audit\":false}\n");
	assert_json_line(&out);

	b->flags = 0; /* no digest, enforced */
	assert_string_equal(LINE(), "{\"type\":\"exec_blocked\",\"time\":\"" TS "\",\"pid\":4242,"
				    "\"path\":\"/tmp/evil \\\"x\\\"\",\"rule\":\"/tmp/*\","
				    "\"audit\":false}\n");
	assert_json_line(&out);
}

static void test_unknown_type(void **state)
{
	(void)state;
	struct ksm_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = KSM_EV_NONE;
	ev.pid = 1;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"unknown\",\"time\":\"1970-01-01T00:00:00.000000000Z\",\"pid\":1}\n");
	ev.type = (enum ksm_event_type)KSM_EV_MAX;
	ksm_buf_reset(&out);
	ksm_format_json(&out, &ev);
	assert_buf(&out, "{\"type\":\"unknown\",\"time\":\"1970-01-01T00:00:00.000000000Z\",\"pid\":1}\n");
}

static void test_appends_to_buffer(void **state)
{
	(void)state;
	ksm_buf_reset(&out);
	struct exact x = { 0 };
	mk_thread(&r, KSM_EV_THREAD_CREATE, T_REAL, 1, 2);
	ksm_format_json(&out, decode_ok(&x, &r));
	ksm_format_json(&out, &x.ev);
	assert_buf(&out, "{\"type\":\"thread_create\",\"time\":\"" TS "\",\"pid\":1,\"tid\":2}\n"
			 "{\"type\":\"thread_create\",\"time\":\"" TS "\",\"pid\":1,\"tid\":2}\n");
	exact_free(&x);
}

/* ---- random input ------------------------------------------------------ */

static uint64_t rng = 0xdeadbeefcafef00dull;
static uint32_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v = rnd();
		/* biased towards NULs, controls and the edges of UTF-8 */
		switch (v % 8) {
		case 0: p[i] = 0; break;
		case 1: p[i] = (uint8_t)((v >> 8) % 0x20); break;
		case 2: p[i] = (uint8_t)(0x80 | (v >> 8) % 0x40); break;
		case 3: p[i] = (uint8_t)"\"\\\x7f\xc2\xe2\xed\xf0\xf4"[(v >> 8) % 8]; break;
		default: p[i] = (uint8_t)(v >> 8); break;
		}
	}
}

/* Thousands of exec records with random argv, image, filename and comm. */
static void test_random_exec_lines(void **state)
{
	(void)state;
	uint8_t argv[300], image[40], comm[16];
	for (int iter = 0; iter < 4000; iter++) {
		size_t alen = rnd() % sizeof(argv), ilen = rnd() % sizeof(image);
		fill_random(argv, alen);
		fill_random(image, ilen);
		fill_random(comm, sizeof(comm));
		uint32_t flags = rnd() & 15;
		struct ksm_process_exec *e = recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXEC,
							(uint16_t)(rnd() & 1), rnd());
		e->pid = rnd();
		e->tid = rnd();
		e->uid = rnd();
		e->gid = rnd();
		e->flags = flags;
		memcpy(e->comm, comm, 16);
		e->image = recb_str(&r, image, ilen);
		e->filename = recb_str(&r, argv, alen % 17);
		e->argv = recb_str(&r, argv, alen);
		recb_end(&r);
		LINE();
		assert_json_line(&out);
		assert_int_equal(memcmp(out.data, "{\"type\":\"process_exec\",", 23), 0);
		assert_non_null(strstr(out.data, (flags & KSM_EXEC_ARGV_TRUNCATED) ?
							 ",\"argv_truncated\":true," :
							 ",\"argv_truncated\":false,"));
	}
}

/* Windows records with random UTF-16 (lone surrogates included). */
static void test_random_utf16_lines(void **state)
{
	(void)state;
	uint8_t img[64], cmd[128];
	for (int iter = 0; iter < 2000; iter++) {
		size_t ilen = 2 * (rnd() % (sizeof(img) / 2)), clen = 2 * (rnd() % (sizeof(cmd) / 2));
		for (size_t i = 0; i < ilen; i += 2) {
			uint32_t v = rnd();
			uint16_t u = v % 4 == 0 ? (uint16_t)(0xd800 + (v >> 8) % 0x800) :
				     v % 4 == 1 ? (uint16_t)((v >> 8) % 0x20) : (uint16_t)(v >> 8);
			img[i] = (uint8_t)u, img[i + 1] = (uint8_t)(u >> 8);
		}
		fill_random(cmd, clen);
		struct ksm_process_create *c = recb_start(&r, sizeof(*c), KSM_EV_PROCESS_CREATE,
							  KSM_HF_TIME_REALTIME | KSM_HF_UTF16, rnd());
		c->pid = rnd();
		fill_random((uint8_t *)c->comm, 16);
		c->image = recb_str(&r, img, ilen);
		c->cmdline = recb_str(&r, cmd, clen);
		recb_end(&r);
		LINE();
		assert_json_line(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_self),
		cmocka_unit_test(test_process_create),
		cmocka_unit_test(test_process_create_clone_parent),
		cmocka_unit_test(test_process_create_boottime),
		cmocka_unit_test(test_process_create_windows),
		cmocka_unit_test(test_comm_escaped),
		cmocka_unit_test(test_process_exec),
		cmocka_unit_test(test_process_exec_tricky_argv),
		cmocka_unit_test(test_process_exec_truncated),
		cmocka_unit_test(test_process_exec_deleted),
		cmocka_unit_test(test_process_exec_unreachable),
		cmocka_unit_test(test_process_exec_unreadable),
		cmocka_unit_test(test_process_exit),
		cmocka_unit_test(test_context_fields),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_image_load),
		cmocka_unit_test(test_image_load_utf16),
		cmocka_unit_test(test_events_lost),
		cmocka_unit_test(test_events_lost_writing),
		cmocka_unit_test(test_exec_blocked),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_appends_to_buffer),
		cmocka_unit_test(test_random_exec_lines),
		cmocka_unit_test(test_random_utf16_lines),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
