// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "filehash.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
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

void ksm_filehash_free(struct ksm_filehash *h)
{
	ksm_hashcache_free(h->cache);
	h->cache = NULL;
}

/* dev as the kernel encodes it in st_dev (new_encode_dev) */
static uint32_t encode_dev(dev_t dev)
{
	uint32_t ma = major(dev), mi = minor(dev);
	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

/*
 * Opens the file the event is about: the running process's own executable
 * when it is still there (exactly the file it executed), otherwise the path.
 * For images, the file must still be the one mapped (same device, inode).
 */
static int open_subject(const struct ksm_event *ev)
{
	char path[PATH_MAX];
	const struct ksm_text *t;
	int fd = -1;

	if (ev->type == KSM_EV_PROCESS_EXEC) {
		snprintf(path, sizeof(path), "/proc/%u/exe", ev->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		t = &ev->u.exec.image;
	} else {
		t = &ev->u.image.path;
	}
	if (!t->present || t->utf16 || t->len >= sizeof(path) || (ev->flags & KSM_IMAGE_DELETED &&
								  ev->type == KSM_EV_IMAGE_LOAD))
		return -1;
	memcpy(path, t->data, t->len);
	path[t->len] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || ev->type != KSM_EV_IMAGE_LOAD)
		return fd;
	struct stat st;
	if (fstat(fd, &st) || st.st_ino != ev->u.image.inode || encode_dev(st.st_dev) != ev->u.image.dev) {
		close(fd);
		return -2;
	}
	return fd;
}

void ksm_filehash_event(struct ksm_filehash *h, struct ksm_event *ev)
{
	struct ksm_context *c = &ev->ctx;
	int cached = 0;

	if (ev->type != KSM_EV_PROCESS_EXEC &&
	    !(ev->type == KSM_EV_IMAGE_LOAD && !(ev->flags & KSM_IMAGE_KERNEL)))
		return;
	int fd = open_subject(ev);
	if (fd < 0) {
		c->sha256_error = fd == -2 ? "changed" : "unreadable";
		h->failed++;
		return;
	}
	uint64_t deadline = ksm_monotonic_ns() + KSM_HASH_BUDGET_MS * 1000000ull;
	switch (ksm_hashcache_get(h->cache, fd, deadline, c->sha256, &cached)) {
	case KSM_HASH_OK:
		c->has_sha256 = true;
		if (cached)
			h->cached++;
		else
			h->hashed++;
		break;
	case KSM_HASH_TIMEOUT:
		c->sha256_error = "timeout";
		h->failed++;
		break;
	default:
		c->sha256_error = "unreadable";
		h->failed++;
		break;
	}
	close(fd);
}
