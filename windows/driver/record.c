/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "record.h"

/* Records are laid end to end in the reader's buffer; keeping every size
 * a multiple of 8 keeps every header naturally aligned. */
static ksm_u32 align8(_In_ ksm_u32 n)
{
	return (n + 7u) & ~7u;
}

_Use_decl_annotations_
struct ksm_wstr ksm_wstr_from_us(PCUNICODE_STRING us)
{
	struct ksm_wstr w = { NULL, 0 };

	if (us && us->Buffer && us->Length) {
		w.buf = us->Buffer;
		w.bytes = us->Length & ~1u;
	}
	return w;
}

/* Allocates entry + record of `fixed` bytes plus `strings` bytes of
 * strings, all zeroed, and fills the header.  NULL on overflow or when
 * the pool is exhausted. */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
static struct ksm_entry *rec_alloc(_In_ ksm_u16 type, _In_ ksm_u16 flags, _In_ ksm_u64 now,
				   _In_ ksm_u32 fixed, _In_ ksm_u64 strings)
{
	struct ksm_entry *e;
	struct ksm_header *h;
	ksm_u64 total = (ksm_u64)fixed + strings;

	if (total > 4u * KSM_REC_STR_MAX)
		return NULL;
	total = align8((ksm_u32)total);
	e = ksm_alloc(sizeof(*e) + (SIZE_T)total);
	if (!e)
		return NULL;
	e->size = (ksm_u32)total;
	e->type = type;
	h = ksm_entry_record(e);
	h->type = type;
	h->flags = flags;
	h->size = (ksm_u32)total;
	h->time = now;
	return e;
}

/* Appends a string at *pos inside the record and describes it in *s. */
static void put_str(_Inout_ struct ksm_entry *e, _Inout_ ksm_u32 *pos, _Out_ struct ksm_str *s,
		    _In_reads_bytes_opt_(bytes) const void *src, _In_ ksm_u32 bytes)
{
	if (!src || bytes == 0)
		return; /* absent: offset 0, length 0 */
	RtlCopyMemory((char *)ksm_entry_record(e) + *pos, src, bytes);
	s->offset = *pos;
	s->length = bytes;
	*pos += bytes;
}

static ksm_u32 wbytes(_In_opt_ const struct ksm_wstr *w)
{
	return (w && w->buf) ? (w->bytes & ~1u) : 0;
}

static const WCHAR *wbuf(_In_opt_ const struct ksm_wstr *w)
{
	return w ? w->buf : NULL;
}

