// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/capture.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "ksysmon_limits.h"

/* ---- writing ----------------------------------------------------------- */

static size_t cap_len(size_t len, size_t max)
{
	return len < max ? len : max;
}

void ksm_capture_header(struct ksm_buf *b, const struct ksm_capture_info *info)
{
	struct ksm_capture_header h = { 0 };
	size_t host = cap_len(strlen(info->hostname), sizeof(info->hostname) - 1);
	size_t kernel = cap_len(strlen(info->kernel), sizeof(info->kernel) - 1);

	memcpy(h.magic, KSM_CAPTURE_MAGIC, sizeof(h.magic));
	h.version = KSM_CAPTURE_VERSION;
	h.header_size = (ksm_u32)(sizeof(h) + host + kernel);
	h.boot_time_ns = info->boot_time_ns;
	h.start_time_ns = info->start_time_ns;
	memcpy(h.boot_id, info->boot_id, sizeof(h.boot_id));
	h.hostname_len = (ksm_u16)host;
	h.kernel_len = (ksm_u16)kernel;
	ksm_buf_put(b, &h, sizeof(h));
	ksm_buf_put(b, info->hostname, host);
	ksm_buf_put(b, info->kernel, kernel);
}

static struct ksm_header annotation(uint16_t type, size_t size)
{
	struct ksm_header h = { .type = type, .size = (ksm_u32)size };
	return h;
}

/* A string placed after a fixed part at *end. */
static struct ksm_str place(uint32_t *end, size_t len)
{
	struct ksm_str s = { 0, 0 };
	if (len) {
		s.offset = *end;
		s.length = (ksm_u32)len;
		*end += (uint32_t)len;
	}
	return s;
}

void ksm_capture_clock(struct ksm_buf *b, uint64_t from, uint64_t boot_ns)
{
	struct ksm_cap_clock r = { .hdr = annotation(KSM_CAP_CLOCK, sizeof(r)), .boot_ns = boot_ns,
				   .from = from };
	ksm_buf_put(b, &r, sizeof(r));
}

void ksm_capture_proc(struct ksm_buf *b, uint32_t pid, uint32_t ppid, uint64_t start,
		      uint64_t parent_start, const uint8_t guid[16], bool seeded,
		      uint8_t image_flags, const char *image, size_t image_len, const char *cmdline, size_t cmdline_len)
{
	struct ksm_cap_proc r = { 0 };
	uint32_t end = sizeof(r);

	r.pid = pid;
	r.ppid = ppid;
	r.start = start;
	r.parent_start = parent_start;
	memcpy(r.guid, guid, sizeof(r.guid));
	r.flags = (seeded ? KSM_CAP_PROC_SEEDED : 0) | (image ? KSM_CAP_PROC_IMAGE : 0) |
		  (cmdline ? KSM_CAP_PROC_CMDLINE : 0) |
		  (image_flags & KSM_PATH_DELETED ? KSM_CAP_PROC_IMAGE_DELETED : 0) |
		  (image_flags & KSM_PATH_TRUNCATED ? KSM_CAP_PROC_IMAGE_TRUNCATED : 0) |
		  (image_flags & KSM_PATH_UNREACHABLE ? KSM_CAP_PROC_IMAGE_UNREACHABLE : 0);
	r.image = place(&end, image ? image_len : 0);
	r.cmdline = place(&end, cmdline ? cmdline_len : 0);
	r.hdr = annotation(KSM_CAP_PROC, end);
	ksm_buf_put(b, &r, sizeof(r));
	if (image)
		ksm_buf_put(b, image, image_len);
	if (cmdline)
		ksm_buf_put(b, cmdline, cmdline_len);
}

void ksm_capture_user(struct ksm_buf *b, uint64_t mnt_ns, uint32_t uid, uint32_t ns_uid,
		      const char *name, bool own_root)
{
	/* the namespace's form only where there is one: older readers know
	 * the other */
	struct ksm_cap_user_ns r = { .uid = uid, .mnt_ns = mnt_ns };
	struct ksm_cap_user_ns_id id = { .ns_uid = ns_uid };
	struct ksm_cap_user host = { .uid = uid };
	size_t fixed = mnt_ns ? sizeof(r) + sizeof(id) : sizeof(host);
	uint32_t end = (uint32_t)fixed;
	size_t len = name ? cap_len(strlen(name), 256) : 0;

	r.flags = host.flags = name ? KSM_CAP_USER_KNOWN : 0;
	r.flags |= KSM_CAP_USER_NS_ID | (own_root ? KSM_CAP_USER_OWN_ROOT : 0);
	r.name = host.name = place(&end, len);
	r.hdr = annotation(KSM_CAP_USER_NS, end);
	host.hdr = annotation(KSM_CAP_USER, end);
	if (mnt_ns) {
		ksm_buf_put(b, &r, sizeof(r));
		ksm_buf_put(b, &id, sizeof(id));
	} else {
		ksm_buf_put(b, &host, sizeof(host));
	}
	ksm_buf_put(b, name, len);
}

