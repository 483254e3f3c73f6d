/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Capture files (-w / -r): the raw event records as the sensor delivered
 * them, so that a replay goes through the same decoding, enrichment,
 * filters and formatters as live output and prints the same bytes.
 *
 * Layout (little-endian): struct ksm_capture_header, the host name and
 * kernel release it counts, then records laid end to end, each starting
 * with struct ksm_header (whose size says where the next one begins).
 * Besides the sensor's records (include/ksysmon_event.h), a capture holds
 * what the client knew that the records do not carry, as records of types
 * KSM_CAP_*: the wall-clock time of boot, the processes that were running
 * when the file began, user names, and digests (--hash).  Every file of a
 * rotated capture starts with its own header and snapshot, so that each
 * one replays on its own.
 */
#ifndef KSM_CAPTURE_H
#define KSM_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/container.h"
#include "core/decode.h"
#include "ksysmon_event.h"

#define KSM_CAPTURE_MAGIC "KSMCAP\r\n" /* the CR LF shows text-mode damage */
/* Version 3: process records may end with a namespace block
 * (KSM_HF_TASK_NS).  Version 2 files, whose records never have one, read
 * the same way: their namespace facts are absent.  Version 4: a root may
 * be named by its filesystem (KSM_NS_ROOT_FS), with a KSM_CAP_ROOT saying
 * where the host showed it; paths no root leads to are flagged (the
 * records' *_UNREACHABLE flags, KSM_CAP_PROC_IMAGE_UNREACHABLE). */
#define KSM_CAPTURE_VERSION 4
#define KSM_CAPTURE_VERSION_MIN 2 /* the oldest version read */
#define KSM_CAPTURE_MAX_RECORD (16u << 20) /* larger sizes are corruption */

struct ksm_capture_header {
	char magic[8];
	ksm_u32 version;
	ksm_u32 header_size;   /* this struct and its strings */
	ksm_u64 boot_time_ns;  /* wall clock at boot, ns since the epoch */
	ksm_u64 start_time_ns; /* wall clock when this file was started */
	ksm_u8 boot_id[16];
	ksm_u16 hostname_len;
	ksm_u16 kernel_len;
	ksm_u32 reserved;
	/* hostname and kernel release follow, not NUL-terminated */
};

enum ksm_capture_type {
	KSM_CAP_CLOCK = 0x101, /* the boot time of the instants from a point on */
	KSM_CAP_PROC = 0x102,  /* a process known when the file began */
	KSM_CAP_USER = 0x103,  /* the name of a user id */
	KSM_CAP_HASH = 0x104,  /* the digest of the next record's file */
	KSM_CAP_USER_NS = 0x105, /* the name of a user id in a mount namespace's root */
	KSM_CAP_CGROUP = 0x106,  /* the container of a cgroup id, as found live */
	KSM_CAP_ROOT = 0x107,    /* where the host showed the next record's root */
};

/* The wall-clock time of boot for the CLOCK_BOOTTIME instants from `from`
 * on (an epoch, core/bootclock.h); the epochs after it are replaced.  A
 * record of the older size, without `from` (older writers), holds for
 * every instant: the boot time the records after it use. */
struct ksm_cap_clock {
	struct ksm_header hdr;
	ksm_u64 boot_ns;
	ksm_u64 from;
};
#define KSM_CAP_CLOCK_OLD_SIZE offsetof(struct ksm_cap_clock, from)

#define KSM_CAP_PROC_SEEDED 1u    /* from /proc: start known to a tick */
#define KSM_CAP_PROC_IMAGE 2u     /* image known (it may be empty) */
#define KSM_CAP_PROC_CMDLINE 4u   /* command line known (it may be empty) */
#define KSM_CAP_PROC_IMAGE_DELETED 8u    /* image: KSM_PATH_DELETED */
#define KSM_CAP_PROC_IMAGE_TRUNCATED 16u /* image: KSM_PATH_TRUNCATED */
#define KSM_CAP_PROC_IMAGE_UNREACHABLE 32u /* image: KSM_PATH_UNREACHABLE */

struct ksm_cap_proc {
	struct ksm_header hdr;
	ksm_u32 pid;
	ksm_u32 ppid;
	ksm_u64 start;
	ksm_u64 parent_start;
	ksm_u8 guid[16];
	ksm_u32 flags;
	ksm_u32 reserved;
	struct ksm_str image;
	struct ksm_str cmdline;
};

