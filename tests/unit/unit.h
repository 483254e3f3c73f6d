/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared helpers for the cmocka unit tests: a record builder that lays out
 * a fixed part followed by its strings, exact-size decoding (so that
 * AddressSanitizer sees any read past the record), and buffer checks.
 */
#ifndef KSM_UNIT_H
#define KSM_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/decode.h"
#include "core/escape.h"
#include "core/format.h"
#include "ksysmon_event.h"

/* 2023-11-14T22:13:20.123456789Z */
#define T_REAL 1700000000123456789ull

/* ---- a scratch directory for a group of tests ---------------------------- */

/* Defines `dir` (made from a mkdtemp(3) template) and the group set-up and
 * tear-down that make and remove it. */
#define UNIT_SCRATCH_DIR(template)                                               \
	static char dir[] = template;                                            \
	static int setup(void **state)                                           \
	{                                                                        \
		(void)state;                                                     \
		return mkdtemp(dir) ? 0 : -1;                                    \
	}                                                                        \
	static int teardown(void **state)                                        \
	{                                                                        \
		char cmd_[256];                                                  \
		(void)state;                                                     \
		snprintf(cmd_, sizeof(cmd_), "rm -rf '%s'", dir);                \
		return system(cmd_);                                             \
	}

/* ---- output buffers ---------------------------------------------------- */

/* The buffer's contents as a C string (a NUL is kept after them). */
static inline const char *buf_str(struct ksm_buf *b)
{
	if (!ksm_buf_reserve(b, 1))
		fail_msg("ksm_buf_reserve failed");
	if (!b->data) /* cannot happen after a successful reserve */
		return "";
	b->data[b->len] = '\0';
	return b->data;
}

#define assert_buf(b, expected)                                                  \
	do {                                                                     \
		const char *exp_ = (expected);                                   \
		assert_string_equal(buf_str(b), exp_);                           \
		assert_int_equal((b)->len, strlen(exp_));                        \
	} while (0)

/* ---- record builder ---------------------------------------------------- */

#define RECB_CAP (4u << 20)

struct recb {
	uint8_t *buf; /* RECB_CAP bytes, zeroed; never moves */
	uint32_t len;
	uint32_t used; /* high-water mark: bytes that may be non-zero */
};

/* Starts a record: zeroed fixed part of `fixed` bytes with its header
 * filled in; returns it, typed by the caller.  hdr.size is set by
 * recb_end() (or by hand, for malformed records). */
static inline void *recb_start(struct recb *r, size_t fixed, uint16_t type, uint16_t flags,
			       uint64_t time)
{
	if (!r->buf) {
		r->buf = calloc(1, RECB_CAP);
		r->used = 0;
	}
	assert_non_null(r->buf);
	assert_true(fixed <= RECB_CAP);
	memset(r->buf, 0, r->used);
	if (r->used < fixed)
		r->used = (uint32_t)fixed;
	struct ksm_header *h = (struct ksm_header *)r->buf;
	h->type = type;
	h->flags = flags;
	h->time = time;
	h->size = (uint32_t)fixed;
	r->len = (uint32_t)fixed;
	return r->buf;
}

/* Appends n bytes and returns their location. */
static inline struct ksm_str recb_str(struct recb *r, const void *p, size_t n)
{
	assert_true(r->len + n <= RECB_CAP);
	struct ksm_str s = { .offset = r->len, .length = (uint32_t)n };
	if (n)
		memcpy(r->buf + r->len, p, n);
	r->len += (uint32_t)n;
	if (r->used < r->len)
		r->used = r->len;
	return s;
}

/* Appends a C string (without its NUL). */
static inline struct ksm_str recb_cstr(struct recb *r, const char *s)
{
	return recb_str(r, s, strlen(s));
}

/* Appends an ASCII/Latin-1 C string as UTF-16LE. */
static inline struct ksm_str recb_u16(struct recb *r, const char *s)
{
	struct ksm_str out = { .offset = r->len, .length = 0 };
	for (; *s; s++) {
		uint8_t u[2] = { (uint8_t)*s, 0 };
		recb_str(r, u, 2);
		out.length += 2;
	}
	return out;
}

/* Appends UTF-16 code units (little-endian). */
static inline struct ksm_str recb_units(struct recb *r, const uint16_t *u, size_t n)
{
	struct ksm_str out = { .offset = r->len, .length = (uint32_t)(2 * n) };
	for (size_t i = 0; i < n; i++) {
		uint8_t b[2] = { (uint8_t)(u[i] & 0xff), (uint8_t)(u[i] >> 8) };
		recb_str(r, b, 2);
	}
	return out;
}

/* Pads the record to a multiple of 8 (as the producers do), sets hdr.size
 * and returns it. */
static inline uint32_t recb_end(struct recb *r)
{
	r->len = (r->len + 7) & ~7u;
	if (r->used < r->len)
		r->used = r->len;
	((struct ksm_header *)r->buf)->size = r->len;
	return r->len;
}

static inline void recb_free(struct recb *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->used = 0;
}

/* ---- decoding at exact size -------------------------------------------- */

