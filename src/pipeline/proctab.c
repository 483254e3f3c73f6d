// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/proctab.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/escape.h"
#include "core/decode.h"
#include "policy/mountids.h"

void ksm_guid(const uint8_t boot_id[16], uint32_t pid, uint64_t start, uint8_t out[16])
{
	memcpy(out, boot_id, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(start >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[12 + i] = (uint8_t)(pid >> (24 - 8 * i));
}

int ksm_proctab_init(struct ksm_proctab *t, size_t max_procs, const uint8_t boot_id[16])
{
	size_t cap = 64;
	memset(t, 0, sizeof(*t));
	while (cap < max_procs + max_procs / 2)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->cap = cap;
	memcpy(t->boot_id, boot_id, 16);
	return 0;
}

static void proc_clear(struct ksm_proc *p)
{
	free(p->image);
	free(p->cmdline);
	memset(p, 0, sizeof(*p));
}

void ksm_proctab_free(struct ksm_proctab *t)
{
	for (size_t i = 0; i < KSM_ENDED_MAX; i++)
		proc_clear(&t->ended[i]);
	for (size_t i = 0; t->slots && i < t->cap; i++)
		proc_clear(&t->slots[i]);
	free(t->slots);
	t->slots = NULL;
}

static size_t slot_of(const struct ksm_proctab *t, uint32_t pid)
{
	return (pid * 2654435761u) & (t->cap - 1);
}

/* The slot holding pid, or the free slot where it would go. */
static struct ksm_proc *lookup(struct ksm_proctab *t, uint32_t pid)
{
	size_t i = slot_of(t, pid);
	while (t->slots[i].pid && t->slots[i].pid != pid)
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static bool same_start(const struct ksm_proc *p, uint64_t start)
{
	return p->start == start || (p->seeded && p->start / KSM_TICK_NS == start / KSM_TICK_NS);
}

struct ksm_proc *ksm_proctab_find(struct ksm_proctab *t, uint32_t pid, uint64_t start)
{
	struct ksm_proc *p = lookup(t, pid);
	return p->pid && same_start(p, start) ? p : NULL;
}

struct ksm_proc *ksm_proctab_get(struct ksm_proctab *t, uint32_t pid, uint64_t start)
{
	struct ksm_proc *p = lookup(t, pid);
	if (p->pid) {
		if (same_start(p, start))
			return p;
		proc_clear(p); /* a reused pid whose exit was not seen */
		t->count--;
	}
	/* keep a third of the slots free: probes stay short */
	if (t->count + 1 > t->cap / 3 * 2) {
		t->full++;
		return NULL;
	}
	p->pid = pid;
	p->start = start;
	ksm_guid(t->boot_id, pid, start, p->guid);
	t->count++;
	return p;
}

struct ksm_proc *ksm_proctab_find_ended(struct ksm_proctab *t, uint32_t pid, uint64_t start)
{
	for (size_t i = 0; i < KSM_ENDED_MAX; i++)
		if (t->ended[i].pid == pid && same_start(&t->ended[i], start))
			return &t->ended[i];
	return NULL;
}

struct ksm_proc *ksm_proctab_retire(struct ksm_proctab *t, struct ksm_proc *p)
{
	struct ksm_proc *slot = &t->ended[t->n_ended++ % KSM_ENDED_MAX];
	proc_clear(slot);
	*slot = *p;
	p->image = p->cmdline = NULL; /* now the slot's */
	ksm_proctab_remove(t, p);
	return slot;
}

/* Backward-shift deletion keeps every probe sequence unbroken. */
void ksm_proctab_remove(struct ksm_proctab *t, struct ksm_proc *p)
{
	size_t i = (size_t)(p - t->slots), j = i;
	proc_clear(p);
	t->count--;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!t->slots[j].pid)
			return;
		size_t home = slot_of(t, t->slots[j].pid);
		/* can the entry at j move to the hole at i? */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (between)
			continue;
		t->slots[i] = t->slots[j];
		memset(&t->slots[j], 0, sizeof(t->slots[j]));
		i = j;
	}
}

void ksm_proc_set(char **field, size_t *field_len, const void *s, size_t len)
{
	if (len > KSM_PROC_STR_MAX)
		len = KSM_PROC_STR_MAX;
	char *copy = malloc(len + 1);
	if (!copy)
		return; /* keep the old value */
	if (len)
		memcpy(copy, s, len); /* s may be NULL for an absent string */
	copy[len] = '\0';
	free(*field);
	*field = copy;
	*field_len = len;
}

void ksm_proc_set_cmdline(struct ksm_proc *p, const void *argv, size_t len)
{
	struct ksm_text t = { .data = argv, .len = (uint32_t)(len < KSM_PROC_STR_MAX ? len : KSM_PROC_STR_MAX),
			      .present = true };
	struct ksm_buf line = { 0 };
	ksm_argv_join(&line, &t, ' ', NULL);
	ksm_proc_set(&p->cmdline, &p->cmdline_len, line.len ? line.data : "", line.len);
	ksm_buf_free(&line);
}

static ssize_t read_file(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size);
	close(fd);
	return n;
}

/* ppid and start ticks from /proc/PID/stat (fields 4 and 22); the command
 * name may hold spaces and parentheses, so parse after the last ')'. */
