/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "queue.h"

_Use_decl_annotations_
void ksm_queue_init(struct ksm_queue *q, ksm_u32 max_count, SIZE_T max_bytes)
{
	RtlZeroMemory(q, sizeof(*q));
	ExInitializeFastMutex(&q->lock);
	InitializeListHead(&q->head);
	q->max_count = max_count;
	q->max_bytes = max_bytes;
}

_Requires_lock_held_(q->lock)
static void note_lost(_Inout_ struct ksm_queue *q, _In_ unsigned type, _In_ ksm_u64 now)
{
	if (type >= KSM_EV_MAX)
		type = KSM_EV_NONE;
	if (!q->lost_pending) {
		q->lost_pending = TRUE;
		q->lost_seq = q->next_seq;
		q->lost_time = now;
	}
	q->lost[type]++;
}

_Requires_lock_held_(q->lock)
static BOOLEAN has_room(_In_ const struct ksm_queue *q, _In_ ksm_u32 size)
{
	return q->count < q->max_count && size <= q->max_bytes - q->bytes;
}

_Use_decl_annotations_
BOOLEAN ksm_queue_push(struct ksm_queue *q, struct ksm_entry *e)
{
	BOOLEAN queued = FALSE;
	struct ksm_header *h = ksm_entry_record(e);

	ExAcquireFastMutex(&q->lock);
	if (has_room(q, e->size)) {
		e->seq = q->next_seq++;
		InsertTailList(&q->head, &e->link);
		q->count++;
		q->bytes += e->size;
		queued = TRUE;
	} else {
		note_lost(q, e->type, h->time);
	}
	ExReleaseFastMutex(&q->lock);
	if (!queued)
		ksm_rec_free(e);
	return queued;
}

_Use_decl_annotations_
void ksm_queue_count_lost(struct ksm_queue *q, unsigned type, ksm_u64 now)
{
	ExAcquireFastMutex(&q->lock);
	note_lost(q, type, now);
	ExReleaseFastMutex(&q->lock);
}

_Requires_lock_held_(q->lock)
static struct ksm_entry *first(_In_ struct ksm_queue *q)
{
	return IsListEmpty(&q->head) ? NULL : CONTAINING_RECORD(q->head.Flink, struct ksm_entry, link);
}

/* The loss report is due before e (or now, when nothing follows it). */
_Requires_lock_held_(q->lock)
static BOOLEAN lost_due(_In_ const struct ksm_queue *q, _In_opt_ const struct ksm_entry *e)
{
	return q->lost_pending && (!e || e->seq >= q->lost_seq);
}

/* Caller has checked the room. */
_Requires_lock_held_(q->lock)
static ksm_u32 emit_lost(_Inout_ struct ksm_queue *q,
			 _Out_writes_bytes_(sizeof(struct ksm_events_lost)) char *dst)
{
	ksm_u32 n = ksm_rec_write_lost(dst, q->lost_time, q->lost);

	RtlZeroMemory(q->lost, sizeof(q->lost));
	q->lost_pending = FALSE;
	return n;
}

/* Caller has checked the room. */
_Requires_lock_held_(q->lock)
static ksm_u32 emit_entry(_Inout_ struct ksm_queue *q, _In_ struct ksm_entry *e,
			  _Out_writes_bytes_(e->size) char *dst)
{
	ksm_u32 n = e->size;

	RtlCopyMemory(dst, ksm_entry_record(e), n);
	RemoveHeadList(&q->head);
	q->count--;
	q->bytes -= n;
	ksm_rec_free(e);
	return n;
}

_Use_decl_annotations_
NTSTATUS ksm_queue_read(struct ksm_queue *q, void *buf, ksm_u32 len, ksm_u32 *written,
			ksm_u32 *needed)
{
	char *out = buf;
	ksm_u32 pos = 0, want = 0;
	struct ksm_entry *e;
	NTSTATUS status = STATUS_SUCCESS;

	*needed = 0;
	ExAcquireFastMutex(&q->lock);
	for (;;) {
		e = first(q);
		if (lost_due(q, e)) {
			want = sizeof(struct ksm_events_lost);
			if (want > len - pos)
				break;
			pos += emit_lost(q, out + pos);
			continue;
		}
		if (!e)
			break;
		want = e->size;
		if (want > len - pos)
			break;
		pos += emit_entry(q, e, out + pos);
	}
	if (pos == 0 && (e || q->lost_pending)) {
		/* Data is there but the very first record does not fit. */
		*needed = want;
		status = STATUS_BUFFER_TOO_SMALL;
	}
	ExReleaseFastMutex(&q->lock);
	*written = pos;
	return status;
}

_Use_decl_annotations_
BOOLEAN ksm_queue_readable(struct ksm_queue *q)
{
	BOOLEAN r;

	ExAcquireFastMutex(&q->lock);
	r = !IsListEmpty(&q->head) || q->lost_pending;
	ExReleaseFastMutex(&q->lock);
	return r;
}

_Use_decl_annotations_
void ksm_queue_flush(struct ksm_queue *q)
{
	struct ksm_entry *e;

	ExAcquireFastMutex(&q->lock);
	while ((e = first(q)) != NULL) {
		RemoveHeadList(&q->head);
		ksm_rec_free(e);
	}
	q->count = 0;
	q->bytes = 0;
	ExReleaseFastMutex(&q->lock);
}
