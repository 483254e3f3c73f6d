/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --hash sha256: the digest of the executed file (process_exec) and of each
 * loaded image (image_load), read only from a file proven (by fstat) to be
 * the one the record identifies (struct ksm_file_id), else an error.  Cached by device, inode, size and times, so a
 * file is read once until it changes; a file that cannot be read within the
 * time budget is reported as such instead of holding up the event stream.
 */
#ifndef KSM_FILEHASH_H
#define KSM_FILEHASH_H

#include "core/decode.h"
#include "policy/hashcache.h"

#define KSM_HASH_BUDGET_MS 50 /* longest one event waits for its digest */

/* sha256_error values: why an event has no digest */
#define KSM_HASH_ERR_TIMEOUT "timeout"         /* not read within the budget */
#define KSM_HASH_ERR_UNREADABLE "unreadable"   /* the file could not be opened or read */
#define KSM_HASH_ERR_CHANGED "changed"         /* what the process's view holds now is not
						  the file of the event (written, replaced,
						  or the process executed something else) */
#define KSM_HASH_ERR_GONE "gone"               /* the process ended before its file could
						  be opened through it */
#define KSM_HASH_ERR_NO_ID "no identity"       /* the record does not identify the file */

struct ksm_filehash {
	struct ksm_hashcache *cache;
	uint64_t hashed, cached, failed;
};

int ksm_filehash_init(struct ksm_filehash *h);
void ksm_filehash_free(struct ksm_filehash *h);
/* Sets ev->ctx.sha256 (or ctx.sha256_error) for exec and image events. */
void ksm_filehash_event(struct ksm_filehash *h, struct ksm_event *ev);

#endif
