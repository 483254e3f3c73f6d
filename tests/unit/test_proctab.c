// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The process table: identities, pid reuse, deletion, bounds, seeding;
 * user names of the enricher. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/enrich.h"
#include "core/format.h"
#include "pipeline/proctab.h"
#include "pipeline/rootpasswd.h"
#include <errno.h>

static const uint8_t boot[16] = { 0x6f, 0x68, 0x86, 0x2f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void test_guid_layout(void **state)
{
	(void)state;
	uint8_t g[16];
	char s[37];
	ksm_guid(boot, 0x0a44, 0x03dd1cd9b536ull, g);
	ksm_guid_format(g, s);
	assert_string_equal(s, "6f68862f-0000-03dd-1cd9-b53600000a44");
}

static void test_reuse_and_identity(void **state)
{
	(void)state;
	struct ksm_proctab t;
	assert_int_equal(ksm_proctab_init(&t, 100, boot), 0);
	struct ksm_proc *a = ksm_proctab_get(&t, 42, 1000);
	assert_non_null(a);
	uint8_t ga[16];
	memcpy(ga, a->guid, 16);
	assert_ptr_equal(ksm_proctab_find(&t, 42, 1000), a);
	assert_null(ksm_proctab_find(&t, 42, 2000)); /* same pid, another process */
	struct ksm_proc *b = ksm_proctab_get(&t, 42, 2000); /* reuse replaces */
	assert_non_null(b);
	assert_memory_not_equal(b->guid, ga, 16);
	assert_int_equal(t.count, 1);
	ksm_proctab_free(&t);
}

static void test_seeded_match_within_tick(void **state)
{
	(void)state;
	struct ksm_proctab t;
	assert_int_equal(ksm_proctab_init(&t, 100, boot), 0);
	struct ksm_proc *p = ksm_proctab_get(&t, 7, 5 * KSM_TICK_NS);
	p->seeded = true;
	assert_ptr_equal(ksm_proctab_find(&t, 7, 5 * KSM_TICK_NS + 1234567), p);
	assert_null(ksm_proctab_find(&t, 7, 6 * KSM_TICK_NS));
	ksm_proctab_free(&t);
}

/* Many colliding pids; removing in random order keeps every other one
 * findable (backward-shift deletion). */
static void test_remove_keeps_probe_chains(void **state)
{
	(void)state;
	struct ksm_proctab t;
	enum { N = 600 };
	assert_int_equal(ksm_proctab_init(&t, N, boot), 0);
	for (uint32_t i = 1; i <= N; i++) {
		struct ksm_proc *p = ksm_proctab_get(&t, i * 64, i);
		assert_non_null(p);
		ksm_proc_set(&p->image, &p->image_len, "/bin/x", 6);
	}
	srand(1);
	bool gone[N + 1] = { 0 };
	for (int k = 0; k < N / 2; k++) {
		uint32_t i = 1 + (uint32_t)rand() % N;
		if (gone[i])
			continue;
		ksm_proctab_remove(&t, ksm_proctab_find(&t, i * 64, i));
		gone[i] = true;
		for (uint32_t j = 1; j <= N; j++) {
			struct ksm_proc *p = ksm_proctab_find(&t, j * 64, j);
			if (gone[j])
				assert_null(p);
			else
				assert_non_null(p);
		}
	}
	ksm_proctab_free(&t);
}

/* An ended process stays findable by its identity for KSM_ENDED_MAX more
 * ends, never under another start time. */
static void test_ended_processes_are_kept(void **state)
{
	(void)state;
	struct ksm_proctab t;
	assert_int_equal(ksm_proctab_init(&t, 100, boot), 0);
	struct ksm_proc *p = ksm_proctab_get(&t, 7, 5000);
	ksm_proc_set(&p->image, &p->image_len, "/bin/parent", 11);
	struct ksm_proc *kept = ksm_proctab_retire(&t, p);
	assert_null(ksm_proctab_find(&t, 7, 5000));
	assert_ptr_equal(ksm_proctab_find_ended(&t, 7, 5000), kept);
	assert_string_equal(kept->image, "/bin/parent");
	assert_null(ksm_proctab_find_ended(&t, 7, 6000)); /* a later process of that pid */
	for (uint32_t i = 0; i < KSM_ENDED_MAX - 1; i++)
		ksm_proctab_retire(&t, ksm_proctab_get(&t, 100 + i, 1));
	assert_non_null(ksm_proctab_find_ended(&t, 7, 5000));
	ksm_proctab_retire(&t, ksm_proctab_get(&t, 99, 1));
	assert_null(ksm_proctab_find_ended(&t, 7, 5000)); /* the oldest went first */
	assert_int_equal(t.count, 0);
	ksm_proctab_free(&t);
}

static void test_bounded(void **state)
{
	(void)state;
	struct ksm_proctab t;
	assert_int_equal(ksm_proctab_init(&t, 10, boot), 0);
	size_t ok = 0;
	for (uint32_t i = 1; i <= 1000; i++)
		ok += ksm_proctab_get(&t, i, i) != NULL;
	assert_true(ok >= 10 && ok < 1000);
	assert_int_equal(t.full, 1000 - ok);
	char big[KSM_PROC_STR_MAX * 2];
	memset(big, 'a', sizeof(big));
	struct ksm_proc *p = ksm_proctab_find(&t, 1, 1);
	ksm_proc_set(&p->cmdline, &p->cmdline_len, big, sizeof(big));
	assert_int_equal(p->cmdline_len, KSM_PROC_STR_MAX);
	ksm_proctab_free(&t);
}

/* A fake /proc: names with spaces and parentheses in comm. */
static void test_seed_from_fake_proc(void **state)
{
	(void)state;
	char dir[] = "/tmp/ksm-proc.XXXXXX", path[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/123", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/123/stat", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "123 (a (b) c) S 1 123 123 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 250 1000 1\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/123/cmdline", dir);
	f = fopen(path, "w");
	fwrite("prog\0-x\0\0", 1, 9, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/123/exe", dir);
	assert_int_equal(symlink("/usr/bin/prog", path), 0);
	snprintf(path, sizeof(path), "%s/self", dir);
	mkdir(path, 0755);

	struct ksm_proctab t;
	assert_int_equal(ksm_proctab_init(&t, 10, boot), 0);
	assert_int_equal(ksm_proctab_seed(&t, dir), 1);
	struct ksm_proc *p = ksm_proctab_find(&t, 123, 250ull * KSM_TICK_NS + 5);
	assert_non_null(p);
	assert_true(p->seeded);
	assert_int_equal(p->ppid, 1);
	assert_string_equal(p->image, "/usr/bin/prog");
	assert_string_equal(p->cmdline, "prog -x");
	/* from an exec record: exact, an empty last argument kept */
	ksm_proc_set_cmdline(p, "prog\0-x\0\0", 9);
	assert_string_equal(p->cmdline, "prog -x ");
	ksm_proc_set_cmdline(p, "prog\0-x\0", 8);
	assert_string_equal(p->cmdline, "prog -x");
	ksm_proctab_free(&t);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A fake /proc with its own mountinfo files: the program of a process
 * found running is on a mount neither ksysmon's namespace nor its own
 * lists (a tree in no namespace), or on one of them. */
static void test_seed_unreachable_program(void **state)
{
	(void)state;
	char dir[] = "/tmp/ksm-proc.XXXXXX", path[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/prog", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	struct statx x; /* the mount the exe link leads to */
	assert_int_equal(statx(AT_FDCWD, path, 0, STATX_MNT_ID, &x), 0);
	assert_true(x.stx_mask & STATX_MNT_ID);
	const char *stat_line = "S 1 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 250 1000 1\n";
	for (int pid = 121; pid <= 123; pid++) {
		snprintf(path, sizeof(path), "%s/%d", dir, pid);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/%d/stat", dir, pid);
		f = fopen(path, "w");
		fprintf(f, "%d (p) %s", pid, stat_line);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%d/exe", dir, pid);
		char target[256];
		snprintf(target, sizeof(target), "%s/prog", dir);
		assert_int_equal(symlink(target, path), 0);
		/* 121's namespace lists the mount, 122's does not, 123's cannot be read */
		if (pid == 123)
			continue;
		snprintf(path, sizeof(path), "%s/%d/mountinfo", dir, pid);
		f = fopen(path, "w");
		fprintf(f, "1 0 0:1 / / rw - rootfs rootfs rw\n");
		if (pid == 121)
			fprintf(f, "%llu 1 0:2 / /x rw - t t rw\n", (unsigned long long)x.stx_mnt_id);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/self", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/self/mountinfo", dir);
	f = fopen(path, "w");
	fprintf(f, "2 0 0:1 / / rw - rootfs rootfs rw\n");
	fclose(f);

	struct ksm_proctab t;
	char want[300];
	snprintf(want, sizeof(want), "(unreachable)%s/prog", dir);
	assert_int_equal(ksm_proctab_init(&t, 10, boot), 0);
	assert_int_equal(ksm_proctab_seed(&t, dir), 3);
	struct ksm_proc *p = ksm_proctab_find(&t, 122, 250ull * KSM_TICK_NS);
	assert_non_null(p);
	assert_string_equal(p->image, want);
	assert_int_equal(p->image_flags, KSM_PATH_UNREACHABLE);
	for (uint32_t pid = 121; pid <= 123; pid += 2) {
		p = ksm_proctab_find(&t, pid, 250ull * KSM_TICK_NS);
		assert_string_equal(p->image, want + strlen("(unreachable)"));
		assert_int_equal(p->image_flags, 0);
	}
	ksm_proctab_free(&t);
	/* listed in ksysmon's own namespace: reachable, whatever the process's says */
	snprintf(path, sizeof(path), "%s/self/mountinfo", dir);
	f = fopen(path, "w");
	fprintf(f, "%llu 0 0:1 / / rw - t t rw\n", (unsigned long long)x.stx_mnt_id);
	fclose(f);
	assert_int_equal(ksm_proctab_init(&t, 10, boot), 0);
	assert_int_equal(ksm_proctab_seed(&t, dir), 3);
	assert_int_equal(ksm_proctab_find(&t, 122, 250ull * KSM_TICK_NS)->image_flags, 0);
	ksm_proctab_free(&t);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* An exec's program kept in its state: its exit and its children (until
 * they exec) show it as the exec did, "(unreachable)" and flag included. */
static void test_unreachable_image_kept(void **state)
{
	(void)state;
	struct ksm_enricher e;
	assert_int_equal(ksm_enrich_init(&e, 64, NULL, NULL), 0);
	struct ksm_event ex = { .type = KSM_EV_PROCESS_EXEC, .pid = 10, .tid = 10, .start_time = 1010,
				.parent_start_time = 1 };
	ex.u.exec.image = (struct ksm_text){ (const uint8_t *)"/", 1, false, true };
	ex.u.exec.image_state = KSM_PATH_UNREACHABLE | KSM_PATH_DELETED;
	ex.u.exec.parent_image = (struct ksm_text){ (const uint8_t *)"/sub/p", 6, false, true };
	ex.u.exec.parent_image_state = KSM_PATH_UNREACHABLE;
	ksm_enrich(&e, &ex, 0);
	assert_true(ex.ctx.parent_image.present);
	assert_int_equal(ex.ctx.parent_image.len, 19);
	assert_memory_equal(ex.ctx.parent_image.data, "(unreachable)/sub/p", 19);
	assert_int_equal(ex.ctx.parent_image_flags, KSM_PATH_UNREACHABLE);

	struct ksm_event fork = { .type = KSM_EV_PROCESS_CREATE, .pid = 11, .start_time = 1011,
				  .parent_start_time = 1010 };
	fork.u.create.ppid = 10;
	ksm_enrich(&e, &fork, 0);
	for (uint32_t pid = 10; pid <= 11; pid++) {
		struct ksm_event exit_ = { .type = KSM_EV_PROCESS_EXIT, .pid = pid,
					   .start_time = 1000 + pid };
		ksm_enrich(&e, &exit_, 0);
		assert_int_equal(exit_.ctx.image.len, 24);
		assert_memory_equal(exit_.ctx.image.data, "(unreachable)/ (deleted)", 24);
		assert_int_equal(exit_.ctx.image_flags, KSM_PATH_UNREACHABLE | KSM_PATH_DELETED);
	}
	/* a path as long as a record's, with its decorations: cut at the
	 * root's end, and said so, the decorations kept */
	static char longest[4095];
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	struct ksm_event big = { .type = KSM_EV_PROCESS_EXEC, .pid = 12, .tid = 12, .start_time = 1012 };
	big.u.exec.image = (struct ksm_text){ (const uint8_t *)longest, sizeof(longest), false, true };
	big.u.exec.image_state = KSM_PATH_UNREACHABLE | KSM_PATH_DELETED;
	ksm_enrich(&e, &big, 0);
	struct ksm_event end = { .type = KSM_EV_PROCESS_EXIT, .pid = 12, .start_time = 1012 };
	ksm_enrich(&e, &end, 0);
	assert_int_equal(end.ctx.image.len, KSM_PROC_STR_MAX);
	assert_memory_equal(end.ctx.image.data, "(unreachable)aaa", 16);
	assert_memory_equal(end.ctx.image.data + KSM_PROC_STR_MAX - 11, "a (deleted)", 11);
	assert_int_equal(end.ctx.image_flags,
			 KSM_PATH_UNREACHABLE | KSM_PATH_DELETED | KSM_PATH_TRUNCATED);
	ksm_enrich_free(&e);
}

static void test_boot_id(void **state)
{
	(void)state;
	char path[] = "/tmp/ksm-boot.XXXXXX";
	int fd = mkstemp(path);
	assert_true(write(fd, "6f68862f-1234-4abc-8def-0123456789ab\n", 37) == 37);
	close(fd);
	uint8_t id[16];
	assert_int_equal(ksm_read_boot_id(path, id), 0);
	assert_int_equal(id[0], 0x6f);
	assert_int_equal(id[15], 0xab);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "short", 5) == 5);
	close(fd);
	assert_int_equal(ksm_read_boot_id(path, id), -1);
	unlink(path);
}

static unsigned lookups;

static const char *named_if_even(void *ctx, const struct ksm_user_query *q, char *buf,
				 size_t len, bool *keep)
{
	(void)ctx;
	uint32_t uid = q->uid;
	*keep = true;
	lookups++;
	if (uid % 2)
		return NULL;
	if (uid >= 2000) { /* a name of uid - 2000 bytes */
		memset(buf, 'n', uid - 2000);
		buf[uid - 2000] = '\0';
		return buf;
	}
	snprintf(buf, len, "user%u", uid);
	return buf;
}

static const char *user_of_exec(struct ksm_enricher *e, uint32_t pid, uint32_t uid)
{
	struct ksm_event ev = { .type = KSM_EV_PROCESS_EXEC, .pid = pid, .tid = pid,
				.start_time = 1000 + pid };
	ev.u.exec.uid = uid;
	ksm_enrich(e, &ev, 0);
	return ev.ctx.user;
}

/* A uid is looked up once, whether it has a name or not (a container's
 * uid unknown to the host would otherwise cost a lookup per exec). */
static void test_user_names_looked_up_once(void **state)
{
	(void)state;
	struct ksm_enricher e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(ksm_enrich_init(&e, 64, NULL, NULL), 0);
	e.lookup_user = named_if_even;
	lookups = 0;
	for (uint32_t i = 0; i < 3; i++) {
		assert_string_equal(user_of_exec(&e, 10 + i, 1000), "user1000");
		assert_null(user_of_exec(&e, 20 + i, 1001));
	}
	assert_int_equal(lookups, 2);
	ksm_enrich_free(&e);
}

/* A name longer than any login name (a hostile passwd file's) is not
 * given, rather than given cut; the longest one is given whole. */
static void test_user_name_too_long(void **state)
{
	(void)state;
	struct ksm_enricher e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(ksm_enrich_init(&e, 64, NULL, NULL), 0);
	e.lookup_user = named_if_even;
	const char *n = user_of_exec(&e, 10, 2000 + KSM_USER_NAME_MAX - 1);
	assert_non_null(n);
	assert_int_equal(strlen(n), KSM_USER_NAME_MAX - 1);
	assert_null(user_of_exec(&e, 11, 2000 + 4000));
	assert_null(user_of_exec(&e, 12, 2000 + KSM_USER_NAME_MAX + 1));
	ksm_enrich_free(&e);
}

/* An exec of pid (started at start, parent ppid) running image with argv. */
static void exec_of(struct ksm_enricher *e, uint32_t pid, uint64_t start, uint32_t ppid,
		    const char *image, const char *argv, size_t argv_len)
{
	struct ksm_event ev = { .type = KSM_EV_PROCESS_EXEC, .pid = pid, .tid = pid,
				.start_time = start, .parent_start_time = 1 };
	ev.u.exec.ppid = ppid;
	ev.u.exec.image = (struct ksm_text){ (const uint8_t *)image, (uint32_t)strlen(image), false, true };
	ev.u.exec.argv = (struct ksm_text){ (const uint8_t *)argv, (uint32_t)argv_len, false, true };
	ksm_enrich(e, &ev, NULL);
}

/* process_create of pid by creator (its process started at creator_start;
 * 0: not recorded), whose parent is ppid. */
static struct ksm_event create_of(struct ksm_enricher *e, uint32_t pid, uint32_t ppid,
				  uint64_t parent_start, uint32_t creator, uint64_t creator_start)
{
	struct ksm_event ev = { .type = KSM_EV_PROCESS_CREATE, .pid = pid, .start_time = 9000 + pid,
				.parent_start_time = parent_start };
	ev.u.create.ppid = ppid;
	ev.u.create.parent_tid = creator;
	ev.u.create.creator_pid = creator;
	ev.u.create.creator_start = creator_start;
	ksm_enrich(e, &ev, NULL);
	return ev;
}

static void assert_proc_strings(struct ksm_enricher *e, uint32_t pid, uint64_t start,
				const char *image, const char *cmdline)
{
	struct ksm_proc *p = ksm_proctab_find(&e->procs, pid, start);
	assert_non_null(p);
	if (!image) {
		assert_null(p->image);
		assert_null(p->cmdline);
		return;
	}
	assert_string_equal(p->image, image);
	assert_string_equal(p->cmdline, cmdline);
}

/* Until it execs a new process runs its creator's program: its parent's,
 * but with CLONE_PARENT (the creator's parent is the parent) the
 * creator's, found by its identity; the parent's identity stays the
 * parent's.  A record without the creator's start (older captures) leaves
 * the program unknown rather than the parent's. */
static void test_clone_parent_runs_the_creators_program(void **state)
{
	(void)state;
	struct ksm_enricher e;
	uint8_t want[16];
	assert_int_equal(ksm_enrich_init(&e, 64, NULL, NULL), 0);
	exec_of(&e, 100, 1100, 1, "/usr/bin/conmon", "conmon\0-c\0", 10);
	exec_of(&e, 200, 1200, 100, "/usr/sbin/runc", "runc\0init\0", 10);

	/* an ordinary fork: the parent's */
	struct ksm_event ev = create_of(&e, 300, 200, 1200, 200, 1200);
	assert_false(ev.ctx.has_creator_guid);
	assert_proc_strings(&e, 300, 9300, "/usr/sbin/runc", "runc init");

	/* runc's CLONE_PARENT: parent conmon, creator runc */
	ev = create_of(&e, 301, 100, 1100, 200, 1200);
	assert_proc_strings(&e, 301, 9301, "/usr/sbin/runc", "runc init");
	ksm_guid(e.procs.boot_id, 100, 1100, want);
	assert_true(ev.ctx.has_parent_guid);
	assert_memory_equal(ev.ctx.parent_guid, want, 16);
	ksm_guid(e.procs.boot_id, 200, 1200, want);
	assert_true(ev.ctx.has_creator_guid);
	assert_memory_equal(ev.ctx.creator_guid, want, 16);

	/* a creator that ended before its record was handled is still found */
	struct ksm_event x = { .type = KSM_EV_PROCESS_EXIT, .pid = 200, .start_time = 1200 };
	ksm_enrich(&e, &x, NULL);
	create_of(&e, 302, 100, 1100, 200, 1200);
	assert_proc_strings(&e, 302, 9302, "/usr/sbin/runc", "runc init");

	/* the creator's start not recorded, or another process's: unknown */
	ev = create_of(&e, 303, 100, 1100, 200, 0);
	assert_false(ev.ctx.has_creator_guid);
	assert_proc_strings(&e, 303, 9303, NULL, NULL);
	ev = create_of(&e, 304, 100, 1100, 200, 7777);
	assert_true(ev.ctx.has_creator_guid);
	assert_proc_strings(&e, 304, 9304, NULL, NULL);
	ksm_enrich_free(&e);
}

/* An exit after the wall clock was set: the start keeps the wall-clock
 * time it had (the clock in force then), and the duration is the time
 * the process lived, not moved by the step. */
static void test_exit_across_a_clock_step(void **state)
{
	(void)state;
	struct ksm_enricher e;
	struct ksm_boot_clock clock;
	const uint64_t boot = 1700000000000000000ull, hour = 3600000000000ull;
	assert_int_equal(ksm_enrich_init(&e, 64, NULL, NULL), 0);
	ksm_boot_clock_init(&clock, boot, 0);
	ksm_boot_clock_add(&clock, 5000000000ull, boot + hour);
	struct ksm_event x = { .type = KSM_EV_PROCESS_EXIT, .pid = 77, .start_time = 2000000000ull,
			       .since_boot_ns = 9500000000ull };
	x.time_ns = ksm_boot_clock_wall(&clock, x.since_boot_ns);
	ksm_enrich(&e, &x, &clock);
	assert_true(x.ctx.has_start);
	assert_true(x.ctx.start_ns == boot + 2000000000ull);
	assert_int_equal(x.ctx.duration_ms, 7500);
	ksm_enrich_free(&e);
}

/* passwd(5) text as getpwuid(3) reads it: the first line of a uid, no
 * NSS compat entries, no malformed lines. */
static void test_passwd_parse(void **state)
{
	(void)state;
	static const char text[] =
		"root:x:0:0:root:/root:/bin/sh\n"
		"# a comment\n"
		"+nis::0:0:::\n"
		"ctruser:x:1000:1000::/home/u:/bin/sh\n"
		"other:x:1000:1000::/:/bin/sh\n"
		"bad:x:12a:0::/:\n"
		":x:5:5::/:\n"
		"big:x:4294967296:0::/:\n"
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false";
	struct ksm_passwd pw;
	assert_int_equal(ksm_passwd_parse(text, sizeof(text) - 1, &pw), 0);
	assert_int_equal(pw.n, 3);
	assert_string_equal(ksm_passwd_name(&pw, 0), "root");
	assert_string_equal(ksm_passwd_name(&pw, 1000), "ctruser");
	assert_string_equal(ksm_passwd_name(&pw, 65534), "nobody");
	assert_null(ksm_passwd_name(&pw, 5));
	ksm_passwd_free(&pw);
	/* no entry at all: empty, or nothing but a comment */
	assert_int_equal(ksm_passwd_parse("", 0, &pw), 0);
	assert_int_equal(pw.n, 0);
	assert_null(ksm_passwd_name(&pw, 0));
	assert_int_equal(ksm_passwd_parse("# x\n", 4, &pw), 0);
	assert_int_equal(pw.n, 0);
	ksm_passwd_free(&pw);
}

/* A hostile file of the largest size accepted: every line its own uid
 * but for a second line of each tenth uid (which loses to the first), in
 * reverse order; parsed whole, in bounded time, every uid answered. */
static void test_passwd_largest(void **state)
{
	(void)state;
	char *text = malloc(KSM_PASSWD_MAX);
	assert_non_null(text);
	size_t len = 0;
	uint32_t lines = 0;
	for (uint32_t uid = 400000; len + 64 < KSM_PASSWD_MAX; uid--, lines++) {
		len += (size_t)sprintf(text + len, "u%u:x:%u:0::/:\n", uid, uid);
		if (uid % 10 == 0)
			len += (size_t)sprintf(text + len, "dup%u:x:%u:0::/:\n", uid, uid);
	}
	struct ksm_passwd pw;
	assert_int_equal(ksm_passwd_parse(text, len, &pw), 0);
	assert_int_equal(pw.n, lines);
	for (uint32_t uid = 400000; uid > 400000 - lines; uid--) {
		char want[32];
		snprintf(want, sizeof(want), "u%u", uid);
		assert_string_equal(ksm_passwd_name(&pw, uid), want);
	}
	assert_null(ksm_passwd_name(&pw, 400001));
	assert_null(ksm_passwd_name(&pw, 400000 - lines));
	ksm_passwd_free(&pw);
	free(text);
}

/* The root of a process: ours is the host's; a start time that is not the
 * process's (a reused pid) or a gone process is refused. */
static void test_passwd_of_root(void **state)
{
	(void)state;
	FILE *f = fopen("/proc/self/stat", "r");
	assert_non_null(f);
	char buf[1024];
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	unsigned long long ticks = 0;
	assert_int_equal(sscanf(strrchr(buf, ')') + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
				&ticks), 1);
	struct ksm_passwd pw;
	struct ksm_passwd_of of = { (uint32_t)getpid(), ticks * KSM_TICK_NS + 5, 0 };
	struct ksm_stamp id;
	assert_int_equal(ksm_passwd_of_root("/proc", &of, &pw, &id), KSM_ROOT_HOST);
	assert_int_equal(pw.n, 0);
	of.start_ns += KSM_TICK_NS;
	assert_int_equal(ksm_passwd_of_root("/proc", &of, &pw, &id), -ESRCH);
	of.start_ns -= KSM_TICK_NS;
	of.mnt_ns = 1; /* not its mount namespace */
	assert_int_equal(ksm_passwd_of_root("/proc", &of, &pw, &id), -ESRCH);
	of.pid = 0x7ffffff0; /* beyond any pid */
	of.mnt_ns = 0;
	assert_int_equal(ksm_passwd_of_root("/proc", &of, &pw, &id), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_layout),
		cmocka_unit_test(test_reuse_and_identity),
		cmocka_unit_test(test_seeded_match_within_tick),
		cmocka_unit_test(test_remove_keeps_probe_chains),
		cmocka_unit_test(test_ended_processes_are_kept),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_seed_from_fake_proc),
		cmocka_unit_test(test_seed_unreachable_program),
		cmocka_unit_test(test_unreachable_image_kept),
		cmocka_unit_test(test_boot_id),
		cmocka_unit_test(test_user_names_looked_up_once),
		cmocka_unit_test(test_user_name_too_long),
		cmocka_unit_test(test_clone_parent_runs_the_creators_program),
		cmocka_unit_test(test_exit_across_a_clock_step),
		cmocka_unit_test(test_passwd_parse),
		cmocka_unit_test(test_passwd_largest),
		cmocka_unit_test(test_passwd_of_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
