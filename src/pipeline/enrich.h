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
#include "pipeline/proctab.h"

#define KSM_USER_CACHE 64

/* Finds the name of uid (buf: room for it); NULL when it has none. */
typedef const char *(*ksm_user_lookup)(void *ctx, uint32_t uid, char *buf, size_t len);

struct ksm_enricher {
	struct ksm_proctab procs;
	ksm_user_lookup lookup_user; /* the passwd database unless set */
	void *lookup_ctx;
	struct {
		uint32_t uid;
		char *name;
	} users[KSM_USER_CACHE];
	unsigned n_users;
	char parent_image[KSM_PROC_STR_MAX]; /* the event's parent_image, as shown */
};

/* Reads the boot id and seeds the table from proc_dir ("/proc"); either
 * may be NULL (a replay restores both from its capture). */
int ksm_enrich_init(struct ksm_enricher *e, size_t max_procs, const char *proc_dir,
		    const char *boot_id_path);
/* Fills ev->ctx and updates the table.  The strings ev->ctx points to stay
 * valid until the next call. */
void ksm_enrich(struct ksm_enricher *e, struct ksm_event *ev, uint64_t boot_ns);
void ksm_enrich_free(struct ksm_enricher *e);
/* The passwd database's answer (the default ksm_user_lookup). */
const char *ksm_enrich_passwd(void *ctx, uint32_t uid, char *buf, size_t len);
/* Puts back a process as a capture recorded it. */
void ksm_enrich_restore(struct ksm_enricher *e, uint32_t pid, uint32_t ppid, uint64_t start,
			uint64_t parent_start, const uint8_t guid[16], bool seeded,
			uint8_t image_flags,
			const struct ksm_text *image, const struct ksm_text *cmdline);

#endif