#define KSM_CAP_USER_KNOWN 1u /* else the id had no name */
/* KSM_CAP_USER_NS: the answer for the next record only: a chrooted
 * process's own root's name, or the answer live did not keep (none: every
 * process of the mount namespace was gone) */
#define KSM_CAP_USER_OWN_ROOT 2u
#define KSM_CAP_USER_NS_ID 4u /* KSM_CAP_USER_NS: struct ksm_cap_user_ns_id follows the fixed
			       * part; records without it (older writers) name the uid
			       * whatever the user namespace */

struct ksm_cap_user {
	struct ksm_header hdr;
	ksm_u32 uid;
	ksm_u32 flags;
	struct ksm_str name;
};

/* KSM_CAP_USER_NS: the name of the (initial user namespace's) uid for
 * the processes of mount namespace mnt_ns, as their root names it */
struct ksm_cap_user_ns {
	struct ksm_header hdr;
	ksm_u32 uid;
	ksm_u32 flags; /* KSM_CAP_USER_KNOWN */
	ksm_u64 mnt_ns;
	struct ksm_str name;
};

/* After a KSM_CAP_USER_NS with KSM_CAP_USER_NS_ID: the uid as the
 * process's own user namespace shows it, the one its root's passwd file
 * names (processes of one mount namespace in different user namespaces
 * have one host uid and different names) */
struct ksm_cap_user_ns_id {
	ksm_u32 ns_uid;
	ksm_u32 reserved;
};

#define KSM_CAP_CGROUP_CONTAINER 1u /* else in none: the host's, or gone */
/* the record has path (older ones end before it, and say nothing of it) */
#define KSM_CAP_CGROUP_PATH 2u
#define KSM_CAP_CGROUP_PATH_CUT 4u /* path is the end of a longer one */

/* KSM_CAP_CGROUP: what the live monitor found of a cgroup id, also from
 * the hierarchy where no record carried the path, so that a replay says
 * the same of every event of it */
struct ksm_cap_cgroup {
	struct ksm_header hdr;
	ksm_u64 cgroup_id;
	ksm_u32 flags; /* KSM_CAP_CGROUP_* */
	ksm_u32 reserved;
	struct ksm_str runtime;
	struct ksm_str id;
	/* with KSM_CAP_CGROUP_PATH: the path found (absent: not known), at
	 * most KSM_NS_PATH_MAX - 1 bytes */
	struct ksm_str path;
};

#define KSM_CAP_HASH_DIGEST 1u /* else error says why there is none */

struct ksm_cap_hash {
	struct ksm_header hdr;
	ksm_u32 flags;
	ksm_u32 reserved;
	ksm_u8 sha256[32];
	struct ksm_str error;
};

/* KSM_CAP_ROOT: what ksysmon found, live, for a root the kernel named by
 * its filesystem: a replay shows that, not what the replaying machine
 * mounts */
struct ksm_cap_root {
	struct ksm_header hdr;
	ksm_u32 at; /* enum ksm_root_at */
	ksm_u32 reserved;
	struct ksm_str path; /* with KSM_ROOT_AT_PATH */
};

/* What a capture file says of itself. */
struct ksm_capture_info {
	uint32_t version;
	uint64_t boot_time_ns;
	uint64_t start_time_ns;
	uint8_t boot_id[16];
	char hostname[256];
	char kernel[256];
};

/* ---- writing ----------------------------------------------------------- */

void ksm_capture_header(struct ksm_buf *b, const struct ksm_capture_info *info);
void ksm_capture_clock(struct ksm_buf *b, uint64_t from, uint64_t boot_ns);
void ksm_capture_proc(struct ksm_buf *b, uint32_t pid, uint32_t ppid, uint64_t start,
		      uint64_t parent_start, const uint8_t guid[16], bool seeded,
		      uint8_t image_flags, const char *image, size_t image_len, const char *cmdline, size_t cmdline_len);
