// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/sinks/syslog.c: RFC 5424 messages (exact), target syntax, and delivery
 * over real sockets (unix datagrams, TCP frames, reconnection). */
#include "unit.h"

#include "sinks/syslog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define TS "2023-11-14T22:13:20.123456Z"
#define BOM "\xef\xbb\xbf"
#define HDR(pri, msgid) "<" #pri ">1 " TS " host ksysmon 99 " msgid " "

FORMAT_TEST_FIXTURE();

static void syslog_fmt(struct ksm_buf *b, const struct ksm_event *ev)
{
	ksm_syslog_format(b, ev, "host", 99);
}

#define MSG() fmt_rec(&out, &r, syslog_fmt)

/* ---- a strict RFC 5424 checker ----------------------------------------- */

static bool utf8_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			(c & 0xf8) == 0xf0 ? 3 : -1;
		if (k < 0 || i + (size_t)k >= n)
			return false;
		if (c < 0x20 || c == 0x7f)
			return false;
		for (int j = 1; j <= k; j++)
			if ((p[i + (size_t)j] & 0xc0) != 0x80)
				return false;
		i += (size_t)k + 1;
	}
	return true;
}

/* One header token: 1..max of '!'..'~'; moves *p past it and a space. */
static bool token(const char **p, size_t max)
{
	size_t n = 0;
	while ((*p)[n] > ' ' && (*p)[n] < 127)
		n++;
	if (n == 0 || n > max || (*p)[n] != ' ')
		return false;
	*p += n + 1;
	return true;
}

static bool sd_element(const char **pp)
{
	const char *p = *pp;
	if (*p++ != '[' || !token(&p, 32)) /* SD-ID then a space or ']' */
		return false;
	for (;;) {
		size_t n = strcspn(p, "= ]\"");
		if (n == 0 || n > 32 || p[n] != '=' || p[n + 1] != '"')
			return false;
		p += n + 2;
		while (*p != '"') {
			if (!*p)
				return false;
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ']'))
				p++;
			else if (*p == ']' || *p == '\\')
				return false; /* unescaped, or an escape RFC 5424 lacks */
			p++;
		}
		p++;
		if (*p == ']') {
			*pp = p + 1;
			return true;
		}
		if (*p++ != ' ')
			return false;
	}
}

/* <PRI>1 TS HOST APP PROCID MSGID [SD] BOM MSG, valid UTF-8 throughout. */
static void assert_rfc5424(struct ksm_buf *b)
{
	const char *s = buf_str(b), *p = s;
	assert_int_equal(strlen(s), b->len); /* no NUL inside */
	assert_true(utf8_ok((const uint8_t *)s, b->len));
	assert_int_equal(*p++, '<');
	assert_true(*p == '1');
	p += 2;
	assert_memory_equal(p, ">1 ", 3);
	p += 3;
	assert_true(strlen(p) > 28 && p[26] == 'Z' && p[27] == ' ' && p[19] == '.');
	p += 28;
	assert_true(token(&p, 255));
	assert_true(token(&p, 48));
	assert_true(token(&p, 128));
	assert_true(token(&p, 32));
	assert_true(sd_element(&p));
	assert_int_equal(*p++, ' ');
	assert_memory_equal(p, BOM, 3);
	assert_null(strchr(p, '\n'));
}

/* ---- messages ---------------------------------------------------------- */

static void test_process_create(void **state)
{
	(void)state;
	mk_create(&r, T_REAL, KSM_HF_TIME_REALTIME);
	assert_string_equal(MSG(), HDR(14, "process_create")
			    "[ksysmon@32473 pid=\"4242\" ppid=\"4200\" parent_tid=\"4201\" comm=\"bash\"] "
			    BOM "22:13:20.123: Process 4242 Created by 4200 (thread 4201) [bash]");
	assert_rfc5424(&out);
}

