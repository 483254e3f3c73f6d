/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The bounded event queue between the notify routines (producers) and
 * IRP_MJ_READ (the consumer).
 *
 * Bounded by both record count and bytes.  When full, the new record is
 * refused and counted by type - the oldest is never thrown away, so what
 * the client receives is an exact prefix of what happened plus a count of
 * what is missing.  The counts reach the client as an events_lost record
 * placed in the stream exactly where the first refused record would have
 * been, then start again from zero.
 *
 * All state is guarded by a fast mutex: producers and readers run at
 * PASSIVE_LEVEL, and holding it raises to APC_LEVEL, so the thread that
 * holds it cannot be suspended while other callbacks wait.
 */
#ifndef KSM_QUEUE_H
#define KSM_QUEUE_H

#include "record.h"

struct ksm_queue {
	FAST_MUTEX lock;
	_Guarded_by_(lock) LIST_ENTRY head;
	_Guarded_by_(lock) ksm_u32 count;
	ksm_u32 max_count;
	_Guarded_by_(lock) SIZE_T bytes; /* sum of record sizes queued */
	SIZE_T max_bytes;
	_Guarded_by_(lock) ksm_u64 next_seq;
	/* Refused records not yet reported, by type. */
	_Guarded_by_(lock) ksm_u64 lost[KSM_EV_MAX];
	_Guarded_by_(lock) BOOLEAN lost_pending;
	_Guarded_by_(lock) ksm_u64 lost_seq;  /* report goes before the record with this seq */
	_Guarded_by_(lock) ksm_u64 lost_time; /* time of the first refusal */
};

/* Every routine below takes the queue's fast mutex, so runs at IRQL <=
 * APC_LEVEL (ExAcquireFastMutex's rule). */

_IRQL_requires_max_(DISPATCH_LEVEL)
void ksm_queue_init(_Out_ struct ksm_queue *q, _In_ ksm_u32 max_count, _In_ SIZE_T max_bytes);

/* Queues e (taking ownership) or, if the queue is full, frees it and
 * counts it as lost.  TRUE when queued. */
_IRQL_requires_max_(APC_LEVEL)
BOOLEAN ksm_queue_push(_Inout_ struct ksm_queue *q, _In_ __drv_aliasesMem struct ksm_entry *e);

/* Counts an event of this type that could not even be built (allocation
 * failure) as lost. */
_IRQL_requires_max_(APC_LEVEL)
void ksm_queue_count_lost(_Inout_ struct ksm_queue *q, _In_ unsigned type, _In_ ksm_u64 now);

/*
 * Moves as many whole records as fit into buf (len bytes), oldest first.
 * STATUS_SUCCESS with *written > 0: records copied.
 * STATUS_SUCCESS with *written == 0: nothing to read (the caller waits).
 * STATUS_BUFFER_TOO_SMALL: the next record is larger than len; nothing is
 *   consumed and *needed says how large a buffer it takes.
 * A record is never split across reads.
 */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_
NTSTATUS ksm_queue_read(_Inout_ struct ksm_queue *q,
			_Out_writes_bytes_to_(len, *written) void *buf, _In_ ksm_u32 len,
			_Out_ ksm_u32 *written, _Out_ ksm_u32 *needed);

/* TRUE when a read would return data (records or a loss report). */
_IRQL_requires_max_(APC_LEVEL)
BOOLEAN ksm_queue_readable(_Inout_ struct ksm_queue *q);

/* Frees every queued record (unload). */
_IRQL_requires_max_(APC_LEVEL)
void ksm_queue_flush(_Inout_ struct ksm_queue *q);

#endif
