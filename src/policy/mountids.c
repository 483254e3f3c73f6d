// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "policy/mountids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int push(struct ksm_mount_ids *m, size_t *cap, uint64_t id)
{
	if (m->n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		uint64_t *p = realloc(m->ids, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->ids = p;
		*cap = c;
	}
	m->ids[m->n++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Where the reader is in a mountinfo line: its id, or the rest. */
enum at { AT_START, IN_ID, IN_REST };

/* One chunk of the file: each line's leading id into m. */
static int scan(const char *p, size_t len, enum at *at, uint64_t *v, struct ksm_mount_ids *m,
		size_t *cap)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (*at == IN_REST) {
			if (c == '\n')
				*at = AT_START;
		} else if (c >= '0' && c <= '9') {
			if (*at == IN_ID && *v > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			*v = (*at == IN_ID ? *v * 10 : 0) + (uint64_t)(c - '0');
			*at = IN_ID;
		} else if (*at == IN_ID && c == ' ') {
			int e = push(m, cap, *v);
			if (e)
				return e;
			*at = IN_REST;
		} else {
			return -EINVAL; /* not a mountinfo line */
		}
	}
	return 0;
}

int ksm_mount_ids_read(const char *path, struct ksm_mount_ids *out)
{
	char buf[16384];
	enum at at = AT_START;
	uint64_t v = 0;
	size_t cap = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : at == IN_ID ? -EINVAL : 0;
			break;
		}
		if ((err = scan(buf, (size_t)n, &at, &v, out, &cap)))
			break;
	}
	close(fd);
	if (err) {
		ksm_mount_ids_free(out);
		return err;
	}
	if (out->n)
		qsort(out->ids, out->n, sizeof(*out->ids), cmp_id);
	return 0;
}

bool ksm_mount_ids_has(const struct ksm_mount_ids *m, uint64_t id)
{
	return m->n && bsearch(&id, m->ids, m->n, sizeof(*m->ids), cmp_id);
}

void ksm_mount_ids_free(struct ksm_mount_ids *m)
{
	free(m->ids);
	m->ids = NULL;
	m->n = 0;
}

int ksm_mount_in_ns_of(const char *proc, uint32_t pid, uint64_t id)
{
	char path[256];
	struct ksm_mount_ids m;

	snprintf(path, sizeof(path), "%s/%u/mountinfo", proc, pid);
	int e = ksm_mount_ids_read(path, &m);
	if (e)
		return e;
	bool in = ksm_mount_ids_has(&m, id);
	ksm_mount_ids_free(&m);
	return in;
}

bool ksm_path_under_mount(const char *path, const char *point)
{
	size_t n = strlen(point);
	if (!strcmp(point, "/"))
		return path[0] == '/';
	return !strncmp(path, point, n) && (!path[n] || path[n] == '/');
}