static void test_process_exec(void **state)
{
	(void)state;
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/usr/bin/ls", "ls", "ls\0-l\0a b\0", 10);
	assert_string_equal(MSG(), HDR(14, "process_exec")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4243\" image=\"/usr/bin/ls\" "
			    "filename=\"ls\" argc=\"3\" cmdline=\"ls -l a b\" argv_truncated=\"false\" "
			    "uid=\"1000\" gid=\"100\" comm=\"ls\" euid=\"0\" ppid=\"0\"] "
			    BOM "22:13:20.123: Process 4242 Exec /usr/bin/ls: ls -l \"a b\"");
	assert_rfc5424(&out);
	/* a program no root leads to: marked in the value and the message */
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, KSM_EXEC_IMAGE_UNREACHABLE, "/", "/dev/fd/5",
		"runc\0init\0", 10);
	assert_string_equal(MSG(), HDR(14, "process_exec")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4243\" image=\"(unreachable)/\" "
			    "image_unreachable=\"true\" filename=\"/dev/fd/5\" argc=\"2\" "
			    "cmdline=\"runc init\" argv_truncated=\"false\" uid=\"1000\" gid=\"100\" "
			    "comm=\"ls\" euid=\"0\" ppid=\"0\"] "
			    BOM "22:13:20.123: Process 4242 Exec (unreachable)/: runc init");
	assert_rfc5424(&out);
}

static void test_process_exit_and_threads(void **state)
{
	(void)state;
	mk_exit(&r, T_REAL, 9);
	assert_string_equal(MSG(), HDR(14, "process_exit")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4244\" signal=\"9\" "
			    "core_dumped=\"false\" comm=\"bash\"] "
			    BOM "22:13:20.123: Process 4242 Killed by signal 9 [bash]");
	assert_rfc5424(&out);
	mk_thread(&r, KSM_EV_THREAD_EXIT, T_REAL, 70, 77);
	assert_string_equal(MSG(), HDR(14, "thread_exit") "[ksysmon@32473 pid=\"70\" tid=\"77\"] "
			    BOM "22:13:20.123: Thread 77 Exited from process 70");
}

static void test_image_load(void **state)
{
	(void)state;
	mk_image(&r, T_REAL, KSM_IMAGE_DELETED, "/memfd:x");
	assert_string_equal(MSG(), HDR(14, "image_load")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4243\" path=\"/memfd:x (deleted)\" "
			    "base=\"0x7f12a0000000\" size=\"122880\" inode=\"1234567\" dev=\"2049\" "
			    "deleted=\"true\"] " BOM "22:13:20.123: Image loaded into process 4242 at "
			    "0x7f12a0000000 (size 0x1e000): /memfd:x (deleted)");
	assert_rfc5424(&out);
}

static void test_events_lost(void **state)
{
	(void)state;
	struct ksm_events_lost *l =
		recb_start(&r, sizeof(*l), KSM_EV_EVENTS_LOST, KSM_HF_TIME_REALTIME, T_REAL);
	l->lost[KSM_EV_PROCESS_EXEC] = 3;
	l->lost[KSM_EV_IMAGE_LOAD] = 5;
	recb_end(&r);
	assert_string_equal(MSG(), HDR(12, "events_lost")
			    "[ksysmon@32473 lost_process_exec=\"3\" lost_image_load=\"5\" total=\"8\"] "
			    BOM "22:13:20.123: Events lost (queue full): process_exec 3, image_load 5");
	assert_rfc5424(&out);
}

