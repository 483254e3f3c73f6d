// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/clock.h"
#include "core/errmsg.h"
#include "policy/deny.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "policy/hashcache.h"
#include "ksysmon_event.h"
#include "ksysmon_limits.h"
#include "policy/mountids.h"
#include "policy/policy.h"

#define QUEUE_MAX 4096     /* exec_blocked records waiting for the main loop */
#define REMEMBER_MAX 65536 /* inodes the kernel lets through without asking */
#define PENDING_MAX 4096   /* execs waiting for a content check */
#define POOL_MAX 32        /* threads of one kind, those stuck in a filesystem included */
#define READERS 2          /* readers at start: one may wait on a filesystem */
#define HASHERS 1
#define FUSE_DEVS_MAX 256  /* and overlay superblocks */
#define STACKED_MAX 64 /* allowed opens on a stacked filesystem awaiting their backing open */
#define STACKED_WAIT_NS 1000000000ull
#define HELD_MAX 16      /* --audit: notices held for the overlay notice they belong to */
#define HELD_WAIT_MS 100
#define TICK_NS 20000000ull  /* the timer looks at the threads this often */
#define STUCK_NS 50000000ull /* in one call for longer: waiting on a filesystem */
#define STOP_GRACE_NS 1000000000ull

#define RULE_TIMEOUT "decision timeout"
#define RULE_ERROR "file unreadable"
#define RULE_UNVERIFIABLE "unverifiable filesystem"

/* A mount of our namespace (mountinfo's first field), whether it is an
 * overlay's, and its mount point (owned; NULL when it could not be kept). */
struct mount_id {
	int id;
	bool stacked;
	char *point;
};

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

/* One exec (or, with --audit, one exec notice) being decided. */
struct slot {
	struct slot *prev, *next; /* waiting list (oldest first), then job queue */
	int fd;
	bool perm;    /* a permission event: the kernel waits for the answer */
	bool waiting; /* not answered yet */
	bool listed;  /* on the waiting list */
	bool queued;  /* in the hashers' queue */
	bool hashing; /* a hasher reads the file */
	bool stacked; /* on an overlay: allowed, its backing open is expected */
	uint32_t pid;
	uint32_t rec_flags; /* KSM_BLOCKED_PATH_DELETED */
	uint64_t deadline;  /* CLOCK_MONOTONIC ns */
	char *path;         /* owned */
	struct stat st;     /* as the kernel holds it (no filesystem asked) */
};

/* A thread that may be stuck in a filesystem call. */
struct worker {
	struct ksm_deny *d;
	pthread_t thread;
	_Atomic uint64_t busy_since; /* when the current call began; 0: none */
};

struct pool {
	void *(*main)(void *);
	struct worker w[POOL_MAX];
	_Atomic unsigned n; /* started */
	bool needs_work;    /* grows only while jobs wait (hashers) */
};

struct ksm_deny {
	struct ksm_policy policy;
	struct ksm_hashcache *cache; /* only with digest rules */
	bool audit;
	bool fail_closed;
	bool skip_fuse;
	uint64_t timeout_ns;
	void (*watched)(void *ctx, const uint32_t *sb_devs, size_t n);
	void *watched_ctx;
	pid_t self;
	int fan_fd;
	int mnt_fd;  /* /proc/self/mountinfo, polled for POLLPRI */
	int stop_fd; /* eventfd: readable once stopping */
	int cgroup_fd; /* the unified cgroup hierarchy's root; -1: none */
	atomic_bool stopping;
	bool started;
	bool stopped;

	pthread_mutex_t lock; /* guards the record queue */
	struct pending *head, **tail;
	size_t queued;
	uint64_t dropped;

	/* the execs in flight, the threads' counters: under pend_lock */
	pthread_mutex_t pend_lock;
	pthread_cond_t timer_cv, job_cv;
	struct slot *wait_head, *wait_tail; /* by deadline */
	struct slot **jobs;                 /* ring of slots for the hashers */
	size_t job_first, job_count;
	uint64_t checked, denied, audited, undecided, errors, overflows;
	uint64_t backing;    /* backing opens of stacked files, not decided again */
	uint64_t remembered; /* ignore marks since the last flush */
	struct stacked_open stacked[STACKED_MAX];
	bool read_error_reported;

	struct pool readers, hashers;
	pthread_t timer, mounter;
	bool timer_started, mounter_started;
	unsigned stuck; /* threads still in a filesystem call at stop */

	/* what the last marking saw, under fs_lock: FUSE superblocks (their
	 * server decides what each reader sees), overlay ones, and the mounts
	 * of our namespace */
	pthread_mutex_t fs_lock;
	dev_t fuse_devs[FUSE_DEVS_MAX];
	size_t n_fuse_devs;
	dev_t overlay_devs[FUSE_DEVS_MAX];
	size_t n_overlay_devs;
	struct mount_id *mnt_ids;
	size_t n_mnt_ids;
	char *mountinfo; /* the mount thread's */
	size_t mountinfo_cap;
};

struct pending {
	struct pending *next;
	size_t size;
	uint64_t rec[]; /* the record, 8-byte aligned */
};

/* A ksm_deny some thread of which never came back from the kernel: it
 * stays allocated (and its fanotify descriptor open) for that thread. */
static struct ksm_deny *volatile abandoned;


/* Starts fn with every signal blocked: signals go to the main thread,
 * whose poll they interrupt. */
static int spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
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

/* FUSE (fuse, fuse.NAME, fuseblk): a user-space server answers every read,
 * and may answer ksysmon otherwise than the kernel's exec. */
static bool is_fuse(const char *fstype)
{
	return !strncmp(fstype, "fuse", 4) && (fstype[4] == ' ' || fstype[4] == '.' || !strncmp(fstype + 4, "blk ", 4));
}

/* What the marking met: FUSE and overlay superblocks (as many as fit),
 * our mounts. */
struct fs_seen {
	dev_t fuse[FUSE_DEVS_MAX];
	size_t n_fuse;
	dev_t overlay[FUSE_DEVS_MAX];
	size_t n_overlay;
	struct mount_id *mnt_ids;
	size_t n_mnt_ids, cap;
};

