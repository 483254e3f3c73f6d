/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Host unit tests of the driver's portable logic (record.c, queue.c,
 * deny.c, rt.c, devsec.c) and of the control codes against the WDK shim, checked with ASan/UBSan.  The
 * produced byte stream is parsed back with the shared decoder.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "deny.h"
#include "devsec.h"
#include "harness.h"
#include "ksm_ioctl.h"
#include "queue.h"

#define T0 1700000000123456789ull /* a wall-clock time in ns */

/* An ASCII string as UTF-16 (owned by the caller). */
static struct ksm_wstr w(const char *s)
{
	size_t n = strlen(s);
	WCHAR *b = malloc(n * 2 + 2);
	for (size_t i = 0; i <= n; i++)
		b[i] = (unsigned char)s[i];
	return (struct ksm_wstr){ b, (ksm_u32)(n * 2) };
}

static void wfree(struct ksm_wstr *s)
{
	free((void *)s->buf);
}

/* Does a decoded string equal an ASCII one (as UTF-16LE)? */
static int text_is(const struct ksm_text *t, const char *s)
{
	size_t n = strlen(s);
	if (!t->present || !t->utf16 || t->len != n * 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (t->data[2 * i] != (uint8_t)s[i] || t->data[2 * i + 1] != 0)
			return 0;
	return 1;
}

static void *rec(struct ksm_entry *e)
{
	return ksm_entry_record(e);
}

/* Drains a queue into a buffer of cap bytes, returns bytes. */
static ksm_u32 drain(struct ksm_queue *q, void *buf, ksm_u32 cap)
{
	ksm_u32 written = 0, needed = 0;
	NTSTATUS st = ksm_queue_read(q, buf, cap, &written, &needed);
	CHECK(NT_SUCCESS(st));
	return written;
}

static void test_static_layout(void)
{
	CHECK_EQ(sizeof(struct ksm_header), 16);
	CHECK_EQ(sizeof(struct ksm_process_create) % 8, 0);
	CHECK_EQ(sizeof(struct ksm_process_exit) % 8, 0);
	CHECK_EQ(sizeof(struct ksm_thread), 32);
	CHECK_EQ(sizeof(struct ksm_image_load) % 8, 0);
	CHECK_EQ(sizeof(struct ksm_events_lost), 16 + 8 * KSM_EV_MAX);
	CHECK_EQ(sizeof(struct ksm_exec_blocked) % 8, 0);
	CHECK_EQ(sizeof(struct ksm_entry) % 8, 0);
}

static void test_process_create_layout(void)
{
	struct ksm_wstr img = w("\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe");
	struct ksm_wstr cmd = w("notepad.exe C:\\a.txt");
	struct ksm_entry *e = ksm_rec_process_create(T0, 100, 4, 8, 12, &img, &cmd);
	struct ksm_process_create *r;

	CHECK(e != NULL);
	if (!e)
		return;
	r = rec(e);
	CHECK_EQ(r->hdr.type, KSM_EV_PROCESS_CREATE);
	CHECK_EQ(r->hdr.flags, KSM_HF_TIME_REALTIME | KSM_HF_UTF16);
	CHECK_EQ(r->hdr.time, T0);
	CHECK_EQ(r->hdr.size % 8, 0);
	CHECK_EQ(r->hdr.size, e->size);
	CHECK_EQ(r->hdr.size, (sizeof(*r) + img.bytes + cmd.bytes + 7) & ~7u);
	CHECK_EQ(r->pid, 100);
	CHECK_EQ(r->ppid, 4);
	CHECK_EQ(r->parent_tid, 8);
	CHECK_EQ(r->creator_pid, 12); /* the creating thread's process: the parent was chosen */
	{
		struct ksm_event ev;
		CHECK_EQ(ksm_decode(r, r->hdr.size, 0, &ev), KSM_DECODE_OK);
		CHECK(ksm_created_by_other(&ev)); /* shown: creator_pid, "with parent" */
	}
	CHECK(strcmp(r->comm, "notepad.exe") == 0);
	CHECK_EQ(r->image.offset, sizeof(*r));
	CHECK_EQ(r->image.length, img.bytes);
	CHECK_EQ(r->cmdline.offset, sizeof(*r) + img.bytes);
	CHECK_EQ(r->cmdline.length, cmd.bytes);
	CHECK(memcmp((char *)r + r->image.offset, img.buf, img.bytes) == 0);
	CHECK(memcmp((char *)r + r->cmdline.offset, cmd.buf, cmd.bytes) == 0);
	ksm_rec_free(e);
	wfree(&img);
	wfree(&cmd);

	/* No name available (FileOpenNameAvailable clear): strings absent. */
	e = ksm_rec_process_create(T0, 1, 2, 3, 2, NULL, NULL);
	CHECK(e != NULL);
	if (e) {
		r = rec(e);
		CHECK_EQ(r->image.offset, 0);
		CHECK_EQ(r->image.length, 0);
		CHECK_EQ(r->cmdline.offset, 0);
		CHECK_EQ(r->hdr.size, sizeof(*r));
		CHECK_EQ(r->comm[0], 0);
		ksm_rec_free(e);
	}
}

static void test_process_exit_layout(void)
{
	struct ksm_entry *e = ksm_rec_process_exit(T0, 100, 101, ksm_exit_status_to_wait(3),
						   "a-very-long-process-name.exe");
	struct ksm_process_exit *r;

	CHECK(e != NULL);
	if (!e)
		return;
	r = rec(e);
	CHECK_EQ(r->hdr.type, KSM_EV_PROCESS_EXIT);
	CHECK_EQ(r->hdr.flags, KSM_HF_TIME_REALTIME);
	CHECK_EQ(r->hdr.size, sizeof(*r));
	CHECK_EQ(r->pid, 100);
	CHECK_EQ(r->tid, 101);
	CHECK_EQ(r->status, 0x300);
	CHECK_EQ(strlen(r->comm), KSM_COMM_LEN - 1);
	ksm_rec_free(e);
	CHECK_EQ(ksm_exit_status_to_wait((NTSTATUS)0xC0000005), 0x00000500u);
}

static void test_thread_layout(void)
{
	struct ksm_entry *c = ksm_rec_thread(T0, KSM_EV_THREAD_CREATE, 7, 9);
	struct ksm_entry *x = ksm_rec_thread(T0 + 1, KSM_EV_THREAD_EXIT, 7, 9);
	struct ksm_thread *r;

	CHECK(c && x);
	if (!c || !x)
		return;
	r = rec(c);
	CHECK_EQ(r->hdr.type, KSM_EV_THREAD_CREATE);
	CHECK_EQ(r->hdr.size, sizeof(*r));
	CHECK_EQ(r->pid, 7);
	CHECK_EQ(r->tid, 9);
	r = rec(x);
	CHECK_EQ(r->hdr.type, KSM_EV_THREAD_EXIT);
	CHECK_EQ(r->hdr.time, T0 + 1);
	CHECK(ksm_rec_thread(T0, KSM_EV_IMAGE_LOAD, 1, 1) == NULL);
	ksm_rec_free(c);
	ksm_rec_free(x);
}

static void test_image_load_layout(void)
{
	struct ksm_wstr p = w("\\Windows\\System32\\ntdll.dll");
	struct ksm_entry *e = ksm_rec_image_load(T0, 50, 51, 0x7ff800000000ull, 0x1f0000, FALSE, &p,
						 KSM_IMAGE_PATH_MAX_BYTES);
	struct ksm_image_load *r;

	CHECK(e != NULL);
	if (!e)
		return;
	r = rec(e);
	CHECK_EQ(r->hdr.type, KSM_EV_IMAGE_LOAD);
	CHECK_EQ(r->hdr.flags, KSM_HF_TIME_REALTIME | KSM_HF_UTF16);
	CHECK_EQ(r->pid, 50);
	CHECK_EQ(r->tid, 51);
	CHECK_EQ(r->base, 0x7ff800000000ull);
	CHECK_EQ(r->size, 0x1f0000);
	CHECK_EQ(r->inode, 0);
	CHECK_EQ(r->dev, 0);
	CHECK_EQ(r->flags, 0);
	CHECK_EQ(r->path.offset, sizeof(*r));
	CHECK_EQ(r->path.length, p.bytes);
	ksm_rec_free(e);

	/* A driver: no process, flagged kernel. */
	e = ksm_rec_image_load(T0, 1234, 99, 0xfffff80000000000ull, 0x8000, TRUE, &p,
			       KSM_IMAGE_PATH_MAX_BYTES);
	CHECK(e != NULL);
	if (e) {
		r = rec(e);
		CHECK_EQ(r->pid, 0);
		CHECK_EQ(r->tid, 0);
		CHECK_EQ(r->flags, KSM_IMAGE_KERNEL);
		CHECK_EQ(r->base, 0xfffff80000000000ull);
		ksm_rec_free(e);
	}
	wfree(&p);
}

static void test_image_path_truncated(void)
{
	size_t n = KSM_IMAGE_PATH_MAX_BYTES; /* twice as many characters as fit */
	char *s = malloc(n + 1);
	struct ksm_wstr p;
	struct ksm_entry *e;
	struct ksm_image_load *r;

	memset(s, 'x', n);
	s[n] = 0;
	p = w(s);
	e = ksm_rec_image_load(T0, 1, 1, 0, 0, FALSE, &p, KSM_IMAGE_PATH_MAX_BYTES);
	CHECK(e != NULL);
	if (e) {
		r = rec(e);
		CHECK_EQ(r->flags, KSM_IMAGE_TRUNCATED);
		CHECK_EQ(r->path.length, KSM_IMAGE_PATH_MAX_BYTES);
		CHECK(memcmp((char *)r + r->path.offset, p.buf, r->path.length) == 0);
		ksm_rec_free(e);
	}
	/* Exactly the limit is not truncated. */
	p.bytes = KSM_IMAGE_PATH_MAX_BYTES;
	e = ksm_rec_image_load(T0, 1, 1, 0, 0, TRUE, &p, KSM_IMAGE_PATH_MAX_BYTES);
	CHECK(e != NULL);
	if (e) {
		r = rec(e);
		CHECK_EQ(r->flags, KSM_IMAGE_KERNEL);
		CHECK_EQ(r->path.length, KSM_IMAGE_PATH_MAX_BYTES);
		ksm_rec_free(e);
	}
	/* A cut never splits a surrogate pair. */
	((WCHAR *)p.buf)[3] = 0xD83D;
	((WCHAR *)p.buf)[4] = 0xDE00;
	p.bytes = 16;
	e = ksm_rec_image_load(T0, 1, 1, 0, 0, FALSE, &p, 8);
	CHECK(e != NULL);
	if (e) {
		r = rec(e);
		CHECK_EQ(r->flags, KSM_IMAGE_TRUNCATED);
		CHECK_EQ(r->path.length, 6);
		ksm_rec_free(e);
	}
	wfree(&p);
	free(s);
}

static void test_exec_blocked_layout(void)
{
	struct ksm_wstr p = w("\\Device\\HarddiskVolume2\\tools\\evil.exe");
	struct ksm_wstr rule = w("evil.exe");
	struct ksm_entry *e = ksm_rec_exec_blocked(T0, 77, &p, &rule);
	struct ksm_exec_blocked *r;

	CHECK(e != NULL);
	if (!e)
		return;
	r = rec(e);
	CHECK_EQ(r->hdr.type, KSM_EV_EXEC_BLOCKED);
	CHECK_EQ(r->hdr.flags, KSM_HF_TIME_REALTIME | KSM_HF_UTF16);
	CHECK_EQ(r->pid, 77);
	CHECK_EQ(r->flags, 0);
	for (int i = 0; i < 32; i++)
		CHECK_EQ(r->sha256[i], 0);
	CHECK_EQ(r->path.offset, sizeof(*r));
	CHECK_EQ(r->path.length, p.bytes);
	CHECK_EQ(r->rule.offset, sizeof(*r) + p.bytes);
	CHECK_EQ(r->rule.length, rule.bytes);
	ksm_rec_free(e);
	wfree(&p);
	wfree(&rule);
}

static void test_events_lost_layout(void)
{
	ksm_u64 lost[KSM_EV_MAX] = { 0 };
	struct ksm_events_lost r;

	lost[KSM_EV_THREAD_CREATE] = 5;
	lost[KSM_EV_IMAGE_LOAD] = 2;
	memset(&r, 0xee, sizeof(r));
	CHECK_EQ(ksm_rec_write_lost(&r, T0, lost), sizeof(r));
	CHECK_EQ(r.hdr.type, KSM_EV_EVENTS_LOST);
	CHECK_EQ(r.hdr.flags, KSM_HF_TIME_REALTIME);
	CHECK_EQ(r.hdr.size, sizeof(r));
	CHECK_EQ(r.lost[KSM_EV_THREAD_CREATE], 5);
	CHECK_EQ(r.lost[KSM_EV_IMAGE_LOAD], 2);
	CHECK_EQ(r.lost[KSM_EV_PROCESS_CREATE], 0);
}

/* 40,000 characters: beyond 64 KiB of UTF-16, beyond any 16-bit size. */
static void test_long_cmdline(void)
{
	size_t n = 40000;
	char *s = malloc(n + 1);
	struct ksm_wstr cmd, img = w("\\x\\app.exe");
	struct ksm_entry *e;
	struct ksm_queue q;
	struct ksm_event ev;
	void *buf;
	ksm_u32 got;

	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = 0;
	cmd = w(s);
	CHECK(cmd.bytes > 65536);
	e = ksm_rec_process_create(T0, 1, 2, 3, 2, &img, &cmd);
	CHECK(e != NULL);
	if (e) {
		ksm_queue_init(&q, 10, 1 << 20);
		CHECK(ksm_queue_push(&q, e));
		buf = malloc(1 << 20);
		got = drain(&q, buf, 1 << 20);
		CHECK(got > 80000);
		CHECK_EQ(ksm_decode(buf, got, 0, &ev), KSM_DECODE_OK);
		CHECK_EQ(ev.size, got);
		CHECK(text_is(&ev.u.create.cmdline, s));
		CHECK(text_is(&ev.u.create.image, "\\x\\app.exe"));
		free(buf);
		ksm_queue_flush(&q);
	}
	/* Beyond the sanity limit the record is refused, not cut. */
	cmd.bytes = KSM_REC_STR_MAX + 2;
	CHECK(ksm_rec_process_create(T0, 1, 2, 3, 2, &img, &cmd) == NULL);
	wfree(&cmd);
	wfree(&img);
	free(s);
}

static void test_alloc_failure(void)
{
	struct ksm_wstr p = w("\\a.dll");
	struct ksm_queue q;
	struct ksm_deny_list *dl = (void *)1;
	struct ksm_events_lost lost;
	ksm_u32 got;
	static const WCHAR list[] = { 'a', 0, 0 };

	shim_fail_alloc_in(1);
	CHECK(ksm_rec_image_load(T0, 1, 1, 0, 0, FALSE, &p, 100) == NULL);
	shim_fail_alloc_in(1);
	CHECK(ksm_rec_thread(T0, KSM_EV_THREAD_CREATE, 1, 1) == NULL);
	shim_fail_alloc_in(1);
	CHECK(ksm_rec_process_create(T0, 1, 1, 1, 1, &p, &p) == NULL);
	shim_fail_alloc_in(1);
	CHECK(ksm_rec_process_exit(T0, 1, 1, 0, NULL) == NULL);
	shim_fail_alloc_in(1);
	CHECK(ksm_rec_exec_blocked(T0, 1, &p, &p) == NULL);
	shim_fail_alloc_in(1);
	CHECK_EQ(ksm_deny_parse(list, sizeof(list), &dl), STATUS_INSUFFICIENT_RESOURCES);
	CHECK(dl == NULL);
	CHECK_EQ(shim_live_allocs(), 0);

	/* What the driver does with a record it could not build: count it.
	 * The loss report itself needs no allocation. */
	ksm_queue_init(&q, 10, 1 << 20);
	ksm_queue_count_lost(&q, KSM_EV_IMAGE_LOAD, T0);
	ksm_queue_count_lost(&q, KSM_EV_THREAD_CREATE, T0 + 5);
	shim_fail_all_allocs(1);
	got = drain(&q, &lost, sizeof(lost));
	shim_fail_all_allocs(0);
	CHECK_EQ(got, sizeof(lost));
	CHECK_EQ(lost.hdr.type, KSM_EV_EVENTS_LOST);
	CHECK_EQ(lost.hdr.time, T0);
	CHECK_EQ(lost.lost[KSM_EV_IMAGE_LOAD], 1);
	CHECK_EQ(lost.lost[KSM_EV_THREAD_CREATE], 1);
	/* Reported once, then the counts start again. */
	CHECK_EQ(drain(&q, &lost, sizeof(lost)), 0);
	wfree(&p);
}

static void push_thread(struct ksm_queue *q, ksm_u32 tid, BOOLEAN expect)
{
	struct ksm_entry *e = ksm_rec_thread(T0 + tid, KSM_EV_THREAD_CREATE, 1, tid);
	CHECK(e != NULL);
	if (e)
		CHECK_EQ(ksm_queue_push(q, e), expect);
}

/* Decodes a buffer into an array of (type, tid) pairs; returns count. */
static int parse(const uint8_t *buf, ksm_u32 len, struct ksm_event *evs, int max)
{
	int n = 0;
	while (len > 0 && n < max) {
		if (ksm_decode(buf, len, 0, &evs[n]) != KSM_DECODE_OK) {
			CHECK(!"stream does not decode");
			return n;
		}
		buf += evs[n].size;
		len -= evs[n].size;
		n++;
	}
	return n;
}

static void test_bound_and_drops(void)
{
	struct ksm_queue q;
	uint8_t buf[4096];
	struct ksm_event ev[16];
	int n;

	ksm_queue_init(&q, 3, 1 << 20);
	push_thread(&q, 1, TRUE);
	push_thread(&q, 2, TRUE);
	push_thread(&q, 3, TRUE);
	push_thread(&q, 4, FALSE); /* refused: the oldest stay */
	push_thread(&q, 5, FALSE);
	CHECK_EQ(q.count, 3);
	CHECK_EQ(shim_live_allocs(), 3);

	/* Read one record, make room, queue one more. */
	CHECK_EQ(drain(&q, buf, sizeof(struct ksm_thread)), sizeof(struct ksm_thread));
	push_thread(&q, 6, TRUE);
	n = parse(buf, drain(&q, buf, sizeof(buf)), ev, 16);
	CHECK_EQ(n, 4);
	if (n == 4) {
		/* 2, 3, then the loss exactly where 4 and 5 would have been, then 6 */
		CHECK_EQ(ev[0].tid, 2);
		CHECK_EQ(ev[1].tid, 3);
		CHECK_EQ(ev[2].type, KSM_EV_EVENTS_LOST);
		CHECK_EQ(ev[2].u.lost.lost[KSM_EV_THREAD_CREATE], 2);
		CHECK_EQ(ev[2].time_ns, T0 + 4);
		CHECK_EQ(ev[3].tid, 6);
	}
	CHECK_EQ(q.count, 0);
	CHECK_EQ(q.bytes, 0);

	/* The byte bound: room for exactly two thread records. */
	ksm_queue_init(&q, 100, 2 * sizeof(struct ksm_thread));
	push_thread(&q, 1, TRUE);
	push_thread(&q, 2, TRUE);
	push_thread(&q, 3, FALSE);
	n = parse(buf, drain(&q, buf, sizeof(buf)), ev, 16);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_EQ(ev[2].type, KSM_EV_EVENTS_LOST);
		CHECK_EQ(ev[2].u.lost.lost[KSM_EV_THREAD_CREATE], 1);
	}
	CHECK_EQ(shim_live_allocs(), 0);
}

