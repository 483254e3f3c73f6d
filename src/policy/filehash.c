// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "policy/filehash.h"

#include "core/bounded.h"
#include "core/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int ksm_filehash_init(struct ksm_filehash *h)
{
	memset(h, 0, sizeof(*h));
	h->cache = ksm_hashcache_new(KSM_HASHCACHE_ENTRIES);
	return h->cache ? 0 : -1;
}

/* A cache a held read (core/bounded.h) may still come back to. */
static struct ksm_hashcache *abandoned;

void ksm_filehash_free(struct ksm_filehash *h)
{
	if (ksm_bounded_held())
		abandoned = h->cache;
	else
		ksm_hashcache_free(h->cache);
	h->cache = NULL;
}

/* The identity of the record as the struct stat fstat(2) would give. */
static struct stat stat_of(const struct ksm_file_id *id)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_dev = makedev(ksm_dev_major(id->dev), ksm_dev_minor(id->dev));
	st.st_ino = (ino_t)id->inode;
	st.st_size = (off_t)id->size;
	st.st_ctim = ksm_timespec_of(id->ctime);
	return st;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* What the search for the event's file found. */
struct search {
	const struct stat *want;
	int fd;         /* the file, proven; -1 until found */
	bool other;     /* the process's own view holds another file (changed, replaced) */
	bool error;     /* an open failed other than for a missing process or file */
};

/* Opens path (built from fmt) and keeps it if it is the wanted file; own:
 * the path is the process's own view (not its parent's). */
static void try_open(struct search *s, bool own, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void try_open(struct search *s, bool own, const char *fmt, ...)
{
	char path[PATH_MAX + 64];
	struct stat st;
	va_list ap;

	if (s->fd >= 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT && errno != ESRCH && errno != ENOTDIR)
			s->error = true;
		return;
	}
	if (!fstat(fd, &st) && same_file(&st, s->want)) {
		s->fd = fd;
		return;
	}
	s->other |= own;
	close(fd);
}

/* A path of the record usable under /proc/PID/root: absolute, whole,
 * not deleted (a deleted file has no name to open), from a root (one on a
 * tree in no namespace names, under a root, another file or none);
 * state: enum ksm_path_state. */
static bool usable_path(const struct ksm_text *t, unsigned state, char out[PATH_MAX])
{
	if (!t->present || t->utf16 || state || !t->len || t->len >= PATH_MAX ||
	    t->data[0] != '/' || memchr(t->data, 0, t->len))
		return false;
	memcpy(out, t->data, t->len);
	out[t->len] = '\0';
	return true;
}

/* The mapping that starts at base, through /proc/PID/map_files. */
static void try_map_file(struct search *s, uint32_t pid, uint64_t base)
{
	char dir[64], prefix[32];
	snprintf(dir, sizeof(dir), "/proc/%u/map_files", pid);
	int plen = snprintf(prefix, sizeof(prefix), "%llx-", (unsigned long long)base);
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strncmp(e->d_name, prefix, (size_t)plen)) {
			try_open(s, true, "%s/%s", dir, e->d_name);
			break;
		}
	}
	closedir(d);
}

/* What reading the event's file needs, copied from it: the read runs on a
 * worker (core/bounded.h) that may outlive the event, held by a file
 * system whose server never answers. */
struct hash_job {
	bool exec;          /* else an image load */
	uint32_t pid, ppid; /* ppid: an exec's parent */
	uint64_t base;      /* an image's mapping */
	bool has_path;
	char path[PATH_MAX]; /* the record's path, usable under /proc/PID/root */
	struct stat want;
	uint64_t deadline_ns;
	struct ksm_hashcache *cache;
	/* the answer */
	const char *why; /* no file: why */
	enum ksm_hash_status status;
	int cached;
	uint8_t sha256[KSM_SHA256_LEN];
};

/*
 * Opens the file the event is about, proven by fstat to be that file (the
 * record's device, inode, size and change time), only through the
 * process's own view: /proc/PID/exe or the mapping, then the recorded path
 * under /proc/PID/root (and, for an exec, under the parent's root, when the
 * process is already gone).  A path in ksysmon's own mount namespace is
 * never used: there it may name another file.  Returns the fd, or -1 with
 * *why set.
 */
