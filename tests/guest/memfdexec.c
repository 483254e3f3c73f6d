// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * memfdexec PATH NAME: copies PATH into a memfd called NAME and executes
 * it (fexecve) in a child; prints how the child ended.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: memfdexec PATH NAME\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char buf[65536];
		int in = open(argv[1], O_RDONLY), fd = memfd_create(argv[2], 0);
		ssize_t n;
		while (in >= 0 && fd >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				_exit(126);
		char *args[] = { argv[2], NULL }, *env[] = { NULL };
		fexecve(fd, args, env);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("memfdexec: pid %d killed by signal %d\n", pid, WTERMSIG(status));
	else
		printf("memfdexec: pid %d exit status %d\n", pid, WEXITSTATUS(status));
	return 0;
}
