// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/rootpasswd.h"

#define KSM_MOUNTINFO_MAX (64u << 20) /* bytes of mountinfo read; past it the table is cut */

void ksm_mountinfo_unescape(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; s[i] && o + 1 < len; i++) {
		unsigned v;
		if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '3' && sscanf(s + i + 1, "%3o", &v) == 1) {
			out[o++] = (char)v;
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	if (len)
		out[o] = '\0';
}

static char *unescaped(const char *s)
{
	size_t n = strlen(s) + 1;
	char *out = malloc(n);
	if (out)
		ksm_mountinfo_unescape(s, out, n);
	return out;
}

/* "id parent major:minor root point ...": false when the line is not that */
static bool parse_line(char *line, struct ksm_mount *m)
{
	char *save, *f[5];
	unsigned major, minor;
	for (int i = 0; i < 5; i++)
		if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
			return false;
	if (sscanf(f[0], "%u", &m->id) != 1 || sscanf(f[2], "%u:%u", &major, &minor) != 2)
		return false;
	m->dev = (uint32_t)makedev(major, minor);
	m->root = unescaped(f[3]);
	m->point = unescaped(f[4]);
	return true;
}

int ksm_mounts_parse(const char *text, size_t len, uint64_t since, struct ksm_mount_table *t)
{
	size_t cap = 0;
	const char *p = text, *end = text + len;

	t->v = NULL;
	t->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = strndup(p, n);
		p += n + 1;
		if (!line)
			goto nomem;
		struct ksm_mount m = { .since = since };
		bool ok = parse_line(line, &m);
		free(line);
		if (!ok)
			continue;
		struct ksm_mount *v = t->v;
		if (m.root && m.point && t->n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(t->v, cap * sizeof(*v));
		}
		if (!m.root || !m.point || !v) {
			free(m.root);
			free(m.point);
			goto nomem;
		}
		t->v = v;
		t->v[t->n++] = m;
	}
	return 0;
nomem:
	ksm_mounts_free(t);
	return -ENOMEM;
}

void ksm_mounts_free(struct ksm_mount_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].root);
		free(t->v[i].point);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* The part of fs_path below root ("" when equal), or NULL when root does
 * not hold it. */
static const char *below(const char *root, const char *fs_path)
{
	size_t n = strlen(root);
	if (!strcmp(root, "/"))
		return strcmp(fs_path, "/") ? fs_path : "";
	if (strncmp(fs_path, root, n) || (fs_path[n] && fs_path[n] != '/'))
		return NULL;
	return fs_path + n;
}

/* point and rest joined ("/" + "/a" is "/a"); NULL when it does not fit */
static char *join(const char *point, const char *rest)
{
	size_t a = strlen(point), b = strlen(rest);
	if (a == 1 && *rest)
		a = 0; /* point is "/" */
	char *s = malloc(a + b + 1);
	if (s) {
		memcpy(s, point, a);
		memcpy(s + a, rest, b + 1);
	}
	return s;
}

/* Whether path lies on or below dir. */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1)
		return true; /* "/" */
	return !strncmp(path, dir, n) && (!path[n] || path[n] == '/');
}

/* Whether a mount after i lies on path or above it. */
static bool covered(const struct ksm_mount_table *t, size_t i, const char *path)
{
	for (size_t j = i + 1; j < t->n; j++)
		if (under(path, t->v[j].point))
			return true;
	return false;
}

long ksm_mounts_find(const struct ksm_mount_table *t, uint32_t dev, const char *fs_path,
		     bool (*fn)(void *ctx, const char *path), void *ctx)
{
	char **paths = calloc(t->n ? t->n : 1, sizeof(*paths));
	long found = -1;

	if (!paths)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const char *rest;
		if (t->v[i].dev != dev || !(rest = below(t->v[i].root, fs_path)))
			continue;
		paths[i] = join(t->v[i].point, rest);
		if (paths[i] && covered(t, i, paths[i])) {
			free(paths[i]);
			paths[i] = NULL;
		}
	}
	/* shortest first; among equals the first listed */
	for (;;) {
		long best = -1;
		for (size_t i = 0; i < t->n; i++)
			if (paths[i] && (best < 0 || strlen(paths[i]) < strlen(paths[best])))
				best = (long)i;
		if (best < 0)
			break;
		if (fn(ctx, paths[best])) {
			found = best;
			break;
		}
		free(paths[best]);
		paths[best] = NULL;
	}
	for (size_t i = 0; i < t->n; i++)
		free(paths[i]);
	free(paths);
	return found;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads the whole table again; a mount already known (same id, device,
 * top and point) keeps its since. */