/* Whose name a KSM_CAP_USER or KSM_CAP_USER_NS record gives. */
struct ksm_cap_user_view {
	uint64_t mnt_ns;  /* 0: not asked of a mount namespace (KSM_CAP_USER) */
	uint32_t uid;     /* as the initial user namespace shows it */
	uint32_t ns_uid;  /* as the process's own user namespace shows it */
	bool has_ns_uid;  /* else ns_uid was not recorded (an older record): any */
	bool own_root;    /* with a mnt_ns: the next record's only, its chroot's */
	struct ksm_text name; /* present: the name; else the id had none */
};

/* mnt_ns 0: the name was not asked of a mount namespace (KSM_CAP_USER);
 * own_root (with a mnt_ns): the next record's only (see KSM_CAP_USER_OWN_ROOT) */
void ksm_capture_user(struct ksm_buf *b, uint64_t mnt_ns, uint32_t uid, uint32_t ns_uid,
		      const char *name, bool own_root);
void ksm_capture_hash(struct ksm_buf *b, const struct ksm_context *ctx);
/* What is known of a cgroup id: its container (NULL: none) and path (not
 * present: not known; cut: the end of a longer one), as the client shows
 * them. */
struct ksm_cgroup_fact {
	const struct ksm_container *container;
	struct ksm_text path;
	bool path_cut;
};
void ksm_capture_cgroup(struct ksm_buf *b, uint64_t cgroup_id, const struct ksm_cgroup_fact *f);
/* ctx's root_at and root_host (at most KSM_CAP_ROOT_MAX bytes) */
void ksm_capture_root(struct ksm_buf *b, const struct ksm_context *ctx);
#define KSM_CAP_ROOT_MAX 4095
/* Room the annotations written with one event may need. */
#define KSM_CAPTURE_ANNOTATION_MAX (2048 + KSM_CAP_ROOT_MAX + 64)

/* ---- reading ----------------------------------------------------------- */

struct ksm_capture_reader {
	FILE *f;
	uint64_t offset; /* of the next record */
	uint8_t *rec;    /* the current record, 8-byte aligned */
	size_t cap;
	struct ksm_capture_info info;
};

/* Reads and checks the header; 0, or -1 with "reason at byte N" in err. */
int ksm_capture_open(struct ksm_capture_reader *r, FILE *f, char *err, size_t errlen);
enum ksm_capture_next { KSM_CAPTURE_RECORD, KSM_CAPTURE_END, KSM_CAPTURE_BROKEN };
/* The next record (*rec, *size, valid until the next call), the end of the
 * file, or a break that nothing after can be read past (reason in err). */
enum ksm_capture_next ksm_capture_next(struct ksm_capture_reader *r, const uint8_t **rec,
				       uint32_t *size, char *err, size_t errlen);
void ksm_capture_close(struct ksm_capture_reader *r);

/* Decoded annotations; strings point into the record.  false: malformed. */
struct ksm_cap_proc_view {
	uint32_t pid, ppid;
	uint64_t start, parent_start;
	uint8_t guid[16];
	bool seeded;
	uint8_t image_flags; /* enum ksm_path_state */
	struct ksm_text image, cmdline;
};
/* *has_from false: an older record, for every instant (*from 0) */
bool ksm_capture_read_clock(const uint8_t *rec, uint32_t size, uint64_t *boot_ns, bool *has_from,
			    uint64_t *from);
bool ksm_capture_read_proc(const uint8_t *rec, uint32_t size, struct ksm_cap_proc_view *out);
/* KSM_CAP_USER (mnt_ns 0) or KSM_CAP_USER_NS; out->name points into rec */
bool ksm_capture_read_user(const uint8_t *rec, uint32_t size, struct ksm_cap_user_view *out);
/* f->container: c, or NULL when the cgroup is in none (c untouched);
 * f->path points into the record (not present: a record without it) */
bool ksm_capture_read_cgroup(const uint8_t *rec, uint32_t size, uint64_t *cgroup_id,
			     struct ksm_cgroup_fact *f, struct ksm_container *c);
/* *at (enum ksm_root_at, checked) and *path (with KSM_ROOT_AT_PATH) */
bool ksm_capture_read_root(const uint8_t *rec, uint32_t size, uint8_t *at, struct ksm_text *path);
bool ksm_capture_read_hash(const uint8_t *rec, uint32_t size, bool *has_digest,
			   uint8_t sha256[32], struct ksm_text *error);

#endif