void ksm_capture_hash(struct ksm_buf *b, const struct ksm_context *ctx)
{
	struct ksm_cap_hash r = { 0 };
	uint32_t end = sizeof(r);
	size_t len = ctx->sha256_error ? cap_len(strlen(ctx->sha256_error), 256) : 0;

	if (ctx->has_sha256) {
		r.flags = KSM_CAP_HASH_DIGEST;
		memcpy(r.sha256, ctx->sha256, sizeof(r.sha256));
	}
	r.error = place(&end, len);
	r.hdr = annotation(KSM_CAP_HASH, end);
	ksm_buf_put(b, &r, sizeof(r));
	ksm_buf_put(b, ctx->sha256_error, len);
}

void ksm_capture_cgroup(struct ksm_buf *b, uint64_t cgroup_id, const struct ksm_cgroup_fact *f)
{
	struct ksm_cap_cgroup r = { .cgroup_id = cgroup_id };
	const struct ksm_container *c = f->container;
	uint32_t end = sizeof(r);
	size_t rlen = c ? strlen(c->runtime) : 0, ilen = c ? strlen(c->id) : 0;
	size_t plen = f->path.present ? cap_len(f->path.len, KSM_NS_PATH_MAX - 1) : 0;

	r.flags = (c ? KSM_CAP_CGROUP_CONTAINER : 0) | KSM_CAP_CGROUP_PATH |
		  (f->path_cut ? KSM_CAP_CGROUP_PATH_CUT : 0);
	r.runtime = place(&end, rlen);
	r.id = place(&end, ilen);
	r.path = place(&end, plen);
	r.hdr = annotation(KSM_CAP_CGROUP, end);
	ksm_buf_put(b, &r, sizeof(r));
	if (c) {
		ksm_buf_put(b, c->runtime, rlen);
		ksm_buf_put(b, c->id, ilen);
	}
	if (plen) /* its end: what is shown */
		ksm_buf_put(b, f->path.data + f->path.len - plen, plen);
}

void ksm_capture_root(struct ksm_buf *b, const struct ksm_context *ctx)
{
	struct ksm_cap_root r = { .at = ctx->root_at };
	uint32_t end = sizeof(r);
	size_t len = ctx->root_at == KSM_ROOT_AT_PATH ? cap_len(ctx->root_host.len, KSM_CAP_ROOT_MAX) : 0;

	r.path = place(&end, len);
	r.hdr = annotation(KSM_CAP_ROOT, end);
	ksm_buf_put(b, &r, sizeof(r));
	ksm_buf_put(b, ctx->root_host.data, len);
}

/* ---- reading ----------------------------------------------------------- */

static size_t read_fully(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f);
}

