/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Enrichment: adds to each decoded event what the client knows beyond the
 * record (struct ksm_context): process and parent identities, the parent's
 * image and command line, the user name, an exiting process's image and
 * lifetime.
 */
#ifndef KSM_ENRICH_H
#define KSM_ENRICH_H

#include "core/decode.h"
#include "pipeline/cgroups.h"
#include "sinks/capture.h"
#include "pipeline/proctab.h"
#include "pipeline/rootpasswd.h"

#define KSM_USER_CACHE 64
#define KSM_USER_NAME_MAX 255 /* bytes of a user name given (LOGIN_NAME_MAX less its NUL) */
#define KSM_ROOT_CACHE 32 /* mount namespaces whose passwd file is kept */
#define KSM_CGROUP_CACHE 1024 /* cgroups whose path and container are kept (direct-mapped by id) */

/* Whom to name: a user id and where the process sees it. */
struct ksm_user_query {
	uint64_t mnt_ns; /* the process's mount namespace (inode); 0: not known */
	uint32_t uid;    /* the record's, as the initial user namespace sees it */
	uint32_t ns_uid; /* as the process's own user namespace sees it */
	uint32_t pid;
	uint64_t start;  /* of the process, ns since boot */
	bool own_root;   /* chrooted inside its mount namespace: not the namespace's root */
};

/* Finds the name of q's user (buf: room for it); NULL when it has none.
 * *keep: the answer may be kept for the next event of the same mnt_ns,
 * uid and ns_uid (false when the process was gone before it could be
 * asked). */
typedef const char *(*ksm_user_lookup)(void *ctx, const struct ksm_user_query *q, char *buf,
				       size_t len, bool *keep);

struct ksm_enricher {
	struct ksm_proctab procs;
	ksm_user_lookup lookup_user; /* the passwd database unless set */
	void *lookup_ctx;
	struct ksm_user_name {
		uint64_t mnt_ns;
		uint32_t uid, ns_uid; /* a root's passwd file names ns_uid, the host's uid */
		char *name;
	} users[KSM_USER_CACHE];
	unsigned n_users;
	uint64_t own_mnt_ns; /* ksysmon's own mount namespace: the host's names */
	/* the passwd files of other roots, by mount namespace (the oldest
	 * replaced first) */
	struct ksm_root_names {
		uint64_t mnt_ns; /* 0: free */
		int kind; /* enum ksm_root_kind, or -errno: no names */
		struct ksm_passwd pw;
		struct ksm_stamp id;      /* of the file pw was read from */
		struct ksm_passwd_of member; /* a process of mnt_ns that saw it last */
	} roots[KSM_ROOT_CACHE];
	unsigned n_roots, next_root;
	struct ksm_root_names chroot; /* the last chrooted process's */
	char *user_once; /* a name not kept, until the next event */
	/* replay: the next exec's user was recorded for it alone (asked of
	 * lookup_user, not taken from the names kept) */
	bool answer_once;
	/* live: names are checked against the files they came from before
	 * each use (a replay has the capture's names, in their order) */
	bool live;
	struct ksm_stamp host_passwd; /* the host's /etc/passwd, when last looked at */
	/* the path and container of each cgroup id met, found once */
	struct ksm_cgroup_slot {
		uint64_t id; /* 0: free */
		bool in_container;
		bool path_cut;   /* path is the end of a longer one */
		struct ksm_container c;
		char *path;      /* as shown (NULL: not known); owned */
		uint32_t path_len;
	} cgroups[KSM_CGROUP_CACHE];
	struct ksm_cgroups tree; /* live: the path of an id no record names */
	char cgroup_path[KSM_CGROUP_PATH_MAX]; /* one found there */
	/* told what is found of each cgroup id */
	void (*on_cgroup)(void *ctx, uint64_t id, const struct ksm_cgroup_fact *f);
	void *cgroup_ctx;
	char parent_image[KSM_PROC_STR_MAX]; /* the event's parent_image, as shown */
};

/* Replay: what the capture says of cgroup id. */
void ksm_enrich_set_cgroup(struct ksm_enricher *e, uint64_t id, const struct ksm_cgroup_fact *f);

/* What is known of a cgroup id, as a fact for the capture. */
struct ksm_cgroup_fact ksm_enrich_cgroup_fact(const struct ksm_cgroup_slot *s);

/* Replay: the name of uid (ns_uid in its user namespace) in mnt_ns
 * changed; the one kept is dropped (has_ns_uid false: of every ns_uid). */
void ksm_enrich_forget_user(struct ksm_enricher *e, uint64_t mnt_ns, uint32_t uid,
			    uint32_t ns_uid, bool has_ns_uid);

/* Reads the boot id and seeds the table from proc_dir ("/proc"); either
 * may be NULL (a replay restores both from its capture). */
int ksm_enrich_init(struct ksm_enricher *e, size_t max_procs, const char *proc_dir,
		    const char *boot_id_path);
/* Fills ev->ctx and updates the table (clock: the wall-clock time of the
 * boot-relative start of an exiting process).  The strings ev->ctx points
 * to stay valid until the next call. */
void ksm_enrich(struct ksm_enricher *e, struct ksm_event *ev, const struct ksm_boot_clock *clock);
/* Only the container and cgroup path of the event's cgroup id (the
 * policy's exec_blocked: no process table to learn from). */
void ksm_enrich_cgroup(struct ksm_enricher *e, struct ksm_event *ev);
void ksm_enrich_free(struct ksm_enricher *e);
/* The live answer (the default ksm_user_lookup; ctx: the enricher): the
 * host's user database for a process whose root is ksysmon's own, the
 * passwd file of the process's root otherwise (ns_uid looked up there). */
const char *ksm_enrich_lookup(void *ctx, const struct ksm_user_query *q, char *buf, size_t len,
			      bool *keep);
/* Puts back a process as a capture recorded it. */
void ksm_enrich_restore(struct ksm_enricher *e, uint32_t pid, uint32_t ppid, uint64_t start,
			uint64_t parent_start, const uint8_t guid[16], bool seeded,
			uint8_t image_flags,
			const struct ksm_text *image, const struct ksm_text *cmdline);

#endif