static void test_small_buffers(void)
{
	struct ksm_queue q;
	uint8_t buf[256];
	ksm_u32 written = 1, needed = 0;
	struct ksm_wstr p = w("\\Windows\\System32\\kernel32.dll");
	struct ksm_entry *e = ksm_rec_image_load(T0, 1, 1, 0, 0, FALSE, &p, 1000);
	ksm_u32 size = e ? e->size : 0;

	ksm_queue_init(&q, 10, 1 << 20);
	/* Empty: success, nothing written (the driver parks the read). */
	CHECK_EQ(ksm_queue_read(&q, buf, sizeof(buf), &written, &needed), STATUS_SUCCESS);
	CHECK_EQ(written, 0);
	CHECK(ksm_queue_push(&q, e));
	push_thread(&q, 2, TRUE);

	/* Too small for the first record: refused, nothing consumed. */
	CHECK_EQ(ksm_queue_read(&q, buf, size - 1, &written, &needed), STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(written, 0);
	CHECK_EQ(needed, size);
	CHECK_EQ(ksm_queue_read(&q, buf, 0, &written, &needed), STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(q.count, 2);
	/* Room for the first only: one whole record, never a split one. */
	CHECK_EQ(ksm_queue_read(&q, buf, size + sizeof(struct ksm_thread) - 1, &written, &needed),
		 STATUS_SUCCESS);
	CHECK_EQ(written, size);
	CHECK_EQ(q.count, 1);
	CHECK_EQ(drain(&q, buf, sizeof(buf)), sizeof(struct ksm_thread));

	/* A pending loss report larger than the buffer is refused likewise. */
	ksm_queue_count_lost(&q, KSM_EV_THREAD_EXIT, T0);
	CHECK_EQ(ksm_queue_read(&q, buf, 8, &written, &needed), STATUS_BUFFER_TOO_SMALL);
	CHECK_EQ(needed, sizeof(struct ksm_events_lost));
	CHECK_EQ(drain(&q, buf, sizeof(buf)), sizeof(struct ksm_events_lost));
	wfree(&p);
	CHECK_EQ(shim_live_allocs(), 0);
}

/* Every record type through the queue, back through src/core/decode.c. */
static void test_decoder_roundtrip(void)
{
	struct ksm_wstr img = w("\\Device\\HarddiskVolume3\\bin\\tool.exe");
	struct ksm_wstr cmd = w("tool.exe --flag \"quoted arg\"");
	struct ksm_wstr dll = w("\\Device\\HarddiskVolume3\\bin\\lib.dll");
	struct ksm_wstr rule = w("tool.exe");
	struct ksm_queue q;
	static uint8_t buf[1 << 16];
	struct ksm_event ev[16];
	ksm_u32 got;
	int n;

	ksm_queue_init(&q, 100, 1 << 20);
	CHECK(ksm_queue_push(&q, ksm_rec_process_create(T0, 10, 4, 44, 4, &img, &cmd)));
	CHECK(ksm_queue_push(&q, ksm_rec_thread(T0 + 1, KSM_EV_THREAD_CREATE, 10, 11)));
	CHECK(ksm_queue_push(&q, ksm_rec_image_load(T0 + 2, 10, 11, 0x400000, 0x3000, FALSE, &dll,
						    KSM_IMAGE_PATH_MAX_BYTES)));
	CHECK(ksm_queue_push(&q, ksm_rec_image_load(T0 + 3, 10, 11, 0xfffff80100000000ull, 0x9000,
						    TRUE, &dll, 12)));
	CHECK(ksm_queue_push(&q, ksm_rec_thread(T0 + 4, KSM_EV_THREAD_EXIT, 10, 11)));
	CHECK(ksm_queue_push(&q, ksm_rec_process_exit(T0 + 5, 10, 11, ksm_exit_status_to_wait(1),
						      "tool.exe")));
	CHECK(ksm_queue_push(&q, ksm_rec_exec_blocked(T0 + 6, 12, &img, &rule)));
	ksm_queue_count_lost(&q, KSM_EV_PROCESS_CREATE, T0 + 7);

	got = drain(&q, buf, sizeof(buf));
	n = parse(buf, got, ev, 16);
	CHECK_EQ(n, 8);
	if (n != 8)
		goto out;
	CHECK_EQ(ev[0].type, KSM_EV_PROCESS_CREATE);
	CHECK_EQ(ev[0].time_ns, T0);
	CHECK_EQ(ev[0].pid, 10);
	CHECK_EQ(ev[0].u.create.ppid, 4);
	CHECK_EQ(ev[0].u.create.parent_tid, 44);
	CHECK_EQ(ev[0].u.create.creator_pid, 4);
	CHECK(!ksm_created_by_other(&ev[0])); /* created by its parent: said once */
	CHECK(strcmp(ev[0].comm, "tool.exe") == 0);
	CHECK(text_is(&ev[0].u.create.image, "\\Device\\HarddiskVolume3\\bin\\tool.exe"));
	CHECK(text_is(&ev[0].u.create.cmdline, "tool.exe --flag \"quoted arg\""));
	CHECK_EQ(ev[1].type, KSM_EV_THREAD_CREATE);
	CHECK_EQ(ev[1].tid, 11);
	CHECK_EQ(ev[2].type, KSM_EV_IMAGE_LOAD);
	CHECK_EQ(ev[2].u.image.base, 0x400000);
	CHECK_EQ(ev[2].u.image.size, 0x3000);
	CHECK_EQ(ev[2].flags, 0);
	CHECK(text_is(&ev[2].u.image.path, "\\Device\\HarddiskVolume3\\bin\\lib.dll"));
	CHECK_EQ(ev[3].pid, 0);
	CHECK_EQ(ev[3].flags, KSM_IMAGE_KERNEL | KSM_IMAGE_TRUNCATED);
	CHECK(text_is(&ev[3].u.image.path, "\\Devic"));
	CHECK_EQ(ev[4].type, KSM_EV_THREAD_EXIT);
	CHECK_EQ(ev[5].type, KSM_EV_PROCESS_EXIT);
	CHECK_EQ(ev[5].u.exit.status, 0x100);
	CHECK(strcmp(ev[5].comm, "tool.exe") == 0);
	CHECK_EQ(ev[6].type, KSM_EV_EXEC_BLOCKED);
	CHECK_EQ(ev[6].pid, 12);
	CHECK(ev[6].u.blocked.sha256 == NULL);
	CHECK(text_is(&ev[6].u.blocked.rule, "tool.exe"));
	CHECK_EQ(ev[7].type, KSM_EV_EVENTS_LOST);
	CHECK_EQ(ev[7].u.lost.lost[KSM_EV_PROCESS_CREATE], 1);
	for (int i = 0; i < n; i++)
		CHECK((ev[i].hdr_flags & KSM_HF_TIME_REALTIME) != 0);
out:
	ksm_queue_flush(&q);
	wfree(&img);
	wfree(&cmd);
	wfree(&dll);
	wfree(&rule);
}

static void test_unload_frees_everything(void)
{
	struct ksm_queue q;
	struct ksm_wstr p = w("\\x.dll");
	struct ksm_deny_list *dl;
	static const WCHAR list[] = { 'a', '.', 'e', 'x', 'e', 0, 'b', 0, 0 };
	long before = shim_total_allocs();

	ksm_queue_init(&q, 1000, 1 << 20);
	for (int i = 0; i < 100; i++)
		CHECK(ksm_queue_push(&q, ksm_rec_image_load(T0, 1, 1, 0, 0, FALSE, &p, 100)));
	CHECK_EQ(ksm_deny_parse(list, sizeof(list), &dl), STATUS_SUCCESS);
	CHECK_EQ(shim_live_allocs(), 101);
	CHECK_EQ(shim_total_allocs() - before, 101);
	ksm_queue_flush(&q);
	ksm_deny_free(dl);
	CHECK_EQ(shim_live_allocs(), 0);
	CHECK_EQ(q.count, 0);
	CHECK(IsListEmpty(&q.head));
	wfree(&p);
}

static void test_deny_list(void)
{
	static const WCHAR good[] = { 'n', 'o', 't', 'e', 'p', 'a', 'd', '.', 'e', 'x', 'e', 0,
				      'T', 'o', 'o', 'l', 's', '\\', 'X', '.', 'E', 'X', 'E', 0, 0 };
	static const WCHAR no_end[] = { 'a', 0 };
	static const WCHAR empty_rule[] = { 0, 0 };
	static const WCHAR trailing[] = { 'a', 0, 0, 'b' };
	struct ksm_deny_list *dl;
	struct ksm_wstr a = w("\\Device\\HarddiskVolume2\\Windows\\NOTEPAD.EXE");
	struct ksm_wstr b = w("\\Device\\HarddiskVolume2\\Windows\\mynotepad.exe");
	struct ksm_wstr c = w("\\Device\\HarddiskVolume2\\tools\\x.exe");
	struct ksm_wstr d = w("\\Device\\HarddiskVolume2\\mytools\\x.exe");
	struct ksm_wstr e = w("notepad.exe");
	const struct ksm_wstr *hit;

	CHECK_EQ(ksm_deny_parse(no_end, sizeof(no_end), &dl), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ksm_deny_parse(empty_rule, sizeof(empty_rule), &dl), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ksm_deny_parse(trailing, sizeof(trailing), &dl), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ksm_deny_parse(good, sizeof(good) - 1, &dl), STATUS_INVALID_PARAMETER);
	CHECK_EQ(ksm_deny_parse(good, 0, &dl), STATUS_SUCCESS);
	CHECK(dl == NULL);
	CHECK(ksm_deny_match(NULL, &a) == NULL);
	CHECK_EQ(shim_live_allocs(), 0);

	CHECK_EQ(ksm_deny_parse(good, sizeof(good), &dl), STATUS_SUCCESS);
	if (!dl)
		return;
	CHECK_EQ(dl->count, 2);
	hit = ksm_deny_match(dl, &a);
	CHECK(hit && hit->bytes == 22);
	CHECK(ksm_deny_match(dl, &b) == NULL);
	hit = ksm_deny_match(dl, &c);
	CHECK(hit && hit->bytes == 22);
	CHECK(ksm_deny_match(dl, &d) == NULL);
	CHECK(ksm_deny_match(dl, &e) != NULL);
	ksm_deny_free(dl);
	wfree(&a);
	wfree(&b);
	wfree(&c);
	wfree(&d);
	wfree(&e);
}

/* ---- run-time resolved routines ---- */

static long pool2_calls;
static ULONG64 pool2_flags;
static PVOID fake_pool2(ULONG64 flags, SIZE_T size, ULONG tag)
{
	pool2_calls++;
	pool2_flags = flags;
	CHECK_EQ(tag, KSM_POOL_TAG);
	/* ExAllocatePool2 zeroes; route through the shim to keep counting. */
	void *p = ExAllocatePoolWithTag(PagedPool, size, tag);
	if (p)
		memset(p, 0, size);
	return p;
}

static void fake_precise(PLARGE_INTEGER t)
{
	t->QuadPart = 116444736000000000ll + 42;
}

static NTSTATUS fake_exit_status(PEPROCESS p)
{
	(void)p;
	return 7;
}

static UCHAR *fake_image_name(PEPROCESS p)
{
	(void)p;
	return (UCHAR *)"svchost.exe";
}

static void test_runtime_resolution(void)
{
	NTSTATUS st = 0;
	unsigned char *p;

	/* Old kernel: nothing optional exported. */
	shim_clear_routines();
	ksm_rt_init();
	p = ksm_alloc(64);
	CHECK(p != NULL);
	CHECK_EQ(shim_last_pool(), PagedPool);
	CHECK_EQ(shim_last_tag(), KSM_POOL_TAG);
	for (int i = 0; p && i < 64; i++)
		CHECK_EQ(p[i], 0); /* zeroed although the shim poisons */
	ksm_free(p);
	shim_set_system_time(116444736000000000ull + 10000000ull); /* 1970 + 1 s */
	CHECK_EQ(ksm_now_ns(), 1000000000ull);
	shim_set_system_time(0);
	CHECK(!ksm_process_exit_status((PEPROCESS)1, &st));
	CHECK(ksm_process_short_name((PEPROCESS)1) == NULL);
	CHECK(ksm_alloc(0) == NULL);

	/* Current kernel: the better routines are used. */
	shim_set_routine("ExAllocatePool2", (void *)(uintptr_t)fake_pool2);
	shim_set_routine("KeQuerySystemTimePrecise", (void *)(uintptr_t)fake_precise);
	shim_set_routine("PsGetProcessExitStatus", (void *)(uintptr_t)fake_exit_status);
	shim_set_routine("PsGetProcessImageFileName", (void *)(uintptr_t)fake_image_name);
	ksm_rt_init();
	p = ksm_alloc(64);
	CHECK_EQ(pool2_calls, 1);
	CHECK_EQ(pool2_flags, 0x100); /* POOL_FLAG_PAGED */
	ksm_free(p);
	CHECK_EQ(ksm_now_ns(), 4200);
	CHECK(ksm_process_exit_status((PEPROCESS)1, &st));
	CHECK_EQ(st, 7);
	CHECK(strcmp(ksm_process_short_name((PEPROCESS)1), "svchost.exe") == 0);
	shim_clear_routines();
	ksm_rt_init();
}

static void test_filetime(void)
{
	CHECK_EQ(ksm_filetime_to_unix_ns(116444736000000000ull), 0);
	CHECK_EQ(ksm_filetime_to_unix_ns(0), 0);
	/* 2024-01-01T00:00:00Z */
	CHECK_EQ(ksm_filetime_to_unix_ns(133485408000000000ull), 1704067200000000000ull);
}

/* Each control code, decoded by the CTL_CODE layout (device type in bits
 * 16-31, required access 14-15, function 2-13, transfer method 0-1) with
 * the documented numbers written out, not through the header's macros. */
static void test_ioctl_codes(void)
{
	static const struct {
		const char *name;
		ULONG code, value, access, function, method;
	} codes[] = {
		/* changes what may run: FILE_WRITE_ACCESS (2); the driver reads
		 * the list from AssociatedIrp.SystemBuffer: METHOD_BUFFERED (0) */
		{ "KSM_IOCTL_SET_DENY_LIST", KSM_IOCTL_SET_DENY_LIST, 0x8A5EA004u, 2, 0x801, 0 },
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ULONG c = codes[i].code;

		fprintf(stderr, "  %s = 0x%08lX\n", codes[i].name, (unsigned long)c);
		CHECK_EQ(c, codes[i].value); /* the number existing clients send */
		CHECK_EQ(c >> 16, KSM_DEVICE_TYPE);
		CHECK(c >> 16 >= 0x8000); /* vendor device types */
		CHECK_EQ((c >> 14) & 3, codes[i].access);
		CHECK_EQ((c >> 2) & 0xFFF, codes[i].function);
		CHECK((c >> 2 & 0xFFF) >= 0x800); /* vendor functions */
		CHECK_EQ(c & 3, codes[i].method);
	}
}

/* The device's security descriptor, read back byte by byte: a present,
 * not defaulted, protected DACL of exactly two ACCESS_ALLOWED ACEs
 * granting FILE_ALL_ACCESS (0x001F01FF) to S-1-5-18 and S-1-5-32-544, in
 * that order - D:P(A;;FA;;;SY)(A;;FA;;;BA) - and no owner, group or SACL
 * (so ZwSetSecurityObject with the DACL's information changes nothing
 * else). */
static void test_device_sd(void)
{
	static const unsigned char aces[] = {
		/* ACCESS_ALLOWED_ACE_TYPE, no flags, 20 bytes; FILE_ALL_ACCESS */
		0x00, 0x00, 0x14, 0x00, 0xFF, 0x01, 0x1F, 0x00,
		/* S-1-5-18 */
		0x01, 0x01, 0, 0, 0, 0, 0, 0x05, 0x12, 0x00, 0x00, 0x00,
		/* ACCESS_ALLOWED_ACE_TYPE, no flags, 24 bytes; FILE_ALL_ACCESS */
		0x00, 0x00, 0x18, 0x00, 0xFF, 0x01, 0x1F, 0x00,
		/* S-1-5-32-544 */
		0x01, 0x02, 0, 0, 0, 0, 0, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
	};
	struct ksm_device_sd s;
	const unsigned char *acl = (const unsigned char *)s.acl;
	long live = shim_live_allocs();

	memset(&s, 0xA5, sizeof(s));
	CHECK_EQ(ksm_device_sd_init(&s), STATUS_SUCCESS);
	CHECK_EQ(s.sd.Revision, 1);
	CHECK_EQ(s.sd.Control, 0x1004); /* SE_DACL_PRESENT | SE_DACL_PROTECTED */
	CHECK_EQ((unsigned long)KSM_DEVICE_SD_INFORMATION, 0x80000004ul); /* DACL, protected */
	CHECK(s.sd.Owner == NULL && s.sd.Group == NULL && s.sd.Sacl == NULL);
	CHECK(s.sd.Dacl == (PACL)s.acl);
	CHECK_EQ(acl[0], 2);                             /* ACL_REVISION */
	CHECK_EQ(acl[2] | acl[3] << 8, 8 + sizeof(aces)); /* AclSize: full */
	CHECK_EQ(acl[4] | acl[5] << 8, 2);               /* AceCount */
	CHECK_EQ(sizeof(s.acl), 8 + sizeof(aces));
	CHECK(memcmp(acl + 8, aces, sizeof(aces)) == 0);
	CHECK_EQ(shim_live_allocs(), live); /* nothing to free */
}

int main(void)
{
	ksm_rt_init();
	RUN(test_static_layout);
	RUN(test_process_create_layout);
	RUN(test_process_exit_layout);
	RUN(test_thread_layout);
	RUN(test_image_load_layout);
	RUN(test_image_path_truncated);
	RUN(test_exec_blocked_layout);
	RUN(test_events_lost_layout);
	RUN(test_long_cmdline);
	RUN(test_alloc_failure);
	RUN(test_bound_and_drops);
	RUN(test_small_buffers);
	RUN(test_decoder_roundtrip);
	RUN(test_unload_frees_everything);
	RUN(test_deny_list);
	RUN(test_runtime_resolution);
	RUN(test_filetime);
	RUN(test_ioctl_codes);
	RUN(test_device_sd);
	CHECK_EQ(shim_live_allocs(), 0);
	return SUMMARY();
}
