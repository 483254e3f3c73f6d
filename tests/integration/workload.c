// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workloads with known truth for the integration tests and benchmarks.
 * Each prints what the monitor should report (pids, tids) on stdout as
 * "key=value" lines, flushed before the interesting action happens.
 *
 *   workload exit CODE                 exit with CODE
 *   workload signal SIG                kill itself with SIG
 *   workload threads N                 start and join N threads
 *   workload thread-exec PATH ARG...   exec from a thread other than main
 *   workload vfork PATH ARG...         vfork + exec, wait
 *   workload execveat-fd PATH ARG...   execveat(fd, "", AT_EMPTY_PATH)
 *   workload execveat-dir DIR NAME ARG...  execveat(dirfd, NAME)
 *   workload failexec PATH             execve that must fail; prints errno
 *   workload wait-stdin CMD...         read one line from stdin, then CMD
 *   workload exec-storm N PATH         N x (fork, exec PATH, wait)
 *   workload thread-storm N            N x (pthread_create, join)
 *   workload dlopen [--twice] LIB...   dlopen each LIB, then print every loaded
 *                                      object as dl_iterate_phdr reports it:
 *                                      image=NAME|0xBASE|SIZE
 *   workload memfd-exec SRC ARG...     copy SRC into a memfd and fexecve it
 *   workload detached-exec bind FILE ARG0 ARG...
 *                                      bind FILE on a new empty file, open it
 *                                      O_PATH, unmount it (MNT_DETACH) and
 *                                      fexecve it with argv ARG0 ARG..., as
 *                                      runc 1.1 runs its copy of itself
 *   workload detached-exec tree DIR REL ARG0 ARG...
 *                                      clone DIR's mount tree with open_tree
 *                                      (OPEN_TREE_CLONE), never attached, and
 *                                      execute REL from it; both print pid=,
 *                                      dev= and ino= (fstat of what is
 *                                      executed) first, and execute it as
 *                                      glibc's fexecve does: execveat, else
 *                                      through /proc/self/fd (5.10's guest
 *                                      refuses execveat); WORKLOAD_BOUND_MS=N:
 *                                      the bind mount stays N ms first
 *   workload stopped-exec PID MS PATH ARG...
 *                                      stop process PID (SIGSTOP), fork a child
 *                                      that execs PATH, and resume PID after MS
 *                                      milliseconds whatever happened (this
 *                                      process never execs); prints child=,
 *                                      ended_stopped= (1: the child ended while
 *                                      PID was stopped), ms=, then errno= of
 *                                      the exec or status=
 *   workload mprotect-exec FILE        map FILE read-only, then mprotect it
 *                                      executable; prints addr= and len=
 *   workload mmap-storm N              N x anonymous mmap + munmap
 *   workload dlopen-storm N LIB        N x dlopen + dlclose
 *   workload fork-until-reuse          fork children that exit at once until
 *                                      a child gets an earlier one's pid
 *   workload clone-parent [--thread] [--stay] PATH ARG...
 *                                      clone3(CLONE_PARENT) (from a second
 *                                      thread with --thread): the child, our
 *                                      parent's, execs PATH; prints child=.
 *                                      --stay: the child runs this program
 *                                      on until it reads a line on stdin, then
 *                                      forks a grandchild that execs PATH,
 *                                      waits for it, prints grandchild= and
 *                                      exits with 3
 *   workload orphans N PATH ARG...     N x: fork a middle process that forks a
 *                                      child and exits at once; the child
 *                                      execs PATH; prints mid= for each
 *   workload paths                     print this process's own view: exe= and
 *                                      cwd= (readlink of /proc/self/exe, cwd),
 *                                      and map=START|DEV|INODE|PATH for each
 *                                      file mapping of /proc/self/maps with
 *                                      stat(2) of PATH here (dev as st_dev)
 *   workload hold CMD...               CMD, then wait for a line on stdin before
 *                                      exiting (its files stay reachable)
 *   workload leader-exit C1 C2         the initial thread starts a thread, then
 *                                      ends alone (SYS_exit C1); the thread
 *                                      waits until it is gone, then SYS_exit C2
 *   workload thread-exit-group C       a thread calls exit(C) while the
 *                                      initial thread waits
 *   workload thread-chain N            thread 1 (started by the initial one)
 *                                      prints tid= and waits for a line on
 *                                      stdin; then thread k starts thread
 *                                      k+1, which does the same, up to N;
 *                                      each one ends after its successor, so
 *                                      that all N live before the last line
 *
 * The four storms also read two environment variables, for the benchmarks:
 *   WORKLOAD_IDS=FILE   write the ids the storm created to FILE at the end,
 *                       one a line: child pids (exec-storm), thread ids
 *                       (thread-storm), the storm's own pid (mmap-storm,
 *                       dlopen-storm); kept in memory until then, so that
 *                       writing them does not disturb the storm's timing
 *   WORKLOAD_RATE=R     pace the storm to about R operations per second
 *                       (it sleeps whenever it is more than 1 ms ahead)
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int usage(void)
{
	fprintf(stderr, "workload: bad arguments (see the comment at the top of workload.c)\n");
	return 2;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	printf("tid=%d\n", gettid_());
	return NULL;
}

