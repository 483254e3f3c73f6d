// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Evaluation of the event filtering rules loaded by config.c. */
#include "pipeline/config.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>


bool ksm_rule_field_numeric(enum ksm_rule_field f)
{
	return f == KSM_F_UID || f == KSM_F_PID || f == KSM_F_PID_NS;
}

static bool match_cond(const struct ksm_rule *r, const struct ksm_rule_input *in)
{
	enum ksm_rule_field f = r->field;

	if (ksm_rule_field_numeric(f)) {
		if (!in->has_num[f])
			return r->cond == KSM_C_IS_NOT;
		bool eq = in->num[f] == r->num;
		return r->cond == KSM_C_IS ? eq : !eq;
	}
	const char *s = in->str[f];
	size_t n = in->len[f];
	if (!s)
		return r->cond == KSM_C_IS_NOT;
	switch (r->cond) {
	case KSM_C_IS:
		return n == r->len && !memcmp(s, r->str, n);
	case KSM_C_IS_NOT:
		return !(n == r->len && !memcmp(s, r->str, n));
	case KSM_C_CONTAINS:
		return memmem(s, n, r->str, r->len) != NULL;
	case KSM_C_BEGINS_WITH:
		return n >= r->len && !memcmp(s, r->str, r->len);
	case KSM_C_ENDS_WITH:
		return n >= r->len && !memcmp(s + n - r->len, r->str, r->len);
	case KSM_C_GLOB:
		/* no FNM_PATHNAME, no FNM_PERIOD: '*' also matches '/' and dots */
		return fnmatch(r->str, s, 0) == 0;
	case KSM_C_COUNT:
		break;
	}
	return false;
}

static bool match(const struct ksm_rule *r, const struct ksm_rule_input *in)
{
	switch (r->kind) {
	case KSM_R_COND:
		return match_cond(r, in);
	case KSM_R_ALL:
		for (size_t i = 0; i < r->n_kids; i++)
			if (!match(&r->kids[i], in))
				return false;
		return true;
	case KSM_R_ANY:
		for (size_t i = 0; i < r->n_kids; i++)
			if (match(&r->kids[i], in))
				return true;
		return false;
	}
	return false;
}

static bool match_list(const struct ksm_rule_list *l, const struct ksm_rule_input *in)
{
	for (size_t i = 0; i < l->n; i++)
		if (match(&l->v[i], in))
			return true;
	return false;
}

bool ksm_rules_pass(const struct ksm_rules *r, const struct ksm_rule_input *in)
{
	unsigned t = in->type;

	if (!r || t >= KSM_EV_MAX || !(KSM_ALL_EVENTS & (1u << t)))
		return true;
	if (r->disabled & (1u << t))
		return false;
	const struct ksm_rule_section *sec = &r->type[t];
	if (match_list(&r->all.exclude, in) || match_list(&sec->exclude, in))
		return false;
	if (!r->all.include.n && !sec->include.n)
		return true;
	return match_list(&r->all.include, in) || match_list(&sec->include, in);
}

unsigned ksm_rules_fields_used(const struct ksm_rules *r, unsigned type)
{
	if (!r || type >= KSM_EV_MAX)
		return 0;
	return r->fields_used[type];
}

/* ---- the kernel-decidable part ------------------------------------------ */

/* The types whose record carries the field itself, so that the kernel
 * sees the same value as the client. */
static unsigned record_types(enum ksm_rule_field f)
{
	switch (f) {
	case KSM_F_PID:
		return KSM_ALL_EVENTS;
	case KSM_F_COMM:
		return (1u << KSM_EV_PROCESS_CREATE) | (1u << KSM_EV_PROCESS_EXEC) |
		       (1u << KSM_EV_PROCESS_EXIT);
	case KSM_F_UID:
	case KSM_F_IMAGE:
		return 1u << KSM_EV_PROCESS_EXEC;
	case KSM_F_PATH:
		return 1u << KSM_EV_IMAGE_LOAD;
	case KSM_F_PID_NS: /* the records with the namespace block */
		return (1u << KSM_EV_PROCESS_CREATE) | (1u << KSM_EV_PROCESS_EXEC) |
		       (1u << KSM_EV_PROCESS_EXIT) | (1u << KSM_EV_IMAGE_LOAD);
	default:
		return 0;
	}
}

