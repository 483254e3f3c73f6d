/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SHA-256 of executed files, with a bounded cache keyed by device, inode,
 * size, modification and change time, so that a file executed again is
 * not read again unless it changed.
 */
#ifndef KSM_HASHCACHE_H
#define KSM_HASHCACHE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "policy/policy.h"

#define KSM_HASHCACHE_ENTRIES 4096

enum ksm_hash_status {
	KSM_HASH_OK = 0,
	KSM_HASH_TIMEOUT, /* the deadline passed before the whole file was read */
	KSM_HASH_ERROR,   /* the file could not be read, or no memory */
};

struct ksm_hashcache;

/* A cache of at most `entries` files (rounded up to a power of two). */
struct ksm_hashcache *ksm_hashcache_new(size_t entries);
void ksm_hashcache_free(struct ksm_hashcache *c);

/*
 * The digest of the regular file open as fd (read with pread, the file
 * offset is left alone).  Gives up at deadline_ns (CLOCK_MONOTONIC).
 * *cached says whether the answer came from the cache.  Safe to call from
 * several threads at once; a call blocked reading one file holds up no
 * other (the table is locked only to look up and to store).
 */
enum ksm_hash_status ksm_hashcache_get(struct ksm_hashcache *c, int fd, uint64_t deadline_ns,
				       uint8_t out[KSM_SHA256_LEN], int *cached);

/*
 * The cached digest of the file whose st_dev, st_ino, st_size and st_ctim
 * are those of *id (other fields ignored: a change of content or of the
 * modification time changes ctime), without opening anything.
 */
bool ksm_hashcache_find(struct ksm_hashcache *c, const struct stat *id, uint8_t out[KSM_SHA256_LEN]);

#endif
