// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/format_text.c: one human-readable line per event, exact lines. */
#include "unit.h"

#define CLK "22:13:20.123: "

FORMAT_TEST_FIXTURE();

#define LINE() fmt_rec(&out, &r, ksm_format_text)

/* Nothing a terminal acts on: no C0/C1 control, no DEL, one final '\n'. */
static void assert_safe_line(const struct ksm_buf *b)
{
	assert_true(b->len >= 1);
	assert_int_equal(b->data[b->len - 1], '\n');
	for (size_t i = 0; i + 1 < b->len; i++) {
		uint8_t c = (uint8_t)b->data[i];
		if (c < 0x20 || c == 0x7f)
			fail_msg("raw control byte 0x%02x at %zu", c, i);
		if (c == 0xc2 && i + 2 < b->len && (uint8_t)b->data[i + 1] >= 0x80 &&
		    (uint8_t)b->data[i + 1] < 0xa0)
			fail_msg("raw C1 control at %zu", i);
	}
}

/* An exec of pid 4242 with this argv blob; returns the argument part of
 * the line (after "Exec /bin/x: ", without the '\n'). */
static const char *exec_args(const void *argv, size_t len, uint32_t flags)
{
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, flags, "/bin/x", "x", argv, len);
	const char *line = LINE();
	assert_safe_line(&out);
	const char *prefix = CLK "Process 4242 Exec /bin/x: ";
	assert_int_equal(strncmp(line, prefix, strlen(prefix)), 0);
	out.data[out.len - 1] = '\0'; /* drop the '\n' */
	return line + strlen(prefix);
}

#define ARGS(lit, exp) assert_string_equal(exec_args(lit, sizeof(lit) - 1, 0), exp)

static void test_process_create(void **state)
{
	(void)state;
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4200 (thread 4201) [bash]\n");
	assert_safe_line(&out);
	/* no comm: no tag */
	memset(((struct ksm_process_create *)r.buf)->comm, 0, KSM_COMM_LEN);
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4200 (thread 4201)\n");
	/* 16-byte comm and escaped characters */
	memcpy(((struct ksm_process_create *)r.buf)->comm, "\x1b[2J\\x\xff" "abcdefghi", 16);
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4200 (thread 4201) "
				    "[\\x1b[2J\\\\x\\xffabcdefghi]\n");
	assert_safe_line(&out);
}

/* CLONE_PARENT: the thread that created it is the creator's, and the
 * parent another process; both said, neither passed off as the other. */
static void test_process_create_clone_parent(void **state)
{
	(void)state;
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	((struct ksm_process_create *)r.buf)->creator_pid = 4300;
	((struct ksm_process_create *)r.buf)->parent_tid = 4301;
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4300 (thread 4301) with parent 4200 [bash]\n");
	/* the creator is the parent: said once */
	((struct ksm_process_create *)r.buf)->creator_pid = 4200;
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4200 (thread 4301) [bash]\n");
}

static void test_process_create_boottime(void **state)
{
	(void)state;
	mk_create(&r, 3723004000000ull, 0); /* 1:02:03.004 after boot (boot_ns 0) */
	assert_string_equal(LINE(), "01:02:03.004: Process 4242 Created by 4200 (thread 4201) [bash]\n");
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
	static const uint16_t cmd[] = { 'n', 'o', 't', 'e', 'p', 'a', 'd', ' ', 0x00e9, '\n',
					0x0085, 0xd83d, 0xde00, 0xdc00 };
	c->cmdline = recb_units(&r, cmd, sizeof(cmd) / sizeof(cmd[0]));
	recb_end(&r);
	assert_string_equal(LINE(), CLK "Process 4242 Created by 4200 (thread 4201) "
				    "C:\\Windows\\notepad.exe: notepad \xc3\xa9\\n\\xc2\\x85"
				    "\xf0\x9f\x98\x80\\udc00 [notepad.exe]\n");
	assert_safe_line(&out);
}