static int run_threads(int n)
{
	pthread_t t;
	printf("pid=%d\n", getpid());
	for (int i = 0; i < n; i++) {
		if (pthread_create(&t, NULL, idle_thread, NULL))
			return 1;
		pthread_join(t, NULL);
	}
	fflush(stdout);
	return 0;
}

static char **exec_argv;

static void *exec_thread(void *arg)
{
	(void)arg;
	printf("tid=%d\n", gettid_());
	fflush(stdout);
	execv(exec_argv[0], exec_argv);
	perror("execv");
	exit(127);
}

static int run_thread_exec(char **argv)
{
	pthread_t t;
	exec_argv = argv;
	printf("pid=%d\n", getpid());
	if (pthread_create(&t, NULL, exec_thread, NULL))
		return 1;
	pthread_join(t, NULL); /* never returns: the exec replaces us */
	return 1;
}

static int wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	printf("status=%d\n", st);
	return 0;
}

static int run_vfork(char **argv)
{
	printf("pid=%d\n", getpid());
	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	printf("child=%d\n", pid);
	return wait_child(pid);
}

static int run_execveat_fd(char **argv)
{
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	printf("pid=%d\nfd=%d\n", getpid(), fd);
	fflush(stdout);
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	perror("execveat");
	return 127;
}

static int run_execveat_dir(const char *dir, char **argv)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	printf("pid=%d\nfd=%d\n", getpid(), fd);
	fflush(stdout);
	syscall(SYS_execveat, fd, argv[0], argv, environ, 0);
	perror("execveat");
	return 127;
}

static int run_failexec(char *path)
{
	char *argv[] = { path, NULL };
	printf("pid=%d\n", getpid());
	fflush(stdout);
	execv(path, argv);
	printf("errno=%d\n", errno);
	return 0;
}

/* Ids a storm created (WORKLOAD_IDS), written out when it ends. */
static struct {
	const char *path;
	pid_t *v;
	size_t n, cap;
} storm_ids;

/* Pacing of a storm (WORKLOAD_RATE): start time and operations per second. */
static struct timespec pace_start;
static double pace_rate;

static void storm_begin(void)
{
	const char *rate = getenv("WORKLOAD_RATE");
	storm_ids.path = getenv("WORKLOAD_IDS");
	pace_rate = rate ? atof(rate) : 0.0;
	clock_gettime(CLOCK_MONOTONIC, &pace_start);
}

static int storm_add_id(pid_t id)
{
	if (!storm_ids.path)
		return 0;
	if (storm_ids.n == storm_ids.cap) {
		size_t cap = storm_ids.cap ? storm_ids.cap * 2 : 4096;
		pid_t *v = realloc(storm_ids.v, cap * sizeof(*v));
		if (!v)
			return 1;
		storm_ids.v = v;
		storm_ids.cap = cap;
	}
	storm_ids.v[storm_ids.n++] = id;
	return 0;
}

static int storm_end(int rc)
{
	if (!storm_ids.path || rc)
		return rc;
	FILE *f = fopen(storm_ids.path, "w");
	if (!f)
		return 1;
	for (size_t i = 0; i < storm_ids.n; i++)
		fprintf(f, "%d\n", storm_ids.v[i]);
	return fclose(f) ? 1 : 0;
}