static void test_exec_blocked(void **state)
{
	(void)state;
	struct ksm_exec_blocked *b =
		recb_start(&r, sizeof(*b), KSM_EV_EXEC_BLOCKED, KSM_HF_TIME_REALTIME, T_REAL);
	b->pid = 4242;
	b->flags = KSM_BLOCKED_HAS_SHA256;
	for (int i = 0; i < 32; i++)
		b->sha256[i] = (uint8_t)i;
	b->path = recb_cstr(&r, "/tmp/[x]");
	b->rule = recb_cstr(&r, "/tmp/*");
	recb_end(&r);
	assert_string_equal(MSG(), HDR(12, "exec_blocked")
			    "[ksysmon@32473 pid=\"4242\" path=\"/tmp/[x\\]\" rule=\"/tmp/*\" "
			    "sha256=\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\" "
			    "audit=\"false\"] "
			    BOM "22:13:20.123: Process 4242 denied exec of /tmp/[x] (rule: /tmp/*)");
	assert_rfc5424(&out);
}

/* PRI: user.warning (12) for lost and blocked, user.info (14) otherwise. */
static void test_pri_per_type(void **state)
{
	(void)state;
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		struct ksm_event ev = { .type = (enum ksm_event_type)t, .time_ns = T_REAL };
		bool warn = t == KSM_EV_EVENTS_LOST || t == KSM_EV_EXEC_BLOCKED;
		char exp[64];
		snprintf(exp, sizeof(exp), "<%d>1 " TS " host ksysmon 99 %s [", warn ? 12 : 14,
			 ksm_event_name(t));
		ksm_buf_reset(&out);
		syslog_fmt(&out, &ev);
		assert_true(!strncmp(buf_str(&out), exp, strlen(exp)));
		assert_rfc5424(&out);
	}
}

/* Six fractional digits at most (RFC 5424 6.2.3), cut, never rounded up. */
static void test_timestamp_microseconds(void **state)
{
	(void)state;
	static const struct {
		uint64_t ns;
		const char *ts;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000000Z" },
		{ 5000, "1970-01-01T00:00:00.000005Z" },
		{ 999, "1970-01-01T00:00:00.000000Z" },
		{ 1700000000999999999ull, "2023-11-14T22:13:20.999999Z" },
		{ 951782400000001000ull, "2000-02-29T00:00:00.000001Z" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ksm_event ev = { .type = KSM_EV_THREAD_CREATE, .time_ns = cases[i].ns };
		char exp[64];
		snprintf(exp, sizeof(exp), "<14>1 %s h ", cases[i].ts);
		ksm_buf_reset(&out);
		ksm_syslog_format(&out, &ev, "h", 1);
		assert_true(!strncmp(buf_str(&out), exp, strlen(exp)));
	}
	mk_create(&r, 5000, 0); /* CLOCK_BOOTTIME, decoded with boot 0 */
	assert_true(!strncmp(MSG(), "<14>1 1970-01-01T00:00:00.000005Z ", 34));
}

/* '"', '\\' and ']' escaped for PARAM-VALUE after the text escaper has
 * made invalid bytes and control characters \xNN. */
static void test_escaping(void **state)
{
	(void)state;
	static const char argv[] = "a\"b\0c]d\0e\\f\0\xff\x01\n\0";
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/tmp/\"q\"]\\\x80", "x", argv,
		sizeof(argv) - 1);
	memcpy(((struct ksm_process_exec *)r.buf)->comm, "]\"\\\x1b", 5);
	assert_string_equal(MSG(), HDR(14, "process_exec")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4243\" "
			    "image=\"/tmp/\\\"q\\\"\\]\\\\\\\\\\\\x80\" filename=\"x\" argc=\"4\" "
			    "cmdline=\"a\\\"b c\\]d e\\\\\\\\f \\\\xff\\\\x01\\\\n\" "
			    "argv_truncated=\"false\" uid=\"1000\" gid=\"100\" "
			    "comm=\"\\]\\\"\\\\\\\\\\\\x1b\" euid=\"0\" ppid=\"0\"] " BOM
			    "22:13:20.123: Process 4242 Exec /tmp/\"q\"]\\\\\\x80: \"a\\\"b\" c]d "
			    "e\\\\f \"\\xff\\x01\\n\"");
	assert_rfc5424(&out);
}

