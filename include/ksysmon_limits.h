/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Limits shared by the BPF programs and the client (loader, options). */
#ifndef KSM_LIMITS_H
#define KSM_LIMITS_H

#define KSM_PATH_MAX 4096             /* PATH_MAX, NUL included */
/* the cgroup and root paths of a process_exec, each shorter than this
 * (a longer one keeps its end and is marked as cut) */
#define KSM_NS_PATH_MAX 1024
#define KSM_ARGS_CAP (1u << 20)       /* --max-args-bytes must stay below */
#define KSM_EXEC_STRINGS 4            /* image, filename, cwd, parent image, each < KSM_PATH_MAX */
#define KSM_DEFAULT_ARGS_BYTES 65536
#define KSM_DEFAULT_RINGBUF_BYTES (16u << 20)
#define KSM_RINGBUF_EXECS 3           /* largest exec records the queue must hold */
#define KSM_MAX_PID_FILTER 1024
/* --pid also follows the processes the given ones create, while they live */
#define KSM_PID_FILTER_ENTRIES 65536
#define KSM_PATH_DEPTH 160            /* path components walked */
#define KSM_WATCHED_SB_MAX 4096       /* superblocks the fanotify engine marks */

#endif