static void test_process_exec(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/usr/bin/ls", "ls", "ls\0-l\0", 6);
	assert_string_equal(LINE(), CLK "Process 4242 Exec /usr/bin/ls: ls -l\n");
	assert_safe_line(&out);
	/* a deleted file, as /proc/PID/maps shows it */
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_IMAGE_DELETED, "/tmp/x", "./x", "./x\0", 4);
	assert_string_equal(LINE(), CLK "Process 4242 Exec /tmp/x (deleted): ./x\n");
	/* a file no root leads to: the path inside its tree, marked before */
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_IMAGE_UNREACHABLE | KSM_EXEC_IMAGE_DELETED,
		"/sub/w", "w", "w\0", 2);
	assert_string_equal(LINE(), CLK "Process 4242 Exec (unreachable)/sub/w (deleted): w\n");
	/* the image is escaped too */
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/tmp/a\nb\\c", "x", "x\0", 2);
	assert_string_equal(LINE(), CLK "Process 4242 Exec /tmp/a\\nb\\\\c: x\n");
}

static void test_argument_quoting(void **state)
{
	(void)state;
	ARGS("echo\0hello\0", "echo hello");
	ARGS("a\0\0b\0", "a \"\" b");                 /* empty: quoted */
	ARGS("\0", "\"\"");
	ARGS("a b\0", "\"a b\"");                     /* space */
	ARGS(" \0", "\" \"");
	ARGS("say \"hi\"\0", "\"say \\\"hi\\\"\"");   /* quotes inside */
	ARGS("\"\0", "\"\\\"\"");
	ARGS("x\"y\0", "\"x\\\"y\"");                 /* a quote alone forces quoting */
	ARGS("tab\there\0", "\"tab\\there\"");        /* control characters */
	ARGS("a\nb\0", "\"a\\nb\"");
	ARGS("\x1b[31m\0", "\"\\x1b[31m\"");
	ARGS("cr\r\0", "\"cr\\r\"");
	ARGS("back\\slash\0", "back\\\\slash");       /* escaped, not quoted */
	ARGS("x\x7fy\0", "\"x\\x7fy\"");              /* DEL: escaped, quoted */
	ARGS("\xff\xfe\0", "\\xff\\xfe");             /* invalid UTF-8 */
	ARGS("caf\xc3\xa9\0", "caf\xc3\xa9");         /* valid UTF-8 as is */
	ARGS("\xc2\x9b" "1m\0", "\"\\xc2\\x9b1m\"");   /* C1 CSI: the same */
	ARGS("\xe2\x80\xae" "x\0", "\"\\xe2\\x80\\xaex\""); /* bidi override */
	ARGS("a b\\\"c\0", "\"a b\\\\\\\"c\"");        /* space + backslash + quote */
	ARGS("--opt='x y'\0", "\"--opt='x y'\"");
	ARGS("ls\0-l\0/tmp\0", "ls -l /tmp");
	ARGS("", "");
}

static void test_truncated_marker(void **state)
{
	(void)state;
	static const char argv[] = "cat\0/very/lo";
	assert_string_equal(exec_args(argv, sizeof(argv) - 1, KSM_EXEC_ARGV_TRUNCATED),
			    "cat /very/lo (arguments truncated)");
	assert_string_equal(exec_args(argv, sizeof(argv) - 1, 0), "cat /very/lo");
	/* the image flag alone adds nothing */
	assert_string_equal(exec_args(argv, sizeof(argv) - 1, KSM_EXEC_IMAGE_TRUNCATED),
			    "cat /very/lo");
	/* a truncated argument that is cut after a space is still quoted */
	static const char cut[] = "sh\0-c\0echo a";
	assert_string_equal(exec_args(cut, sizeof(cut) - 1, KSM_EXEC_ARGV_TRUNCATED),
			    "sh -c \"echo a\" (arguments truncated)");
}