static int open_subject(const struct hash_job *j, const char **why)
{
	struct search s = { .want = &j->want, .fd = -1 };

	if (j->exec) {
		try_open(&s, true, "/proc/%u/exe", j->pid);
		if (j->has_path) {
			try_open(&s, true, "/proc/%u/root%s", j->pid, j->path);
			try_open(&s, false, "/proc/%u/root%s", j->ppid, j->path);
		}
	} else {
		try_map_file(&s, j->pid, j->base);
		if (j->has_path)
			try_open(&s, true, "/proc/%u/root%s", j->pid, j->path);
	}
	if (s.fd < 0)
		*why = s.other ? KSM_HASH_ERR_CHANGED : s.error ? KSM_HASH_ERR_UNREADABLE : KSM_HASH_ERR_GONE;
	return s.fd;
}

static void hash_job(void *p)
{
	struct hash_job *j = p;
	int fd = open_subject(j, &j->why);
	if (fd < 0)
		return;
	j->status = ksm_hashcache_get(j->cache, fd, j->deadline_ns, j->sha256, &j->cached);
	close(fd);
}

static void drop_job(void *p)
{
	free(p);
}

/* The job of the event's file; NULL: no memory. */
static struct hash_job *job_of(const struct ksm_event *ev, const struct stat *want,
			       struct ksm_hashcache *cache)
{
	struct hash_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->exec = ev->type == KSM_EV_PROCESS_EXEC;
	j->pid = ev->pid;
	j->want = *want;
	j->cache = cache;
	if (j->exec) {
		j->ppid = ev->u.exec.ppid;
		j->has_path = usable_path(&ev->u.exec.image, ev->u.exec.image_state, j->path);
	} else {
		j->base = ev->u.image.base;
		j->has_path = usable_path(&ev->u.image.path, ev->u.image.path_state, j->path);
	}
	return j;
}

void ksm_filehash_event(struct ksm_filehash *h, struct ksm_event *ev)
{
	struct ksm_context *c = &ev->ctx;

	if (ev->type != KSM_EV_PROCESS_EXEC &&
	    !(ev->type == KSM_EV_IMAGE_LOAD && !(ev->flags & KSM_IMAGE_KERNEL)))
		return;
	const struct ksm_file_id *id =
		ev->type == KSM_EV_PROCESS_EXEC ? &ev->u.exec.image_id : &ev->u.image.file;
	if (!id->inode && !id->dev) {
		c->sha256_error = KSM_HASH_ERR_NO_ID;
		h->failed++;
		return;
	}
	struct stat want = stat_of(id);
	if (ksm_hashcache_find(h->cache, &want, c->sha256)) {
		c->has_sha256 = true;
		h->cached++;
		return;
	}
	struct hash_job *j = job_of(ev, &want, h->cache);
	if (!j) {
		c->sha256_error = KSM_HASH_ERR_UNREADABLE;
		h->failed++;
		return;
	}
	/* the whole of it (opening too: a FUSE server may hold the open) within
	 * the budget; the same file held already is not asked again */
	uint64_t budget = KSM_HASH_BUDGET_MS * 1000000ull;
	j->deadline_ns = ksm_monotonic_ns() + budget;
	uint64_t key = ((uint64_t)want.st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)want.st_dev) | 1;
	int rc = ksm_bounded_call(key, hash_job, j, drop_job, budget);
	if (rc) {
		if (rc != -ETIMEDOUT)
			drop_job(j);
		c->sha256_error = KSM_HASH_ERR_TIMEOUT;
		h->failed++;
		return;
	}
	if (j->why) {
		c->sha256_error = j->why;
		h->failed++;
	} else if (j->status == KSM_HASH_OK) {
		memcpy(c->sha256, j->sha256, KSM_SHA256_LEN);
		c->has_sha256 = true;
		if (j->cached)
			h->cached++;
		else
			h->hashed++;
	} else {
		c->sha256_error = j->status == KSM_HASH_TIMEOUT ? KSM_HASH_ERR_TIMEOUT
								: KSM_HASH_ERR_UNREADABLE;
		h->failed++;
	}
	free(j);
}