static int reread(struct ksm_mounts *m, uint64_t polled_at)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (lseek(m->fd, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	while ((n = read(m->fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap && cap < KSM_MOUNTINFO_MAX) {
			char *b = realloc(buf, cap *= 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		} else if (len == cap) {
			break;
		}
	}
	int e = n < 0 ? -errno : 0;
	struct ksm_mount_table t;
	if (!e)
		e = ksm_mounts_parse(buf, len, boottime_ns(), &t);
	free(buf);
	if (e)
		return e;
	for (size_t i = 0; i < t.n; i++)
		for (size_t j = 0; j < m->t.n; j++) {
			const struct ksm_mount *a = &t.v[i], *b = &m->t.v[j];
			if (a->id == b->id && a->dev == b->dev && !strcmp(a->root, b->root) &&
			    !strcmp(a->point, b->point)) {
				t.v[i].since = b->since;
				break;
			}
		}
	ksm_mounts_free(&m->t);
	m->t = t;
	m->valid_from = polled_at;
	m->generation++;
	return 0;
}

/* Reads the table again when the kernel says it changed since the last
 * poll (POLLPRI on mountinfo). */
static int refresh(struct ksm_mounts *m)
{
	uint64_t now = boottime_ns();
	struct pollfd p = { .fd = m->fd, .events = POLLPRI };
	if (poll(&p, 1, 0) < 0)
		return -errno;
	return (p.revents & (POLLPRI | POLLERR)) ? reread(m, now) : 0;
}

int ksm_mounts_open(struct ksm_mounts *m, const char *proc_dir)
{
	char path[256];
	memset(m, 0, sizeof(*m));
	m->proc_dir = proc_dir;
	m->last.index = -1;
	snprintf(path, sizeof(path), "%s/self/mountinfo", proc_dir);
	uint64_t now = boottime_ns();
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	int e = reread(m, now);
	if (e) {
		close(m->fd);
		m->fd = -1;
	}
	return e;
}

static void forget_last(struct ksm_mounts *m)
{
	free(m->last.fs_path);
	free(m->last.path);
	m->last.fs_path = m->last.path = NULL;
	m->last.index = -1;
}

void ksm_mounts_close(struct ksm_mounts *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	ksm_mounts_free(&m->t);
	forget_last(m);
}

struct check {
	uint32_t dev;
	char *path;
};

/* A path through a mount is taken when stat(2) agrees that it is on dev:
 * what the table cannot see (a mount moved over it) is refused. */
static bool on_dev(void *ctx, const char *path)
{
	struct check *c = ctx;
	struct stat st;
	if (stat(path, &st) || (uint32_t)st.st_dev != c->dev)
		return false;
	c->path = strdup(path);
	return c->path != NULL;
}

/* The table's answer for dev and fs_path: the index of the mount (and
 * m->last.path), or -1; the last answer when the table is the same. */
static long find(struct ksm_mounts *m, uint32_t dev, const char *fs_path)
{
	if (m->last.fs_path && m->last.generation == m->generation && m->last.dev == dev &&
	    !strcmp(m->last.fs_path, fs_path))
		return m->last.index;
	forget_last(m);
	struct check c = { .dev = dev };
	long i = ksm_mounts_find(&m->t, dev, fs_path, on_dev, &c);
	m->last.fs_path = strdup(fs_path);
	if (!m->last.fs_path) {
		free(c.path);
		return -1;
	}
	m->last.generation = m->generation;
	m->last.dev = dev;
	m->last.index = i;
	m->last.path = c.path;
	return i;
}

/* Whether the process still lives with its root on dev (then its root
 * holds that filesystem, and no other has its device number). */
static bool still_on(const struct ksm_mounts *m, const struct ksm_root_query *q)
{
	uint64_t dev;
	return !ksm_proc_root_dev(m->proc_dir, q->pid, q->start_ns, &dev) && (uint32_t)dev == q->dev;
}

enum ksm_root_at ksm_root_locate(struct ksm_mounts *m, const struct ksm_root_query *q,
				     const char **path)
{
	*path = NULL;
	if (m->fd < 0 || refresh(m))
		return KSM_ROOT_AT_UNRESOLVED;
	long i = find(m, q->dev, q->fs_path);
	bool held = i >= 0 ? m->t.v[i].since <= q->exec_ns : m->valid_from <= q->exec_ns;
	if (!held && !still_on(m, q))
		return KSM_ROOT_AT_UNRESOLVED;
	if (i < 0)
		return KSM_ROOT_AT_UNREACHABLE;
	*path = m->last.path;
	return KSM_ROOT_AT_PATH;
}