static void test_context_and_utf16(void **state)
{
	(void)state;
	struct exact x = { 0 };
	mk_exit(&r, T_REAL, 0);
	struct ksm_event ev = *decode_ok(&x, &r);
	ev.ctx.user = "r]oot\x7f";
	ev.ctx.image = (struct ksm_text){ (const uint8_t *)"C\0:\0\\\0x\0", 8, true, true };
	ev.ctx.has_start = true;
	ev.ctx.start_ns = T_REAL - 1500000000ull;
	ev.ctx.duration_ms = 1500;
	ksm_buf_reset(&out);
	syslog_fmt(&out, &ev);
	assert_string_equal(buf_str(&out), HDR(14, "process_exit")
			    "[ksysmon@32473 pid=\"4242\" tid=\"4244\" exit_code=\"0\" comm=\"bash\" "
			    "user=\"r\\]oot\\\\x7f\" image=\"C:\\\\x\" "
			    "start_time=\"2023-11-14T22:13:18.623456789Z\" duration_ms=\"1500\"] "
			    BOM "22:13:20.123: Process 4242 Exited with code 0 [bash]");
	assert_rfc5424(&out);
	exact_free(&x);
}

static void test_hostname_token(void **state)
{
	(void)state;
	struct ksm_event ev = { .type = KSM_EV_THREAD_CREATE, .time_ns = T_REAL };
	static const struct {
		const char *in, *out;
	} cases[] = { { "", "-" }, { NULL, "-" }, { "a b\x01\xc3\xa9", "a_b___" }, { "h", "h" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char exp[64];
		snprintf(exp, sizeof(exp), "<14>1 " TS " %s ksysmon 7 thread_create [", cases[i].out);
		ksm_buf_reset(&out);
		ksm_syslog_format(&out, &ev, cases[i].in, 7);
		assert_true(!strncmp(buf_str(&out), exp, strlen(exp)));
		assert_rfc5424(&out);
	}
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Hostile strings everywhere: always one well-formed message. */
static void test_random_hostile(void **state)
{
	(void)state;
	static const uint8_t nasty[] = { '"', '\\', ']', '[', '=', ' ', 0, 1, '\n', 0x7f,
					 0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xff, 'a' };
	uint8_t img[300], argv[2000];
	for (int round = 0; round < 2000; round++) {
		size_t ilen = rnd() % sizeof(img), alen = rnd() % sizeof(argv);
		for (size_t i = 0; i < ilen; i++)
			img[i] = nasty[rnd() % sizeof(nasty)];
		for (size_t i = 0; i < alen; i++)
			argv[i] = rnd() % 4 ? nasty[rnd() % sizeof(nasty)] : (uint8_t)rnd();
		struct ksm_process_exec *e =
			recb_start(&r, sizeof(*e), KSM_EV_PROCESS_EXEC, KSM_HF_TIME_REALTIME, rnd());
		e->pid = rnd();
		for (int i = 0; i < 16; i++)
			e->comm[i] = (char)nasty[rnd() % sizeof(nasty)];
		e->image = recb_str(&r, img, ilen);
		e->filename = recb_str(&r, img, ilen / 2);
		e->argv = recb_str(&r, argv, alen);
		recb_end(&r);
		MSG();
		assert_rfc5424(&out);
	}
}

/* ---- target syntax ----------------------------------------------------- */

static void test_check_good(void **state)
{
	(void)state;
	static const char *good[] = {
		"unix:/dev/log", "unix:relative", "localhost:514", "tcp:127.0.0.1:1",
		"udp:127.0.0.1:65535", "[::1]:514", "tcp:[::1]:6514", "udp:[fe80::1%lo]:514",
		"log.example.org:10514", "tcp:00514:00514",
	};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		if (ksm_syslog_check(good[i], err, sizeof(err)))
			fail_msg("%s: %s", good[i], err);
	}
	assert_int_equal(ksm_syslog_check(NULL, err, sizeof(err)), 0); /* the default */
}

static void test_check_bad(void **state)
{
	(void)state;
	static const struct {
		const char *target, *reason;
	} bad[] = {
		{ "", "empty syslog target" },
		{ "unix:", "empty socket path" },
		{ "localhost", "missing ':PORT'" },
		{ "tcp:localhost", "missing ':PORT'" },
		{ "udp:", "missing ':PORT'" },
		{ ":514", "empty host" },
		{ "tcp::514", "empty host" },
		{ "host:0", "port must be a number from 1 to 65535" },
		{ "host:65536", "port must be a number from 1 to 65535" },
		{ "host:", "port must be a number from 1 to 65535" },
		{ "host:51a", "port must be a number from 1 to 65535" },
		{ "host:-1", "port must be a number from 1 to 65535" },
		{ "host:+1", "port must be a number from 1 to 65535" },
		{ "host:123456", "port must be a number from 1 to 65535" },
		{ "::1:514", "an IPv6 address needs brackets" },
		{ "[::1:514", "missing ']'" },
		{ "[::1]514", "expected ':PORT' after ']'" },
		{ "[]:514", "empty host" },
		{ "a/b:514", "bad host" },
		{ "tcp:[::1]:", "port must be" },
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ksm_syslog_check(bad[i].target, err, sizeof(err)) != -1)
			fail_msg("accepted: \"%s\"", bad[i].target);
		if (!strstr(err, bad[i].reason))
			fail_msg("\"%s\": %s", bad[i].target, err);
		assert_null(strchr(err, '\n'));
	}
	char longpath[200] = "unix:";
	memset(longpath + 5, 'a', 150);
	assert_int_equal(ksm_syslog_check(longpath, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "socket path longer than 107 bytes"));
}

