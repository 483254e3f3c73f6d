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
struct ksm_wstr ksm_wstr_from_us(PCUNICODE_STRING us);

struct ksm_entry *ksm_rec_process_create(ksm_u64 now, ksm_u32 pid, ksm_u32 ppid,
					 ksm_u32 parent_tid, const struct ksm_wstr *image,
					 const struct ksm_wstr *cmdline);
struct ksm_entry *ksm_rec_process_exit(ksm_u64 now, ksm_u32 pid, ksm_u32 tid,
				       ksm_u32 status, const char *comm);
/* type is KSM_EV_THREAD_CREATE or KSM_EV_THREAD_EXIT */
struct ksm_entry *ksm_rec_thread(ksm_u64 now, ksm_u16 type, ksm_u32 pid, ksm_u32 tid);
struct ksm_entry *ksm_rec_image_load(ksm_u64 now, ksm_u32 pid, ksm_u32 tid, ksm_u64 base,
				     ksm_u64 size, BOOLEAN kernel, const struct ksm_wstr *path,
				     ksm_u32 max_path_bytes);
struct ksm_entry *ksm_rec_exec_blocked(ksm_u64 now, ksm_u32 pid, const struct ksm_wstr *path,
				       const struct ksm_wstr *rule);
void ksm_rec_free(struct ksm_entry *e);

/* Writes an events_lost record to dst (room for sizeof(struct
 * ksm_events_lost) bytes); returns its size. */
ksm_u32 ksm_rec_write_lost(void *dst, ksm_u64 time, const ksm_u64 lost[KSM_EV_MAX]);

/* The Windows exit status as the record's wait(2)-style status field. */
ksm_u32 ksm_exit_status_to_wait(NTSTATUS status);

/* Fills comm with the last path component, non-ASCII as '?'. */
void ksm_comm_from_path(char comm[KSM_COMM_LEN], const struct ksm_wstr *path);

#endif
