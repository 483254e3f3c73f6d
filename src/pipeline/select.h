/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Applies the configuration's rules (src/pipeline/rules.h) to decoded, enriched
 * events. */
#ifndef KSM_SELECT_H
#define KSM_SELECT_H

#include "core/buf.h"
#include "core/decode.h"
#include "pipeline/cgroups.h"
#include "pipeline/options.h"
#include "pipeline/rules.h"

/* Whether ev passes the rules; scratch holds the NUL-terminated copies of
 * the fields the rules look at.  rules may be NULL: everything passes. */
bool ksm_select_event(const struct ksm_rules *rules, const struct ksm_event *ev,
		      struct ksm_buf *scratch);

/* --container: which containers' events are shown. */
struct ksm_container_sel {
	bool on; /* --container was given */
	bool all, host;
	struct {
		char id[KSM_CONTAINER_NAME_MAX + 1];
		size_t len;
		bool whole; /* live: the id itself; a replay: a prefix */
	} ids[KSM_MAX_CONTAINERS];
	size_t n;
	/* live: the cgroups of the containers named, when found at start */
	uint64_t cgroup_ids[KSM_MAX_CONTAINERS];
	size_t n_cgroups;
};

/* The selection of the --container values (n of them).  tree: live, a
 * prefix must name exactly one running container (then the selection
 * holds its whole id and its cgroup); NULL (a replay): a prefix selects
 * every container whose id begins with it.  0, or -1 with a one-line
 * reason in err. */
int ksm_container_sel_init(struct ksm_container_sel *s, const char *const *vals, size_t n,
			   const struct ksm_cgroups *tree, char *err, size_t errlen);
/* Whether the --container values name containers only (neither all nor
 * host): then only the selected containers' cgroups can hold an event
 * shown, and the kernel may drop the others' (src/linux/kfilter.c). */
bool ksm_containers_by_id(const struct ksm_options *o);
/* Whether an event of container c (NULL: the host's) is shown. */
bool ksm_container_selected(const struct ksm_container_sel *s, const struct ksm_container *c);

#endif
