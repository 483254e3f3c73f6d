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
	if (fd < 0)
		return -errno;
	char link[64], full[4096 + 64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, full, sizeof(full) - 1);
	int e = errno;
	close(fd);
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

static void walk(int dirfd, char *path, size_t plen, size_t cap, unsigned depth,
		 void (*fn)(void *, const struct ksm_container *, uint64_t), void *ctx)
{
	struct ksm_container c;
	struct stat st;
	if (fstat(dirfd, &st))
		return;
	if (ksm_container_from_cgroup((const uint8_t *)path, plen, &c))
		fn(ctx, &c, (uint64_t)st.st_ino);
	DIR *d = depth ? fdopendir(dirfd) : NULL;
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_type != DT_DIR || de->d_name[0] == '.' || plen + 1 + n >= cap)
			continue;
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		walk(sub, path, plen + 1 + n, cap, depth - 1, fn, ctx);
		path[plen] = '\0';
	}
	closedir(d);
}

int ksm_cgroups_containers(const struct ksm_cgroups *g, unsigned depth,
			   void (*fn)(void *ctx, const struct ksm_container *c, uint64_t cgroup_id),
			   void *ctx)
{
	if (g->mnt_fd < 0)
		return -ENOENT;
	int fd = openat(g->mnt_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char path[4096] = "";
	walk(fd, path, 0, sizeof(path), depth, fn, ctx);
	return 0;
}
