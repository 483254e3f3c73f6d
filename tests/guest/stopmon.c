// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stopmon PID SECONDS PATH: stops the monitor PID (SIGSTOP), executes PATH
 * in a child, and resumes the monitor after SECONDS whatever happened: the
 * controller itself never execs, so it cannot be held up by the monitor.
 * Prints one line: whether the exec ended while the monitor was stopped,
 * how long it took, and how it ended (errno of execve, or exit status).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stopmon PID SECONDS PATH\n");
		return 2;
	}
	pid_t mon = atoi(argv[1]);
	double limit = atof(argv[2]) * 1e3;
	int fds[2];
	if (pipe(fds) || kill(mon, SIGSTOP)) {
		perror("stopmon");
		return 1;
	}
	usleep(200000); /* the monitor is stopped for sure */
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		execl(argv[3], argv[3], (char *)NULL);
		int e = errno;
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(fds[1]);
	int status = 0, done = 0;
	while (now_ms() - t0 < limit && !(done = waitpid(pid, &status, WNOHANG) == pid))
		usleep(1000);
	double took = now_ms() - t0;
	kill(mon, SIGCONT);
	if (!done) {
		waitpid(pid, &status, 0);
		took = now_ms() - t0;
	}
	int e = 0;
	if (read(fds[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	printf("stopmon: monitor stopped for %s s: exec of %s %s, %.1f ms, %s %d\n", argv[2], argv[3],
	       done ? "ended while it was stopped" : "waited until it was resumed", took,
	       e ? "errno" : "exit status", e ? e : WEXITSTATUS(status));
	return 0;
}