static int parse_stat(const char *stat, uint32_t *ppid, uint64_t *ticks)
{
	const char *p = strrchr(stat, ')');
	unsigned long long f[20];
	if (!p)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice threads itrealvalue starttime */
	if (sscanf(p + 2, "%*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10],
		   &f[11], &f[12], &f[13], &f[14], &f[15], &f[16], &f[17], &f[18]) != 19)
		return -1;
	*ppid = (uint32_t)f[0];
	*ticks = f[18];
	return 0;
}

/* What seeding reads once: the /proc it reads, and the mounts of
 * ksysmon's own namespace (empty when they could not be read). */
struct seed {
	const char *proc;
	struct ksm_mount_ids own;
};

/*
 * Whether the program of process pid (its exe link in dfd) lies on a
 * mount of no namespace, as the sensor's walk would find it (see
 * KSM_PATH_UNREACHABLE): its mount is neither in ksysmon's namespace nor
 * in the process's own.  false when that cannot be told.
 */
static bool exe_unreachable(const struct seed *sd, int dfd, uint32_t pid)
{
	struct statx x;
	if (statx(dfd, "exe", AT_STATX_DONT_SYNC, STATX_MNT_ID, &x) || !(x.stx_mask & STATX_MNT_ID) ||
	    ksm_mount_ids_has(&sd->own, x.stx_mnt_id))
		return false;
	return ksm_mount_in_ns_of(sd->proc, pid, x.stx_mnt_id) == 0;
}

/* The program of a process found running, as its exe link names it in its
 * state (enum ksm_path_state), as process_exec would have shown it. */
static void seed_image(const struct seed *sd, struct ksm_proc *p, int dfd, uint32_t pid)
{
	static const char deleted[] = KSM_PATH_DELETED_SUFFIX, prefix[] = KSM_PATH_UNREACHABLE_PREFIX;
	const size_t dlen = sizeof(deleted) - 1, plen = sizeof(prefix) - 1;
	char buf[KSM_PROC_STR_MAX];
	struct stat st; /* of the file itself: no links left when removed */

	ssize_t n = readlinkat(dfd, "exe", buf + plen, sizeof(buf) - plen);
	if (n <= 0)
		return;
	if ((size_t)n == sizeof(buf) - plen)
		p->image_flags |= KSM_PATH_TRUNCATED;
	else if ((size_t)n > dlen && !memcmp(buf + plen + n - dlen, deleted, dlen) &&
		 !fstatat(dfd, "exe", &st, 0) && st.st_nlink == 0)
		p->image_flags |= KSM_PATH_DELETED;
	const char *text = buf + plen;
	if (exe_unreachable(sd, dfd, pid)) {
		memcpy(buf, prefix, plen);
		text = buf;
		n += (ssize_t)plen;
		p->image_flags |= KSM_PATH_UNREACHABLE;
	}
	ksm_proc_set(&p->image, &p->image_len, text, (size_t)n);
}

static void seed_one(struct ksm_proctab *t, const struct seed *sd, int procfd, const char *name)
{
	char buf[KSM_PROC_STR_MAX];
	uint32_t ppid;
	uint64_t ticks;
	int dfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	ssize_t n = read_file(dfd, "stat", buf, sizeof(buf) - 1);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	if (parse_stat(buf, &ppid, &ticks))
		goto out;
	uint32_t pid = (uint32_t)atoi(name);
	struct ksm_proc *p = ksm_proctab_get(t, pid, ticks * KSM_TICK_NS);
	if (!p)
		goto out;
	p->seeded = true;
	p->ppid = ppid;
	seed_image(sd, p, dfd, pid);
	n = read_file(dfd, "cmdline", buf, sizeof(buf));
	/* a process that rewrote its arguments (setproctitle) pads the rest of
	 * them with NULs: /proc shows them, the title ends at the first */
	while (n > 1 && buf[n - 1] == '\0' && buf[n - 2] == '\0')
		n--;
	if (n > 0)
		ksm_proc_set_cmdline(p, buf, (size_t)n);
out:
	close(dfd);
}

int ksm_proctab_seed(struct ksm_proctab *t, const char *proc)
{
	int procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -1;
	DIR *d = fdopendir(procfd);
	if (!d) {
		close(procfd);
		return -1;
	}
	struct dirent *de;
	int n = 0;
	struct seed sd = { .proc = proc };
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/self/mountinfo", proc);
	ksm_mount_ids_read(path, &sd.own); /* empty when not read: each process's own then */
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		seed_one(t, &sd, dirfd(d), de->d_name);
		n++;
	}
	closedir(d);
	ksm_mount_ids_free(&sd.own);
	/* parents' start times, now that every process is in */
	for (size_t i = 0; i < t->cap; i++) {
		struct ksm_proc *p = &t->slots[i];
		if (p->pid && p->ppid) {
			struct ksm_proc *pp = lookup(t, p->ppid);
			if (pp->pid)
				p->parent_start = pp->start;
		}
	}
	return n;
}

int ksm_read_boot_id(const char *path, uint8_t out[16])
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	int o = 0;
	for (ssize_t i = 0; i < n && o < 32; i++) {
		int v = ksm_hex_value((unsigned char)buf[i]);
		if (v < 0)
			continue;
		if (o % 2 == 0)
			out[o / 2] = (uint8_t)(v << 4);
		else
			out[o / 2] |= (uint8_t)v;
		o++;
	}
	return o == 32 ? 0 : -1;
}
