// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "core/bounded.h"
#include "pipeline/rootpasswd.h"

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
	t->cut = false;
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
	t->cut = false;
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

long ksm_mounts_find(const struct ksm_mount_table *t, uint32_t dev, const char *fs_path,
		     bool (*fn)(void *ctx, const char *path, const struct ksm_mount *m), void *ctx)
{
	char **paths = calloc(t->n ? t->n : 1, sizeof(*paths));
	long found = -1;

	if (!paths)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const char *rest;
		if (t->v[i].dev == dev && (rest = below(t->v[i].root, fs_path)))
			paths[i] = join(t->v[i].point, rest);
	}
	/* shortest first; among equals the first listed */
	for (;;) {
		long best = -1;
		for (size_t i = 0; i < t->n; i++)
			if (paths[i] && (best < 0 || strlen(paths[i]) < strlen(paths[best])))
				best = (long)i;
		if (best < 0)
			break;
		if (fn(ctx, paths[best], &t->v[best])) {
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

static int by_id(const void *a, const void *b)
{
	const struct ksm_mount *x = *(const struct ksm_mount *const *)a;
	const struct ksm_mount *y = *(const struct ksm_mount *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Each mount of t that old had already (same id, device, top and point)
 * keeps its since: O(n log n), whatever the number of mounts. */
static int keep_since(struct ksm_mount_table *t, const struct ksm_mount_table *old)
{
	const struct ksm_mount **sorted = malloc((old->n ? old->n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t j = 0; j < old->n; j++)
		sorted[j] = &old->v[j];
	qsort(sorted, old->n, sizeof(*sorted), by_id);
	for (size_t i = 0; i < t->n; i++) {
		const struct ksm_mount *a = &t->v[i], *key = a;
		const struct ksm_mount **hit = bsearch(&key, sorted, old->n, sizeof(*sorted), by_id);
		if (hit && (*hit)->dev == a->dev && !strcmp((*hit)->root, a->root) &&
		    !strcmp((*hit)->point, a->point))
			t->v[i].since = (*hit)->since;
	}
	free(sorted);
	return 0;
}

/* Reads the whole table again, up to m->max bytes (a table past it is
 * read whole lines only, and said to be cut). */
static int reread(struct ksm_mounts *m, uint64_t polled_at)
{
	size_t cap = m->max < (1u << 16) ? m->max : 1u << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	bool cut = false;

	if (!buf)
		return -ENOMEM;
	if (lseek(m->fd, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	while ((n = read(m->fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap && cap < m->max) {
			cap = cap * 2 < m->max ? cap * 2 : m->max;
			char *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		} else if (len == cap) {
			char more;
			cut = read(m->fd, &more, 1) > 0; /* else exactly max bytes */
			break;
		}
	}
	int e = n < 0 ? -errno : 0;
	if (cut) { /* the last line may be a part of one */
		char *nl = memrchr(buf, '\n', len);
		len = nl ? (size_t)(nl - buf) + 1 : 0;
	}
	struct ksm_mount_table t;
	if (!e)
		e = ksm_mounts_parse(buf, len, boottime_ns(), &t);
	free(buf);
	if (!e && (e = keep_since(&t, &m->t)))
		ksm_mounts_free(&t);
	if (e)
		return e;
	t.cut = cut;
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
	return ksm_mounts_open_max(m, proc_dir, KSM_MOUNTINFO_MAX);
}

int ksm_mounts_open_max(struct ksm_mounts *m, const char *proc_dir, size_t max)
{
	char path[256];
	memset(m, 0, sizeof(*m));
	m->proc_dir = proc_dir;
	m->max = max ? max : 1;
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

/* A path and what it shows, proven. */
struct check {
	char *path;
	uint64_t dev, ino; /* of the directory it shows, as stat(2) gives them */
	bool unknown;      /* a path could not be walked in time */
};

/* A walk of a path, on a worker (core/bounded.h): it may cross a file
 * system whose server never answers. */
struct walk {
	char *path;
	uint32_t mnt_id; /* the mount it must end on */
	bool ok;
	struct statx stx;
};

/* Whether path shows the directory of the mount it names: walked without
 * following a symbolic link, it ends on that very mount (statx's mount
 * id), so at that mount's top joined with the rest of the path.  What the
 * table cannot tell (a mount moved over it, or one of another filesystem
 * lying on it) is refused. */
static void walk_path(void *p)
{
	struct walk *w = p;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	long fd = syscall(SYS_openat2, AT_FDCWD, w->path, &how, sizeof(how));
	if (fd < 0)
		return;
	/* no request to a file system's server: the mount id and identity
	 * are the kernel's */
	w->ok = !statx((int)fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID | STATX_INO,
		       &w->stx) &&
		(w->stx.stx_mask & STATX_MNT_ID) && w->stx.stx_mnt_id == w->mnt_id;
	close((int)fd);
}

static void drop_walk(void *p)
{
	struct walk *w = p;
	free(w->path);
	free(w);
}

/* What a held walk is about: its path. */
static uint64_t path_key(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 0x100000001b3ull;
	return h | 1;
}

/* ksm_mounts_find's proof: path shows its mount's directory (walked within
 * KSM_ROOT_WAIT_MS; else c->unknown). */
static bool shows(void *ctx, const char *path, const struct ksm_mount *mnt)
{
	struct check *c = ctx;
	struct walk *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		c->unknown = true;
		return false;
	}
	w->mnt_id = mnt->id;
	int rc = ksm_bounded_call(path_key(path), walk_path, w, drop_walk,
				  KSM_ROOT_WAIT_MS * 1000000ull);
	if (rc) {
		if (rc != -ETIMEDOUT)
			drop_walk(w);
		c->unknown = true;
		return false;
	}
	bool ok = w->ok;
	if (ok) {
		c->dev = makedev(w->stx.stx_dev_major, w->stx.stx_dev_minor);
		c->ino = w->stx.stx_ino;
		ok = (c->path = strdup(path)) != NULL;
	}
	drop_walk(w);
	return ok;
}

/* The table's answer for dev and fs_path: the index of the mount (and
 * m->last.path), -1 for none, -2 when it could not be told in time (not
 * kept); the last answer when the table is the same. */
static long find(struct ksm_mounts *m, uint32_t dev, const char *fs_path)
{
	if (m->last.fs_path && m->last.generation == m->generation && m->last.dev == dev &&
	    !strcmp(m->last.fs_path, fs_path))
		return m->last.index;
	forget_last(m);
	struct check c = { 0 };
	long i = ksm_mounts_find(&m->t, dev, fs_path, shows, &c);
	if (i < 0 && c.unknown)
		return -2;
	m->last.path = c.path;
	m->last.shown_dev = c.dev;
	m->last.shown_ino = c.ino;
	m->last.index = i;
	if (c.unknown) /* a shorter path may show it: asked again next time */
		return i;
	m->last.fs_path = strdup(fs_path);
	m->last.generation = m->generation;
	m->last.dev = dev;
	return i;
}

/* Whether the process still lives with its root on dev (then its root
 * holds that filesystem, and no other has its device number).  On btrfs,
 * whose stat gives a subvolume's number and not the superblock's, it is
 * never known so. */
static bool still_on(const struct ksm_mounts *m, const struct ksm_root_query *q)
{
	struct ksm_dir_id root;
	return !ksm_proc_root_id(m->proc_dir, q->pid, q->start_ns, &root) &&
	       (uint32_t)root.dev == q->dev;
}

/* Whether the process still lives with the directory last found as its
 * root (the same device and inode: on every filesystem, btrfs too). */
static bool still_at(const struct ksm_mounts *m, const struct ksm_root_query *q)
{
	struct ksm_dir_id root;
	return !ksm_proc_root_id(m->proc_dir, q->pid, q->start_ns, &root) &&
	       root.dev == m->last.shown_dev && root.ino == m->last.shown_ino;
}

enum ksm_root_at ksm_root_locate(struct ksm_mounts *m, const struct ksm_root_query *q,
				     const char **path)
{
	*path = NULL;
	if (m->fd < 0 || refresh(m))
		return KSM_ROOT_AT_UNRESOLVED;
	long i = find(m, q->dev, q->fs_path);
	if (i == -2)
		return KSM_ROOT_AT_UNRESOLVED;
	if (i >= 0) {
		if (m->t.v[i].since > q->exec_ns && !still_at(m, q))
			return KSM_ROOT_AT_UNRESOLVED;
		*path = m->last.path;
		return KSM_ROOT_AT_PATH;
	}
	/* no path shows it: known only from a whole table that held at the
	 * exec, or while the process's root is still there */
	if (m->t.cut || (m->valid_from > q->exec_ns && !still_on(m, q)))
		return KSM_ROOT_AT_UNRESOLVED;
	return KSM_ROOT_AT_UNREACHABLE;
}