/* Sleeps until operation done (counted from 1) is due, when more than
 * 1 ms early: short sleeps would cost more than the operations. */
static void storm_pace(long done)
{
	if (pace_rate <= 0)
		return;
	struct timespec now, due = pace_start;
	double at = (double)done / pace_rate;
	due.tv_sec += (time_t)at;
	due.tv_nsec += (long)((at - (double)(time_t)at) * 1e9);
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ahead = (double)(due.tv_sec - now.tv_sec) + (double)(due.tv_nsec - now.tv_nsec) / 1e9;
	if (ahead > 0.001)
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
}

static int run_exec_storm(long n, char *path)
{
	char *argv[] = { path, NULL };
	storm_begin();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execv(path, argv);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) < 0 || storm_add_id(pid))
			return 1;
		storm_pace(i + 1);
	}
	return storm_end(0);
}

static void *nothing(void *arg)
{
	return arg;
}

static void *note_tid(void *arg)
{
	*(pid_t *)arg = gettid_();
	return NULL;
}

static int run_thread_storm(long n)
{
	pthread_t t;
	pid_t tid = 0;
	storm_begin();
	/* the thread records its own id only when asked to: the plain storm
	 * stays what it was */
	void *(*fn)(void *) = storm_ids.path ? note_tid : nothing;
	for (long i = 0; i < n; i++) {
		if (pthread_create(&t, NULL, fn, &tid))
			return 1;
		pthread_join(t, NULL);
		if (storm_add_id(tid))
			return 1;
		storm_pace(i + 1);
	}
	return storm_end(0);
}

/* Extent of an object's PT_LOAD segments, page-aligned, as the dynamic
 * loader maps them. */
static int print_image(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t lo = UINT64_MAX, hi = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr < lo)
			lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > hi)
			hi = ph->p_vaddr + ph->p_memsz;
	}
	if (!hi)
		return 0;
	lo &= ~(page - 1);
	hi = (hi + page - 1) & ~(page - 1);
	printf("image=%s|0x%llx|%llu\n", info->dlpi_name, (unsigned long long)(info->dlpi_addr + lo),
	       (unsigned long long)(hi - lo));
	return 0;
}

static int run_dlopen(int argc, char **argv)
{
	bool twice = argc > 0 && !strcmp(argv[0], "--twice");
	printf("pid=%d\n", getpid());
	for (int i = twice; i < argc; i++) {
		void *h = dlopen(argv[i], RTLD_NOW);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		if (twice) {
			dlclose(h);
			if (!dlopen(argv[i], RTLD_NOW))
				return 1;
		}
	}
	dl_iterate_phdr(print_image, NULL);
	return 0;
}