/* ---- delivery ---------------------------------------------------------- */

static void expected_msg(struct ksm_buf *b, const struct ksm_event *ev)
{
	char host[256] = "";
	gethostname(host, sizeof(host));
	ksm_buf_reset(b);
	ksm_syslog_format(b, ev, host, (uint32_t)getpid());
}

static int unix_server(char *path, size_t len)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/ksm-syslog.XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/log", dir);
	assert_true(strlen(path) < sizeof(un.sun_path));
	memcpy(un.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	return fd;
}

static void unix_server_end(int fd, const char *path)
{
	char dir[128];
	close(fd);
	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static void test_unix_datagram(void **state)
{
	(void)state;
	char path[128], target[160], err[256], *got = malloc(1 << 20);
	struct ksm_syslog *s = NULL;
	struct ksm_syslog_stats st;
	struct exact x = { 0 };
	int fd = unix_server(path, sizeof(path));

	snprintf(target, sizeof(target), "unix:%s", path);
	assert_int_equal(ksm_syslog_open(&s, target, err, sizeof(err)), 0);
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/bin/x", "x", "x\0", 2);
	const struct ksm_event *ev = decode_ok(&x, &r);
	ksm_syslog_send(s, ev);
	ssize_t n = recv(fd, got, 1 << 20, 0);
	expected_msg(&out, ev);
	assert_int_equal(n, out.len);
	assert_memory_equal(got, out.data, out.len);

	/* bigger than a datagram may be: sent shortened, still well-formed */
	size_t big = 400000;
	char *argv = malloc(big);
	memset(argv, 'A', big);
	argv[big - 1] = '\0';
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/bin/x", "x", argv, big);
	ev = decode_ok(&x, &r);
	ksm_syslog_send(s, ev);
	n = recv(fd, got, 1 << 20, 0);
	assert_true(n > 1000 && n < 20000);
	ksm_buf_reset(&out);
	ksm_buf_put(&out, got, (size_t)n);
	assert_rfc5424(&out);
	assert_non_null(strstr(buf_str(&out), " truncated=\"true\"] "));
	assert_non_null(strstr(buf_str(&out), " argc=\"1\" cmdline=\"AAAA"));
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.dropped, 0);

	/* the server goes away: counted as dropped, no waiting */
	unix_server_end(fd, path);
	ksm_syslog_send(s, ev);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.dropped, 1);
	ksm_syslog_close(s);
	free(argv);
	free(got);
	exact_free(&x);
}

