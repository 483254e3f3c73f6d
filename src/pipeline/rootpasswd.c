// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/rootpasswd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/bounded.h"
#include "pipeline/proctab.h"

/* ---- passwd(5) text ------------------------------------------------------- */

/* Appended in the file's order; sorted once the file is read. */
static int add(struct ksm_passwd *p, size_t *cap, uint32_t uid, const char *name, size_t len)
{
	if (p->n == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 64;
		void *grown = realloc(p->v, grown_cap * sizeof(*p->v));
		if (!grown)
			return -ENOMEM;
		p->v = grown;
		*cap = grown_cap;
	}
	char *copy = strndup(name, len);
	if (!copy)
		return -ENOMEM;
	p->v[p->n].uid = uid;
	p->v[p->n].line = p->n; /* qsort is not stable: ties are ordered by it */
	p->v[p->n].name = copy;
	p->n++;
	return 0;
}

/* by uid, then by line: the name of a uid is its first line's */
static int by_uid_then_line(const void *a, const void *b)
{
	const struct ksm_passwd_entry *x = a, *y = b;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorted by uid with the first line of each uid kept, as getpwuid(3)
 * answers; lookups are then a binary search, whatever the file's size. */
static void index_by_uid(struct ksm_passwd *p)
{
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), by_uid_then_line);
	size_t o = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (o && p->v[o - 1].uid == p->v[i].uid) {
			free(p->v[i].name);
			continue;
		}
		p->v[o++] = p->v[i];
	}
	p->n = o;
}

/* name:password:uid:...; false for a line that is not one */
static bool parse_line(const char *s, size_t n, size_t *name_len, uint32_t *uid)
{
	const char *c1 = memchr(s, ':', n);
	if (!c1 || c1 == s)
		return false;
	const char *c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - s));
	if (!c2)
		return false;
	const char *d = c2 + 1, *end = s + n;
	uint64_t v = 0;
	size_t digits = 0;
	for (; d < end && *d >= '0' && *d <= '9' && digits < 11; d++, digits++)
		v = v * 10 + (uint64_t)(*d - '0');
	if (!digits || d == end || *d != ':' || v > UINT32_MAX)
		return false;
	*name_len = (size_t)(c1 - s);
	*uid = (uint32_t)v;
	return true;
}

int ksm_passwd_parse(const char *data, size_t len, struct ksm_passwd *out)
{
	size_t cap = 0;
	memset(out, 0, sizeof(*out));
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		size_t name_len;
		uint32_t uid;
		/* NSS compat lines (+name, -name) are not names */
		if (n && data[pos] != '+' && data[pos] != '-' && data[pos] != '#' &&
		    !memchr(data + pos, '\0', n) && parse_line(data + pos, n, &name_len, &uid) &&
		    add(out, &cap, uid, data + pos, name_len)) {
			ksm_passwd_free(out);
			return -ENOMEM;
		}
		pos += n + 1;
	}
	index_by_uid(out);
	return 0;
}