static void free_mounts(struct mount_id *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].point);
	free(m);
}

static void note_mount(struct fs_seen *f, int id, bool stacked, const char *point)
{
	if (f->n_mnt_ids == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		struct mount_id *p = realloc(f->mnt_ids, cap * sizeof(*p));
		if (!p)
			return; /* unknown mounts are taken as private: more opens decided */
		f->mnt_ids = p;
		f->cap = cap;
	}
	f->mnt_ids[f->n_mnt_ids++] = (struct mount_id){ .id = id, .stacked = stacked,
						       .point = strdup(point) };
}

static void publish_fs(struct ksm_deny *d, struct fs_seen *f)
{
	pthread_mutex_lock(&d->fs_lock);
	memcpy(d->fuse_devs, f->fuse, f->n_fuse * sizeof(*f->fuse));
	d->n_fuse_devs = f->n_fuse;
	memcpy(d->overlay_devs, f->overlay, f->n_overlay * sizeof(*f->overlay));
	d->n_overlay_devs = f->n_overlay;
	struct mount_id *old = d->mnt_ids;
	size_t n_old = d->n_mnt_ids;
	d->mnt_ids = f->mnt_ids;
	d->n_mnt_ids = f->n_mnt_ids;
	pthread_mutex_unlock(&d->fs_lock);
	free_mounts(old, n_old);
}

static bool dev_in(struct ksm_deny *d, const dev_t *devs, const size_t *n, dev_t dev)
{
	bool found = false;
	pthread_mutex_lock(&d->fs_lock);
	for (size_t i = 0; i < *n && !found; i++)
		found = devs[i] == dev;
	pthread_mutex_unlock(&d->fs_lock);
	return found;
}

static bool on_fuse(struct ksm_deny *d, dev_t dev)
{
	return dev_in(d, d->fuse_devs, &d->n_fuse_devs, dev);
}

/* An overlay our namespace mounts: another namespace's mount of it (a
 * container's root) is an exec's own open, its layer's file opened next. */
static bool on_overlay(struct ksm_deny *d, dev_t dev)
{
	return dev_in(d, d->overlay_devs, &d->n_overlay_devs, dev);
}

/* Where fd was opened (fdinfo's mnt_id; procfs, no filesystem asked). */
enum mount_kind {
	MNT_PRIVATE, /* through a mount of no namespace of ours: a stacked filesystem's layer */
	MNT_OURS,
	MNT_OURS_STACKED, /* an overlay of our namespace: its layer's file is opened next */
};

/* *mnt_id (unless NULL): the mount's id, -1 when not read (then MNT_OURS) */
static enum mount_kind fd_mount(struct ksm_deny *d, int fd, int *mnt_id)
{
	char path[64], buf[512];
	int unused;
	if (!mnt_id)
		mnt_id = &unused;
	*mnt_id = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return MNT_OURS;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	buf[n > 0 ? n : 0] = '\0';
	const char *m = strstr(buf, "mnt_id:");
	if (!m)
		return MNT_OURS;
	int id = atoi(m + 7);
	*mnt_id = id;
	enum mount_kind kind = MNT_PRIVATE;
	pthread_mutex_lock(&d->fs_lock);
	for (size_t i = 0; i < d->n_mnt_ids && kind == MNT_PRIVATE; i++)
		if (d->mnt_ids[i].id == id)
			kind = d->mnt_ids[i].stacked ? MNT_OURS_STACKED : MNT_OURS;
	pthread_mutex_unlock(&d->fs_lock);
	return kind;
}

/*
 * Marks the superblock of every mount listed in mountinfo (each once) and
 * notes which are FUSE.  Filesystems that refuse permission marks (pseudo
 * filesystems) are skipped; the root filesystem must be marked.  Returns
 * 0 or -errno of the root's failure.  Runs on the mount thread (or before
 * it starts): a path lookup may wait on a filesystem.
 */
static int mark_all(struct ksm_deny *d, bool verbose)
{
	if (read_mountinfo(d))
		return -errno;
	size_t cap = 64, n = 0, n_marked = 0;
	char **devs = malloc(cap * sizeof(*devs));
	uint32_t *marked = malloc(cap * sizeof(*marked)); /* kernel dev_t encoding */
	struct fs_seen seen = { 0 };
	int root_err = -ENOENT;
	uint64_t mask = d->audit ? FAN_OPEN_EXEC : FAN_OPEN_EXEC_PERM;
	if (!devs || !marked) {
		free(devs);
		free(marked);
		return -ENOMEM;
	}
	for (char *line = d->mountinfo, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* id parent major:minor root mountpoint options [optional...] - fstype source super */
		char *rest = line;
		int id = atoi(field(&rest));
		field(&rest);
		char *dev = field(&rest);
		field(&rest);
		char *mnt = field(&rest);
		if (!dev || !mnt)
			continue;
		char *sep = rest ? strstr(rest, " - ") : NULL;
		char *fstype = sep ? sep + 3 : "";
		unescape(mnt);
		note_mount(&seen, id, !strncmp(fstype, "overlay ", 8), mnt);
		if (!strncmp(fstype, "autofs ", 7))
			continue;
		bool is_root = !strcmp(mnt, "/");
		if (!is_root && seen_dev(devs, n, dev))
			continue;
		if (n == cap) {
			char **p = realloc(devs, 2 * cap * sizeof(*devs));
			uint32_t *q = p ? realloc(marked, 2 * cap * sizeof(*marked)) : NULL;
			if (p)
				devs = p;
			if (!q)
				break;
			marked = q;
			cap *= 2;
		}
		devs[n++] = dev;
		unsigned maj, min;
		if (sscanf(dev, "%u:%u", &maj, &min) != 2)
			continue;
		if (is_fuse(fstype) && (d->skip_fuse || seen.n_fuse == FUSE_DEVS_MAX))
			continue; /* no exec waits for ksysmon's open of a FUSE file */
		if (is_fuse(fstype))
			seen.fuse[seen.n_fuse++] = makedev(maj, min);
		if (!strncmp(fstype, "overlay ", 8) && seen.n_overlay < FUSE_DEVS_MAX)
			seen.overlay[seen.n_overlay++] = makedev(maj, min);
		int r = fanotify_mark(d->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM | FAN_MARK_DONT_FOLLOW, mask,
				      AT_FDCWD, mnt);
		int e = r ? errno : 0;
		if (!e)
			marked[n_marked++] = ksm_kdev(maj, min);
		if (is_root)
			root_err = -e;
		if (e && verbose)
			fprintf(stderr, "ksysmon: deny: not watching %s (%.*s): %s\n", mnt,
				(int)strcspn(fstype, " "), fstype, strerror(e));
	}
	publish_fs(d, &seen);
	/* under fs_lock: once stopping, the caller's tables may be gone */
	pthread_mutex_lock(&d->fs_lock);
	if (d->watched && !atomic_load(&d->stopping))
		d->watched(d->watched_ctx, marked, n_marked);
	pthread_mutex_unlock(&d->fs_lock);
	free(devs);
	free(marked);
	return root_err;
}

