// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "sinks/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/errmsg.h"

const char *ksm_file_refusal(const struct stat *st, uid_t euid)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		if (st->st_uid != euid)
			return "it belongs to another user";
		if (st->st_nlink != 1)
			return "it has other hard links";
		return NULL;
	case S_IFIFO:
	case S_IFCHR:
		/* a user's FIFO would hand them every event */
		return st->st_uid == euid || st->st_uid == 0 ? NULL : "it belongs to another user";
	case S_IFLNK:
		return "it is a symbolic link";
	case S_IFDIR:
		return "it is a directory";
	default:
		return "it is not a regular file, a FIFO or a character device";
	}
}

/* A decimal number of 1 to 9 digits without sign or leading zero, or -1. */
static long decimal(const char *s)
{
	long v = 0;
	if (!*s || strlen(s) > 9 || (*s == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int ksm_file_inherited_fd(const char *path)
{
	static const char *const prefixes[] = { "/dev/fd/", "/proc/self/fd/" };

	if (!strcmp(path, "/dev/stdout"))
		return STDOUT_FILENO;
	if (!strcmp(path, "/dev/stderr"))
		return STDERR_FILENO;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(path, prefixes[i], n))
			return (int)decimal(path + n);
	}
	return -1;
}

/* n when name is base or base.<n> with 1 <= n <= keep (0 for base), else -1 */
static long rotated_index(const char *name, const char *base, unsigned keep)
{
	size_t n = strlen(base);
	if (strncmp(name, base, n))
		return -1;
	if (!name[n])
		return 0;
	long i = name[n] == '.' ? decimal(name + n + 1) : -1;
	return i >= 1 && i <= (long)keep ? i : -1;
}

bool ksm_file_names_collide(const char *a, const char *b, bool rotating, unsigned keep)
{
	if (!rotating)
		return !strcmp(a, b);
	return rotated_index(a, b, keep) >= 0 || rotated_index(b, a, keep) >= 0;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

bool ksm_file_same(const struct ksm_file_target *a, const struct ksm_file_target *b,
		   bool rotating, unsigned keep)
{
	if (a->exists && b->exists && same_inode(&a->st, &b->st))
		return true;
	/* a stream is never rotated */
	return !a->stream && !b->stream && a->name && b->name && same_inode(&a->dir, &b->dir) &&
	       ksm_file_names_collide(a->name, b->name, rotating, keep);
}

/* A stream given as an inherited descriptor: used through a duplicate. */
static int resolve_inherited(struct ksm_file_target *t, int fd, char *err, size_t errlen)
{
	if (fstat(fd, &t->st))
		return ksm_fail(err, errlen, "cannot write '%s': descriptor %d is not open", t->path, fd);
	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0)
		return ksm_fail(err, errlen, "cannot write '%s': %s", t->path, strerror(errno));
	t->stream = true;
	t->exists = true;
	return 0;
}

/* Opens what stands at the name as a stream and checks it is what was
 * checked (the name may have changed in between). */
static int open_stream(struct ksm_file_target *t, int dirfd, char *err, size_t errlen)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO nobody reads fails (ENXIO) rather than hangs */
	t->fd = openat(dirfd, t->name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		if (e == ENXIO)
			ksm_fail(err, errlen, "cannot write '%s': no process is reading the FIFO", t->path);
		else
			ksm_fail(err, errlen, "cannot write '%s': %s", t->path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(t->fd, &st) || !same_inode(&st, &t->st) || (st.st_mode & S_IFMT) != (t->st.st_mode & S_IFMT)) {
		errno = EAGAIN;
		return ksm_fail(err, errlen, "cannot write '%s': it changed while being opened", t->path);
	}
	/* then written like standard output: a full pipe makes ksysmon wait */
	int fl = fcntl(t->fd, F_GETFL);
	if (fl < 0 || fcntl(t->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return ksm_fail(err, errlen, "cannot write '%s': %s", t->path, strerror(errno));
	t->stream = true;
	return 0;
}

/* Opens a directory by its path, one component at a time: a symbolic link
 * on the way is followed only when root or ksysmon's user owns it (a
 * link of another user could lead root's writes anywhere).  The directory,
 * or -1 with errno set and the refused prefix in `at` (`at` is the copy
 * of the path being walked). */
static int open_dir(char *path, const char **at)
{
	int cur = open(*path == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	*at = NULL;
	for (char *comp = strtok_r(path, "/", &save); comp && cur >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		struct stat st;
		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		if (next < 0 && !fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode)) {
			if (st.st_uid == 0 || st.st_uid == geteuid()) {
				next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				e = errno;
			} else {
				*at = path; /* cut after comp: the prefix refused */
				e = EPERM;
			}
		}
		close(cur);
		cur = next;
		if (cur >= 0 && save && *save)
			save[-1] = '/'; /* strtok_r cut there */
		errno = e;
	}
	return cur;
}

/* Splits path into its directory (opened) and last component. */
static int open_parent(struct ksm_file_target *t, char *err, size_t errlen)
{
	const char *slash = strrchr(t->path, '/');
	const char *name = slash ? slash + 1 : t->path;
	const char *at;
	char *dir;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		errno = EISDIR;
		return ksm_fail(err, errlen, "cannot write '%s': not a file name", t->path);
	}
	if (!slash)
		dir = strdup(".");
	else if (slash == t->path)
		dir = strdup("/");
	else
		dir = strndup(t->path, (size_t)(slash - t->path));
	t->name = strdup(name);
	if (!dir || !t->name) {
		free(dir);
		errno = ENOMEM;
		return ksm_fail(err, errlen, "out of memory");
	}
	t->dirfd = open_dir(dir, &at);
	int e = errno;
	if (t->dirfd < 0 && at)
		ksm_fail(err, errlen, "refusing to write '%s': '%s' is a symbolic link of another user",
			 t->path, at);
	else if (t->dirfd < 0 || fstat(t->dirfd, &t->dir))
		ksm_fail(err, errlen, "cannot write '%s': its directory: %s", t->path, strerror(e = errno));
	free(dir);
	errno = e;
	return t->dirfd < 0 ? -1 : 0;
}

int ksm_file_resolve(struct ksm_file_target *t, const char *path, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->path = path;
	t->dirfd = -1;
	t->fd = -1;
	int fd = ksm_file_inherited_fd(path);
	if (fd >= 0)
		return resolve_inherited(t, fd, err, errlen);
	if (open_parent(t, err, errlen))
		return -1;
	if (fstatat(t->dirfd, t->name, &t->st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0; /* created when written */
		int e = errno;
		ksm_fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
		errno = e;
		return -1;
	}
	t->exists = true;
	const char *why = ksm_file_refusal(&t->st, geteuid());
	if (why) {
		errno = EPERM;
		return ksm_fail(err, errlen, "refusing to write '%s': %s", path, why);
	}
	if (S_ISREG(t->st.st_mode))
		return 0;
	/* a stream is written as it is: nothing is ever made in its directory */
	int dirfd = t->dirfd;
	t->dirfd = -1;
	int rc = open_stream(t, dirfd, err, errlen);
	close(dirfd);
	return rc;
}

void ksm_file_release(struct ksm_file_target *t)
{
	if (t->dirfd >= 0)
		close(t->dirfd);
	if (t->fd >= 0)
		close(t->fd);
	t->dirfd = t->fd = -1;
	free(t->name);
	t->name = NULL;
}

static int fail_created(const struct ksm_file_target *t, const char *tmp, int fd, int e)
{
	close(fd);
	unlinkat(t->dirfd, tmp, 0);
	return -e;
}

int ksm_file_create(const struct ksm_file_target *t, const struct ksm_file_policy *p,
		    char *tmp, size_t tmplen)
{
	if (t->stream || t->dirfd < 0)
		return -EINVAL; /* streams are never made */
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r ^= (uint64_t)getpid() << 32 ^ (uint64_t)attempt;
		/* hidden, so that shippers matching FILE* do not read it */
		int n = snprintf(tmp, tmplen, ".%s.%016llx", t->name, (unsigned long long)r);
		if (n < 0 || (size_t)n >= tmplen)
			return -ENAMETOOLONG;
		int fd = openat(t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
				p->mode);
		if (fd < 0 && errno == EEXIST)
			continue; /* a name someone took: another one */
		if (fd < 0)
			return -errno;
		struct stat st;
		/* exact mode whatever the umask; then the group, if one is asked */
		if (fchmod(fd, p->mode) || (p->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, p->gid)))
			return fail_created(t, tmp, fd, errno);
		if (fstat(fd, &st))
			return fail_created(t, tmp, fd, errno);
		/* e.g. a file system that makes every file another user's */
		if (ksm_file_refusal(&st, geteuid()) || !S_ISREG(st.st_mode))
			return fail_created(t, tmp, fd, EPERM);
		return fd;
	}
	return -EEXIST;
}

int ksm_file_publish(const struct ksm_file_target *t, const char *tmp)
{
	if (renameat(t->dirfd, tmp, t->dirfd, t->name)) {
		int e = errno;
		unlinkat(t->dirfd, tmp, 0);
		return -e;
	}
	return 0;
}

int ksm_file_shift(const struct ksm_file_target *t, unsigned keep)
{
	char from[4096], to[4096];

	for (unsigned i = keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", t->name);
		else
			snprintf(from, sizeof(from), "%s.%u", t->name, i - 1);
		snprintf(to, sizeof(to), "%s.%u", t->name, i);
		if (renameat(t->dirfd, from, t->dirfd, to) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

size_t ksm_file_write_all(int fd, const char *p, size_t len, int *e)
{
	size_t done = 0;

	*e = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*e = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	return done;
}
