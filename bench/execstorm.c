// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execstorm N PATH: N times fork, execv PATH, waitpid; prints the wall time
 * in nanoseconds and how many children did not exit 0.  Exit status 0 when
 * every child ran and exited 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: execstorm N PATH\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	char *const child_argv[] = { argv[2], NULL };
	long failed = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execv(argv[2], child_argv);
			_exit(126 + (errno == EPERM));
		}
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	printf("%lld %ld\n", ns, failed);
	return failed ? 1 : 0;
}
