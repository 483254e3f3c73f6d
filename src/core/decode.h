/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding of ksysmon records (include/ksysmon_event.h) into a checked,
 * platform-neutral view.  Pure functions: no allocation, no I/O; every
 * offset and length is validated against the record's bounds so that a
 * malformed or truncated record is reported, never read past.
 */
#ifndef KSM_DECODE_H
#define KSM_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bootclock.h"
#include "core/container.h"
#include "ksysmon_event.h"

/* A string inside a record: raw bytes, or UTF-16LE code units. */
struct ksm_text {
	const uint8_t *data;
	uint32_t len; /* bytes */
	bool utf16;
	bool present;
};

/* The state of a path: of the record's paths (from the record's flags),
 * and of those the client keeps (the process table's images, as
 * process_exec said them, their text already shown as below). */
enum ksm_path_state {
	KSM_PATH_DELETED = 1u << 0,
	KSM_PATH_TRUNCATED = 1u << 1,
	/* on a tree in no mount namespace: no root leads to the file, and
	 * the path is from that tree's top (KSM_EXEC_IMAGE_UNREACHABLE) */
	KSM_PATH_UNREACHABLE = 1u << 2,
};

/* How every view shows a path in its state: after a deleted file's,
 * " (deleted)" (as /proc/PID/maps); before one no root leads to,
 * "(unreachable)" (as getcwd(2) marks such a working directory), so that
 * it never reads as an absolute path. */
#define KSM_PATH_DELETED_SUFFIX " (deleted)"
#define KSM_PATH_UNREACHABLE_PREFIX "(unreachable)"

static inline const char *ksm_path_prefix(unsigned state)
{
	return (state & KSM_PATH_UNREACHABLE) ? KSM_PATH_UNREACHABLE_PREFIX : NULL;
}

static inline const char *ksm_path_suffix(unsigned state)
{
	return (state & KSM_PATH_DELETED) ? KSM_PATH_DELETED_SUFFIX : NULL;
}

/* Where ksysmon's own mount namespace shows a root the kernel named by
 * its filesystem (KSM_NS_ROOT_FS); 0: not asked. */
enum ksm_root_at {
	KSM_ROOT_AT_PATH = 1,    /* at ctx.root_host */
	KSM_ROOT_AT_UNREACHABLE, /* nowhere: no mount of ksysmon's namespace shows it */
	KSM_ROOT_AT_UNRESOLVED,  /* not known (the process ended and the mounts changed first) */
};