static void test_process_exit(void **state)
{
	(void)state;
	mk_exit(&r, T_REAL, 3 << 8);
	assert_string_equal(LINE(), CLK "Process 4242 Exited with code 3 [bash]\n");
	mk_exit(&r, T_REAL, 0);
	assert_string_equal(LINE(), CLK "Process 4242 Exited with code 0 [bash]\n");
	mk_exit(&r, T_REAL, 255 << 8);
	assert_string_equal(LINE(), CLK "Process 4242 Exited with code 255 [bash]\n");
	mk_exit(&r, T_REAL, 9);
	assert_string_equal(LINE(), CLK "Process 4242 Killed by signal 9 [bash]\n");
	mk_exit(&r, T_REAL, 9 | 0x80);
	assert_string_equal(LINE(), CLK "Process 4242 Killed by signal 9 (core dumped) [bash]\n");
	mk_exit(&r, T_REAL, 11 | 0x80);
	assert_string_equal(LINE(), CLK "Process 4242 Killed by signal 11 (core dumped) [bash]\n");
	assert_safe_line(&out);
}

static void test_exit_status_decoding(void **state)
{
	(void)state;
	struct ksm_exit_status st = ksm_exit_status(3 << 8);
	assert_false(st.signaled);
	assert_int_equal(st.code, 3);
	assert_false(st.core_dumped);
	st = ksm_exit_status(0);
	assert_false(st.signaled);
	assert_int_equal(st.code, 0);
	st = ksm_exit_status(9);
	assert_true(st.signaled);
	assert_int_equal(st.code, 9);
	assert_false(st.core_dumped);
	st = ksm_exit_status(6 | 0x80);
	assert_true(st.signaled);
	assert_int_equal(st.code, 6);
	assert_true(st.core_dumped);
	/* bits above the exit code are ignored */
	st = ksm_exit_status(0xffff0100u);
	assert_false(st.signaled);
	assert_int_equal(st.code, 1);
}

static void test_threads(void **state)
{
	(void)state;
	mk_thread(&r, KSM_EV_THREAD_CREATE, T_REAL, 70, 77);
	assert_string_equal(LINE(), CLK "Thread 77 Created in process 70\n");
	mk_thread(&r, KSM_EV_THREAD_EXIT, T_REAL, 70, 77);
	assert_string_equal(LINE(), CLK "Thread 77 Exited from process 70\n");
	assert_safe_line(&out);
}

