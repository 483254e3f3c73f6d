/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Enrichment: adds to each decoded event what the client knows beyond the
 * record (struct ksm_context): process and parent identities, the parent's
 * image and command line, the user name, an exiting process's image and
 * lifetime.
 */
#ifndef KSM_ENRICH_H
#define KSM_ENRICH_H

#include "decode.h"
#include "proctab.h"

#define KSM_USER_CACHE 64

struct ksm_enricher {
	struct ksm_proctab procs;
	struct {
		uint32_t uid;
		char *name;
	} users[KSM_USER_CACHE];
	unsigned n_users;
	char *held; /* a string an event points to after its process left */
};

/* Reads the boot id and seeds the table from proc_dir ("/proc"). */
int ksm_enrich_init(struct ksm_enricher *e, size_t max_procs, const char *proc_dir,
		    const char *boot_id_path);
/* Fills ev->ctx and updates the table.  The strings ev->ctx points to stay
 * valid until the next call. */
void ksm_enrich(struct ksm_enricher *e, struct ksm_event *ev, uint64_t boot_ns);
void ksm_enrich_free(struct ksm_enricher *e);

#endif