/* Adds value for types to list (n entries), merged with an equal one;
 * false when the list is full. */
static bool add_num(struct ksm_num_excl *list, size_t *n, unsigned types, long long value)
{
	for (size_t i = 0; i < *n; i++) {
		if (list[i].value == value) {
			list[i].types |= types;
			return true;
		}
	}
	if (*n == KSM_MAX_EXCL)
		return false;
	list[*n].types = types;
	list[(*n)++].value = value;
	return true;
}

static void add_comm(struct ksm_kernel_filter *kf, unsigned types, const char *s, size_t len)
{
	if (len >= sizeof(kf->comm_excl[0].comm))
		return;
	for (size_t i = 0; i < kf->n_comm_excl; i++) {
		if (strlen(kf->comm_excl[i].comm) == len && !memcmp(kf->comm_excl[i].comm, s, len)) {
			kf->comm_excl[i].types |= types;
			return;
		}
	}
	size_t n = kf->n_comm_excl;
	if (n == sizeof(kf->comm_excl) / sizeof(kf->comm_excl[0]))
		return;
	memset(kf->comm_excl[n].comm, 0, sizeof(kf->comm_excl[n].comm));
	memcpy(kf->comm_excl[n].comm, s, len);
	kf->comm_excl[n].types = types;
	kf->n_comm_excl++;
}

static void add_prefix(struct ksm_kernel_filter *kf, unsigned types, const char *s, size_t len)
{
	if (!len || len >= sizeof(kf->prefix_excl[0].prefix))
		return;
	for (size_t i = 0; i < kf->n_prefix_excl; i++) {
		if (kf->prefix_excl[i].len == len && !memcmp(kf->prefix_excl[i].prefix, s, len)) {
			kf->prefix_excl[i].types |= types;
			return;
		}
	}
	size_t n = kf->n_prefix_excl;
	if (n == sizeof(kf->prefix_excl) / sizeof(kf->prefix_excl[0]))
		return;
	memset(kf->prefix_excl[n].prefix, 0, sizeof(kf->prefix_excl[n].prefix));
	memcpy(kf->prefix_excl[n].prefix, s, len);
	kf->prefix_excl[n].len = len;
	kf->prefix_excl[n].types = types;
	kf->n_prefix_excl++;
}

/* Reports the part of exclude rule r, applying to `types`, that the
 * kernel can decide on its own. */
static void kernel_excl(struct ksm_kernel_filter *kf, const struct ksm_rule *r, unsigned types)
{
	switch (r->kind) {
	case KSM_R_ANY: /* excluded if any member matches: each one excludes */
		for (size_t i = 0; i < r->n_kids; i++)
			kernel_excl(kf, &r->kids[i], types);
		return;
	case KSM_R_ALL:
		if (r->n_kids == 1)
			kernel_excl(kf, &r->kids[0], types);
		return;
	case KSM_R_COND:
		break;
	}
	types &= record_types(r->field);
	if (!types)
		return;
	switch (r->field) {
	case KSM_F_PID:
		if (r->cond == KSM_C_IS)
			add_num(kf->pid_excl, &kf->n_pid_excl, types, r->num);
		return;
	case KSM_F_UID:
		if (r->cond == KSM_C_IS)
			add_num(kf->uid_excl, &kf->n_uid_excl, types, r->num);
		return;
	case KSM_F_PID_NS:
		if (r->cond == KSM_C_IS)
			add_num(kf->pidns_excl, &kf->n_pidns_excl, types, r->num);
		return;
	case KSM_F_COMM:
		if (r->cond == KSM_C_IS)
			add_comm(kf, types, r->str, r->len);
		return;
	case KSM_F_IMAGE:
	case KSM_F_PATH:
		if (r->cond == KSM_C_BEGINS_WITH)
			add_prefix(kf, types, r->str, r->len);
		return;
	default:
		return;
	}
}

/* Whether include rule r is made of `is` on pid_ns only (any: [...] of
 * them, all: [x] of one). */
