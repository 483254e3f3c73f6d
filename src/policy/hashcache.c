// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "policy/hashcache.h"

#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CHUNK (256u << 10)
#define WAYS 4

struct entry {
	uint64_t dev, ino, size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	uint64_t used; /* clock of the last use; 0 = empty */
	uint8_t digest[KSM_SHA256_LEN];
};

struct ksm_hashcache {
	pthread_mutex_t lock; /* the table; a file is hashed unlocked */
	struct entry *e;
	size_t sets; /* power of two; each set holds WAYS entries */
	uint64_t clock;
	EVP_MD *md;
};

struct ksm_hashcache *ksm_hashcache_new(size_t entries)
{
	struct ksm_hashcache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t sets = 1;
	while (sets * WAYS < entries)
		sets <<= 1;
	c->sets = sets;
	c->e = calloc(sets * WAYS, sizeof(*c->e));
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!c->e || !c->md) {
		ksm_hashcache_free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void ksm_hashcache_free(struct ksm_hashcache *c)
{
	if (!c)
		return;
	if (c->e && c->md)
		pthread_mutex_destroy(&c->lock);
	EVP_MD_free(c->md);
	free(c->e);
	free(c);
}

/* The identity of a file's current content, as far as stat tells. */
static struct entry key_of(const struct stat *st)
{
	return (struct entry){
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_sec = st->st_mtim.tv_sec,
		.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
		.ctime_sec = st->st_ctim.tv_sec,
		.ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
	};
}

static bool same_key(const struct entry *a, const struct entry *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

static struct entry *set_of(struct ksm_hashcache *c, const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_dev * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return &c->e[(h & (c->sets - 1)) * WAYS];
}

static enum ksm_hash_status hash_chunks(EVP_MD_CTX *ctx, uint8_t *buf, int fd, uint64_t deadline_ns,
					uint8_t out[KSM_SHA256_LEN])
{
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, CHUNK, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return KSM_HASH_ERROR;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			return KSM_HASH_ERROR;
		off += n;
		if (ksm_monotonic_ns() > deadline_ns)
			return KSM_HASH_TIMEOUT;
	}
	unsigned int len = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &len) || len != KSM_SHA256_LEN)
		return KSM_HASH_ERROR;
	return KSM_HASH_OK;
}

/* Hashes with a buffer and context of its own, so that callers on several
 * threads hash at once (only misses get here). */
static enum ksm_hash_status hash_fd(struct ksm_hashcache *c, int fd, uint64_t deadline_ns,
				    uint8_t out[KSM_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(CHUNK);
	enum ksm_hash_status status = KSM_HASH_ERROR;
	if (ctx && buf && EVP_DigestInit_ex(ctx, c->md, NULL))
		status = hash_chunks(ctx, buf, fd, deadline_ns, out);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return status;
}

bool ksm_hashcache_find(struct ksm_hashcache *c, const struct stat *id, uint8_t out[KSM_SHA256_LEN])
{
	struct entry key = key_of(id);
	struct entry *set = set_of(c, id);
	bool found = false;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < WAYS && !found; i++) {
		struct entry *e = &set[i];
		if (e->used && e->dev == key.dev && e->ino == key.ino && e->size == key.size &&
		    e->ctime_sec == key.ctime_sec && e->ctime_nsec == key.ctime_nsec) {
			e->used = ++c->clock;
			memcpy(out, e->digest, KSM_SHA256_LEN);
			found = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

enum ksm_hash_status ksm_hashcache_get(struct ksm_hashcache *c, int fd, uint64_t deadline_ns,
				       uint8_t out[KSM_SHA256_LEN], int *cached)
{
	struct stat st;

	*cached = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return KSM_HASH_ERROR;
	struct entry key = key_of(&st);
	struct entry *set = set_of(c, &st);
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && same_key(&set[i], &key)) {
			set[i].used = ++c->clock;
			memcpy(out, set[i].digest, KSM_SHA256_LEN);
			*cached = 1;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (*cached)
		return KSM_HASH_OK;
	enum ksm_hash_status status = hash_fd(c, fd, deadline_ns, out);
	if (status != KSM_HASH_OK)
		return status;
	/* a file written while it was read is not cached: the digest may mix
	 * old and new content, and the key is stale anyway */
	if (fstat(fd, &st))
		return KSM_HASH_OK;
	struct entry now = key_of(&st);
	if (!same_key(&now, &key))
		return KSM_HASH_OK;
	pthread_mutex_lock(&c->lock);
	struct entry *victim = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && set[i].dev == key.dev && set[i].ino == key.ino) {
			victim = &set[i]; /* an older version of the same file */
			break;
		}
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	*victim = key;
	victim->used = ++c->clock;
	memcpy(victim->digest, out, KSM_SHA256_LEN);
	pthread_mutex_unlock(&c->lock);
	return KSM_HASH_OK;
}