static int run_memfd_exec(char **argv)
{
	char buf[65536];
	ssize_t n;
	int src = open(argv[0], O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("ksm-memfd", 0);
	if (src < 0 || fd < 0)
		return 1;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return 1;
	printf("pid=%d\n", getpid());
	fflush(stdout);
	fexecve(fd, argv, environ);
	perror("fexecve");
	return 127;
}

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#define KSM_OPEN_TREE_CLONE 1
#define KSM_AT_RECURSIVE 0x8000

/* The file to execute, on a tree in no mount namespace (see usage). */
static int detached_file(const char *how, char ***argv)
{
	char **a = *argv;
	if (!strcmp(how, "bind") && a[0]) {
		char target[] = "/tmp/ksm-detached.XXXXXX";
		int t = mkstemp(target);
		if (t < 0)
			return -1;
		close(t);
		int fd = -1;
		const char *ms = getenv("WORKLOAD_BOUND_MS");
		if (!mount(a[0], target, NULL, MS_BIND, NULL)) {
			if (ms)
				usleep((useconds_t)atoi(ms) * 1000);
			fd = open(target, O_PATH);
			umount2(target, MNT_DETACH);
		}
		unlink(target);
		*argv = a + 1;
		return fd;
	}
	if (!strcmp(how, "tree") && a[0] && a[1]) {
		int tree = (int)syscall(SYS_open_tree, AT_FDCWD, a[0],
					KSM_OPEN_TREE_CLONE | KSM_AT_RECURSIVE | O_CLOEXEC);
		int fd = tree < 0 ? -1 : openat(tree, a[1], O_PATH);
		if (tree >= 0)
			close(tree);
		*argv = a + 2;
		return fd;
	}
	return -1;
}

static int run_detached_exec(const char *how, char **argv)
{
	struct stat st;
	int fd = detached_file(how, &argv);
	if (fd < 0 || fstat(fd, &st) || !argv[0]) {
		perror("detached-exec");
		return 1;
	}
	printf("pid=%d\ndev=%lu\nino=%lu\n", getpid(), (unsigned long)st.st_dev,
	       (unsigned long)st.st_ino);
	fflush(stdout);
	char proc[64];
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	execv(proc, argv);
	perror("execveat");
	return 127;
}

static double monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_stopped_exec(pid_t target, double limit_ms, char **argv)
{
	int fds[2];
	if (pipe(fds) || kill(target, SIGSTOP))
		return 1;
	usleep(200000); /* stopped for sure */
	double t0 = monotonic_ms();
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		execv(argv[0], argv);
		int e = errno;
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(fds[1]);
	int st = 0, ended = 0;
	while (monotonic_ms() - t0 < limit_ms && !(ended = waitpid(pid, &st, WNOHANG) == pid))
		usleep(1000);
	kill(target, SIGCONT);
	if (!ended)
		waitpid(pid, &st, 0);
	int e = 0;
	if (read(fds[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	printf("child=%d\nended_stopped=%d\nms=%.1f\n", pid, ended, monotonic_ms() - t0);
	if (e)
		printf("errno=%d\n", e);
	else
		printf("status=%d\n", st);
	return 0;
}

static int run_mprotect_exec(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return 1;
	size_t len = (size_t)st.st_size;
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	if (mprotect(p, len, PROT_READ | PROT_EXEC))
		return 1;
	/* again: already executable, no new image */
	if (mprotect(p, len, PROT_READ | PROT_EXEC))
		return 1;
	printf("pid=%d\naddr=0x%llx\nlen=%zu\n", getpid(), (unsigned long long)(uintptr_t)p, len);
	return 0;
}

static int run_mmap_storm(long n)
{
	storm_begin();
	if (storm_add_id(getpid()))
		return 1;
	for (long i = 0; i < n; i++) {
		void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		munmap(p, 65536);
		storm_pace(i + 1);
	}
	return storm_end(0);
}

static int run_dlopen_storm(long n, const char *lib)
{
	storm_begin();
	if (storm_add_id(getpid()))
		return 1;
	for (long i = 0; i < n; i++) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			return 1;
		dlclose(h);
		storm_pace(i + 1);
	}
	return storm_end(0);
}

/* Stops at the first child that gets the pid of an earlier one: after one
 * wrap of the pid space that is certain, whatever other processes hold. */
static int run_fork_until_reuse(void)
{
	const size_t limit = 1u << 22; /* PID_MAX_LIMIT */
	uint8_t *used = calloc(limit / 8, 1);
	if (!used)
		return 1;
	printf("pid=%d\n", getpid());
	for (long i = 0; i < 3 * (long)limit; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) < 0 || (size_t)pid >= limit)
			break;
		if (used[pid / 8] & (1u << (pid % 8))) {
			printf("reused=%d\nforks=%ld\n", pid, i + 1);
			free(used);
			return 0;
		}
		used[pid / 8] |= (uint8_t)(1u << (pid % 8));
	}
	free(used);
	return 1;
}

static int leader_code, thread_code;

/* Whether the initial thread has ended (a zombie, or reaped as a thread). */
static bool leader_gone(void)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", getpid());
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool gone = !fgets(buf, sizeof(buf), f) || strstr(buf, ") Z ") || strstr(buf, ") X ");
	fclose(f);
	return gone;
}

static void *outlive_leader(void *arg)
{
	(void)arg;
	printf("tid=%d\n", gettid_());
	fflush(stdout);
	while (!leader_gone())
		usleep(1000);
	syscall(SYS_exit, thread_code);
	return NULL;
}