const char *ksm_passwd_name(const struct ksm_passwd *p, uint32_t uid)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->v[mid].uid == uid)
			return p->v[mid].name;
		if (p->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void ksm_passwd_free(struct ksm_passwd *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* ---- a process's root ------------------------------------------------------ */

/* Whether /proc/PID (dirfd) is still the process that started at
 * start_ns: field 22 of its stat, in clock ticks since boot. */
static bool start_ticks(int dirfd, unsigned long long *ticks)
{
	char buf[1024];
	int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	return p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   ticks) == 1;
}

static bool same_start(int dirfd, uint64_t start_ns)
{
	unsigned long long ticks;
	return start_ticks(dirfd, &ticks) && ticks == start_ns / KSM_TICK_NS;
}

static bool same_mnt_ns(int dirfd, uint64_t mnt_ns)
{
	struct stat st;
	return !mnt_ns || (!fstatat(dirfd, "ns/mnt", &st, 0) && (uint64_t)st.st_ino == mnt_ns);
}

/* etc/passwd under root, never resolved outside it */
static int open_in_root(int rootfd)
{
	struct open_how how = {
		/* O_NONBLOCK: a FIFO put there does not hold the reader */
		.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, "etc/passwd", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static void stamp_of(const struct stat *st, struct ksm_stamp *id)
{
	*id = (struct ksm_stamp){
		.present = true,
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
}

bool ksm_stamp_equal(const struct ksm_stamp *a, const struct ksm_stamp *b)
{
	if (a->present != b->present)
		return false;
	return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
			       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns);
}

void ksm_stamp_of_path(const char *path, struct ksm_stamp *id)
{
	struct stat st;
	if (stat(path, &st))
		*id = (struct ksm_stamp){ 0 };
	else
		stamp_of(&st, id);
}

/* st: the file's, before the read */
static int read_bounded(int fd, const struct stat *st, struct ksm_passwd *out)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((uint64_t)st->st_size > KSM_PASSWD_MAX)
		return -EFBIG;
	char *buf = malloc(KSM_PASSWD_MAX + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	ssize_t n;
	/* the file may grow after fstat: one byte more than the bound says so */
	while (len <= KSM_PASSWD_MAX &&
	       (n = read(fd, buf + len, KSM_PASSWD_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			return e;
		}
		len += (size_t)n;
	}
	int rc = len > KSM_PASSWD_MAX ? -EFBIG : ksm_passwd_parse(buf, len, out);
	free(buf);
	return rc;
}

static bool is_own_root(int rootfd)
{
	struct stat mine;
	struct statx theirs;
	return !stat("/", &mine) &&
	       !statx(rootfd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &theirs) &&
	       mine.st_dev == makedev(theirs.stx_dev_major, theirs.stx_dev_minor) &&
	       mine.st_ino == theirs.stx_ino;
}

/* the root of the process of dirfd, or -errno */
static int open_root(int dirfd, const struct ksm_passwd_of *of)
{
	if (!same_start(dirfd, of->start_ns) || !same_mnt_ns(dirfd, of->mnt_ns))
		return -ESRCH;
	int rootfd = openat(dirfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* still the same process: the root is its own, not a reused pid's */
	if (!same_start(dirfd, of->start_ns)) {
		close(rootfd);
		return -ESRCH;
	}
	return rootfd;
}

/* The passwd file of the root of `of`: the kind of root, with *fd open on
 * the file (-1: none, or the host's root) and *st its status; or -errno. */
static int open_passwd(const char *proc_dir, const struct ksm_passwd_of *of, int *fd,
		       struct stat *st)
{
	char path[256];
	*fd = -1;
	snprintf(path, sizeof(path), "%s/%u", proc_dir, of->pid);
	int dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	int rootfd = open_root(dirfd, of);
	close(dirfd);
	if (rootfd < 0)
		return rootfd;
	int rc = KSM_ROOT_HOST;
	if (!is_own_root(rootfd)) {
		int f = open_in_root(rootfd);
		rc = f == -ENOENT ? KSM_ROOT_OWN : f;
		if (f >= 0 && fstat(f, st)) {
			rc = -errno;
			close(f);
		} else if (f >= 0) {
			*fd = f;
			rc = KSM_ROOT_OWN;
		}
	}
	close(rootfd);
	return rc;
}

static int passwd_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
			  struct ksm_passwd *out, struct ksm_stamp *id)
{
	struct stat st;
	int fd, rc = open_passwd(proc_dir, of, &fd, &st);
	memset(out, 0, sizeof(*out));
	*id = (struct ksm_stamp){ 0 };
	if (fd >= 0) {
		stamp_of(&st, id);
		int r = read_bounded(fd, &st, out);
		close(fd);
		rc = r ? r : rc;
	}
	return rc;
}

static int passwd_id_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
			     struct ksm_stamp *id)
{
	struct stat st;
	int fd, rc = open_passwd(proc_dir, of, &fd, &st);
	*id = (struct ksm_stamp){ 0 };
	if (fd >= 0) {
		stamp_of(&st, id);
		close(fd);
	}
	return rc;
}

/* ---- bounded in time ------------------------------------------------------- */

/* What is read of a root, on a worker (core/bounded.h): the root's file
 * system may be served by a process that never answers. */
struct root_job {
	char proc_dir[64];
	struct ksm_passwd_of of;
	bool names;           /* the names too, not only the file's identity */
	int rc;
	struct ksm_passwd pw;
	struct ksm_stamp id;
	struct ksm_dir_id root; /* root_id_job */
};

static void passwd_job(void *p)
{
	struct root_job *j = p;
	j->rc = j->names ? passwd_of_root(j->proc_dir, &j->of, &j->pw, &j->id)
			 : passwd_id_of_root(j->proc_dir, &j->of, &j->id);
}

static void drop_job(void *p)
{
	struct root_job *j = p;
	ksm_passwd_free(&j->pw);
	free(j);
}

/* What a held call is about: the root directory (as the kernel knows it,
 * without asking its file system), so that a root that holds one call up
 * is not asked again meanwhile, while others are. */
static int root_key(const char *proc_dir, uint32_t pid, uint64_t *key)
{
	char path[256];
	struct statx stx;
	snprintf(path, sizeof(path), "%s/%u/root", proc_dir, pid);
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_INO, &stx))
		return -ESRCH;
	uint64_t dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	*key = (stx.stx_ino * 0x9e3779b97f4a7c15ull ^ dev * 0xc2b2ae3d27d4eb4full) | 1;
	return 0;
}

/* fn on a job of of's root, run within KSM_ROOT_WAIT_MS on a worker (the
 * calls of one salt and one root directory held together): 0 and *jp the
 * job, its answer in it (the caller frees it); or -ESRCH (gone), -ENOMEM,
 * or core/bounded.h's error. */
static int root_call(const char *proc_dir, const struct ksm_passwd_of *of, bool names,
		     void (*fn)(void *), uint64_t salt, struct root_job **jp)
{
	uint64_t key;
	int rc = root_key(proc_dir, of->pid, &key);
	if (rc)
		return rc;
	struct root_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	snprintf(j->proc_dir, sizeof(j->proc_dir), "%s", proc_dir);
	j->of = *of;
	j->names = names;
	rc = ksm_bounded_call(key ^ salt, fn, j, drop_job, KSM_ROOT_WAIT_MS * 1000000ull);
	if (rc && rc != -ETIMEDOUT)
		drop_job(j); /* not run: still ours */
	*jp = rc ? NULL : j;
	return rc;
}

int ksm_passwd_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
		       struct ksm_passwd *out, struct ksm_stamp *id)
{
	struct root_job *j;
	memset(out, 0, sizeof(*out));
	*id = (struct ksm_stamp){ 0 };
	int rc = root_call(proc_dir, of, true, passwd_job, 0, &j);
	if (rc)
		return rc;
	*out = j->pw;
	*id = j->id;
	rc = j->rc;
	free(j);
	return rc;
}

