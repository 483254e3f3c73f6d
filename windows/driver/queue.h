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
	LIST_ENTRY head;
	ksm_u32 count;
	ksm_u32 max_count;
	SIZE_T bytes; /* sum of record sizes queued */
	SIZE_T max_bytes;
	ksm_u64 next_seq;
	/* Refused records not yet reported, by type. */
	ksm_u64 lost[KSM_EV_MAX];
	BOOLEAN lost_pending;
	ksm_u64 lost_seq;  /* report goes before the record with this seq */
	ksm_u64 lost_time; /* time of the first refusal */
};

void ksm_queue_init(struct ksm_queue *q, ksm_u32 max_count, SIZE_T max_bytes);

/* Queues e (taking ownership) or, if the queue is full, frees it and
 * counts it as lost.  TRUE when queued. */
BOOLEAN ksm_queue_push(struct ksm_queue *q, struct ksm_entry *e);

/* Counts an event of this type that could not even be built (allocation
 * failure) as lost. */
void ksm_queue_count_lost(struct ksm_queue *q, unsigned type, ksm_u64 now);

/*
 * Moves as many whole records as fit into buf (len bytes), oldest first.
 * STATUS_SUCCESS with *written > 0: records copied.
 * STATUS_SUCCESS with *written == 0: nothing to read (the caller waits).
 * STATUS_BUFFER_TOO_SMALL: the next record is larger than len; nothing is
 *   consumed and *needed says how large a buffer it takes.
 * A record is never split across reads.
 */
NTSTATUS ksm_queue_read(struct ksm_queue *q, void *buf, ksm_u32 len, ksm_u32 *written,
			ksm_u32 *needed);

/* TRUE when a read would return data (records or a loss report). */
BOOLEAN ksm_queue_readable(struct ksm_queue *q);

/* Frees every queued record (unload). */
void ksm_queue_flush(struct ksm_queue *q);

#endif
