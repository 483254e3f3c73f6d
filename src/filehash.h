/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --hash sha256: the digest of the executed file (process_exec) and of each
 * loaded image (image_load).  Cached by device, inode, size and times, so a
 * file is read once until it changes; a file that cannot be read within the
 * time budget is reported as such instead of holding up the event stream.
 */
#ifndef KSM_FILEHASH_H
#define KSM_FILEHASH_H

#include "decode.h"
#include "hashcache.h"

#define KSM_HASH_BUDGET_MS 50 /* longest one event waits for its digest */

struct ksm_filehash {
	struct ksm_hashcache *cache;
	uint64_t hashed, cached, failed;
};

int ksm_filehash_init(struct ksm_filehash *h);
void ksm_filehash_free(struct ksm_filehash *h);
/* Sets ev->ctx.sha256 (or ctx.sha256_error) for exec and image events. */
void ksm_filehash_event(struct ksm_filehash *h, struct ksm_event *ev);

#endif