static int run_leader_exit(int c1, int c2)
{
	pthread_t t;
	leader_code = c1;
	thread_code = c2;
	printf("pid=%d\n", getpid());
	fflush(stdout);
	if (pthread_create(&t, NULL, outlive_leader, NULL))
		return 1;
	syscall(SYS_exit, leader_code);
	return 1;
}

static void *exit_group_thread(void *arg)
{
	printf("tid=%d\n", gettid_());
	fflush(stdout);
	exit(*(int *)arg);
}

static int run_thread_exit_group(int code)
{
	pthread_t t;
	printf("pid=%d\n", getpid());
	fflush(stdout);
	if (pthread_create(&t, NULL, exit_group_thread, &code))
		return 1;
	pause();
	return 1;
}

static bool clone_stays; /* clone-parent --stay */

/* The child of clone-parent --stay, still running this program: a line
 * on stdin, then a grandchild that execs argv. */
static void stay_then_fork(char **argv)
{
	char line[64];
	int st;
	if (!fgets(line, sizeof(line), stdin))
		_exit(1);
	pid_t g = fork();
	if (g == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (g < 0 || waitpid(g, &st, 0) != g)
		_exit(1);
	printf("grandchild=%d\n", g);
	fflush(stdout);
	_exit(3);
}

/* clone3 with CLONE_PARENT: the child is our parent's, which must reap it */
static void *clone_parent(void *arg)
{
	char **argv = arg;
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = { .flags = CLONE_PARENT }; /* exit_signal: the caller's, as clone3 wants */
	printf("tid=%d\n", gettid_());
	fflush(stdout);
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		if (clone_stays)
			stay_then_fork(argv);
		execv(argv[0], argv);
		_exit(127);
	}
	printf("child=%ld\n", pid);
	fflush(stdout);
	return NULL;
}

static int run_clone_parent(int argc, char **argv)
{
	bool thread = false;
	pthread_t t;
	for (; argc > 0 && !strncmp(argv[0], "--", 2); argc--, argv++) {
		if (!strcmp(argv[0], "--thread"))
			thread = true;
		else if (!strcmp(argv[0], "--stay"))
			clone_stays = true;
		else
			return usage();
	}
	if (argc < 1)
		return usage();
	printf("pid=%d\n", getpid());
	fflush(stdout);
	if (!thread) {
		clone_parent(argv);
		return 0;
	}
	if (pthread_create(&t, NULL, clone_parent, argv))
		return 1;
	pthread_join(t, NULL);
	return 0;
}

static int run_orphans(long n, char **argv)
{
	printf("pid=%d\n", getpid());
	for (long i = 0; i < n; i++) {
		fflush(stdout);
		pid_t mid = fork();
		if (mid == 0) {
			if (fork() == 0) {
				execv(argv[0], argv);
				_exit(127);
			}
			_exit(0);
		}
		if (mid < 0 || waitpid(mid, NULL, 0) < 0)
			return 1;
		printf("mid=%d\n", mid);
	}
	return 0;
}

static void print_link(const char *key, const char *link)
{
	char buf[8192];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		printf("%s_errno=%d\n", key, errno);
	else
		printf("%s=%.*s\n", key, (int)n, buf);
}

static int run_paths(void)
{
	char line[8192];
	printf("pid=%d\n", getpid());
	print_link("exe", "/proc/self/exe");
	print_link("cwd", "/proc/self/cwd");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start;
		int off = 0;
		struct stat st;
		/* start-end perms offset dev inode path */
		if (sscanf(line, "%lx-%*x %*s %*x %*x:%*x %*u %n", &start, &off) < 1 || !off ||
		    line[off] != '/')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (stat(line + off, &st))
			continue;
		printf("map=%lx|%lu|%lu|%s\n", start, (unsigned long)st.st_dev,
		       (unsigned long)st.st_ino, line + off);
	}
	fclose(f);
	return 0;
}

static int dispatch(int argc, char **argv);