/* A heap copy of exactly n bytes: ASan flags any read past it. */
struct exact {
	uint8_t *p;
	struct ksm_event ev;
};

static inline enum ksm_decode_status decode_exact(struct exact *x, const void *data, size_t n,
						  uint64_t boot_ns)
{
	free(x->p);
	x->p = malloc(n ? n : 1);
	assert_non_null(x->p);
	if (n)
		memcpy(x->p, data, n);
	struct ksm_boot_clock clock;
	ksm_boot_clock_init(&clock, boot_ns, 0);
	return ksm_decode(x->p, n, &clock, &x->ev);
}

/* Decodes the builder's record (recb_end() already called) and requires
 * success; the event points into x->p. */
static inline const struct ksm_event *decode_ok(struct exact *x, struct recb *r)
{
	enum ksm_decode_status st = decode_exact(x, r->buf, r->len, 0);
	if (st != KSM_DECODE_OK)
		fail_msg("decode failed: %s", ksm_decode_strerror(st));
	assert_int_equal(x->ev.size, r->len);
	return &x->ev;
}

static inline void exact_free(struct exact *x)
{
	free(x->p);
	x->p = NULL;
}

/* ---- common records ---------------------------------------------------- */

/* process_exec for pid 4242 (tid 4243, uid 1000, gid 100, comm "ls") with
 * the given image, filename and argv blob (argv_len bytes, NULs included). */
static inline uint32_t mk_exec(struct recb *r, uint64_t time, uint16_t hdr_flags, uint32_t flags,
			       const char *image, const char *filename, const void *argv,
			       size_t argv_len)
{
	struct ksm_process_exec *e =
		recb_start(r, sizeof(*e), KSM_EV_PROCESS_EXEC, hdr_flags, time);
	e->pid = 4242;
	e->tid = 4243;
	e->uid = 1000;
	e->gid = 100;
	e->flags = flags;
	memcpy(e->comm, "ls", 3);
	if (image)
		e->image = recb_cstr(r, image);
	if (filename)
		e->filename = recb_cstr(r, filename);
	if (argv)
		e->argv = recb_str(r, argv, argv_len);
	return recb_end(r);
}

/* process_create for pid 4242 from 4200 (thread 4201), comm "bash". */
static inline uint32_t mk_create(struct recb *r, uint64_t time, uint16_t hdr_flags)
{
	struct ksm_process_create *c =
		recb_start(r, sizeof(*c), KSM_EV_PROCESS_CREATE, hdr_flags, time);
	c->pid = 4242;
	c->ppid = 4200;
	c->parent_tid = 4201;
	memcpy(c->comm, "bash", 5);
	return recb_end(r);
}

/* process_exit for pid 4242 (tid 4244), comm "bash". */
static inline uint32_t mk_exit(struct recb *r, uint64_t time, uint32_t status)
{
	struct ksm_process_exit *x =
		recb_start(r, sizeof(*x), KSM_EV_PROCESS_EXIT, KSM_HF_TIME_REALTIME, time);
	x->pid = 4242;
	x->tid = 4244;
	x->status = status;
	memcpy(x->comm, "bash", 5);
	return recb_end(r);
}

static inline uint32_t mk_thread(struct recb *r, uint16_t type, uint64_t time, uint32_t pid,
				 uint32_t tid)
{
	struct ksm_thread *t = recb_start(r, sizeof(*t), type, KSM_HF_TIME_REALTIME, time);
	t->pid = pid;
	t->tid = tid;
	return recb_end(r);
}

/* image_load of libz into 4242 at 0x7f12a0000000. */
static inline uint32_t mk_image(struct recb *r, uint64_t time, uint32_t flags, const char *path)
{
	struct ksm_image_load *i =
		recb_start(r, sizeof(*i), KSM_EV_IMAGE_LOAD, KSM_HF_TIME_REALTIME, time);
	i->pid = 4242;
	i->tid = 4243;
	i->base = 0x7f12a0000000ull;
	i->size = 0x1e000;
	i->inode = 1234567;
	i->dev = 0x801;
	i->flags = flags;
	i->path = recb_cstr(r, path);
	return recb_end(r);
}

/* Formats one record with fmt into a fresh string (freed by the caller's
 * ksm_buf_free). */
static inline const char *fmt_rec(struct ksm_buf *out, struct recb *r,
				  void (*fmt)(struct ksm_buf *, const struct ksm_event *))
{
	struct exact x = { 0 };
	const struct ksm_event *ev = decode_ok(&x, r);
	ksm_buf_reset(out);
	fmt(out, ev);
	exact_free(&x);
	return buf_str(out);
}

/* The formatter tests' record under construction (r) and output (out),
 * and the teardown that frees both after each test. */
#define FORMAT_TEST_FIXTURE()                                                      \
	static struct recb r;                                                      \
	static struct ksm_buf out;                                                 \
	static int teardown(void **state)                                          \
	{                                                                          \
		(void)state;                                                       \
		recb_free(&r);                                                     \
		ksm_buf_free(&out);                                                \
		return 0;                                                          \
	}                                                                          \
	struct format_test_fixture_end /* swallows the call's semicolon */

#endif