int ksm_passwd_id_of_root(const char *proc_dir, const struct ksm_passwd_of *of,
			  struct ksm_stamp *id)
{
	struct root_job *j;
	*id = (struct ksm_stamp){ 0 };
	int rc = root_call(proc_dir, of, false, passwd_job, 0, &j);
	if (rc)
		return rc;
	*id = j->id;
	rc = j->rc;
	free(j);
	return rc;
}

int ksm_mnt_ns_member(const char *proc_dir, uint64_t mnt_ns, struct ksm_passwd_of *of)
{
	DIR *d = opendir(proc_dir);
	if (!d)
		return -errno;
	struct dirent *de;
	int rc = -ESRCH;
	while (rc && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		unsigned long long ticks;
		if (fd < 0)
			continue;
		if (same_mnt_ns(fd, mnt_ns) && start_ticks(fd, &ticks)) {
			*of = (struct ksm_passwd_of){ (uint32_t)pid, ticks * KSM_TICK_NS, mnt_ns };
			rc = 0;
		}
		close(fd);
	}
	closedir(d);
	return rc;
}

static int proc_root_id(const char *proc_dir, uint32_t pid, uint64_t start_ns,
			struct ksm_dir_id *id)
{
	char path[256];
	struct statx stx;
	snprintf(path, sizeof(path), "%s/%u", proc_dir, pid);
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -ESRCH;
	/* the start is read after the root: a pid reused in between fails it */
	int r = statx(dirfd, "root", AT_STATX_DONT_SYNC, STATX_INO, &stx) ? -ESRCH : 0;
	if (!r && !same_start(dirfd, start_ns))
		r = -ESRCH;
	close(dirfd);
	if (!r)
		*id = (struct ksm_dir_id){ makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino };
	return r;
}

static void root_id_job(void *p)
{
	struct root_job *j = p;
	j->rc = proc_root_id(j->proc_dir, j->of.pid, j->of.start_ns, &j->root);
}

int ksm_proc_root_id(const char *proc_dir, uint32_t pid, uint64_t start_ns, struct ksm_dir_id *id)
{
	struct root_job *j;
	struct ksm_passwd_of of = { .pid = pid, .start_ns = start_ns };
	/* a salt of its own: a passwd read held in the root's file system
	 * does not hold this up (statx asks no FUSE server) */
	int rc = root_call(proc_dir, &of, false, root_id_job, 0x2, &j);
	if (rc)
		return rc;
	*id = j->root;
	rc = j->rc;
	free(j);
	return rc;
}
