/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ksysmon event records: the one format shared by the Linux BPF sensor,
 * the Windows driver and both clients.
 *
 * A record is a fixed part that starts with struct ksm_header, followed by
 * variable-length strings.  Each string is located by a struct ksm_str
 * (offset from the start of the record, length in bytes) in the fixed part,
 * 32 bits wide so that no command line or path can overflow its size field
 * (a UNICODE_STRING's length is 16 bits).
 * Strings are not NUL-terminated in the record; their length is exact.
 *
 * All fields are little-endian, naturally aligned; every fixed part is a
 * multiple of 8 bytes so that records can be laid end to end.
 */
#ifndef KSYSMON_EVENT_H
#define KSYSMON_EVENT_H

#if defined(__bpf__)
/* vmlinux.h already defines the __uN types */
typedef __u8 ksm_u8;
typedef __u16 ksm_u16;
typedef __u32 ksm_u32;
typedef __u64 ksm_u64;
#elif defined(_NTDDK_) || defined(_WDMDDK_)
typedef unsigned char ksm_u8;
typedef unsigned short ksm_u16;
typedef unsigned int ksm_u32;
typedef unsigned long long ksm_u64;
#else
#include <stdint.h>
typedef uint8_t ksm_u8;
typedef uint16_t ksm_u16;
typedef uint32_t ksm_u32;
typedef uint64_t ksm_u64;
#endif

#define KSM_COMM_LEN 16

enum ksm_event_type {
	KSM_EV_NONE = 0,
	KSM_EV_PROCESS_CREATE = 1,
	KSM_EV_PROCESS_EXEC = 2,
	KSM_EV_PROCESS_EXIT = 3,
	KSM_EV_THREAD_CREATE = 4,
	KSM_EV_THREAD_EXIT = 5,
	KSM_EV_IMAGE_LOAD = 6,
	KSM_EV_EVENTS_LOST = 7,
	KSM_EV_EXEC_BLOCKED = 8,
	KSM_EV_MAX, /* one past the last type; sizes per-type arrays */
};

/* The event types the sensor produces, which --events selects and a
 * configuration filters (bit 1u << type): events_lost is always reported,
 * exec_blocked comes with a deny policy. */
#define KSM_ALL_EVENTS                                                             \
	((1u << KSM_EV_PROCESS_CREATE) | (1u << KSM_EV_PROCESS_EXEC) |             \
	 (1u << KSM_EV_PROCESS_EXIT) | (1u << KSM_EV_THREAD_CREATE) |              \
	 (1u << KSM_EV_THREAD_EXIT) | (1u << KSM_EV_IMAGE_LOAD))

/* ksm_header.flags */
enum ksm_header_flags {
	/* time is nanoseconds since the Unix epoch (UTC); otherwise it is
	 * CLOCK_BOOTTIME nanoseconds and the reader adds the boot time. */
	KSM_HF_TIME_REALTIME = 1u << 0,
	/* the record's strings are UTF-16LE (Windows) instead of raw bytes */
	KSM_HF_UTF16 = 1u << 1,
	/* the fixed part ends with a struct ksm_task_ns (Linux process
	 * records since capture version 3); without it the record is the
	 * type's fixed part up to that member, and the facts are unknown */
	KSM_HF_TASK_NS = 1u << 2,
	/* process_create: the fixed part ends with creator_start_time (after
	 * the namespace block, when there is one); without it the creator's
	 * start is unknown.  Readers that do not know the flag see the field
	 * as bytes past the fixed part, and ignore them. */
	KSM_HF_CREATOR_START = 1u << 3,
	/* the fixed part ends with a struct ksm_task_cgroup (thread records,
	 * and exec_blocked records of the fanotify engine, which have no
	 * namespace block); without it the record is the type's fixed part up
	 * to that member, and the cgroup is unknown */
	KSM_HF_CGROUP = 1u << 4,
};

struct ksm_header {
	ksm_u16 type;  /* enum ksm_event_type */
	ksm_u16 flags; /* enum ksm_header_flags */
	ksm_u32 size;  /* whole record: fixed part + strings */
	ksm_u64 time;  /* nanoseconds, see KSM_HF_TIME_REALTIME */
};

/* A string stored after the fixed part of a record. */
struct ksm_str {
	ksm_u32 offset; /* from the start of the record; 0 when absent */
	ksm_u32 length; /* bytes */
};

/* Device numbers.  The kernel keeps a dev_t as a 12-bit major above a
 * 20-bit minor (MKDEV, as in s_dev); stat(2) and the records carry its
 * new_encode_dev() form. */
static inline ksm_u32 ksm_kdev(ksm_u32 major, ksm_u32 minor)
{
	return major << 20 | (minor & 0xfffff);
}

static inline ksm_u32 ksm_encode_dev(ksm_u32 kdev)
{
	ksm_u32 major = kdev >> 20, minor = kdev & 0xfffff;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static inline ksm_u32 ksm_dev_major(ksm_u32 dev)
{
	return (dev & 0xfff00) >> 8;
}

static inline ksm_u32 ksm_dev_minor(ksm_u32 dev)
{
	return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

/* Which file exactly: with --hash, a digest is taken only of a file open
 * whose fstat(2) gives these same values (a later write or a replacement
 * changes them).  All zero when unknown. */
struct ksm_file_id {
	ksm_u64 inode;
	ksm_u64 size;  /* bytes */
	ksm_u64 ctime; /* last status change (any write, chmod, rename...), ns since the epoch */
	ksm_u32 dev;   /* device number, new_encode_dev() form, as st_dev */
	ksm_u32 reserved;
};

/* ksm_task_ns.flags: which of the namespace facts hold */
enum ksm_task_ns_flags {
	/* the process is in a pid namespace other than the initial one:
	 * vpid and container_start are set */
	KSM_NS_PID = 1u << 0,
	KSM_NS_IN_INIT_TREE = 1u << 1, /* its parents in the namespace lead to the namespace's init */
	KSM_NS_INIT_TREE_KNOWN = 1u << 2, /* whether KSM_NS_IN_INIT_TREE holds is known */
	/* the process's user namespace is not the initial one: ns_uid,
	 * ns_gid, ns_euid are the ids as seen in it */
	KSM_NS_USER = 1u << 3,
	KSM_NS_IDS_UNKNOWN = 1u << 4,      /* the user namespace's id map was too long to search */
	KSM_NS_CGROUP_TRUNCATED = 1u << 5, /* the cgroup path was cut (too long or deep) */
	KSM_NS_ROOT_TRUNCATED = 1u << 6,   /* the root path was cut */
	KSM_NS_ROOT_DELETED = 1u << 7,     /* the root directory was removed */
	/* the process's mount namespace is not the monitor's, or its root
	 * lies on a tree in no namespace (see KSM_EXEC_IMAGE_UNREACHABLE):
	 * root is the root directory's path inside its filesystem (root_dev),
	 * from that filesystem's top, as mountinfo's root field names a
	 * directory; the client finds which of its own mounts shows it */
	KSM_NS_ROOT_FS = 1u << 8,
	/* with KSM_NS_ROOT_FS: the root is not the top of its mount tree (a
	 * chroot inside that namespace, not its pivot_root) */
	KSM_NS_ROOT_CHROOT = 1u << 9,
};

/* The id a user namespace shows for a host id it does not map. */
#define KSM_NS_ID_UNMAPPED 0xffffffffu

/*
 * The namespaces and control group of the process a record is about, as
 * the kernel holds them when the event happens.  Namespace ids are the
 * inode numbers of /proc/PID/ns/<kind> (pid: the namespace of the process
 * itself, not pid_for_children).  Strings point into the record's variable
 * part: the cgroup is set on process_exec and exec_blocked, the root on
 * process_exec; absent elsewhere.
 */
struct ksm_task_ns {
	ksm_u64 cgroup_id;       /* cgroup v2 id (the unified hierarchy's directory inode); 0: none */
	ksm_u64 container_start; /* start of the pid namespace's init, same clock as hdr.time; with KSM_NS_PID */
	struct ksm_str cgroup;   /* path in the unified hierarchy, from its root */
	/* the process's root directory: without KSM_NS_ROOT_FS its path from
	 * the top of its mount tree, when it is not that top (a chroot);
	 * with it, its path inside the filesystem root_dev */
	struct ksm_str root;
	ksm_u32 pid_ns;
	ksm_u32 mnt_ns;
	ksm_u32 net_ns;
	ksm_u32 user_ns;
	ksm_u32 uts_ns;
	ksm_u32 ipc_ns;
	ksm_u32 cgroup_ns;
	ksm_u32 vpid;   /* the process's id in its own pid namespace */
	ksm_u32 vppid;  /* its parent's id there; 0 when the parent is outside it */
	ksm_u32 ns_uid; /* real, effective user and real group id in its user namespace */
	ksm_u32 ns_euid;
	ksm_u32 ns_gid;
	ksm_u16 pid_ns_level; /* 0: the initial pid namespace */
	ksm_u16 flags;        /* enum ksm_task_ns_flags */
	ksm_u32 root_dev;     /* with KSM_NS_ROOT_FS: the root's filesystem, as st_dev (0 before) */
};

/* A new process (fork/vfork/clone without CLONE_THREAD). */
struct ksm_process_create {
	struct ksm_header hdr;
	ksm_u32 pid;        /* thread-group id of the new process */
	ksm_u32 ppid;       /* parent process */
	ksm_u32 parent_tid; /* thread that created it */
	ksm_u32 creator_pid; /* process of that thread (differs from ppid with CLONE_PARENT) */
	char comm[KSM_COMM_LEN];
	/* Windows creates and executes in one step: its driver fills these;
	 * on Linux they are absent (process_exec carries them). */
	struct ksm_str image;
	struct ksm_str cmdline;
	/* process start times (ns since boot; 0 when unknown): with the pid
	 * they identify a process across pid reuse */
	ksm_u64 start_time;
	ksm_u64 parent_start_time;
	struct ksm_task_ns ns; /* with KSM_HF_TASK_NS */
	/* with KSM_HF_CREATOR_START: the start of the creator's process
	 * (creator_pid), which with CLONE_PARENT is not the parent */
	ksm_u64 creator_start_time;
};

/* ksm_process_exec.flags */
enum ksm_exec_flags {
	KSM_EXEC_ARGV_TRUNCATED = 1u << 0,  /* argv longer than the limit */
	KSM_EXEC_IMAGE_TRUNCATED = 1u << 1, /* path longer than PATH_MAX */
	KSM_EXEC_ARGV_UNREADABLE = 1u << 2, /* argv pages could not be read */
	KSM_EXEC_IMAGE_DELETED = 1u << 3,   /* the executed file was unlinked */
	KSM_EXEC_CWD_TRUNCATED = 1u << 4,   /* working directory cut (too long or deep) */
	KSM_EXEC_CWD_DELETED = 1u << 5,     /* working directory removed */
	KSM_EXEC_PARENT_IMAGE_TRUNCATED = 1u << 6,
	KSM_EXEC_PARENT_IMAGE_DELETED = 1u << 7,
	KSM_EXEC_IMAGE_OVERLAY = 1u << 8,     /* the executed file is on an overlay filesystem */
	KSM_EXEC_IMAGE_UPPER = 1u << 9,       /* ... in its writable upper layer */
	KSM_EXEC_IMAGE_LAYER_UNKNOWN = 1u << 10, /* ... in a layer this kernel does not say */
	/* The file lies on a tree in no mount namespace (unmounted with
	 * MNT_DETACH while in use, an open_tree() clone or fsmount() never
	 * attached, a filesystem's private mount): no root leads to it, and
	 * the path is from that tree's top, as /proc/PID/exe shows it */
	KSM_EXEC_IMAGE_UNREACHABLE = 1u << 11,
	KSM_EXEC_CWD_UNREACHABLE = 1u << 12,          /* the same of the working directory */
	KSM_EXEC_PARENT_IMAGE_UNREACHABLE = 1u << 13, /* ... of the parent's program */
};

/* A program replaced the process image (execve/execveat). */
struct ksm_process_exec {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 tid; /* the thread that called exec (before it became leader) */
	ksm_u32 uid;
	ksm_u32 gid;
	ksm_u32 flags; /* enum ksm_exec_flags */
	ksm_u32 reserved;
	char comm[KSM_COMM_LEN];
	struct ksm_str image;    /* resolved path of the executed file */
	struct ksm_str filename; /* the name exec was given, as the kernel saw it */
	struct ksm_str argv;     /* arguments, each followed by a NUL byte */
	struct ksm_str cwd;      /* working directory */
	ksm_u32 euid;
	ksm_u32 ppid;
	ksm_u64 start_time;        /* of the process, ns since boot */
	ksm_u64 parent_start_time; /* of its parent process */
	struct ksm_file_id image_id; /* the executed file */
	/* the parent's program at the time of the exec (absent when the
	 * parent has no memory map: a kernel thread, or it is exiting) */
	struct ksm_str parent_image;
	struct ksm_task_ns ns; /* with KSM_HF_TASK_NS */
};

/* The whole process ended: the last thread of the group exited. */
struct ksm_process_exit {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 tid;    /* the last thread to exit */
	ksm_u32 status; /* wait(2) status: exit code << 8, or signal | 0x80 core */
	ksm_u32 reserved;
	char comm[KSM_COMM_LEN];
	ksm_u64 start_time; /* of the process, ns since boot */
	struct ksm_task_ns ns; /* with KSM_HF_TASK_NS */
};

/*
 * The control group alone, where a record has no namespace block
 * (KSM_HF_CGROUP): that of the task the record is about, as the kernel
 * (or, for a fanotify decision, /proc/PID/cgroup) holds it when the event
 * happens.
 */
struct ksm_task_cgroup {
	ksm_u64 id;          /* cgroup v2 id (the unified hierarchy's directory inode); 0: none */
	struct ksm_str path; /* from the hierarchy's root; absent when not read */
};

/* A thread other than the initial one started or ended. */
struct ksm_thread {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 tid;
	ksm_u64 start_time; /* of the process, ns since boot */
};

/* A thread record with the thread's own cgroup (KSM_HF_CGROUP): in a
 * threaded cgroup subtree that may differ from its process's. */
struct ksm_thread_cgroup {
	struct ksm_thread base;
	struct ksm_task_cgroup cgroup; /* the id only: the kernel reads no path */
};

/* ksm_image_load.flags */
enum ksm_image_flags {
	KSM_IMAGE_DELETED = 1u << 0,   /* the file was unlinked */
	KSM_IMAGE_MEMFD = 1u << 1,     /* memfd_create() file */
	KSM_IMAGE_KERNEL = 1u << 2,    /* kernel module / driver */
	KSM_IMAGE_TRUNCATED = 1u << 3, /* path longer than the buffer */
	KSM_IMAGE_UNREACHABLE = 1u << 4, /* on a tree in no mount namespace (KSM_EXEC_IMAGE_UNREACHABLE) */
};

/* An executable image was mapped. */
struct ksm_image_load {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 tid;
	ksm_u64 base; /* load address (the dynamic loader's dlpi_addr) */
	ksm_u64 size; /* extent of the image's mappings */
	ksm_u64 inode;
	ksm_u32 dev;   /* device number, new_encode_dev() form */
	ksm_u32 flags; /* enum ksm_image_flags */
	struct ksm_str path;
	ksm_u64 start_time; /* of the process, ns since boot */
	struct ksm_file_id file; /* the mapped file, as stat(2) in the process shows it */
	struct ksm_task_ns ns; /* with KSM_HF_TASK_NS (not for kernel images) */
};

/* Events the queue could not hold, by type, since the previous report. */
struct ksm_events_lost {
	struct ksm_header hdr;
	ksm_u64 lost[KSM_EV_MAX];
};

/* Events the client could not write to a file (a full disk, an I/O
 * error): an events_lost record followed by where and why.  A record of
 * exactly sizeof(struct ksm_events_lost) is the queue's. */
struct ksm_events_lost_write {
	struct ksm_events_lost base;
	struct ksm_str file;  /* the file, as named on the command line */
	struct ksm_str error; /* the reason, strerror(3) text */
};

/* ksm_exec_blocked.flags */
enum ksm_blocked_flags {
	KSM_BLOCKED_HAS_SHA256 = 1u << 0,
	KSM_BLOCKED_AUDIT = 1u << 1, /* would have been denied (audit mode) */
	KSM_BLOCKED_PATH_DELETED = 1u << 2, /* the file had been removed (an exec by fd) */
	KSM_BLOCKED_PATH_TRUNCATED = 1u << 3, /* the path was cut (too long or deep) */
	/* the file lies on a tree in no mount namespace (KSM_EXEC_IMAGE_UNREACHABLE;
	 * the fanotify engine: on a mount neither ksysmon's namespace nor the
	 * process's holds) */
	KSM_BLOCKED_PATH_UNREACHABLE = 1u << 4,
};

/* An execution refused (or, in audit mode, that would be) by policy. */
struct ksm_exec_blocked {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 flags; /* enum ksm_blocked_flags */
	ksm_u8 sha256[32];
	struct ksm_str path;
	struct ksm_str rule;
	/* with KSM_HF_TASK_NS (decided in the kernel: the BPF-LSM engine,
	 * and --deny-unverifiable's kills); with KSM_HF_CGROUP, a struct
	 * ksm_task_cgroup in its place (the fanotify engine) */
	struct ksm_task_ns ns;
};

#endif /* KSYSMON_EVENT_H */