_Use_decl_annotations_
void ksm_comm_from_path(char comm[KSM_COMM_LEN], const struct ksm_wstr *path)
{
	ksm_u32 n = wbytes(path) / 2, start = 0, i, j = 0;

	RtlZeroMemory(comm, KSM_COMM_LEN);
	for (i = 0; i < n; i++)
		if (path->buf[i] == '\\' || path->buf[i] == '/')
			start = i + 1;
	for (i = start; i < n && j < KSM_COMM_LEN - 1; i++) {
		WCHAR c = path->buf[i];
		comm[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
}

_Use_decl_annotations_
struct ksm_entry *ksm_rec_process_create(ksm_u64 now, ksm_u32 pid, ksm_u32 ppid,
					 ksm_u32 parent_tid, ksm_u32 creator_pid,
					 const struct ksm_wstr *image, const struct ksm_wstr *cmdline)
{
	ksm_u32 ib = wbytes(image), cb = wbytes(cmdline), pos = sizeof(struct ksm_process_create);
	struct ksm_process_create *r;
	struct ksm_entry *e;

	if (ib > KSM_REC_STR_MAX || cb > KSM_REC_STR_MAX)
		return NULL;
	e = rec_alloc(KSM_EV_PROCESS_CREATE, KSM_HF_TIME_REALTIME | KSM_HF_UTF16, now, pos,
		      (ksm_u64)ib + cb);
	if (!e)
		return NULL;
	r = ksm_entry_record(e);
	r->pid = pid;
	r->ppid = ppid;
	r->parent_tid = parent_tid;
	r->creator_pid = creator_pid;
	ksm_comm_from_path(r->comm, image);
	put_str(e, &pos, &r->image, wbuf(image), ib);
	put_str(e, &pos, &r->cmdline, wbuf(cmdline), cb);
	return e;
}

_Use_decl_annotations_
struct ksm_entry *ksm_rec_process_exit(ksm_u64 now, ksm_u32 pid, ksm_u32 tid, ksm_u32 status,
				       const char *comm)
{
	struct ksm_process_exit *r;
	struct ksm_entry *e;
	int i;

	e = rec_alloc(KSM_EV_PROCESS_EXIT, KSM_HF_TIME_REALTIME, now, sizeof(*r), 0);
	if (!e)
		return NULL;
	r = ksm_entry_record(e);
	r->pid = pid;
	r->tid = tid;
	r->status = status;
	for (i = 0; comm && comm[i] && i < KSM_COMM_LEN - 1; i++)
		r->comm[i] = comm[i];
	return e;
}

_Use_decl_annotations_
struct ksm_entry *ksm_rec_thread(ksm_u64 now, ksm_u16 type, ksm_u32 pid, ksm_u32 tid)
{
	struct ksm_thread *r;
	struct ksm_entry *e;

	if (type != KSM_EV_THREAD_CREATE && type != KSM_EV_THREAD_EXIT)
		return NULL;
	e = rec_alloc(type, KSM_HF_TIME_REALTIME, now, sizeof(*r), 0);
	if (!e)
		return NULL;
	r = ksm_entry_record(e);
	r->pid = pid;
	r->tid = tid;
	return e;
}

/* Longest prefix of at most max bytes that does not split a UTF-16
 * surrogate pair. */
static ksm_u32 cut_utf16(_In_reads_bytes_(bytes) const WCHAR *s, _In_ ksm_u32 bytes,
			 _In_ ksm_u32 max)
{
	ksm_u32 n;

	if (bytes <= max)
		return bytes;
	n = (max & ~1u) / 2;
	if (n > 0 && s[n - 1] >= 0xD800 && s[n - 1] <= 0xDBFF)
		n--; /* a high surrogate whose partner would be cut off */
	return n * 2;
}

_Use_decl_annotations_
struct ksm_entry *ksm_rec_image_load(ksm_u64 now, ksm_u32 pid, ksm_u32 tid, ksm_u64 base,
				     ksm_u64 size, BOOLEAN kernel, const struct ksm_wstr *path,
				     ksm_u32 max_path_bytes)
{
	ksm_u32 pb = wbytes(path), keep, pos = sizeof(struct ksm_image_load);
	struct ksm_image_load *r;
	struct ksm_entry *e;

	if (max_path_bytes > KSM_REC_STR_MAX)
		max_path_bytes = KSM_REC_STR_MAX;
	keep = pb ? cut_utf16(path->buf, pb, max_path_bytes) : 0;
	e = rec_alloc(KSM_EV_IMAGE_LOAD, KSM_HF_TIME_REALTIME | KSM_HF_UTF16, now, pos, keep);
	if (!e)
		return NULL;
	r = ksm_entry_record(e);
	/* Kernel images belong to no process: pid 0 by convention. */
	r->pid = kernel ? 0 : pid;
	r->tid = kernel ? 0 : tid;
	r->base = base;
	r->size = size;
	r->flags = (kernel ? KSM_IMAGE_KERNEL : 0) | (keep < pb ? KSM_IMAGE_TRUNCATED : 0);
	put_str(e, &pos, &r->path, wbuf(path), keep);
	return e;
}

_Use_decl_annotations_
struct ksm_entry *ksm_rec_exec_blocked(ksm_u64 now, ksm_u32 pid, const struct ksm_wstr *path,
				       const struct ksm_wstr *rule)
{
	ksm_u32 pb = wbytes(path), rb = wbytes(rule), pos = sizeof(struct ksm_exec_blocked);
	struct ksm_exec_blocked *r;
	struct ksm_entry *e;

	if (pb > KSM_REC_STR_MAX || rb > KSM_REC_STR_MAX)
		return NULL;
	e = rec_alloc(KSM_EV_EXEC_BLOCKED, KSM_HF_TIME_REALTIME | KSM_HF_UTF16, now, pos,
		      (ksm_u64)pb + rb);
	if (!e)
		return NULL;
	r = ksm_entry_record(e);
	r->pid = pid;
	put_str(e, &pos, &r->path, wbuf(path), pb);
	put_str(e, &pos, &r->rule, wbuf(rule), rb);
	return e;
}

_Use_decl_annotations_
void ksm_rec_free(struct ksm_entry *e)
{
	ksm_free(e);
}

_Use_decl_annotations_
ksm_u32 ksm_rec_write_lost(void *dst, ksm_u64 time, const ksm_u64 lost[KSM_EV_MAX])
{
	struct ksm_events_lost *r = dst;
	int i;

	RtlZeroMemory(r, sizeof(*r));
	r->hdr.type = KSM_EV_EVENTS_LOST;
	r->hdr.flags = KSM_HF_TIME_REALTIME;
	r->hdr.size = sizeof(*r);
	r->hdr.time = time;
	for (i = 0; i < KSM_EV_MAX; i++)
		r->lost[i] = lost[i];
	return sizeof(*r);
}

_Use_decl_annotations_
ksm_u32 ksm_exit_status_to_wait(NTSTATUS status)
{
	/* wait(2) keeps the exit code in bits 8..15; Windows exit codes are
	 * 32 bits wide, so the shift keeps the low 24 of them and a reader
	 * following wait(2) conventions sees the low 8. */
	return (ksm_u32)status << 8;
}
