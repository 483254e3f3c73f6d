// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "errmsg.h"
#include "deny.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/magic.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "hashcache.h"
#include "ksysmon_event.h"
#include "policy.h"

#define QUEUE_MAX 4096 /* exec_blocked records waiting for the main loop */
#define REMEMBER_MAX 65536 /* inodes the kernel lets through without asking */
#define READ_BUF 16384
#define STACKED_MAX 64 /* allowed opens on a stacked filesystem awaiting their backing open */
#define STACKED_WAIT_NS 1000000000ull

/* An exec of a file on a stacked filesystem (overlayfs) that was allowed:
 * the filesystem opens the layer's file next, for the same exec, from a
 * private mount; that second open is the same attempt, not a new one. */
struct stacked_open {
	uint64_t until; /* CLOCK_MONOTONIC; 0: free */
	uint32_t pid;
	dev_t dev; /* the stacked filesystem's: the backing file is elsewhere */
	off_t size;
	struct timespec mtime, ctime;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

#define RULE_TIMEOUT "decision timeout"
#define RULE_ERROR "file unreadable"

struct pending {
	struct pending *next;
	size_t size;
	uint64_t rec[]; /* the record, 8-byte aligned */
};

struct ksm_deny {
	struct ksm_policy policy;
	struct ksm_hashcache *cache; /* only with digest rules */
	bool audit;
	bool fail_closed;
	uint64_t timeout_ns;
	pid_t self;
	int fan_fd;
	int mnt_fd;  /* /proc/self/mountinfo, polled for POLLPRI */
	int stop_fd; /* eventfd */
	pthread_t thread;
	bool running;
	bool stopped;

	pthread_mutex_t lock; /* guards the queue */
	struct pending *head, **tail;
	size_t queued;
	uint64_t dropped;