struct ksm_event {
	enum ksm_event_type type;
	uint16_t hdr_flags;
	uint32_t size;     /* bytes the record occupies */
	uint64_t time_ns;  /* nanoseconds since the Unix epoch, UTC */
	uint64_t since_boot_ns; /* the record's own CLOCK_BOOTTIME time; 0 for a realtime one */
	uint32_t pid;
	uint32_t tid;
	uint32_t flags;    /* the record's own flags field, if it has one */
	char comm[KSM_COMM_LEN + 1]; /* NUL-terminated */
	uint64_t start_time;        /* of the process, ns since boot; 0: unknown */
	uint64_t parent_start_time; /* process_create, process_exec */
	/* The namespaces and cgroup of the process (Linux process records
	 * with KSM_HF_TASK_NS); has_ns false: not recorded, or an older
	 * capture. */
	bool has_ns;
	/* ns.cgroup_id and ns.cgroup hold: with has_ns, or from a record's
	 * struct ksm_task_cgroup (KSM_HF_CGROUP: thread records, fanotify
	 * exec_blocked), whose other namespace facts are unknown */
	bool has_cgroup;
	struct ksm_ns_view {
		uint64_t cgroup_id;
		uint64_t container_start_ns; /* wall clock; with KSM_NS_PID */
		struct ksm_text cgroup;
		struct ksm_text root;
		uint32_t pid_ns, mnt_ns, net_ns, user_ns, uts_ns, ipc_ns, cgroup_ns;
		uint32_t vpid, vppid;
		uint32_t ns_uid, ns_euid, ns_gid;
		uint16_t pid_ns_level;
		uint16_t flags; /* enum ksm_task_ns_flags */
		uint32_t root_dev; /* with KSM_NS_ROOT_FS */
	} ns;
	union {
		struct {
			uint32_t ppid;
			uint32_t parent_tid;
			uint32_t creator_pid;
			uint64_t creator_start; /* of creator_pid's process, ns since boot; 0: unknown */
			struct ksm_text image;
			struct ksm_text cmdline;
		} create;
		struct {
			uint32_t uid;
			uint32_t gid;
			struct ksm_text image;
			struct ksm_text filename;
			struct ksm_text argv; /* NUL-separated arguments */
			struct ksm_text cwd;
			uint32_t euid;
			uint32_t ppid;
			struct ksm_file_id image_id;
			struct ksm_text parent_image;
			/* enum ksm_path_state of image, cwd, parent_image */
			uint8_t image_state, cwd_state, parent_image_state;
		} exec;
		struct {
			uint32_t status; /* wait(2) status */
		} exit;
		struct {
			uint64_t base;
			uint64_t size;
			uint64_t inode;
			uint32_t dev;
			struct ksm_text path;
			struct ksm_file_id file;
			uint8_t path_state; /* enum ksm_path_state */
		} image;
		struct {
			uint64_t lost[KSM_EV_MAX];
			struct ksm_text file;  /* not written to this file (absent: the queue's) */
			struct ksm_text error; /* why */
		} lost;
		struct {
			const uint8_t *sha256; /* 32 bytes, or NULL */
			struct ksm_text path;
			struct ksm_text rule;
			uint8_t path_state; /* enum ksm_path_state */
		} blocked;
	} u;
	/* What the client knows beyond the record (its process table, user
	 * names); decoding leaves it empty and formatters print what is set. */
	struct ksm_context {
		bool has_guid;
		bool has_parent_guid;
		bool has_creator_guid;        /* process_create by a process not its parent */
		uint8_t guid[16];
		uint8_t parent_guid[16];
		uint8_t creator_guid[16];
		const char *user;             /* process_exec: name of uid */
		/* the container of the process's cgroup (NULL: the host's, or not known) */
		const struct ksm_container *container;
		/* the path of that cgroup when the record carries none: as
		 * first found for its id; cut: its end */
		struct ksm_text cgroup;
		bool cgroup_cut;
		struct ksm_text parent_image;   /* process_exec */
		uint8_t parent_image_flags;     /* enum ksm_path_state */
		struct ksm_text parent_cmdline; /* process_exec */
		struct ksm_text image;          /* process_exit */
		uint8_t image_flags;            /* enum ksm_path_state */
		bool has_start;                 /* process_exit */
		uint64_t start_ns;              /* wall clock */
		uint64_t duration_ms;
		bool has_sha256;                /* --hash: exec and image events */
		uint8_t sha256[32];
		const char *sha256_error;       /* why there is no digest */
		uint8_t root_at;                /* process_exec: enum ksm_root_at */
		struct ksm_text root_host;      /* with KSM_ROOT_AT_PATH */
	} ctx;
};

enum ksm_decode_status {
	KSM_DECODE_OK = 0,
	KSM_DECODE_SHORT,        /* fewer bytes than a header / the fixed part */
	KSM_DECODE_BAD_SIZE,     /* header size beyond the data or below fixed */
	KSM_DECODE_BAD_TYPE,     /* unknown event type */
	KSM_DECODE_BAD_STRING,   /* a string lies outside the record */
};

const char *ksm_decode_strerror(enum ksm_decode_status st);

/*
 * Decodes the record at data (avail bytes available).  clock gives the
 * wall-clock time of the CLOCK_BOOTTIME instants a record holds (its time,
 * a container's start); NULL for realtime-stamped records only.  On
 * success ev->size says how many bytes the record takes.
 */
enum ksm_decode_status ksm_decode(const void *data, size_t avail,
				  const struct ksm_boot_clock *clock, struct ksm_event *ev);

/* process_create: whether the process that created it is not its parent
 * (CLONE_PARENT: the parent is the creator's parent), creator_pid then. */
bool ksm_created_by_other(const struct ksm_event *ev);

/* The JSON/CLI name of an event type ("process_exec"), or NULL. */
const char *ksm_event_name(unsigned type);
/* The type of a name, or KSM_EV_NONE. */
enum ksm_event_type ksm_event_by_name(const char *name, size_t len);

/* Iterates over the arguments of a NUL-separated argv blob. */
struct ksm_argv_iter {
	const uint8_t *p;
	const uint8_t *end;
};
void ksm_argv_begin(struct ksm_argv_iter *it, const struct ksm_text *argv);
/* Next argument (without its NUL); false at the end.  A last argument that
 * the limit cut has no NUL and is returned as it is. */
bool ksm_argv_next(struct ksm_argv_iter *it, const uint8_t **arg, size_t *len);

#endif