static void test_image_load(void **state)
{
	(void)state;
	mk_image(&r, T_REAL, 0, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
	assert_string_equal(LINE(), CLK "Image loaded into process 4242 at 0x7f12a0000000 "
				    "(size 0x1e000): /usr/lib/x86_64-linux-gnu/libz.so.1.2.13\n");
	assert_safe_line(&out);
	mk_image(&r, T_REAL, KSM_IMAGE_DELETED, "/tmp/lib\x1b.so");
	assert_string_equal(LINE(), CLK "Image loaded into process 4242 at 0x7f12a0000000 "
				    "(size 0x1e000): /tmp/lib\\x1b.so (deleted)\n");
	mk_image(&r, T_REAL, KSM_IMAGE_UNREACHABLE, "/");
	assert_string_equal(LINE(), CLK "Image loaded into process 4242 at 0x7f12a0000000 "
				    "(size 0x1e000): (unreachable)/\n");
	/* a kernel image (Windows driver, UTF-16 path) */
	mk_image(&r, T_REAL, KSM_IMAGE_KERNEL, "");
	struct ksm_image_load *i = (struct ksm_image_load *)r.buf;
	i->hdr.flags |= KSM_HF_UTF16;
	i->base = 0xfffff80312340000ull;
	i->size = 0x5000;
	i->path = recb_u16(&r, "\\SystemRoot\\x.sys");
	recb_end(&r);
	assert_string_equal(LINE(), CLK "Kernel image loaded at 0xfffff80312340000 (size 0x5000): "
				    "\\SystemRoot\\x.sys\n");
	assert_safe_line(&out);
}

static void test_events_lost(void **state)
{
	(void)state;
	struct ksm_events_lost *l =
		recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	l->lost[KSM_EV_PROCESS_EXEC] = 3;
	l->lost[KSM_EV_THREAD_CREATE] = 1;
	recb_end(&r);
	assert_string_equal(LINE(), CLK "Events lost (queue full): process_exec 3, thread_create 1\n");
	l->lost[KSM_EV_PROCESS_EXEC] = 0;
	assert_string_equal(LINE(), CLK "Events lost (queue full): thread_create 1\n");
	l->lost[KSM_EV_EXEC_BLOCKED] = UINT64_MAX;
	assert_string_equal(LINE(), CLK "Events lost (queue full): thread_create 1, "
				    "exec_blocked 18446744073709551615\n");
	assert_safe_line(&out);
}

static void test_events_lost_writing(void **state)
{
	(void)state;
	struct ksm_events_lost_write *w =
		recb_start(&r, sizeof(*w), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	w->base.lost[KSM_EV_PROCESS_EXIT] = 2;
	w->file = recb_cstr(&r, "/tmp/a\nb");
	w->error = recb_cstr(&r, "No space left on device");
	recb_end(&r);
	assert_string_equal(LINE(), CLK "Events lost (writing /tmp/a\\nb failed: No space left on device): "
				    "process_exit 2\n");
	assert_safe_line(&out);
}

static void test_exec_blocked(void **state)
{
	(void)state;
	struct ksm_exec_blocked *b =
		recb_start(&r, sizeof(*b), KSM_EV_EXEC_BLOCKED, KSM_HF_TIME_REALTIME, T_REAL);
	b->pid = 4242;
	b->flags = KSM_BLOCKED_HAS_SHA256;
	b->path = recb_cstr(&r, "/tmp/evil");
	b->rule = recb_cstr(&r, "/tmp/*");
	recb_end(&r);
	assert_string_equal(LINE(), CLK "Process 4242 denied exec of /tmp/evil (rule: /tmp/*)\n");
	b->flags = KSM_BLOCKED_AUDIT;
	assert_string_equal(LINE(), CLK "Process 4242 would be denied exec of /tmp/evil (rule: /tmp/*)\n");
	b->flags = KSM_BLOCKED_PATH_UNREACHABLE;
	assert_string_equal(LINE(), CLK "Process 4242 denied exec of (unreachable)/tmp/evil (rule: /tmp/*)\n");
	assert_safe_line(&out);
}

static void test_unknown_type(void **state)
{
	(void)state;
	struct ksm_event ev;
	memset(&ev, 0, sizeof(ev));
	ksm_buf_reset(&out);
	ksm_format_text(&out, &ev);
	assert_buf(&out, "00:00:00.000: Unknown event\n");
}

/* ---- random input ------------------------------------------------------ */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_random_lines(void **state)
{
	(void)state;
	uint8_t argv[200], image[40];
	for (int iter = 0; iter < 4000; iter++) {
		size_t alen = rnd() % sizeof(argv), ilen = rnd() % sizeof(image);
		for (size_t i = 0; i < alen; i++)
			argv[i] = rnd() % 5 == 0 ? 0 : (uint8_t)rnd();
		for (size_t i = 0; i < ilen; i++)
			image[i] = (uint8_t)rnd();
		struct ksm_process_exec *e = recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXEC,
							KSM_HF_TIME_REALTIME, rnd());
		e->pid = rnd();
		e->flags = rnd() & 15;
		for (int i = 0; i < KSM_COMM_LEN; i++)
			e->comm[i] = (char)rnd();
		e->image = recb_str(&r, image, ilen);
		e->argv = recb_str(&r, argv, alen);
		recb_end(&r);
		LINE();
		assert_safe_line(&out);
		assert_null(memchr(out.data, '\n', out.len - 1));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_create),
		cmocka_unit_test(test_process_create_clone_parent),
		cmocka_unit_test(test_process_create_boottime),
		cmocka_unit_test(test_process_create_windows),
		cmocka_unit_test(test_process_exec),
		cmocka_unit_test(test_argument_quoting),
		cmocka_unit_test(test_truncated_marker),
		cmocka_unit_test(test_process_exit),
		cmocka_unit_test(test_exit_status_decoding),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_image_load),
		cmocka_unit_test(test_events_lost),
		cmocka_unit_test(test_events_lost_writing),
		cmocka_unit_test(test_exec_blocked),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_random_lines),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