	/* written by the thread only; read after it ended */
	uint64_t checked, denied, audited, undecided, errors;
	uint64_t backing; /* backing opens of stacked files, not decided again */
	uint64_t remembered; /* ignore marks since the last flush */
	bool read_error_reported;
	char *mountinfo;
	size_t mountinfo_cap;
	int *mnt_ids; /* the mounts of our namespace, as of the last mark_all */
	size_t n_mnt_ids, mnt_ids_cap;
	struct stacked_open stacked[STACKED_MAX];
	char path[PATH_MAX];
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- filesystems ---- */

/* Reads the whole of /proc/self/mountinfo into d->mountinfo. */
static int read_mountinfo(struct ksm_deny *d)
{
	size_t len = 0;
	if (lseek(d->mnt_fd, 0, SEEK_SET) < 0)
		return -1;
	for (;;) {
		if (d->mountinfo_cap - len < 4096) {
			size_t cap = d->mountinfo_cap ? d->mountinfo_cap * 2 : 65536;
			char *p = realloc(d->mountinfo, cap);
			if (!p)
				return -1;
			d->mountinfo = p;
			d->mountinfo_cap = cap;
		}
		ssize_t n = read(d->mnt_fd, d->mountinfo + len, d->mountinfo_cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	d->mountinfo[len] = '\0';
	return 0;
}

/* Mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Splits the next space-separated field off *s. */
static char *field(char **s)
{
	char *f = *s;
	if (!f)
		return NULL;
	char *sp = strchr(f, ' ');
	if (sp) {
		*sp = '\0';
		*s = sp + 1;
	} else {
		*s = NULL;
	}
	return f;
}

static bool seen_dev(char **devs, size_t n, const char *dev)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(devs[i], dev))
			return true;
	return false;
}

static void note_mount(struct ksm_deny *d, int id)
{
	if (d->n_mnt_ids == d->mnt_ids_cap) {
		size_t cap = d->mnt_ids_cap ? 2 * d->mnt_ids_cap : 256;
		int *p = realloc(d->mnt_ids, cap * sizeof(*p));
		if (!p)
			return; /* unknown mounts are taken as private: more opens decided */
		d->mnt_ids = p;
		d->mnt_ids_cap = cap;
	}
	d->mnt_ids[d->n_mnt_ids++] = id;
}

/* Whether fd was opened through a mount of our namespace (fdinfo's mnt_id). */
static bool mount_in_namespace(const struct ksm_deny *d, int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return true;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = '\0';
	const char *m = strstr(buf, "mnt_id:");
	if (!m)
		return true;
	int id = atoi(m + 7);
	for (size_t i = 0; i < d->n_mnt_ids; i++)
		if (d->mnt_ids[i] == id)
			return true;
	return false;
}

/*
 * Marks the superblock of every mount listed in mountinfo (each once).
 * Filesystems that refuse permission marks (pseudo filesystems) are
 * skipped; the root filesystem must be marked.  Returns 0 or -errno of
 * the root's failure.
 */
static int mark_all(struct ksm_deny *d, bool verbose)
{
	if (read_mountinfo(d))
		return -errno;
	size_t cap = 64, n = 0;
	char **devs = malloc(cap * sizeof(*devs));
	int root_err = -ENOENT;
	if (!devs)
		return -ENOMEM;
	d->n_mnt_ids = 0;
	for (char *line = d->mountinfo, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* id parent major:minor root mountpoint options [optional...] - fstype source super */
		char *rest = line;
		note_mount(d, atoi(field(&rest)));
		field(&rest);
		char *dev = field(&rest);
		field(&rest);
		char *mnt = field(&rest);
		if (!dev || !mnt)
			continue;
		char *sep = rest ? strstr(rest, " - ") : NULL;
		char *fstype = sep ? sep + 3 : "";
		if (!strncmp(fstype, "autofs ", 7))
			continue;
		unescape(mnt);
		bool is_root = !strcmp(mnt, "/");
		if (!is_root && seen_dev(devs, n, dev))
			continue;
		if (n == cap) {
			char **p = realloc(devs, 2 * cap * sizeof(*devs));
			if (!p)
				break;
			devs = p;
			cap *= 2;
		}
		devs[n++] = dev;
		int r = fanotify_mark(d->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM | FAN_MARK_DONT_FOLLOW,
				      FAN_OPEN_EXEC_PERM, AT_FDCWD, mnt);
		int e = r ? errno : 0;
		if (is_root)
			root_err = -e;
		if (e && verbose)
			fprintf(stderr, "ksysmon: deny: not watching %s (%.*s): %s\n", mnt,
				(int)strcspn(fstype, " "), fstype, strerror(e));
	}
	free(devs);
	return root_err;
}

/* ---- reports ---- */

static void push(struct ksm_deny *d, uint32_t pid, uint32_t flags, const uint8_t *sha256,
		 const char *path, const char *rule)
{
	size_t plen = strlen(path), rlen = strlen(rule);
	size_t size = (sizeof(struct ksm_exec_blocked) + plen + rlen + 7) & ~(size_t)7;
	struct pending *p = calloc(1, sizeof(*p) + size);
	if (!p) {
		pthread_mutex_lock(&d->lock);
		d->dropped++;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct ksm_exec_blocked *r = (struct ksm_exec_blocked *)p->rec;
	r->hdr.type = KSM_EV_EXEC_BLOCKED;
	r->hdr.flags = KSM_HF_TIME_REALTIME;
	r->hdr.size = (uint32_t)size;
	r->hdr.time = realtime_ns();
	r->pid = pid;
	r->flags = flags;
	if (sha256) {
		r->flags |= KSM_BLOCKED_HAS_SHA256;
		memcpy(r->sha256, sha256, sizeof(r->sha256));
	}
	char *s = (char *)(r + 1);
	r->path.offset = sizeof(*r);
	r->path.length = (uint32_t)plen;
	memcpy(s, path, plen);
	r->rule.offset = (uint32_t)(sizeof(*r) + plen);
	r->rule.length = (uint32_t)rlen;
	memcpy(s + plen, rule, rlen);
	p->size = size;

	pthread_mutex_lock(&d->lock);
	if (d->queued >= QUEUE_MAX) {
		d->dropped++;
		free(p);
	} else {
		*d->tail = p;
		d->tail = &p->next;
		d->queued++;
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * Whether an allowed file may be let through by the kernel from now on,
 * until it is modified: a regular file owned by root that neither group
 * nor others may write (POSIX ACLs show in the group bits), so nobody
 * else can change its content (not even through a shared mapping, which
 * would not clear the kernel's mark) or give it another name.
 */
static bool trusted_file(int fd)
{
	struct stat st;
	return !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022);
}

/* An ignore mark on the inode: its execs no longer wait for us.  Writing
 * to the file clears it (no FAN_MARK_IGNORED_SURV_MODIFY). */
static void remember(struct ksm_deny *d, int fd)
{
	if (d->remembered >= REMEMBER_MAX) {
		/* each mark pins an inode: start over rather than grow */
		fanotify_mark(d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
		d->remembered = 0;
	}
	if (!fanotify_mark(d->fan_fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd, NULL))
		d->remembered++;
}

/* ---- one attempt, one decision, whatever the mount layout ---- */

static bool on_stacked_fs(int fd)
{
	struct statfs s;
	return !fstatfs(fd, &s) && s.f_type == OVERLAYFS_SUPER_MAGIC;
}

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* overlayfs shows its layer file's size, times, mode and owner as its own */
static bool same_attrs(const struct stacked_open *o, const struct stat *st)
{
	return o->size == st->st_size && same_ts(o->mtime, st->st_mtim) &&
	       same_ts(o->ctime, st->st_ctim) && o->mode == st->st_mode && o->uid == st->st_uid &&
	       o->gid == st->st_gid;
}

/* An exec of a stacked file was allowed: its backing open follows. */
static void note_stacked(struct ksm_deny *d, uint32_t pid, const struct stat *st)
{
	uint64_t now = ksm_monotonic_ns();
	struct stacked_open *slot = &d->stacked[0];
	for (size_t i = 0; i < STACKED_MAX; i++) {
		if (d->stacked[i].until < now) {
			slot = &d->stacked[i];
			break;
		}
		if (d->stacked[i].until < slot->until)
			slot = &d->stacked[i];
	}
	*slot = (struct stacked_open){ .until = now + STACKED_WAIT_NS, .pid = pid, .dev = st->st_dev,
				       .size = st->st_size, .mtime = st->st_mtim, .ctime = st->st_ctim,
				       .mode = st->st_mode, .uid = st->st_uid, .gid = st->st_gid };
}

/*
 * Whether this open is the backing open of a stacked file whose exec was
 * just allowed: the same process, a file with the same attributes on
 * another filesystem, opened through a private mount (the stacked
 * filesystem's, in no namespace) rather than one a process can name.
 */
static bool backing_open(struct ksm_deny *d, uint32_t pid, const struct stat *st, int fd)
{
	uint64_t now = ksm_monotonic_ns();
	for (size_t i = 0; i < STACKED_MAX; i++) {
		struct stacked_open *o = &d->stacked[i];
		if (o->until < now || o->pid != pid || o->dev == st->st_dev || !same_attrs(o, st))
			continue;
		if (mount_in_namespace(d, fd))
			return false;
		o->until = 0;
		return true;
	}
	return false;
}

/* ---- decisions ---- */

/*
 * The path of the open file fd (as ksysmon's mount namespace resolves it),
 * without the " (deleted)" the kernel appends to a removed file's name:
 * *deleted says so instead (no links left), as the sensor's paths do.
 */
static bool file_path(int fd, char *buf, size_t size, bool *deleted)
{
	static const char suffix[] = " (deleted)";
	const size_t slen = sizeof(suffix) - 1;
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, size - 1);
	if (n <= 0) {
		buf[0] = '\0';
		return false;
	}
	buf[n] = '\0';
	*deleted = !fstat(fd, &st) && st.st_nlink == 0 && (size_t)n > slen &&
		   !strcmp(buf + n - slen, suffix);
	if (*deleted)
		buf[n - slen] = '\0';
	return true;
}

/* The verdict on the file an exec named, by the policy; *keep when the
 * kernel may allow the file by itself from now on. */
static uint32_t decide_file(struct ksm_deny *d, const struct fanotify_event_metadata *md,
			    uint64_t deadline, bool *keep)
{
	bool deleted = false;
	bool have_path = file_path(md->fd, d->path, sizeof(d->path), &deleted);
	const char *path = have_path ? d->path : "(unknown)";
	uint32_t flags = deleted ? KSM_BLOCKED_PATH_DELETED : 0;

	const char *rule = have_path ? ksm_policy_match_path(&d->policy, d->path) : NULL;
	uint8_t digest[KSM_SHA256_LEN];
	char hash_rule[8 + KSM_SHA256_HEX_LEN];
	const uint8_t *sha = NULL;
	enum ksm_hash_status hs = KSM_HASH_OK;

	if (!rule && d->cache) {
		int cached;
		hs = ksm_monotonic_ns() > deadline ? KSM_HASH_TIMEOUT :
		     ksm_hashcache_get(d->cache, md->fd, deadline, digest, &cached);
		if (hs == KSM_HASH_OK && ksm_policy_match_sha256(&d->policy, digest)) {
			memcpy(hash_rule, "sha256:", 7);
			ksm_sha256_hex(digest, hash_rule + 7);
			rule = hash_rule;
			sha = digest;
		}
	}
	if (!rule) {
		if (have_path && hs == KSM_HASH_OK) {
			*keep = trusted_file(md->fd);
			return FAN_ALLOW;
		}
		/* not decided: too slow, or the file could not be read */
		d->undecided++;
		if (!d->fail_closed || d->audit)
			return FAN_ALLOW;
		rule = hs == KSM_HASH_TIMEOUT ? RULE_TIMEOUT : RULE_ERROR;
	}
	if (d->audit) {
		d->audited++;
		push(d, md->pid, flags | KSM_BLOCKED_AUDIT, sha, path, rule);
		return FAN_ALLOW;
	}
	d->denied++;
	push(d, md->pid, flags, sha, path, rule);
	return FAN_DENY;
}

/* The verdict on one exec: FAN_ALLOW or FAN_DENY; *keep when the kernel
 * may allow the file by itself from now on. */
static uint32_t decide(struct ksm_deny *d, const struct fanotify_event_metadata *md, uint64_t deadline,
		       bool *keep)
{
	*keep = false;
	if ((pid_t)md->pid == d->self || !(md->mask & FAN_OPEN_EXEC_PERM))
		return FAN_ALLOW;
	struct stat st;
	bool have_st = !fstat(md->fd, &st);
	if (have_st && backing_open(d, md->pid, &st, md->fd)) {
		d->backing++;
		if (on_stacked_fs(md->fd)) /* a stacked layer: its own backing open follows */
			note_stacked(d, md->pid, &st);
		return FAN_ALLOW; /* the attempt was decided on the file it named */
	}
	d->checked++;
	uint32_t verdict = decide_file(d, md, deadline, keep);
	if (verdict == FAN_ALLOW && have_st && on_stacked_fs(md->fd)) {
		/* not remembered: the backing open then comes alone, unnamed */
		*keep = false;
		note_stacked(d, md->pid, &st);
	}
	return verdict;
}

static void respond(struct ksm_deny *d, int fd, uint32_t verdict)
{
	struct fanotify_response r = { .fd = fd, .response = verdict };
	ssize_t n;
	while ((n = write(d->fan_fd, &r, sizeof(r))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		d->errors++; /* the waiter is released when the descriptor closes */
}

/* Answers every event one read returns; false when there was none. */
static bool handle_batch(struct ksm_deny *d)
{
	union {
		struct fanotify_event_metadata md;
		char bytes[READ_BUF];
	} buf;
	ssize_t len = read(d->fan_fd, &buf, sizeof(buf));
	if (len <= 0) {
		if (len < 0 && errno != EAGAIN && errno != EINTR) {
			/* the kernel answered that event itself (denied) */
			d->errors++;
			if (!d->read_error_reported) {
				fprintf(stderr, "ksysmon: deny: reading fanotify events failed: %s\n", strerror(errno));
				d->read_error_reported = true;
			}
			return errno == EMFILE || errno == ENFILE;
		}
		return false;
	}
	uint64_t deadline = ksm_monotonic_ns() + d->timeout_ns;
	const struct fanotify_event_metadata *md = &buf.md;
	for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
		if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0)
			continue;
		/* only permission events are asked for: each needs its answer */
		bool keep;
		respond(d, md->fd, decide(d, md, deadline, &keep));
		if (keep)
			remember(d, md->fd);
		close(md->fd);
	}
	return true;
}

static void *thread_main(void *arg)
{
	struct ksm_deny *d = arg;
	struct pollfd pfd[3] = {
		{ .fd = d->stop_fd, .events = POLLIN },
		{ .fd = d->fan_fd, .events = POLLIN },
		{ .fd = d->mnt_fd, .events = POLLPRI },
	};

	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[2].revents & (POLLPRI | POLLERR))
			mark_all(d, false); /* a filesystem was mounted */
		if (pfd[1].revents & POLLIN)
			while (handle_batch(d))
				;
	}
	return NULL;
}

/* ---- interface ---- */

int ksm_deny_start(struct ksm_deny **out, const struct ksm_deny_config *cfg, char *err, size_t errlen)
{
	struct ksm_deny *d = calloc(1, sizeof(*d));
	int e;

	*out = NULL;
	if (!d)
		return ksm_fail(err, errlen, "out of memory for the deny policy");
	d->fan_fd = d->mnt_fd = d->stop_fd = -1;
	d->tail = &d->head;
	d->self = getpid();
	d->audit = cfg->audit;
	d->fail_closed = cfg->fail_closed;
	d->timeout_ns = (uint64_t)cfg->timeout_ms * 1000000u;
	pthread_mutex_init(&d->lock, NULL);
	d->stopped = true; /* nothing to stop until the thread runs */

	if (ksm_policy_init(&d->policy, cfg->globs, cfg->n_globs, cfg->sha256, cfg->n_sha256, err, errlen))
		goto fail;
	if (d->policy.n_digests) {
		d->cache = ksm_hashcache_new(KSM_HASHCACHE_ENTRIES);
		if (!d->cache) {
			ksm_fail(err, errlen, "cannot set up SHA-256 hashing (OpenSSL libcrypto)");
			goto fail;
		}
	}
	d->fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
				  O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NOATIME);
	if (d->fan_fd < 0) {
		ksm_fail(err, errlen, "cannot enforce the deny policy: fanotify_init: %s%s", strerror(errno),
		     errno == ENOSYS ? " (a kernel with CONFIG_FANOTIFY_ACCESS_PERMISSIONS is needed)" : "");
		goto fail;
	}
	d->mnt_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (d->mnt_fd < 0) {
		ksm_fail(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		goto fail;
	}
	e = mark_all(d, getenv("KSYSMON_DEBUG") != NULL);
	if (e) {
		ksm_fail(err, errlen, "cannot watch executions on the root filesystem: %s%s", strerror(-e),
		     e == -EINVAL ? " (a kernel with CONFIG_FANOTIFY_ACCESS_PERMISSIONS is needed)" : "");
		goto fail;
	}
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0) {
		ksm_fail(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* signals go to the main thread, whose poll they interrupt */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&d->thread, NULL, thread_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		ksm_fail(err, errlen, "cannot start the deny thread: %s", strerror(e));
		goto fail;
	}
	d->running = true;
	d->stopped = false;
	*out = d;
	return 0;
fail:
	ksm_deny_free(d); /* closing the fanotify fd drops its marks */
	return -1;
}

size_t ksm_deny_drain(struct ksm_deny *d, void (*emit)(void *ctx, const void *rec, size_t size), void *ctx)
{
	size_t n = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	struct pending *p = d->head;
	uint64_t dropped = d->dropped;
	d->head = NULL;
	d->tail = &d->head;
	d->queued = 0;
	d->dropped = 0;
	pthread_mutex_unlock(&d->lock);

	while (p) {
		struct pending *next = p->next;
		emit(ctx, p->rec, p->size);
		free(p);
		p = next;
		n++;
	}
	if (dropped) {
		struct ksm_events_lost lost = { 0 };
		lost.hdr.type = KSM_EV_EVENTS_LOST;
		lost.hdr.flags = KSM_HF_TIME_REALTIME;
		lost.hdr.size = sizeof(lost);
		lost.hdr.time = realtime_ns();
		lost.lost[KSM_EV_EXEC_BLOCKED] = dropped;
		emit(ctx, &lost, sizeof(lost));
		n++;
	}
	return n;
}

void ksm_deny_stop(struct ksm_deny *d)
{
	if (!d || d->stopped)
		return;
	d->stopped = true;
	if (d->running) {
		uint64_t one = 1;
		while (write(d->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(d->thread, NULL);
		d->running = false;
	}
	/* no new events; then answer the ones already queued */
	if (fanotify_mark(d->fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL))
		d->errors++;
	while (handle_batch(d))
		;
	/* closing allows whatever is still in flight */
	close(d->fan_fd);
	d->fan_fd = -1;
	fprintf(stderr, "ksysmon: deny: %llu execs checked, %llu denied, %llu audited, %llu undecided (%s)%s\n",
		(unsigned long long)d->checked, (unsigned long long)d->denied,
		(unsigned long long)d->audited, (unsigned long long)d->undecided,
		d->fail_closed && !d->audit ? "denied" : "allowed",
		d->errors ? ", errors occurred" : "");
}

void ksm_deny_free(struct ksm_deny *d)
{
	if (!d)
		return;
	ksm_deny_stop(d);
	for (struct pending *p = d->head, *next; p; p = next) {
		next = p->next;
		free(p);
	}
	if (d->fan_fd >= 0)
		close(d->fan_fd);
	if (d->mnt_fd >= 0)
		close(d->mnt_fd);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	ksm_hashcache_free(d->cache);
	ksm_policy_free(&d->policy);
	pthread_mutex_destroy(&d->lock);
	free(d->mountinfo);
	free(d->mnt_ids);
	free(d);
}
