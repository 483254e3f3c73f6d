/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building ksysmon records (include/ksysmon_event.h) from what the kernel
 * notify routines receive.  Each record lives in its own allocation behind
 * a struct ksm_entry that the queue links; a builder either returns a
 * complete record or NULL (out of memory, or a string beyond
 * KSM_REC_STR_MAX), never a silently shortened one.
 */
#ifndef KSM_RECORD_H
#define KSM_RECORD_H

#include "ksm_kern.h"

/* A counted UTF-16 string; bytes is always even. */
struct ksm_wstr {
	const WCHAR *buf;
	ksm_u32 bytes;
};

/* Queue linkage in front of every record. */
struct ksm_entry {
	LIST_ENTRY link;
	ksm_u64 seq;  /* set by the queue */
	ksm_u32 size; /* the record's size (== hdr.size) */
	ksm_u32 type;
	/* the record follows, 8-byte aligned */
};

static inline void *ksm_entry_record(struct ksm_entry *e)
{
	return e + 1;
}

/* No single string may exceed this (UNICODE_STRING itself stops at
 * 65534 bytes; the limit only guards the 32-bit arithmetic). */
#define KSM_REC_STR_MAX (1u << 20)
/* Image-load paths longer than this are cut and flagged
 * KSM_IMAGE_TRUNCATED: they are frequent, so each is kept small. */
#define KSM_IMAGE_PATH_MAX_BYTES (2048u * 2u)

/* A fresh UNICODE_STRING view; a NULL string gives an absent one. */
struct ksm_wstr ksm_wstr_from_us(_In_opt_ PCUNICODE_STRING us);

/* The builders allocate from paged pool: IRQL <= APC_LEVEL.  NULL when
 * the pool is exhausted or a string is beyond KSM_REC_STR_MAX. */

_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
struct ksm_entry *ksm_rec_process_create(_In_ ksm_u64 now, _In_ ksm_u32 pid, _In_ ksm_u32 ppid,
					 _In_ ksm_u32 parent_tid, _In_ ksm_u32 creator_pid,
					 _In_opt_ const struct ksm_wstr *image,
					 _In_opt_ const struct ksm_wstr *cmdline);
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
struct ksm_entry *ksm_rec_process_exit(_In_ ksm_u64 now, _In_ ksm_u32 pid, _In_ ksm_u32 tid,
				       _In_ ksm_u32 status, _In_opt_z_ const char *comm);
/* type is KSM_EV_THREAD_CREATE or KSM_EV_THREAD_EXIT */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
struct ksm_entry *ksm_rec_thread(_In_ ksm_u64 now, _In_ ksm_u16 type, _In_ ksm_u32 pid,
				 _In_ ksm_u32 tid);
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
struct ksm_entry *ksm_rec_image_load(_In_ ksm_u64 now, _In_ ksm_u32 pid, _In_ ksm_u32 tid,
				     _In_ ksm_u64 base, _In_ ksm_u64 size, _In_ BOOLEAN kernel,
				     _In_opt_ const struct ksm_wstr *path,
				     _In_ ksm_u32 max_path_bytes);
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
struct ksm_entry *ksm_rec_exec_blocked(_In_ ksm_u64 now, _In_ ksm_u32 pid,
				       _In_opt_ const struct ksm_wstr *path,
				       _In_opt_ const struct ksm_wstr *rule);
_IRQL_requires_max_(APC_LEVEL)
void ksm_rec_free(_In_opt_ __drv_freesMem(Mem) struct ksm_entry *e);

/* Writes an events_lost record to dst (room for sizeof(struct
 * ksm_events_lost) bytes); returns its size. */
ksm_u32 ksm_rec_write_lost(_Out_writes_bytes_(sizeof(struct ksm_events_lost)) void *dst,
			   _In_ ksm_u64 time, _In_reads_(KSM_EV_MAX) const ksm_u64 lost[KSM_EV_MAX]);

/* The Windows exit status as the record's wait(2)-style status field. */
ksm_u32 ksm_exit_status_to_wait(_In_ NTSTATUS status);

/* Fills comm with the last path component, non-ASCII as '?'. */
void ksm_comm_from_path(_Out_writes_(KSM_COMM_LEN) char comm[KSM_COMM_LEN],
			_In_opt_ const struct ksm_wstr *path);

#endif
