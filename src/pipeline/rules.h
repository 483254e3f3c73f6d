/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Event filtering rules (docs/config.md): which events are reported,
 * loaded from a YAML configuration file and evaluated per event.  Pure:
 * no I/O (the configuration file is read by ksm_rules_load(), config.h).
 */
#ifndef KSM_RULES_H
#define KSM_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "ksysmon_event.h"
#include "ksysmon_filter.h"

enum ksm_rule_field {
	KSM_F_IMAGE,
	KSM_F_PATH,
	KSM_F_CMDLINE,
	KSM_F_PARENT_IMAGE,
	KSM_F_USER,
	KSM_F_UID,
	KSM_F_PID,
	KSM_F_COMM,
	KSM_F_CONTAINER_ID,
	KSM_F_CONTAINER_RUNTIME,
	KSM_F_CGROUP,
	KSM_F_PID_NS,
	KSM_F_COUNT
};

/* The values of one event as the client knows them after enrichment; a
 * NULL string = the field does not apply to / is unknown for this event
 * (then every condition on it is false, except is_not which is true).
 * String fields are compared on their len bytes; glob sees the string up
 * to its NUL.  uid and pid are read from num[] when has_num[] is set
 * (otherwise they are unknown); their str[] is not used. */
struct ksm_rule_input {
	unsigned type;                /* enum ksm_event_type */
	const char *str[KSM_F_COUNT]; /* NUL-terminated UTF-8-ish bytes; for UID/PID may be NULL */
	size_t len[KSM_F_COUNT];
	long long num[KSM_F_COUNT]; /* uid, pid */
	bool has_num[KSM_F_COUNT];
};

struct ksm_rules; /* opaque */

/* uid, pid and pid_ns: integers, compared with is / is_not only. */
bool ksm_rule_field_numeric(enum ksm_rule_field f);

/*
 * Whether the event passes: its type is not switched off, no exclude rule
 * (of its type or of `all`) matches, and, if there are include rules for
 * it, one of them matches.  Types a configuration cannot name
 * (events_lost, exec_blocked) always pass.  r may be NULL: all pass.
 */
bool ksm_rules_pass(const struct ksm_rules *r, const struct ksm_rule_input *in);

/* Which fields any rule for this event type looks at (bitmask of
 * 1u << field), so the client only computes what is needed; 0 for a type
 * that is switched off. */
unsigned ksm_rules_fields_used(const struct ksm_rules *r, unsigned type);

/*
 * The part of the rules the kernel can decide: the types switched off,
 * exclude rules made of one `is` on pid, uid, comm or pid_ns, or one
 * `begins_with` on image (process_exec) or path (image_load), and, for a
 * type whose include rules (its own and `all`'s) are all `is` on pid_ns,
 * the set of namespaces they name (an event of another is not included).  An exclude
 * rule `any: [...]` contributes each of its members that qualify (an event
 * matching one of them is excluded whatever the others say); `all: [x]`
 * with a single member counts as x; anything else (several conditions
 * that must hold together) stays in user space.
 *
 * Each entry's `types` holds only the types where the value comes
 * straight from the event record, so that the kernel decides exactly as
 * ksm_rules_pass() does: pid for every type; comm for process_create,
 * process_exec and process_exit; pid_ns for those and image_load; uid
 * and image for process_exec; path for image_load.  Types switched off are left out of the entries.
 * Values that do not fit (a prefix longer than 63 bytes, an empty prefix,
 * more entries than the arrays hold) are simply not reported: they stay
 * in user space.  Identical values are merged (their types or'ed).
 *
 * ksm_rules_pass() still evaluates every rule, kernel-decided or not.
 */
/* One value of a numeric field and the types it applies to. */
struct ksm_num_excl {
	unsigned types;
	long long value;
};

struct ksm_kernel_filter {
	unsigned disabled_types; /* bit (1u << type) */
	/* excludes applying to ALL event types or to one type: */
	struct ksm_num_excl pid_excl[KSM_MAX_EXCL];
	size_t n_pid_excl;
	struct ksm_num_excl uid_excl[KSM_MAX_EXCL];
	size_t n_uid_excl;
	struct ksm_num_excl pidns_excl[KSM_MAX_EXCL];
	size_t n_pidns_excl;
	/* the types whose include rules are pid_ns values only, and those
	 * values (types: the ones of those naming it) */
	unsigned pidns_incl_types;
	struct ksm_num_excl pidns_incl[KSM_MAX_EXCL];
	size_t n_pidns_incl;
	struct {
		unsigned types;
		char comm[KSM_COMM_LEN];
	} comm_excl[KSM_MAX_EXCL]; /* exact comm, < KSM_COMM_LEN bytes, NUL-terminated */
	size_t n_comm_excl;
	struct {
		unsigned types;
		char prefix[KSM_PREFIX_BYTES];
		size_t len;
	} prefix_excl[KSM_MAX_PREFIX]; /* image/path begins_with, 1..63 bytes, NUL-terminated */
	size_t n_prefix_excl;
};

void ksm_rules_kernel_filter(const struct ksm_rules *r, struct ksm_kernel_filter *kf);

/* One command-line option set by the file's `options` section: the long
 * option's name, its value (NULL: a flag, written `true`) and where it was
 * written.  A list gives one entry per item. */
struct ksm_config_option {
	char *name;
	char *value;
	unsigned line;
};

/* The options of the file, in the order written (r may be NULL: none). */
const struct ksm_config_option *ksm_rules_options(const struct ksm_rules *r, size_t *n);
/* Whether two files set the same options. */
bool ksm_rules_same_options(const struct ksm_rules *a, const struct ksm_rules *b);

void ksm_rules_free(struct ksm_rules *r);

#endif