static int tcp_server(int *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*port)
		in.sin_port = htons((uint16_t)*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	*port = ntohs(in.sin_port);
	return fd;
}

/* Reads one octet-counted frame "LEN MSG" into b. */
static void read_frame(int fd, struct ksm_buf *b)
{
	char c;
	size_t len = 0;
	while (recv(fd, &c, 1, MSG_WAITALL) == 1 && c != ' ') {
		assert_true(c >= '0' && c <= '9');
		len = len * 10 + (size_t)(c - '0');
	}
	ksm_buf_reset(b);
	assert_true(ksm_buf_reserve(b, len + 1));
	assert_int_equal(recv(fd, b->data, len, MSG_WAITALL), len);
	b->len = len;
}

static void test_tcp_frames_and_reconnect(void **state)
{
	(void)state;
	char target[64], err[256];
	struct ksm_syslog *s = NULL;
	struct ksm_syslog_stats st;
	struct ksm_buf want = { 0 };
	struct exact x = { 0 };
	int port = 0, lfd = tcp_server(&port);

	snprintf(target, sizeof(target), "tcp:127.0.0.1:%d", port);
	assert_int_equal(ksm_syslog_open(&s, target, err, sizeof(err)), 0);
	int cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/bin/x", "x", "x\0y z\0", 6);
	const struct ksm_event *ev = decode_ok(&x, &r);
	expected_msg(&want, ev);
	for (int i = 0; i < 3; i++)
		ksm_syslog_send(s, ev);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 0); /* TCP frames wait for the batch's end */
	ksm_syslog_flush(s);
	for (int i = 0; i < 3; i++) {
		read_frame(cfd, &out);
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.data, want.data, want.len);
	}

	/* the server closes the connection: the next send reconnects */
	close(cfd);
	usleep(50000);
	ksm_syslog_send(s, ev);
	ksm_syslog_flush(s);
	cfd = accept(lfd, NULL, NULL);
	read_frame(cfd, &out);
	assert_memory_equal(out.data, want.data, want.len);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent + st.waiting, 4); /* the last acknowledged, not yet confirmed */
	ksm_syslog_flush(s); /* the next batch's look: no answer came */
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.waiting, 0);
	assert_int_equal(st.dropped, 0);

	/* the server is gone: dropped, and no reconnection within a second */
	close(cfd);
	close(lfd);
	usleep(50000);
	ksm_syslog_send(s, ev);
	ksm_syslog_send(s, ev);
	ksm_syslog_flush(s);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.dropped, 2);
	lfd = tcp_server(&port); /* back on the same port */
	ksm_syslog_send(s, ev);   /* within the second: not tried yet */
	ksm_syslog_flush(s);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.dropped, 3);
	usleep(1100000);
	ksm_syslog_send(s, ev);
	ksm_syslog_flush(s);
	cfd = accept(lfd, NULL, NULL);
	read_frame(cfd, &out);
	assert_memory_equal(out.data, want.data, want.len);
	ksm_syslog_flush(s);
	ksm_syslog_stats(s, &st);
	assert_int_equal(st.sent, 5);
	assert_int_equal(st.dropped, 3);

	ksm_syslog_close(s); /* waits for the server's end of the connection */
	close(cfd);
	close(lfd);
	ksm_buf_free(&want);
	exact_free(&x);
}

/* stderr to a file while a test looks at what is said there */
struct said {
	int saved;
	FILE *f;
};