static void copy_name(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	len = cap_len(len, cap - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int ksm_capture_open(struct ksm_capture_reader *r, FILE *f, char *err, size_t errlen)
{
	struct ksm_capture_header h;
	uint8_t names[2 * 65536];
	size_t n;

	memset(r, 0, sizeof(*r));
	r->f = f;
	n = read_fully(f, &h, sizeof(h));
	if (ferror(f))
		return ksm_fail(err, errlen, "cannot read at byte 0: %s", strerror(errno));
	if (n == 0)
		return ksm_fail(err, errlen, "empty file, not a ksysmon capture");
	if (n >= sizeof(h.magic) && memcmp(h.magic, KSM_CAPTURE_MAGIC, sizeof(h.magic)))
		return ksm_fail(err, errlen, "not a ksysmon capture (bad magic at byte 0)");
	if (n < sizeof(h))
		return ksm_fail(err, errlen, "truncated capture header at byte %zu (%zu of %zu bytes)",
				n, n, sizeof(h));
	if (h.version < KSM_CAPTURE_VERSION_MIN || h.version > KSM_CAPTURE_VERSION)
		return ksm_fail(err, errlen, "unsupported capture version %u at byte 8 (this ksysmon reads versions %u to %u)",
				h.version, KSM_CAPTURE_VERSION_MIN, KSM_CAPTURE_VERSION);
	size_t strings = (size_t)h.hostname_len + h.kernel_len;
	if (h.header_size != sizeof(h) + strings)
		return ksm_fail(err, errlen, "bad capture header size %u at byte 12", h.header_size);
	n = read_fully(f, names, strings);
	if (n < strings)
		return ksm_fail(err, errlen, "truncated capture header at byte %zu", sizeof(h) + n);
	r->info.version = h.version;
	r->info.boot_time_ns = h.boot_time_ns;
	r->info.start_time_ns = h.start_time_ns;
	memcpy(r->info.boot_id, h.boot_id, sizeof(h.boot_id));
	copy_name(r->info.hostname, sizeof(r->info.hostname), names, h.hostname_len);
	copy_name(r->info.kernel, sizeof(r->info.kernel), names + h.hostname_len, h.kernel_len);
	r->offset = h.header_size;
	return 0;
}

static bool grow(struct ksm_capture_reader *r, size_t size)
{
	if (size <= r->cap)
		return true;
	size_t cap = r->cap ? r->cap : 4096;
	while (cap < size)
		cap *= 2;
	uint8_t *p = malloc(cap); /* malloc's alignment suits every record */
	if (!p)
		return false;
	free(r->rec);
	r->rec = p;
	r->cap = cap;
	return true;
}

enum ksm_capture_next ksm_capture_next(struct ksm_capture_reader *r, const uint8_t **rec,
				       uint32_t *size, char *err, size_t errlen)
{
	struct ksm_header h;
	size_t n = read_fully(r->f, &h, sizeof(h));

	if (ferror(r->f)) {
		ksm_fail(err, errlen, "cannot read at byte %llu: %s", (unsigned long long)r->offset,
			 strerror(errno));
		return KSM_CAPTURE_BROKEN;
	}
	if (n == 0)
		return KSM_CAPTURE_END;
	if (n < sizeof(h)) {
		ksm_fail(err, errlen, "truncated record at byte %llu (%zu of %zu header bytes)",
			 (unsigned long long)r->offset, n, sizeof(h));
		return KSM_CAPTURE_BROKEN;
	}
	/* a size that cannot be right leaves no way to find the next record */
	if (h.size < sizeof(h) || h.size > KSM_CAPTURE_MAX_RECORD) {
		ksm_fail(err, errlen, "bad record size %u at byte %llu", h.size,
			 (unsigned long long)r->offset);
		return KSM_CAPTURE_BROKEN;
	}
	if (!grow(r, h.size)) {
		ksm_fail(err, errlen, "out of memory for a record of %u bytes at byte %llu", h.size,
			 (unsigned long long)r->offset);
		return KSM_CAPTURE_BROKEN;
	}
	memcpy(r->rec, &h, sizeof(h));
	n = read_fully(r->f, r->rec + sizeof(h), h.size - sizeof(h));
	if (n < h.size - sizeof(h)) {
		ksm_fail(err, errlen, "truncated record at byte %llu (%zu of %u bytes)",
			 (unsigned long long)r->offset, n + sizeof(h), h.size);
		return KSM_CAPTURE_BROKEN;
	}
	*rec = r->rec;
	*size = h.size;
	r->offset += h.size;
	return KSM_CAPTURE_RECORD;
}

void ksm_capture_close(struct ksm_capture_reader *r)
{
	free(r->rec);
	r->rec = NULL;
	r->cap = 0;
}

/* A string of an annotation: inside the record, after its fixed part. */
static bool str_in(const uint8_t *rec, uint32_t size, uint32_t fixed, struct ksm_str s,
		   struct ksm_text *out)
{
	memset(out, 0, sizeof(*out));
	if (!s.offset && !s.length)
		return true;
	if (s.offset < fixed || s.offset > size || s.length > size - s.offset)
		return false;
	out->data = rec + s.offset;
	out->len = s.length;
	out->present = true;
	return true;
}

#define FIXED(type, var)              \
	type var;                     \
	if (size < sizeof(var))       \
		return false;         \
	memcpy(&var, rec, sizeof(var))

bool ksm_capture_read_clock(const uint8_t *rec, uint32_t size, uint64_t *boot_ns, bool *has_from,
			    uint64_t *from)
{
	struct ksm_cap_clock r = { 0 };
	if (size < KSM_CAP_CLOCK_OLD_SIZE)
		return false;
	*has_from = size >= sizeof(r);
	memcpy(&r, rec, *has_from ? sizeof(r) : KSM_CAP_CLOCK_OLD_SIZE);
	*boot_ns = r.boot_ns;
	*from = r.from;
	return true;
}

bool ksm_capture_read_proc(const uint8_t *rec, uint32_t size, struct ksm_cap_proc_view *out)
{
	FIXED(struct ksm_cap_proc, r);
	out->pid = r.pid;
	out->ppid = r.ppid;
	out->start = r.start;
	out->parent_start = r.parent_start;
	memcpy(out->guid, r.guid, sizeof(out->guid));
	out->seeded = r.flags & KSM_CAP_PROC_SEEDED;
	out->image_flags = (r.flags & KSM_CAP_PROC_IMAGE_DELETED ? KSM_PATH_DELETED : 0) |
			   (r.flags & KSM_CAP_PROC_IMAGE_TRUNCATED ? KSM_PATH_TRUNCATED : 0) |
			   (r.flags & KSM_CAP_PROC_IMAGE_UNREACHABLE ? KSM_PATH_UNREACHABLE : 0);
	if (!r.pid || !str_in(rec, size, sizeof(r), r.image, &out->image) ||
	    !str_in(rec, size, sizeof(r), r.cmdline, &out->cmdline))
		return false;
	/* an empty string is still a known one */
	out->image.present = r.flags & KSM_CAP_PROC_IMAGE;
	out->cmdline.present = r.flags & KSM_CAP_PROC_CMDLINE;
	return true;
}

static bool read_user_ns(const uint8_t *rec, uint32_t size, struct ksm_cap_user_view *out)
{
	FIXED(struct ksm_cap_user_ns, r);
	uint32_t fixed = sizeof(r);
	out->own_root = r.flags & KSM_CAP_USER_OWN_ROOT;
	out->uid = r.uid;
	out->mnt_ns = r.mnt_ns;
	out->has_ns_uid = r.flags & KSM_CAP_USER_NS_ID;
	if (out->has_ns_uid) {
		struct ksm_cap_user_ns_id id;
		if (size < fixed + sizeof(id))
			return false;
		memcpy(&id, rec + fixed, sizeof(id));
		out->ns_uid = id.ns_uid;
		fixed += sizeof(id);
	}
	if (!r.mnt_ns || !str_in(rec, size, fixed, r.name, &out->name))
		return false;
	out->name.present = r.flags & KSM_CAP_USER_KNOWN;
	return true;
}

bool ksm_capture_read_user(const uint8_t *rec, uint32_t size, struct ksm_cap_user_view *out)
{
	struct ksm_header h;
	memset(out, 0, sizeof(*out));
	if (size < sizeof(h))
		return false;
	memcpy(&h, rec, sizeof(h));
	if (h.type == KSM_CAP_USER_NS)
		return read_user_ns(rec, size, out);
	FIXED(struct ksm_cap_user, r);
	out->uid = r.uid;
	if (!str_in(rec, size, sizeof(r), r.name, &out->name))
		return false;
	out->name.present = r.flags & KSM_CAP_USER_KNOWN;
	return true;
}

bool ksm_capture_read_cgroup(const uint8_t *rec, uint32_t size, uint64_t *cgroup_id,
			     struct ksm_cgroup_fact *f, struct ksm_container *c)
{
	struct ksm_cap_cgroup r = { 0 };
	struct ksm_text runtime, id;
	uint32_t fixed = offsetof(struct ksm_cap_cgroup, path);

	if (size < fixed)
		return false;
	memcpy(&r, rec, fixed);
	if (r.flags & KSM_CAP_CGROUP_PATH) { /* the path's string is part of the fixed part */
		fixed = sizeof(r);
		if (size < fixed)
			return false;
		memcpy(&r, rec, fixed);
	}
	*cgroup_id = r.cgroup_id;
	memset(f, 0, sizeof(*f));
	if (!r.cgroup_id || !str_in(rec, size, fixed, r.runtime, &runtime) ||
	    !str_in(rec, size, fixed, r.id, &id) || !str_in(rec, size, fixed, r.path, &f->path) ||
	    f->path.len > KSM_NS_PATH_MAX - 1)
		return false;
	f->path_cut = f->path.present && (r.flags & KSM_CAP_CGROUP_PATH_CUT);
	if (!(r.flags & KSM_CAP_CGROUP_CONTAINER))
		return true;
	/* the names and lengths the parser gives, nothing else */
	const char *name = ksm_container_runtime((const char *)runtime.data, runtime.len);
	if (!name || !id.len || id.len > KSM_CONTAINER_NAME_MAX || memchr(id.data, '\0', id.len))
		return false;
	c->runtime = name;
	memcpy(c->id, id.data, id.len);
	c->id[id.len] = '\0';
	f->container = c;
	return true;
}

bool ksm_capture_read_hash(const uint8_t *rec, uint32_t size, bool *has_digest,
			   uint8_t sha256[32], struct ksm_text *error)
{
	FIXED(struct ksm_cap_hash, r);
	*has_digest = r.flags & KSM_CAP_HASH_DIGEST;
	memcpy(sha256, r.sha256, 32);
	return str_in(rec, size, sizeof(r), r.error, error);
}

bool ksm_capture_read_root(const uint8_t *rec, uint32_t size, uint8_t *at, struct ksm_text *path)
{
	FIXED(struct ksm_cap_root, r);
	if (r.at < KSM_ROOT_AT_PATH || r.at > KSM_ROOT_AT_UNRESOLVED)
		return false;
	*at = (uint8_t)r.at;
	if (!str_in(rec, size, sizeof(r), r.path, path))
		return false;
	return r.at != KSM_ROOT_AT_PATH || (path->present && path->len);
}
