/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The configuration file (docs/config.md) and the in-memory form of its
 * rules, shared by the reader (config.c, on the YAML tree of yamltree.c)
 * and the evaluator (rules.c).
 * The client uses rules.h; this header is for those two files and tests.
 */
#ifndef KSM_CONFIG_H
#define KSM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/rules.h"

enum ksm_rule_cond {
	KSM_C_IS,
	KSM_C_IS_NOT,
	KSM_C_CONTAINS,
	KSM_C_BEGINS_WITH,
	KSM_C_ENDS_WITH,
	KSM_C_GLOB,
	KSM_C_COUNT
};

enum ksm_rule_kind {
	KSM_R_COND, /* one condition on one field */
	KSM_R_ALL,  /* every member matches */
	KSM_R_ANY,  /* at least one member matches */
};

struct ksm_rule {
	enum ksm_rule_kind kind;
	unsigned line; /* where it was written, 1-based */
	/* KSM_R_COND */
	enum ksm_rule_field field;
	enum ksm_rule_cond cond;
	char *str;    /* string fields: the value, NUL-terminated (no NUL inside) */
	size_t len;
	long long num; /* uid, pid */
	/* KSM_R_ALL, KSM_R_ANY: at least one member */
	struct ksm_rule *kids;
	size_t n_kids;
};

struct ksm_rule_list {
	struct ksm_rule *v;
	size_t n;
};

struct ksm_rule_section {
	struct ksm_rule_list include; /* empty: no include rules */
	struct ksm_rule_list exclude;
};

struct ksm_rules {
	unsigned disabled;                         /* bit 1u << type: `off` */
	struct ksm_rule_section all;               /* events: all: */
	struct ksm_rule_section type[KSM_EV_MAX];  /* events: <type>: */
	unsigned fields_used[KSM_EV_MAX];          /* bit 1u << field */
	struct ksm_config_option *opts;            /* options: */
	size_t n_opts;
};

/*
 * Loads the configuration file at path.  On success returns 0 and *out
 * (freed with ksm_rules_free); on error returns -1, *out is NULL and err
 * holds one line, "path:line: reason" (or "path: reason" when the file
 * cannot be read).  Nothing is half-loaded: any error rejects the file.
 */
int ksm_rules_load(const char *path, struct ksm_rules **out, char *err, size_t errlen);

/* Parses a configuration held in memory (len bytes); name is the file
 * name used in messages.  Same contract as ksm_rules_load(). */
int ksm_config_parse(const char *name, const char *text, size_t len, struct ksm_rules **out,
		     char *err, size_t errlen);

/* The configuration names of fields ("parent_image") and conditions
 * ("begins_with"). */
const char *ksm_rule_field_name(enum ksm_rule_field f);
const char *ksm_rule_cond_name(enum ksm_rule_cond c);

/* Frees what a rule owns (not the rule itself). */
void ksm_rule_clear(struct ksm_rule *r);

#endif