static void said_begin(struct said *w)
{
	fflush(stderr);
	w->f = tmpfile();
	assert_non_null(w->f);
	w->saved = dup(2);
	assert_true(w->saved >= 0);
	assert_true(dup2(fileno(w->f), 2) == 2);
}

/* What was said since said_begin (or the last said_take), as a string
 * (static; valid until the next call). */
static const char *said_take(struct said *w)
{
	static char buf[4096];
	fflush(stderr);
	ssize_t n = pread(fileno(w->f), buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	/* fd 2 shares the file's offset: both start again at 0 */
	assert_int_equal(ftruncate(fileno(w->f), 0), 0);
	lseek(fileno(w->f), 0, SEEK_SET);
	return buf;
}

static void said_end(struct said *w)
{
	fflush(stderr);
	dup2(w->saved, 2);
	close(w->saved);
	fclose(w->f);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* A client of a TCP server made here (its port, listening socket and
 * accepted connection), an exec event to send, and stderr looked at. */
struct tcp_case {
	char target[64];
	int port, lfd, cfd;
	struct ksm_syslog *s;
	struct exact x;
	const struct ksm_event *ev;
	struct said w;
};

static void tcp_case_begin(struct tcp_case *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	c->lfd = tcp_server(&c->port);
	snprintf(c->target, sizeof(c->target), "tcp:127.0.0.1:%d", c->port);
	assert_int_equal(ksm_syslog_open(&c->s, c->target, err, sizeof(err)), 0);
	c->cfd = accept(c->lfd, NULL, NULL);
	assert_true(c->cfd >= 0);
	mk_exec(&r, T_REAL, KSM_HF_TIME_REALTIME, 0, "/bin/x", "x", "x\0", 2);
	c->ev = decode_ok(&c->x, &r);
	said_begin(&c->w);
}

static void tcp_case_end(struct tcp_case *c)
{
	said_end(&c->w);
	ksm_syslog_close(c->s);
	close(c->cfd);
	close(c->lfd);
	exact_free(&c->x);
}

/* A target that fails is said once when it starts failing, with why, and
 * once when it works again, with what was dropped meanwhile; the
 * counters agree. */
static void test_failing_and_working_again(void **state)
{
	(void)state;
	char want[256];
	struct ksm_syslog_stats st;
	struct tcp_case c;
	tcp_case_begin(&c);
	ksm_syslog_send(c.s, c.ev);
	ksm_syslog_flush(c.s);
	read_frame(c.cfd, &out);
	assert_string_equal(said_take(&c.w), "");

	/* refused: said once, however many messages are dropped */
	close(c.cfd);
	close(c.lfd);
	usleep(50000);
	for (int i = 0; i < 5; i++) {
		ksm_syslog_send(c.s, c.ev);
		ksm_syslog_flush(c.s);
	}
	const char *t = said_take(&c.w);
	snprintf(want, sizeof(want), "ksysmon: syslog %s is failing: Connection refused; its messages "
		 "are counted as dropped until it works again (a connection is tried at most once a second)\n",
		 c.target);
	assert_string_equal(t, want);
	ksm_syslog_stats(c.s, &st);
	assert_true(st.failing);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.dropped, 5);

	/* accepted again: said once delivery has worked for a while */
	c.lfd = tcp_server(&c.port);
	usleep(1100000);
	ksm_syslog_send(c.s, c.ev);
	ksm_syslog_flush(c.s);
	c.cfd = accept(c.lfd, NULL, NULL);
	assert_true(c.cfd >= 0);
	ksm_syslog_flush(c.s);
	ksm_syslog_stats(c.s, &st);
	assert_int_equal(st.sent, 2);
	assert_true(st.failing); /* not for long enough yet */
	usleep(2100000);
	ksm_syslog_flush(c.s);
	t = said_take(&c.w);
	ksm_syslog_stats(c.s, &st);
	assert_false(st.failing);
	assert_int_equal(count_of(t, "\n"), 1);
	snprintf(want, sizeof(want), "ksysmon: syslog %s works again after ", c.target);
	assert_int_equal(strncmp(t, want, strlen(want)), 0);
	assert_non_null(strstr(t, " s: 5 messages dropped meanwhile (sent=2 dropped=5 in all)\n"));
	assert_int_equal(st.failures, 1);
	tcp_case_end(&c);
}

/* A server that answers (a RELP server answers plain frames with
 * "serverclose" and closes) took nothing: what was written to it is
 * dropped, not sent, and the target is said to fail. */
static void test_server_that_answers(void **state)
{
	(void)state;
	struct ksm_syslog_stats st;
	struct tcp_case c;
	tcp_case_begin(&c);
	/* acknowledged by its TCP, but not yet known to be taken */
	for (int i = 0; i < 3; i++)
		ksm_syslog_send(c.s, c.ev);
	ksm_syslog_flush(c.s);
	ksm_syslog_stats(c.s, &st);
	assert_int_equal(st.waiting, 3);
	/* the next batch's look finds the answer */
	read_frame(c.cfd, &out);
	assert_int_equal(send(c.cfd, "0 serverclose 0\n", 16, 0), 16);
	usleep(50000);
	ksm_syslog_flush(c.s);
	ksm_syslog_stats(c.s, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 3);
	assert_true(st.failing);
	assert_non_null(strstr(said_take(&c.w), "is failing: the server answered (a syslog server never does: "
						"it takes no plain syslog messages, a RELP server?)"));
	tcp_case_end(&c);
}

static void test_open_errors(void **state)
{
	(void)state;
	char err[256];
	struct ksm_syslog *s = (struct ksm_syslog *)&err;
	int port = 0, lfd = tcp_server(&port);
	char target[64];

	close(lfd); /* nothing listens there now */
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%d", port);
	assert_int_equal(ksm_syslog_open(&s, target, err, sizeof(err)), -1);
	assert_null(s);
	char exp[128];
	snprintf(exp, sizeof(exp), "syslog tcp:127.0.0.1:%d: cannot connect: Connection refused",
		 port);
	assert_string_equal(err, exp);

	assert_int_equal(ksm_syslog_open(&s, "unix:/nonexistent/log", err, sizeof(err)), -1);
	assert_string_equal(err, "syslog unix:/nonexistent/log: cannot connect: No such file or directory");
	assert_int_equal(ksm_syslog_open(&s, "tcp:host", err, sizeof(err)), -1);
	assert_string_equal(err, "syslog target \"tcp:host\": missing ':PORT'");
	assert_int_equal(ksm_syslog_open(&s, "tcp:no-such-host.invalid:514", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "syslog tcp:no-such-host.invalid:514: cannot resolve no-such-host.invalid: "));

	/* NULL everywhere is harmless */
	struct ksm_syslog_stats st = { 1, 1, 1, 1, true };
	ksm_syslog_stats(NULL, &st);
	assert_int_equal(st.sent + st.dropped, 0);
	ksm_syslog_send(NULL, NULL);
	ksm_syslog_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_create),
		cmocka_unit_test(test_process_exec),
		cmocka_unit_test(test_process_exit_and_threads),
		cmocka_unit_test(test_image_load),
		cmocka_unit_test(test_events_lost),
		cmocka_unit_test(test_exec_blocked),
		cmocka_unit_test(test_pri_per_type),
		cmocka_unit_test(test_timestamp_microseconds),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_context_and_utf16),
		cmocka_unit_test(test_hostname_token),
		cmocka_unit_test(test_random_hostile),
		cmocka_unit_test(test_check_good),
		cmocka_unit_test(test_check_bad),
		cmocka_unit_test(test_unix_datagram),
		cmocka_unit_test(test_tcp_frames_and_reconnect),
		cmocka_unit_test(test_failing_and_working_again),
		cmocka_unit_test(test_server_that_answers),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