static int run_wait_stdin(int argc, char **argv)
{
	char line[64];
	printf("pid=%d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return dispatch(argc, argv);
}

static int run_hold(int argc, char **argv)
{
	char line[64];
	int rc = dispatch(argc, argv);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return rc;
}

static long chain_len;

static void *chain_thread(void *arg)
{
	long k = (long)(intptr_t)arg;
	char line[64];
	pthread_t t;

	printf("tid=%d\n", gettid_());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || k >= chain_len)
		return NULL;
	if (pthread_create(&t, NULL, chain_thread, (void *)(intptr_t)(k + 1)))
		return NULL;
	pthread_join(t, NULL);
	return NULL;
}

static int run_thread_chain(long n)
{
	pthread_t t;
	printf("pid=%d\n", getpid());
	fflush(stdout);
	chain_len = n;
	if (n < 1 || pthread_create(&t, NULL, chain_thread, (void *)(intptr_t)1))
		return 1;
	pthread_join(t, NULL);
	return 0;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "exit") && argc == 3)
		return atoi(argv[2]);
	if (!strcmp(cmd, "signal") && argc == 3) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		int sig = atoi(argv[2]);
		if (getenv("WORKLOAD_NO_CORE"))
			rl.rlim_cur = rl.rlim_max = 0;
		setrlimit(RLIMIT_CORE, &rl);
		signal(sig, SIG_DFL);
		raise(sig);
		return 0;
	}
	if (!strcmp(cmd, "threads") && argc == 3)
		return run_threads(atoi(argv[2]));
	if (!strcmp(cmd, "thread-exec") && argc >= 3)
		return run_thread_exec(argv + 2);
	if (!strcmp(cmd, "vfork") && argc >= 3)
		return run_vfork(argv + 2);
	if (!strcmp(cmd, "execveat-fd") && argc >= 3)
		return run_execveat_fd(argv + 2);
	if (!strcmp(cmd, "execveat-dir") && argc >= 4)
		return run_execveat_dir(argv[2], argv + 3);
	if (!strcmp(cmd, "failexec") && argc == 3)
		return run_failexec(argv[2]);
	if (!strcmp(cmd, "exec-storm") && argc == 4)
		return run_exec_storm(atol(argv[2]), argv[3]);
	if (!strcmp(cmd, "thread-storm") && argc == 3)
		return run_thread_storm(atol(argv[2]));
	if (!strcmp(cmd, "dlopen"))
		return run_dlopen(argc - 2, argv + 2);
	if (!strcmp(cmd, "memfd-exec") && argc >= 3)
		return run_memfd_exec(argv + 2);
	if (!strcmp(cmd, "detached-exec") && argc >= 4)
		return run_detached_exec(argv[2], argv + 3);
	if (!strcmp(cmd, "stopped-exec") && argc >= 5)
		return run_stopped_exec((pid_t)atoi(argv[2]), atof(argv[3]), argv + 4);
	if (!strcmp(cmd, "mprotect-exec") && argc == 3)
		return run_mprotect_exec(argv[2]);
	if (!strcmp(cmd, "mmap-storm") && argc == 3)
		return run_mmap_storm(atol(argv[2]));
	if (!strcmp(cmd, "dlopen-storm") && argc == 4)
		return run_dlopen_storm(atol(argv[2]), argv[3]);
	if (!strcmp(cmd, "fork-until-reuse"))
		return run_fork_until_reuse();
	if (!strcmp(cmd, "leader-exit") && argc == 4)
		return run_leader_exit(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "thread-exit-group") && argc == 3)
		return run_thread_exit_group(atoi(argv[2]));
	if (!strcmp(cmd, "thread-chain") && argc == 3)
		return run_thread_chain(atol(argv[2]));
	if (!strcmp(cmd, "clone-parent") && argc >= 3)
		return run_clone_parent(argc - 2, argv + 2);
	if (!strcmp(cmd, "orphans") && argc >= 4)
		return run_orphans(atol(argv[2]), argv + 3);
	if (!strcmp(cmd, "paths") && argc == 2)
		return run_paths();
	if (!strcmp(cmd, "hold") && argc >= 3)
		return run_hold(argc - 1, argv + 1);
	if (!strcmp(cmd, "wait-stdin") && argc >= 3)
		return run_wait_stdin(argc - 1, argv + 1);
	return usage();
}

int main(int argc, char **argv)
{
	return dispatch(argc, argv);
}
