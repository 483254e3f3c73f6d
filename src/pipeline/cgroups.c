// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/mounts.h"

#define FILEID_KERNFS 0xfe /* the file handle type of cgroup2 directories: the 64-bit id */

/* mountinfo's fields: id parent major:minor root mountpoint options... - fstype ... */
static bool cgroup2_line(char *line, char **point)
{
	char *sep = strstr(line, " - ");
	if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
		return false;
	char *save, *f = strtok_r(line, " ", &save);
	for (int i = 0; f && i < 4; i++)
		f = strtok_r(NULL, " ", &save);
	*point = f;
	return f != NULL;
}

int ksm_cgroups_open(struct ksm_cgroups *g, const char *mountinfo)
{
	g->mnt_fd = -1;
	g->mnt[0] = '\0';
	FILE *f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	char line[8192], *point = NULL;
	while (fgets(line, sizeof(line), f))
		if (cgroup2_line(line, &point))
			break;
	fclose(f);
	if (!point)
		return -ENOENT;
	ksm_mountinfo_unescape(point, g->mnt, sizeof(g->mnt));
	g->mnt_fd = open(g->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return g->mnt_fd < 0 ? -errno : 0;
}

void ksm_cgroups_close(struct ksm_cgroups *g)
{
	if (g->mnt_fd >= 0)
		close(g->mnt_fd);
	g->mnt_fd = -1;
}

typedef bool (*cgroup_visit)(void *ctx, const char *path, size_t plen, uint64_t id);

struct walk {
	char *path; /* of the cgroup visited, from the root */
	size_t cap;
	cgroup_visit visit;
	void *ctx;
	bool skipped; /* a cgroup was not looked at: too deep, too long, unreadable */
};

/* Calls visit for the cgroup of dirfd (its path w->path, plen bytes) and
 * those below it, at most depth levels, until visit returns true; returns
 * whether one did.  Takes dirfd. */
static bool walk(struct walk *w, int dirfd, size_t plen, unsigned depth)
{
	struct stat st;
	bool stop = !fstat(dirfd, &st) && w->visit(w->ctx, w->path, plen, (uint64_t)st.st_ino);
	DIR *d = !stop ? fdopendir(dirfd) : NULL;
	if (!d) {
		close(dirfd);
		return stop;
	}
	struct dirent *de;
	while (!stop && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int sub = depth && plen + 1 + n < w->cap
				  ? openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				  : -1;
		if (sub < 0) {
			w->skipped |= !depth || plen + 1 + n >= w->cap || errno != ENOENT;
			continue;
		}
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, de->d_name, n + 1);
		stop = walk(w, sub, plen + 1 + n, depth - 1);
		if (!stop)
			w->path[plen] = '\0';
	}
	closedir(d);
	return stop;
}

/* 1: visit stopped the walk, 0: it did not, or -errno */
static int walk_from_root(const struct ksm_cgroups *g, struct walk *w, unsigned depth)
{
	if (g->mnt_fd < 0)
		return -ENOENT;
	int fd = openat(g->mnt_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w->path[0] = '\0';
	return walk(w, fd, 0, depth) ? 1 : 0;
}

struct containers_ctx {
	void (*fn)(void *, const struct ksm_container *, uint64_t);
	void *ctx;
};

static bool visit_container(void *ctx, const char *path, size_t plen, uint64_t id)
{
	struct containers_ctx *c = ctx;
	struct ksm_container found;
	if (ksm_container_from_cgroup((const uint8_t *)path, plen, &found))
		c->fn(c->ctx, &found, id);
	return false;
}

int ksm_cgroups_containers(const struct ksm_cgroups *g,
			   void (*fn)(void *ctx, const struct ksm_container *c, uint64_t cgroup_id),
			   void *ctx)
{
	char *path = malloc(KSM_CGROUP_PATH_MAX);
	if (!path)
		return -ENOMEM;
	struct containers_ctx c = { fn, ctx };
	struct walk w = { path, KSM_CGROUP_PATH_MAX, visit_container, &c, false };
	int rc = walk_from_root(g, &w, KSM_CGROUP_WALK_DEPTH);
	free(path);
	return rc < 0 ? rc : 0;
}

static bool visit_id(void *ctx, const char *path, size_t plen, uint64_t id)
{
	(void)path;
	(void)plen;
	return id == *(const uint64_t *)ctx;
}

/* The path of cgroup id found by walking the hierarchy: what a monitor
 * without CAP_DAC_READ_SEARCH (open_by_handle_at) can do, and the way to
 * a path longer than the kernel names (PATH_MAX). */
static int find_by_walk(const struct ksm_cgroups *g, uint64_t id, char *buf, size_t len)
{
	struct walk w = { buf, len, visit_id, &id, false };
	int rc = walk_from_root(g, &w, KSM_CGROUP_WALK_DEPTH);
	if (rc < 0)
		return rc;
	if (!rc) /* ids are not reused: gone for good, if every cgroup was seen */
		return w.skipped ? -ENAMETOOLONG : -ESTALE;
	if (!buf[0])
		memcpy(buf, "/", 2);
	return (int)strlen(buf);
}

int ksm_cgroup_path(const struct ksm_cgroups *g, uint64_t id, char *buf, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS } };
	if (g->mnt_fd < 0)
		return -ENOENT;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	int fd = open_by_handle_at(g->mnt_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		return find_by_walk(g, id, buf, len);
	if (fd < 0)
		return -errno;
	char link[64], full[4096 + 64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, full, sizeof(full) - 1);
	int e = errno;
	close(fd);
	if (n < 0 && e == ENAMETOOLONG)
		return find_by_walk(g, id, buf, len);
	if (n < 0)
		return -e;
	full[n] = '\0';
	size_t m = strlen(g->mnt);
	if (strncmp(full, g->mnt, m) || (full[m] && full[m] != '/'))
		return -EXDEV; /* not under the mount: another view of the hierarchy */
	const char *rel = full[m] ? full + m : "/";
	size_t rl = strlen(rel);
	if (rl >= len)
		return -ENAMETOOLONG;
	memcpy(buf, rel, rl + 1);
	return (int)rl;
}