/* Marks what gets mounted; alone on its thread because a mount point's
 * lookup may wait on a slow filesystem, and decisions must not. */
static void *mounter_main(void *arg)
{
	struct ksm_deny *d = arg;
	struct pollfd pfd[2] = {
		{ .fd = d->stop_fd, .events = POLLIN },
		{ .fd = d->mnt_fd, .events = POLLPRI },
	};
	while (!atomic_load(&d->stopping)) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & (POLLPRI | POLLERR))
			mark_all(d, false); /* a filesystem was mounted */
	}
	return NULL;
}

/* ---- records ---- */

/* The path of process pid's cgroup in the unified hierarchy: the "0::"
 * line of /proc/PID/cgroup (procfs and the cgroup file system: nothing a
 * user's file system can hold up), into buf (NUL-terminated); false when
 * it cannot be read or does not fit. */
static bool proc_cgroup(uint32_t pid, char *buf, size_t size)
{
	char name[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	snprintf(name, sizeof(name), "/proc/%u/cgroup", pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return false;
	ssize_t n;
	while (!found && (n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::/", 4))
			continue;
		size_t len = (size_t)n - 3 - (line[n - 1] == '\n');
		if (len >= size)
			break;
		memcpy(buf, line + 3, len);
		buf[len] = '\0';
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * The cgroup of process pid (its first thread's, as /proc/PID/cgroup
 * shows it) while its exec waits for the answer (with --audit, just
 * after: a process gone by then has none): its id, the inode of its
 * directory in the hierarchy, and its path (in buf) when shorter than
 * KSM_NS_PATH_MAX, as records carry one (a longer one is found from the
 * id, as for other records).  false: not known (nor is a path longer than
 * buf).
 */
static bool exec_cgroup(const struct ksm_deny *d, uint32_t pid, struct ksm_task_cgroup *cg,
			char *buf, size_t size)
{
	struct stat st;
	memset(cg, 0, sizeof(*cg));
	if (d->cgroup_fd < 0 || !proc_cgroup(pid, buf, size))
		return false;
	if (fstatat(d->cgroup_fd, buf[1] ? buf + 1 : ".", &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISDIR(st.st_mode))
		return false;
	size_t len = strlen(buf);
	cg->id = (uint64_t)st.st_ino;
	cg->path.length = len < KSM_NS_PATH_MAX ? (uint32_t)len : 0;
	return true;
}

static void push(struct ksm_deny *d, uint32_t pid, uint32_t flags, const uint8_t *sha256,
		 const char *path, const char *rule)
{
	char cpath[PATH_MAX];
	struct ksm_task_cgroup cg;
	bool has_cg = exec_cgroup(d, pid, &cg, cpath, sizeof(cpath));
	size_t plen = strlen(path), rlen = strlen(rule), clen = has_cg ? cg.path.length : 0;
	size_t size = (sizeof(struct ksm_exec_blocked) + plen + rlen + clen + 7) & ~(size_t)7;
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
	r->hdr.time = ksm_clock_ns(CLOCK_REALTIME);
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
	if (has_cg) { /* in the namespace block's place */
		r->hdr.flags |= KSM_HF_CGROUP;
		cg.path.offset = clen ? (uint32_t)(sizeof(*r) + plen + rlen) : 0;
		memcpy(s + plen + rlen, cpath, clen);
		memcpy(&r->ns, &cg, sizeof(cg));
	}
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

/* ---- one attempt, one decision, whatever the mount layout ---- */

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static struct stacked_open stacked_of(uint32_t pid, const struct stat *st, uint64_t until)
{
	return (struct stacked_open){ .until = until, .pid = pid, .dev = st->st_dev, .size = st->st_size,
				      .mtime = st->st_mtim, .ctime = st->st_ctim, .mode = st->st_mode,
				      .uid = st->st_uid, .gid = st->st_gid };
}

/* overlayfs shows its layer file's size, times, mode and owner as its own */
static bool same_attrs(const struct stacked_open *o, const struct stat *st)
{
	return o->size == st->st_size && same_ts(o->mtime, st->st_mtim) &&
	       same_ts(o->ctime, st->st_ctim) && o->mode == st->st_mode && o->uid == st->st_uid &&
	       o->gid == st->st_gid;
}

/* An exec of a stacked file was allowed: its backing open follows. */
static void note_stacked_locked(struct ksm_deny *d, uint32_t pid, const struct stat *st)
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
	*slot = stacked_of(pid, st, now + STACKED_WAIT_NS);
}

/*
 * Whether this open is the backing open of a stacked file whose exec was
 * just allowed: the same process, a file with the same attributes on
 * another filesystem, opened through a private mount (the stacked
 * filesystem's, in no namespace) rather than one a process can name.
 */
static bool backing_open_locked(struct ksm_deny *d, uint32_t pid, const struct stat *st,
				enum mount_kind where)
{
	uint64_t now = ksm_monotonic_ns();
	for (size_t i = 0; i < STACKED_MAX; i++) {
		struct stacked_open *o = &d->stacked[i];
		if (o->until < now || o->pid != pid || o->dev == st->st_dev || !same_attrs(o, st))
			continue;
		if (where != MNT_PRIVATE)
			return false;
		o->until = 0;
		return true;
	}
	return false;
}

/* ---- answers ---- */

/*
 * What was found about one exec: a rule that matched (with the digest
 * when a content rule), or why nothing could be decided, or neither
 * (allowed; keep: the kernel may allow the file by itself from now on).
 */
struct finding {
	const char *rule;
	const uint8_t *sha256;
	const char *undecided; /* RULE_TIMEOUT, RULE_ERROR, RULE_UNVERIFIABLE */
	bool keep;
};

/* An ignore mark on the inode: its execs no longer wait for us.  Writing
 * to the file clears it (no FAN_MARK_IGNORED_SURV_MODIFY). */
static void remember_locked(struct ksm_deny *d, int fd)
{
	if (d->remembered >= REMEMBER_MAX) {
		/* each mark pins an inode: start over rather than grow */
		fanotify_mark(d->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
		d->remembered = 0;
	}
	uint64_t mask = d->audit ? FAN_OPEN_EXEC : FAN_OPEN_EXEC_PERM;
	if (!fanotify_mark(d->fan_fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, mask, fd, NULL))
		d->remembered++;
}

static void respond_locked(struct ksm_deny *d, int fd, uint32_t verdict)
{
	struct fanotify_response r = { .fd = fd, .response = verdict };
	ssize_t n;
	while ((n = write(d->fan_fd, &r, sizeof(r))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		d->errors++; /* the waiter is released when the descriptor closes */
}

static void unlist_locked(struct ksm_deny *d, struct slot *s)
{
	if (!s->listed)
		return;
	*(s->prev ? &s->prev->next : &d->wait_head) = s->next;
	*(s->next ? &s->next->prev : &d->wait_tail) = s->prev;
	s->prev = s->next = NULL;
	s->listed = false;
}

/* Closes the event's file once nobody reads it any more. */
static void release_locked(struct slot *s)
{
	if (s->waiting || s->queued || s->hashing)
		return;
	close(s->fd);
	free(s->path);
	free(s);
}

/* The one answer to an exec (later findings are ignored), its report,
 * and the release of the file when no hasher still reads it. */
static void answer_locked(struct ksm_deny *d, struct slot *s, const struct finding *f)
{
	if (!s->waiting)
		return;
	uint32_t verdict = FAN_ALLOW;
	const char *rule = f->rule;
	if (!rule && f->undecided) {
		d->undecided++;
		if (d->fail_closed && !d->audit)
			rule = f->undecided;
	}
	const char *path = s->path ? s->path : "(unknown)";
	if (rule && d->audit) {
		d->audited++;
		push(d, s->pid, s->rec_flags | KSM_BLOCKED_AUDIT, f->sha256, path, rule);
	} else if (rule) {
		d->denied++;
		verdict = FAN_DENY;
		push(d, s->pid, s->rec_flags, f->sha256, path, rule);
	}
	if (s->perm)
		respond_locked(d, s->fd, verdict);
	if (f->keep && verdict == FAN_ALLOW)
		remember_locked(d, s->fd);
	if (s->stacked && s->perm && verdict == FAN_ALLOW)
		note_stacked_locked(d, s->pid, &s->st);
	s->waiting = false;
	unlist_locked(d, s);
	release_locked(s);
}

static void answer(struct ksm_deny *d, struct slot *s, const struct finding *f)
{
	pthread_mutex_lock(&d->pend_lock);
	answer_locked(d, s, f);
	pthread_mutex_unlock(&d->pend_lock);
}

/* ---- thread pools ---- */

static void pool_grow(struct ksm_deny *d, struct pool *p)
{
	unsigned i = atomic_load(&p->n);
	if (i >= POOL_MAX)
		return;
	p->w[i].d = d;
	if (!spawn(&p->w[i].thread, p->main, &p->w[i]))
		atomic_store(&p->n, i + 1);
}

/* Another thread when every one is held up in a filesystem call. */
static void pool_check(struct ksm_deny *d, struct pool *p, uint64_t now)
{
	unsigned n = atomic_load(&p->n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t since = atomic_load(&p->w[i].busy_since);
		if (!since || now - since < STUCK_NS)
			return;
	}
	pool_grow(d, p);
}

static void busy(struct worker *w, bool on)
{
	atomic_store(&w->busy_since, on ? ksm_monotonic_ns() | 1 : 0);
}

/* Joins every thread of the pool that ends by the deadline; counts the
 * others (held in a filesystem call). */
static void pool_join(struct ksm_deny *d, struct pool *p, uint64_t deadline_rt)
{
	struct timespec ts = ksm_timespec_of(deadline_rt);
	for (unsigned i = 0; i < atomic_load(&p->n); i++)
		if (pthread_timedjoin_np(p->w[i].thread, NULL, &ts))
			d->stuck++;
}

/* ---- decisions ---- */

/* The attributes of the open file fd as the kernel holds them: no
 * filesystem is asked (AT_STATX_DONT_SYNC), so no server can hold it up. */
static bool cached_attrs(int fd, struct stat *st)
{
	struct statx x;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &x))
		return false;
	*st = (struct stat){
		.st_dev = makedev(x.stx_dev_major, x.stx_dev_minor), .st_ino = x.stx_ino,
		.st_mode = x.stx_mode, .st_nlink = x.stx_nlink, .st_uid = x.stx_uid, .st_gid = x.stx_gid,
		.st_size = (off_t)x.stx_size,
		.st_mtim = { .tv_sec = x.stx_mtime.tv_sec, .tv_nsec = x.stx_mtime.tv_nsec },
		.st_ctim = { .tv_sec = x.stx_ctime.tv_sec, .tv_nsec = x.stx_ctime.tv_nsec },
	};
	return true;
}

/*
 * The path of the open file fd (as ksysmon's mount namespace resolves it,
 * from the kernel's dentry cache), without the " (deleted)" the kernel
 * appends to a removed file's name: *deleted says so instead (no links
 * left), as the sensor's paths do.
 */
static bool file_path(int fd, const struct stat *st, char *buf, size_t size, bool *deleted)
{
	static const char suffix[] = " (deleted)";
	const size_t slen = sizeof(suffix) - 1;
	char link[64];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, size - 1);
	if (n <= 0) {
		buf[0] = '\0';
		return false;
	}
	buf[n] = '\0';
	*deleted = st && st->st_nlink == 0 && (size_t)n > slen && !strcmp(buf + n - slen, suffix);
	if (*deleted)
		buf[n - slen] = '\0';
	return true;
}

/*
 * Whether an allowed file may be let through by the kernel from now on,
 * until it is modified: a regular file owned by root that neither group
 * nor others may write (POSIX ACLs show in the group bits), so nobody
 * else can change its content (not even through a shared mapping, which
 * would not clear the kernel's mark) or give it another name.  The
 * attributes are the ones the kernel holds (AT_STATX_DONT_SYNC): no
 * filesystem is asked.
 */
static bool trusted_file(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == 0 && !(st->st_mode & 022);
}

/* The hashers: read and hash files, as long as it takes; the timer
 * answers the exec if that is longer than its deadline. */
static void *hasher_main(void *arg)
{
	struct worker *w = arg;
	struct ksm_deny *d = w->d;
	pthread_mutex_lock(&d->pend_lock);
	for (;;) {
		while (!d->job_count && !atomic_load(&d->stopping))
			pthread_cond_wait(&d->job_cv, &d->pend_lock);
		if (atomic_load(&d->stopping))
			break;
		struct slot *s = d->jobs[d->job_first];
		d->job_first = (d->job_first + 1) % PENDING_MAX;
		d->job_count--;
		s->queued = false;
		if (!s->waiting) { /* answered by the timer before it was read */
			release_locked(s);
			continue;
		}
		s->hashing = true;
		pthread_mutex_unlock(&d->pend_lock);

		uint8_t digest[KSM_SHA256_LEN];
		int cached;
		busy(w, true);
		enum ksm_hash_status hs = ksm_hashcache_get(d->cache, s->fd, s->deadline, digest, &cached);
		struct finding f = { 0 };
		char hash_rule[8 + KSM_SHA256_HEX_LEN];
		if (hs == KSM_HASH_OK && ksm_policy_match_sha256(&d->policy, digest)) {
			memcpy(hash_rule, "sha256:", 7);
			ksm_sha256_hex(digest, hash_rule + 7);
			f.rule = hash_rule;
			f.sha256 = digest;
		} else if (hs != KSM_HASH_OK) {
			f.undecided = hs == KSM_HASH_TIMEOUT ? RULE_TIMEOUT : RULE_ERROR;
		} else {
			f.keep = !s->stacked && trusted_file(&s->st);
		}
		busy(w, false);

		pthread_mutex_lock(&d->pend_lock);
		s->hashing = false;
		if (s->waiting)
			answer_locked(d, s, &f);
		else
			release_locked(s); /* the timer answered it meanwhile */
	}
	pthread_mutex_unlock(&d->pend_lock);
	return NULL;
}

/* Hands an exec to the hashers, its deadline kept by the timer. */
static void enqueue(struct ksm_deny *d, struct slot *s, const char *path)
{
	s->path = strdup(path);
	s->deadline = ksm_monotonic_ns() + d->timeout_ns;
	pthread_mutex_lock(&d->pend_lock);
	if (d->job_count == PENDING_MAX || !s->path) {
		answer_locked(d, s, &(struct finding){ .undecided = RULE_TIMEOUT });
		pthread_mutex_unlock(&d->pend_lock);
		return;
	}
	s->prev = d->wait_tail;
	*(d->wait_tail ? &d->wait_tail->next : &d->wait_head) = s;
	d->wait_tail = s;
	s->listed = true;
	s->queued = true;
	d->jobs[(d->job_first + d->job_count++) % PENDING_MAX] = s;
	pthread_cond_signal(&d->job_cv);
	pthread_mutex_unlock(&d->pend_lock);
}

/* An event read, and where its file was opened. */
struct notice {
	struct fanotify_event_metadata md;
	enum mount_kind where;
	int mnt_id;
	/* MNT_PRIVATE: whether the mount is on no mount of the executing
	 * process's namespace either (1), is on one (0), or was not looked
	 * at yet (-1) */
	int unreachable;
};

/*
 * Whether a file opened through a mount of no namespace of ours is on no
 * mount of the namespace of the process that executes it either: on a
 * tree in no namespace (unmounted with MNT_DETACH while in use, an
 * open_tree() clone never attached), whose path, from that tree's top,
 * names the file from no root.  Looked up once, from procfs only (no
 * filesystem is asked); a process already gone leaves it 0: its
 * namespace can no longer be told.
 */
static bool unreachable(struct notice *n)
{
	if (n->unreachable < 0)
		n->unreachable = n->where == MNT_PRIVATE && n->mnt_id >= 0 &&
				 ksm_mount_in_ns_of("/proc", (uint32_t)n->md.pid, (uint64_t)n->mnt_id) == 0;
	return n->unreachable;
}

/*
 * Whether path lies below the mount point our table gives mount id, as a
 * path on a mount of our namespace does.  One not below it was on a mount
 * detached (MNT_DETACH) since the table was read: the mount keeps its id,
 * and its path is from its own top (a bound file's is "/").
 */
static bool under_point(struct ksm_deny *d, int id, const char *path)
{
	bool under = true;
	pthread_mutex_lock(&d->fs_lock);
	for (size_t i = 0; i < d->n_mnt_ids; i++) {
		if (d->mnt_ids[i].id != id)
			continue;
		under = !d->mnt_ids[i].point || ksm_path_under_mount(path, d->mnt_ids[i].point);
		break;
	}
	pthread_mutex_unlock(&d->fs_lock);
	return under;
}

/* Our mount table as it is now (the table above is the mount thread's last
 * reading): a mount no longer in it is taken as MNT_PRIVATE. */
static void recheck_ours(struct notice *n)
{
	struct ksm_mount_ids now;
	if (ksm_mount_ids_read("/proc/self/mountinfo", &now))
		return;
	if (!ksm_mount_ids_has(&now, (uint64_t)n->mnt_id)) {
		n->where = MNT_PRIVATE;
		n->unreachable = -1;
	}
	ksm_mount_ids_free(&now);
}

/* The notice of the event md: where its file was opened; under --audit
 * (where the process runs on and may be gone when its notice is
 * decided) what mount namespaces hold it, at once. */
static struct notice notice_of(struct ksm_deny *d, const struct fanotify_event_metadata *md)
{
	struct notice n = { .md = *md, .unreachable = -1 };
	n.where = fd_mount(d, md->fd, &n.mnt_id);
	if (d->audit)
		unreachable(&n);
	return n;
}

/*
 * Decides one event without waiting on any filesystem: the path (from the
 * kernel's dentry cache), the path rules, the attributes the kernel holds.
 * What needs the file's content goes to the hashers.
 */
static void decide(struct ksm_deny *d, struct notice *n)
{
	const struct fanotify_event_metadata *md = &n->md;
	struct slot *s = calloc(1, sizeof(*s));
	if (!s) { /* no memory even to report it: answered as undecided */
		pthread_mutex_lock(&d->pend_lock);
		d->undecided++;
		if (md->mask & FAN_OPEN_EXEC_PERM)
			respond_locked(d, md->fd, d->fail_closed && !d->audit ? FAN_DENY : FAN_ALLOW);
		pthread_mutex_unlock(&d->pend_lock);
		close(md->fd);
		return;
	}
	s->fd = md->fd;
	s->pid = (uint32_t)md->pid;
	s->perm = md->mask & FAN_OPEN_EXEC_PERM;
	s->waiting = true;
	if ((pid_t)md->pid == d->self) {
		answer(d, s, &(struct finding){ 0 });
		return;
	}
	bool have_st = cached_attrs(md->fd, &s->st);
	pthread_mutex_lock(&d->pend_lock);
	bool backing = have_st && backing_open_locked(d, s->pid, &s->st, n->where);
	if (backing) {
		/* the attempt was decided on the file it named; if this layer
		 * is itself stacked, its own backing open follows (noted
		 * either way: a note nothing matches expires) */
		d->backing++;
		s->stacked = true;
		answer_locked(d, s, &(struct finding){ 0 });
	} else {
		d->checked++;
	}
	pthread_mutex_unlock(&d->pend_lock);
	if (backing)
		return;

	char path[PATH_MAX];
	bool deleted = false;
	if (!file_path(md->fd, have_st ? &s->st : NULL, path, sizeof(path), &deleted)) {
		answer(d, s, &(struct finding){ .undecided = RULE_ERROR });
		return;
	}
	if (n->where != MNT_PRIVATE && !under_point(d, n->mnt_id, path))
		recheck_ours(n);
	bool lost = unreachable(n);
	s->rec_flags = (deleted ? KSM_BLOCKED_PATH_DELETED : 0) |
		       (lost ? KSM_BLOCKED_PATH_UNREACHABLE : 0);
	/* an overlay's own open, through our mount or another namespace's */
	s->stacked = have_st && (n->where == MNT_OURS_STACKED ||
				 (n->where == MNT_PRIVATE && on_overlay(d, s->st.st_dev)));
	/* a file no root leads to has no path a rule names */
	struct finding f = { .rule = lost ? NULL : ksm_policy_match_path(&d->policy, path) };
	/* a FUSE server may show ksysmon other bytes than the exec gets */
	bool fuse = have_st && on_fuse(d, s->st.st_dev);
	if (!f.rule && d->cache) {
		if (!have_st)
			f.undecided = RULE_ERROR;
		else if (fuse)
			f.undecided = RULE_UNVERIFIABLE;
		else {
			enqueue(d, s, path);
			return;
		}
	}
	/* not remembered on an overlay: the backing open would then come alone */
	f.keep = !f.rule && !f.undecided && have_st && !fuse && !s->stacked && trusted_file(&s->st);
	s->path = strdup(path); /* NULL: reported as (unknown) */
	answer(d, s, &f);
}

static void note_read_error(struct ksm_deny *d, int e)
{
	pthread_mutex_lock(&d->pend_lock);
	d->errors++;
	bool first = !d->read_error_reported;
	d->read_error_reported = true;
	pthread_mutex_unlock(&d->pend_lock);
	if (first)
		fprintf(stderr,
			"ksysmon: deny: the kernel could not open an executed file for ksysmon (%s): it refused that exec itself\n",
			strerror(e));
}

enum take { TAKE_NONE, TAKE_EVENT, TAKE_SKIP, TAKE_STOP };

/* Reads one event into md, waiting up to wait_ms for one: TAKE_EVENT,
 * TAKE_NONE, TAKE_SKIP (nothing to decide: go on), TAKE_STOP.  One event
 * per read: the kernel opens each event's file for the reader, and an
 * open held up by a filesystem (FUSE) must hold up no other event. */
static enum take take_event(struct ksm_deny *d, struct worker *w, struct fanotify_event_metadata *md,
			    int wait_ms)
{
	for (;;) {
		busy(w, true);
		ssize_t len = read(d->fan_fd, md, sizeof(*md));
		busy(w, false);
		if (len < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = d->fan_fd, .events = POLLIN };
			if (wait_ms <= 0 || poll(&p, 1, wait_ms) <= 0)
				return TAKE_NONE;
			wait_ms = 0;
			continue;
		}
		if (len < 0) {
			/* the kernel could not open the file and answered itself */
			note_read_error(d, errno);
			return errno == EMFILE || errno == ENFILE ? TAKE_STOP : TAKE_SKIP;
		}
		if (len < (ssize_t)sizeof(*md) || md->vers != FANOTIFY_METADATA_VERSION)
			return TAKE_STOP;
		if (md->mask & FAN_Q_OVERFLOW) { /* --audit: notices lost */
			pthread_mutex_lock(&d->pend_lock);
			d->overflows++;
			pthread_mutex_unlock(&d->pend_lock);
			return TAKE_SKIP;
		}
		return md->fd < 0 ? TAKE_SKIP : TAKE_EVENT;
	}
}

/* One notice held for the overlay notice it may belong to. */
struct held_notice {
	struct notice n;
	struct stat st;
	bool have_st;
	bool stacked; /* an overlay's own open: through our mount, or another namespace's */
};

static void hold(struct ksm_deny *d, struct held_notice *h, const struct notice *n)
{
	h->n = *n;
	h->have_st = cached_attrs(n->md.fd, &h->st);
	h->stacked = h->have_st && (n->where == MNT_OURS_STACKED ||
				    (n->where == MNT_PRIVATE && on_overlay(d, h->st.st_dev)));
}

/* Whether a is the backing open of the later notice b of an overlay's
 * file: the same process, a file of another filesystem with b's
 * attributes. */
static bool backs(const struct held_notice *a, const struct held_notice *b)
{
	if (!b->stacked || !a->have_st || a->n.md.pid != b->n.md.pid || a->st.st_dev == b->st.st_dev)
		return false;
	struct stacked_open o = stacked_of((uint32_t)b->n.md.pid, &b->st, 0);
	return same_attrs(&o, &a->st);
}

/*
 * --audit: a notice comes when an open ends, so an overlay's backing open
 * (through a mount of no namespace) is noticed before the overlay's own.
 * Such notices are held until one through a mount of our namespace comes
 * (or none for a while): a notice that a later one of an overlay's own
 * open (through our mount, or, for an overlay our namespace also mounts
 * such as a container's root, through another namespace's) shows to be its
 * backing open (the same process, a file with the same attributes) is the
 * same attempt; the others are decided as they are, in their order.  So
 * the execs of several containers at once, and nested overlays, each make
 * one decision.
 */
static void settle_notices(struct ksm_deny *d, struct worker *w, const struct notice *first)
{
	struct held_notice held[HELD_MAX + 1];
	struct fanotify_event_metadata md;
	size_t n = 0;
	enum take t;
	hold(d, &held[n++], first);
	for (;;) {
		t = take_event(d, w, &md, HELD_WAIT_MS);
		if (t != TAKE_EVENT)
			break;
		struct notice next = notice_of(d, &md);
		hold(d, &held[n++], &next); /* the last one too: it may be an overlay's open */
		if (next.where != MNT_PRIVATE || n == HELD_MAX + 1)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		bool backing = false;
		for (size_t j = i + 1; j < n && !backing; j++)
			backing = backs(&held[i], &held[j]);
		if (backing) {
			pthread_mutex_lock(&d->pend_lock);
			d->backing++;
			pthread_mutex_unlock(&d->pend_lock);
			close(held[i].n.md.fd);
		} else {
			decide(d, &held[i].n);
		}
	}
}

/* Reads and decides one event; false when there was none. */
static bool read_one(struct ksm_deny *d, struct worker *w)
{
	struct fanotify_event_metadata md;
	enum take t = take_event(d, w, &md, 0);
	if (t != TAKE_EVENT)
		return t == TAKE_SKIP;
	struct notice n = notice_of(d, &md);
	if (d->audit && n.where == MNT_PRIVATE)
		settle_notices(d, w, &n);
	else
		decide(d, &n);
	return true;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct ksm_deny *d = w->d;
	struct pollfd pfd[2] = {
		{ .fd = d->stop_fd, .events = POLLIN },
		{ .fd = d->fan_fd, .events = POLLIN },
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* on stop: what the kernel queued before the marks went */
		while (read_one(d, w))
			;
		if (pfd[0].revents)
			break;
	}
	return NULL;
}

/* Answers every exec whose deadline passed, and adds a thread to a pool
 * whose threads are all held up in a filesystem. */
static void *timer_main(void *arg)
{
	struct ksm_deny *d = arg;
	const struct finding late = { .undecided = RULE_TIMEOUT };
	pthread_mutex_lock(&d->pend_lock);
	while (!atomic_load(&d->stopping)) {
		uint64_t now = ksm_monotonic_ns();
		while (d->wait_head && d->wait_head->deadline <= now)
			answer_locked(d, d->wait_head, &late);
		if (!d->audit)
			pool_check(d, &d->readers, now);
		if (d->job_count)
			pool_check(d, &d->hashers, now);
		uint64_t wake = now + TICK_NS;
		if (d->wait_head && d->wait_head->deadline < wake)
			wake = d->wait_head->deadline;
		struct timespec ts = ksm_timespec_of(wake);
		pthread_cond_timedwait(&d->timer_cv, &d->pend_lock, &ts);
	}
	pthread_mutex_unlock(&d->pend_lock);
	return NULL;
}

/* ---- interface ---- */

static int start_threads(struct ksm_deny *d, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->timer_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&d->job_cv, NULL);
	d->started = true;

	d->readers.main = reader_main;
	d->hashers.main = hasher_main;
	/* --audit: one reader, so that notices are taken in their order (an
	 * overlay's, then its backing open's); nothing waits on a held one */
	for (int i = 0; i < (d->audit ? 1 : READERS); i++)
		pool_grow(d, &d->readers);
	for (int i = 0; d->cache && i < HASHERS; i++)
		pool_grow(d, &d->hashers);
	int e = 0;
	if (atomic_load(&d->readers.n) < (d->audit ? 1u : READERS) || (d->cache && !atomic_load(&d->hashers.n)))
		e = EAGAIN;
	if (!e && !(e = spawn(&d->timer, timer_main, d)))
		d->timer_started = true;
	if (!e && !(e = spawn(&d->mounter, mounter_main, d)))
		d->mounter_started = true;
	if (e)
		return ksm_fail(err, errlen, "cannot start the deny threads: %s", strerror(e));
	return 0;
}

int ksm_deny_start(struct ksm_deny **out, const struct ksm_deny_config *cfg, char *err, size_t errlen)
{
	struct ksm_deny *d = calloc(1, sizeof(*d));
	int e;

	*out = NULL;
	if (!d)
		return ksm_fail(err, errlen, "out of memory for the deny policy");
	d->fan_fd = d->mnt_fd = d->stop_fd = -1;
	d->cgroup_fd = cfg->cgroup_root_fd >= 0 ? fcntl(cfg->cgroup_root_fd, F_DUPFD_CLOEXEC, 0) : -1;
	d->tail = &d->head;
	d->self = getpid();
	d->audit = cfg->audit;
	d->fail_closed = cfg->fail_closed;
	d->skip_fuse = cfg->unwatched_killed;
	d->watched = cfg->watched;
	d->watched_ctx = cfg->watched_ctx;
	d->timeout_ns = (uint64_t)cfg->timeout_ms * 1000000u;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->pend_lock, NULL);
	pthread_mutex_init(&d->fs_lock, NULL);
	d->stopped = true; /* nothing to stop until the threads run */

	if (ksm_policy_init(&d->policy, cfg->globs, cfg->n_globs, cfg->sha256, cfg->n_sha256, err, errlen))
		goto fail;
	if (d->policy.n_digests) {
		d->cache = ksm_hashcache_new(KSM_HASHCACHE_ENTRIES);
		d->jobs = calloc(PENDING_MAX, sizeof(*d->jobs));
		if (!d->cache || !d->jobs) {
			ksm_fail(err, errlen, "cannot set up SHA-256 hashing (OpenSSL libcrypto)");
			goto fail;
		}
	}
	/* --audit waits for nothing: plain notices, which no exec waits for */
	d->fan_fd = fanotify_init((d->audit ? FAN_CLASS_NOTIF : FAN_CLASS_CONTENT) | FAN_CLOEXEC | FAN_NONBLOCK,
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
	d->stopped = false;
	if (start_threads(d, err, errlen))
		goto fail;
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
		lost.hdr.time = ksm_clock_ns(CLOCK_REALTIME);
		lost.lost[KSM_EV_EXEC_BLOCKED] = dropped;
		emit(ctx, &lost, sizeof(lost));
		n++;
	}
	return n;
}

/* Joins a single thread by the deadline, or counts it as held up. */
static void join_one(struct ksm_deny *d, bool started, pthread_t t, uint64_t deadline_rt)
{
	struct timespec ts = ksm_timespec_of(deadline_rt);
	if (started && pthread_timedjoin_np(t, NULL, &ts))
		d->stuck++;
}

/*
 * The order matters: first no new events (marks removed), then the
 * threads told to stop (readers answer what the kernel still queued),
 * then every exec still waiting answered, and only then the threads
 * joined — each within a time limit, since one held in a filesystem call
 * cannot be interrupted.  Nothing waits on ksysmon after this returns.
 */
void ksm_deny_stop(struct ksm_deny *d)
{
	if (!d || d->stopped)
		return;
	d->stopped = true;
	if (fanotify_mark(d->fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL))
		d->errors++;
	atomic_store(&d->stopping, true);
	pthread_mutex_lock(&d->fs_lock); /* no watched() call from here on */
	pthread_mutex_unlock(&d->fs_lock);
	uint64_t one = 1;
	while (write(d->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	uint64_t deadline_rt = ksm_clock_ns(CLOCK_REALTIME) + STOP_GRACE_NS;
	if (d->started) {
		pthread_mutex_lock(&d->pend_lock);
		pthread_cond_broadcast(&d->job_cv);
		pthread_cond_broadcast(&d->timer_cv);
		pthread_mutex_unlock(&d->pend_lock);
	}
	/* the timer first: it is the one that starts threads */
	join_one(d, d->timer_started, d->timer, deadline_rt);
	pool_join(d, &d->readers, deadline_rt);
	pthread_mutex_lock(&d->pend_lock);
	while (d->wait_head)
		answer_locked(d, d->wait_head, &(struct finding){ .undecided = RULE_TIMEOUT });
	for (; d->job_count; d->job_count--, d->job_first = (d->job_first + 1) % PENDING_MAX) {
		d->jobs[d->job_first]->queued = false;
		release_locked(d->jobs[d->job_first]);
	}
	pthread_mutex_unlock(&d->pend_lock);
	pool_join(d, &d->hashers, deadline_rt);
	join_one(d, d->mounter_started, d->mounter, deadline_rt);
	if (!d->stuck) {
		/* closing allows whatever is still in flight */
		close(d->fan_fd);
		d->fan_fd = -1;
	}
	fprintf(stderr, "ksysmon: deny: %llu execs checked, %llu denied, %llu audited, %llu undecided (%s)%s",
		(unsigned long long)d->checked, (unsigned long long)d->denied,
		(unsigned long long)d->audited, (unsigned long long)d->undecided,
		d->fail_closed && !d->audit ? "denied" : "allowed",
		d->errors ? ", errors occurred" : "");
	if (d->overflows)
		fprintf(stderr, ", %llu notice queue overflows (execs not checked)", (unsigned long long)d->overflows);
	if (d->stuck)
		fprintf(stderr, "; threads still held in a filesystem call (no exec waits for them): %u", d->stuck);
	fputc('\n', stderr);
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
	d->head = NULL;
	if (d->stuck) {
		abandoned = d; /* its threads may still come back to it */
		return;
	}
	if (d->fan_fd >= 0)
		close(d->fan_fd);
	if (d->mnt_fd >= 0)
		close(d->mnt_fd);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->cgroup_fd >= 0)
		close(d->cgroup_fd);
	ksm_hashcache_free(d->cache);
	ksm_policy_free(&d->policy);
	if (d->started) {
		pthread_cond_destroy(&d->timer_cv);
		pthread_cond_destroy(&d->job_cv);
	}
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->pend_lock);
	pthread_mutex_destroy(&d->fs_lock);
	free(d->jobs);
	free(d->mountinfo);
	free_mounts(d->mnt_ids, d->n_mnt_ids);
	free(d);
}