static bool pidns_only(const struct ksm_rule *r)
{
	switch (r->kind) {
	case KSM_R_ANY:
		for (size_t i = 0; i < r->n_kids; i++)
			if (!pidns_only(&r->kids[i]))
				return false;
		return r->n_kids > 0;
	case KSM_R_ALL:
		return r->n_kids == 1 && pidns_only(&r->kids[0]);
	case KSM_R_COND:
		return r->field == KSM_F_PID_NS && r->cond == KSM_C_IS;
	}
	return false;
}

/* false when a value did not fit */
static bool add_pidns_values(struct ksm_kernel_filter *kf, const struct ksm_rule *r, unsigned types)
{
	if (r->kind == KSM_R_COND)
		return add_num(kf->pidns_incl, &kf->n_pidns_incl, types, r->num);
	bool all = true;
	for (size_t i = 0; i < r->n_kids; i++)
		all = add_pidns_values(kf, &r->kids[i], types) && all;
	return all;
}

static bool list_pidns_only(const struct ksm_rule_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!pidns_only(&l->v[i]))
			return false;
	return true;
}

/* Type t's include rules (its own and all's), when they are pid_ns
 * values only and all fit: an event of another namespace is not shown. */
static void kernel_incl(struct ksm_kernel_filter *kf, const struct ksm_rules *r, unsigned t)
{
	const struct ksm_rule_list *own = &r->type[t].include, *all = &r->all.include;
	unsigned type = 1u << t;
	if (!(record_types(KSM_F_PID_NS) & type) || (!own->n && !all->n) ||
	    !list_pidns_only(own) || !list_pidns_only(all))
		return;
	bool fit = true;
	for (size_t i = 0; i < own->n; i++)
		fit = add_pidns_values(kf, &own->v[i], type) && fit;
	for (size_t i = 0; i < all->n; i++)
		fit = add_pidns_values(kf, &all->v[i], type) && fit;
	/* values that did fit stay, unread for this type: the kernel consults
	 * the set only for the types whose every value is in it */
	if (fit)
		kf->pidns_incl_types |= type;
}

void ksm_rules_kernel_filter(const struct ksm_rules *r, struct ksm_kernel_filter *kf)
{
	memset(kf, 0, sizeof(*kf));
	if (!r)
		return;
	kf->disabled_types = r->disabled;
	unsigned on = KSM_ALL_EVENTS & ~r->disabled;
	for (size_t i = 0; i < r->all.exclude.n; i++)
		kernel_excl(kf, &r->all.exclude.v[i], on);
	for (unsigned t = 0; t < KSM_EV_MAX; t++) {
		if (!(on & (1u << t)))
			continue;
		for (size_t i = 0; i < r->type[t].exclude.n; i++)
			kernel_excl(kf, &r->type[t].exclude.v[i], 1u << t);
		kernel_incl(kf, r, t);
	}
}

/* ---- freeing ------------------------------------------------------------- */

void ksm_rule_clear(struct ksm_rule *r)
{
	for (size_t i = 0; i < r->n_kids; i++)
		ksm_rule_clear(&r->kids[i]);
	free(r->kids);
	free(r->str);
	r->kids = NULL;
	r->n_kids = 0;
	r->str = NULL;
}

static void list_free(struct ksm_rule_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		ksm_rule_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct ksm_config_option *ksm_rules_options(const struct ksm_rules *r, size_t *n)
{
	*n = r ? r->n_opts : 0;
	return r ? r->opts : NULL;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool ksm_rules_same_options(const struct ksm_rules *a, const struct ksm_rules *b)
{
	size_t na, nb;
	const struct ksm_config_option *oa = ksm_rules_options(a, &na), *ob = ksm_rules_options(b, &nb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_str(oa[i].name, ob[i].name) || !same_str(oa[i].value, ob[i].value))
			return false;
	return true;
}

void ksm_rules_free(struct ksm_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_opts; i++) {
		free(r->opts[i].name);
		free(r->opts[i].value);
	}
	free(r->opts);
	list_free(&r->all.include);
	list_free(&r->all.exclude);
	for (unsigned t = 0; t < KSM_EV_MAX; t++) {
		list_free(&r->type[t].include);
		list_free(&r->type[t].exclude);
	}
	free(r);
}
