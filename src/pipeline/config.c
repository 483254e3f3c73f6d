// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The configuration's schema (docs/config.md): what its keys, event
 * types, fields and conditions mean, from the YAML tree (yamltree.h) to
 * struct ksm_rules.  Every error stops the load with "file:line: reason".
 */
#include "pipeline/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/glob.h"
#include "pipeline/yamltree.h"

#define COMM_MAX (KSM_COMM_LEN - 1) /* a Linux command name, NUL aside */

static const char *const field_names[KSM_F_COUNT] = {
	[KSM_F_IMAGE] = "image",
	[KSM_F_PATH] = "path",
	[KSM_F_CMDLINE] = "cmdline",
	[KSM_F_PARENT_IMAGE] = "parent_image",
	[KSM_F_USER] = "user",
	[KSM_F_UID] = "uid",
	[KSM_F_PID] = "pid",
	[KSM_F_COMM] = "comm",
	[KSM_F_CONTAINER_ID] = "container_id",
	[KSM_F_CONTAINER_RUNTIME] = "container_runtime",
	[KSM_F_CGROUP] = "cgroup",
	[KSM_F_PID_NS] = "pid_ns",
};

static const char *const cond_names[KSM_C_COUNT] = {
	[KSM_C_IS] = "is",
	[KSM_C_IS_NOT] = "is_not",
	[KSM_C_CONTAINS] = "contains",
	[KSM_C_BEGINS_WITH] = "begins_with",
	[KSM_C_ENDS_WITH] = "ends_with",
	[KSM_C_GLOB] = "glob",
};

const char *ksm_rule_field_name(enum ksm_rule_field f)
{
	return (unsigned)f < KSM_F_COUNT ? field_names[f] : "?";
}

const char *ksm_rule_cond_name(enum ksm_rule_cond c)
{
	return (unsigned)c < KSM_C_COUNT ? cond_names[c] : "?";
}

/* ---- from the tree to rules --------------------------------------------- */

#define CONDS_EXPECTED "is, is_not, contains, begins_with, ends_with, glob"
#define FIELDS_EXPECTED "image, path, cmdline, parent_image, user, uid, pid, comm, container_id, container_runtime, cgroup, pid_ns, all, any"
#define TYPES_EXPECTED \
	"process_create, process_exec, process_exit, thread_create, thread_exit, image_load, all"

static int rule_push(const struct ksm_ysrc *c, struct ksm_rule **v, size_t *n, struct ksm_rule *r)
{
	struct ksm_rule *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		ksm_rule_clear(r);
		return ksm_yfail(c, 0, "out of memory");
	}
	*v = nv;
	nv[(*n)++] = *r;
	return 0;
}

/* Checks a glob as fnmatch(3) reads it (flags 0); NULL when it is fine. */
static const char *glob_problem(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			if (i + 1 == n)
				return "it ends with a lone '\\'";
			i++;
			continue;
		}
		if (p[i] != '[')
			continue;
		struct ksm_bracket br;
		switch (ksm_bracket_parse(p, n, i, &br, NULL, NULL)) {
		case KSM_BRACKET_OK:
			break;
		case KSM_BRACKET_UNTERMINATED:
			return "unterminated '[' (write '\\[' for a literal '[')";
		case KSM_BRACKET_UNKNOWN_CLASS:
			return "unknown character class (expected [:alnum:], [:alpha:], [:blank:], "
			       "[:cntrl:], [:digit:], [:graph:], [:lower:], [:print:], "
			       "[:punct:], [:space:], [:upper:], [:xdigit:])";
		case KSM_BRACKET_NOT_ONE_BYTE:
			return "an equivalence class or collating symbol ([=x=], [.x.]) of more than one byte";
		}
		i = br.end - 1;
	}
	return NULL;
}

/* "123" as an integer from 0 to UINT32_MAX. */
static bool parse_u32(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0;
	if (!len || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (long long)v;
	return true;
}

/* One condition: cond_key names it (or is NULL for the short form
 * `field: value`), val holds its value. */
static int load_cond(const struct ksm_ysrc *c, enum ksm_rule_field f, const struct ksm_ynode *cond_key,
		     const struct ksm_ynode *val, struct ksm_rule *out)
{
	struct ksm_yquote q1;
	enum ksm_rule_cond cond = KSM_C_IS;
	const char *fname = field_names[f];

	memset(out, 0, sizeof(*out));
	out->kind = KSM_R_COND;
	out->field = f;
	out->line = cond_key ? cond_key->line : val->line;
	if (cond_key) {
		for (cond = 0; cond < KSM_C_COUNT; cond++)
			if (ksm_ynode_is(cond_key, cond_names[cond]))
				break;
		if (cond == KSM_C_COUNT)
			return ksm_yfail(c, cond_key->line, "unknown condition '%s' (expected " CONDS_EXPECTED ")",
				    ksm_yquote(&q1, cond_key->s, cond_key->len));
	}
	out->cond = cond;
	const char *cname = cond_names[cond];
	unsigned vline = val->kind == KSM_Y_SCALAR && val->null && cond_key ? cond_key->line : val->line;
	if (val->kind != KSM_Y_SCALAR)
		return ksm_yfail(c, vline, "'%s' on '%s' takes %s, not %s", cname, fname,
			    ksm_rule_field_numeric(f) ? "an integer" : "a string", ksm_ywhat(&q1, val));
	if (val->null)
		return ksm_yfail(c, vline, "missing value for '%s' on '%s'%s", cname, fname,
			    ksm_rule_field_numeric(f) ? "" : " (write \"\" for an empty string)");
	if (ksm_rule_field_numeric(f)) {
		if (cond != KSM_C_IS && cond != KSM_C_IS_NOT)
			return ksm_yfail(c, cond_key->line,
				    "condition '%s' does not apply to numeric field '%s' (expected is, is_not)",
				    cname, fname);
		if (!parse_u32(val->s, val->len, &out->num))
			return ksm_yfail(c, vline, "'%s' takes an integer from 0 to 4294967295, not %s", fname,
				    ksm_ywhat(&q1, val));
		return 0;
	}
	if (memchr(val->s, '\0', val->len))
		return ksm_yfail(c, vline, "the value of '%s' on '%s' contains a NUL character", cname, fname);
	if (f == KSM_F_COMM && cond != KSM_C_GLOB && val->len > COMM_MAX)
		return ksm_yfail(c, vline, "'comm' is at most %d bytes long; '%s' (%zu bytes) never occurs",
			    COMM_MAX, ksm_yquote(&q1, val->s, val->len), val->len);
	if (cond == KSM_C_GLOB) {
		const char *why = glob_problem(val->s, val->len);
		if (why)
			return ksm_yfail(c, vline, "invalid glob '%s': %s", ksm_yquote(&q1, val->s, val->len), why);
	}
	out->str = malloc(val->len + 1);
	if (!out->str)
		return ksm_yfail(c, 0, "out of memory");
	memcpy(out->str, val->s, val->len + 1);
	out->len = val->len;
	return 0;
}

/* `field: value` or `field: {cond: value, ...}` (all of them). */
static int load_field(const struct ksm_ysrc *c, enum ksm_rule_field f, const struct ksm_ynode *key,
		      const struct ksm_ynode *val, struct ksm_rule *out)
{
	struct ksm_yquote q;

	memset(out, 0, sizeof(*out));
	if (val->kind == KSM_Y_SCALAR && !val->null)
		return load_cond(c, f, NULL, val, out);
	if (val->kind != KSM_Y_MAP || !val->n)
		return ksm_yfail(c, val->kind == KSM_Y_SCALAR ? key->line : val->line,
			    "'%s' takes conditions such as {is: ...} or a value, not %s",
			    field_names[f], val->kind == KSM_Y_MAP ? "an empty mapping" : ksm_ywhat(&q, val));
	if (val->n == 2)
		return load_cond(c, f, val->v[0], val->v[1], out);
	out->kind = KSM_R_ALL;
	out->line = key->line;
	for (size_t i = 0; i < val->n; i += 2) {
		struct ksm_rule r;
		if (load_cond(c, f, val->v[i], val->v[i + 1], &r)) {
			ksm_rule_clear(&r);
			return -1;
		}
		if (rule_push(c, &out->kids, &out->n_kids, &r))
			return -1;
	}
	return 0;
}

static int load_rule(const struct ksm_ysrc *c, const struct ksm_ynode *n, struct ksm_rule *out);

/* `all: [...]` / `any: [...]`. */
static int load_combination(const struct ksm_ysrc *c, enum ksm_rule_kind kind, const struct ksm_ynode *key,
			    const struct ksm_ynode *val, struct ksm_rule *out)
{
	struct ksm_yquote q;
	const char *kname = kind == KSM_R_ALL ? "all" : "any";

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->line = key->line;
	if (val->kind != KSM_Y_SEQ)
		return ksm_yfail(c, val->kind == KSM_Y_SCALAR ? key->line : val->line,
			    "'%s' takes a list of rules, not %s", kname, ksm_ywhat(&q, val));
	if (!val->n)
		return ksm_yfail(c, val->line, "empty '%s' list", kname);
	for (size_t i = 0; i < val->n; i++) {
		struct ksm_rule r;
		if (load_rule(c, val->v[i], &r)) {
			ksm_rule_clear(&r);
			return -1;
		}
		if (rule_push(c, &out->kids, &out->n_kids, &r))
			return -1;
	}
	return 0;
}

/* One key of a rule mapping. */
static int load_rule_key(const struct ksm_ysrc *c, const struct ksm_ynode *key, const struct ksm_ynode *val,
			 struct ksm_rule *out)
{
	struct ksm_yquote q;

	memset(out, 0, sizeof(*out));
	if (ksm_ynode_is(key, "all"))
		return load_combination(c, KSM_R_ALL, key, val, out);
	if (ksm_ynode_is(key, "any"))
		return load_combination(c, KSM_R_ANY, key, val, out);
	for (unsigned f = 0; f < KSM_F_COUNT; f++)
		if (ksm_ynode_is(key, field_names[f]))
			return load_field(c, (enum ksm_rule_field)f, key, val, out);
	return ksm_yfail(c, key->line, "unknown field '%s' (expected " FIELDS_EXPECTED ")",
		    ksm_yquote(&q, key->s, key->len));
}

/* A rule: a mapping of fields and combinations that must all match. */
static int load_rule(const struct ksm_ysrc *c, const struct ksm_ynode *n, struct ksm_rule *out)
{
	struct ksm_yquote q;

	memset(out, 0, sizeof(*out));
	if (n->kind != KSM_Y_MAP)
		return ksm_yfail(c, n->line, "a rule must be a mapping such as 'image: {ends_with: /curl}', not %s",
			    ksm_ywhat(&q, n));
	if (!n->n)
		return ksm_yfail(c, n->line, "empty rule");
	if (n->n == 2)
		return load_rule_key(c, n->v[0], n->v[1], out);
	out->kind = KSM_R_ALL;
	out->line = n->line;
	for (size_t i = 0; i < n->n; i += 2) {
		struct ksm_rule r;
		if (load_rule_key(c, n->v[i], n->v[i + 1], &r)) {
			ksm_rule_clear(&r);
			return -1;
		}
		if (rule_push(c, &out->kids, &out->n_kids, &r))
			return -1;
	}
	return 0;
}

/* `include: [...]` or `exclude: [...]` of a section. */
static int load_list(const struct ksm_ysrc *c, const struct ksm_ynode *key, const struct ksm_ynode *val,
		     const char *section, struct ksm_rule_list *list)
{
	struct ksm_yquote q;
	bool include = ksm_ynode_is(key, "include");

	if (val->kind != KSM_Y_SEQ)
		return ksm_yfail(c, val->kind == KSM_Y_SCALAR ? key->line : val->line,
			    "'%s' takes a list of rules, not %s", key->s, ksm_ywhat(&q, val));
	if (!val->n && include)
		return ksm_yfail(c, val->line,
			    "empty include list (no event could pass; to report no %s event, write '%s: off')",
			    section, section);
	for (size_t i = 0; i < val->n; i++) {
		struct ksm_rule r;
		if (load_rule(c, val->v[i], &r)) {
			ksm_rule_clear(&r);
			return -1;
		}
		if (rule_push(c, &list->v, &list->n, &r))
			return -1;
	}
	return 0;
}

static int load_events(const struct ksm_ysrc *c, const struct ksm_ynode *key, const struct ksm_ynode *ev,
		       struct ksm_rules *rules)
{
	struct ksm_yquote q;

	if (ev->kind != KSM_Y_MAP)
		return ksm_yfail(c, ev->kind == KSM_Y_SCALAR ? key->line : ev->line,
			    "'events' takes a mapping of event types, not %s", ksm_ywhat(&q, ev));
	for (size_t i = 0; i < ev->n; i += 2) {
		const struct ksm_ynode *k = ev->v[i], *v = ev->v[i + 1];
		struct ksm_rule_section *sec;
		bool all = ksm_ynode_is(k, "all");
		unsigned type = 0;

		if (all) {
			sec = &rules->all;
		} else {
			type = ksm_event_by_name(k->s, k->len);
			if (type != KSM_EV_NONE && !(KSM_ALL_EVENTS & (1u << type)))
				return ksm_yfail(c, k->line, "event type '%s' cannot be configured (it is always reported)",
					    k->s);
			if (type == KSM_EV_NONE)
				return ksm_yfail(c, k->line, "unknown event type '%s' (expected " TYPES_EXPECTED ")",
					    ksm_yquote(&q, k->s, k->len));
			sec = &rules->type[type];
		}
		if (v->kind == KSM_Y_SCALAR && !v->null && !all) {
			if (ksm_ynode_is(v, "off") || ksm_ynode_is(v, "false"))
				rules->disabled |= 1u << type;
			else if (!ksm_ynode_is(v, "on") && !ksm_ynode_is(v, "true"))
				return ksm_yfail(c, v->line,
					    "'%s' takes on, off or a mapping with include/exclude, not %s",
					    k->s, ksm_ywhat(&q, v));
			continue;
		}
		if (v->kind != KSM_Y_MAP)
			return ksm_yfail(c, v->kind == KSM_Y_SCALAR ? k->line : v->line,
				    all ? "'all' takes a mapping with include/exclude, not %s"
					: "'%s' takes on, off or a mapping with include/exclude, not %s",
				    all ? ksm_ywhat(&q, v) : k->s, ksm_ywhat(&q, v));
		for (size_t j = 0; j < v->n; j += 2) {
			const struct ksm_ynode *lk = v->v[j];
			struct ksm_rule_list *list;
			if (ksm_ynode_is(lk, "include"))
				list = &sec->include;
			else if (ksm_ynode_is(lk, "exclude"))
				list = &sec->exclude;
			else
				return ksm_yfail(c, lk->line, "unknown key '%s' in '%s' (expected include, exclude)",
					    ksm_yquote(&q, lk->s, lk->len), k->s);
			if (load_list(c, lk, v->v[j + 1], k->s, list))
				return -1;
		}
	}
	return 0;
}

static unsigned rule_fields(const struct ksm_rule *r)
{
	if (r->kind == KSM_R_COND)
		return 1u << r->field;
	unsigned m = 0;
	for (size_t i = 0; i < r->n_kids; i++)
		m |= rule_fields(&r->kids[i]);
	return m;
}

static unsigned section_fields(const struct ksm_rule_section *s)
{
	unsigned m = 0;
	for (size_t i = 0; i < s->include.n; i++)
		m |= rule_fields(&s->include.v[i]);
	for (size_t i = 0; i < s->exclude.n; i++)
		m |= rule_fields(&s->exclude.v[i]);
	return m;
}

/* One option: name and value (NULL for a flag) copied. */
static int add_option(const struct ksm_ysrc *c, struct ksm_rules *r, const struct ksm_ynode *key, const char *value,
		      unsigned line)
{
	struct ksm_config_option *v = realloc(r->opts, (r->n_opts + 1) * sizeof(*v));
	if (!v)
		return ksm_yfail(c, 0, "out of memory");
	r->opts = v;
	v[r->n_opts] = (struct ksm_config_option){ strdup(key->s), value ? strdup(value) : NULL, line };
	if (!v[r->n_opts].name || (value && !v[r->n_opts].value)) {
		free(v[r->n_opts].name);
		free(v[r->n_opts].value);
		return ksm_yfail(c, 0, "out of memory");
	}
	r->n_opts++;
	return 0;
}

/* A scalar value of an option: `true` sets a flag, `false` nothing. */
static int load_option_value(const struct ksm_ysrc *c, struct ksm_rules *r, const struct ksm_ynode *key,
			     const struct ksm_ynode *v)
{
	struct ksm_yquote q;

	if (v->kind != KSM_Y_SCALAR || v->null)
		return ksm_yfail(c, v->line, "option '%s' takes a value or a list of values, not %s",
			    ksm_yquote(&q, key->s, key->len), ksm_ywhat(&q, v));
	if (memchr(v->s, '\0', v->len))
		return ksm_yfail(c, v->line, "option '%s': a NUL byte in its value", ksm_yquote(&q, key->s, key->len));
	if (ksm_ynode_is(v, "false"))
		return 0;
	return add_option(c, r, key, ksm_ynode_is(v, "true") ? NULL : v->s, v->line);
}

/* options: the command line's long options by name, without dashes
 * (checked by the option parser, which names them). */
static int load_options(const struct ksm_ysrc *c, const struct ksm_ynode *key, const struct ksm_ynode *opts,
			struct ksm_rules *rules)
{
	struct ksm_yquote q;

	if (opts->kind != KSM_Y_MAP)
		return ksm_yfail(c, opts->kind == KSM_Y_SCALAR ? key->line : opts->line,
			    "'options' takes a mapping of option names to values, not %s", ksm_ywhat(&q, opts));
	for (size_t i = 0; i < opts->n; i += 2) {
		const struct ksm_ynode *k = opts->v[i], *v = opts->v[i + 1];
		if (v->kind != KSM_Y_SEQ) {
			if (load_option_value(c, rules, k, v))
				return -1;
			continue;
		}
		for (size_t j = 0; j < v->n; j++)
			if (load_option_value(c, rules, k, v->v[j]))
				return -1;
	}
	return 0;
}

static int load_root(const struct ksm_ysrc *c, const struct ksm_ynode *root, struct ksm_rules *rules)
{
	struct ksm_yquote q;

	if (root->kind != KSM_Y_MAP)
		return ksm_yfail(c, root->line, "the configuration must be a mapping with an 'events' key, not %s",
			    ksm_ywhat(&q, root));
	for (size_t i = 0; i < root->n; i += 2) {
		const struct ksm_ynode *k = root->v[i];
		int rc;
		if (ksm_ynode_is(k, "events"))
			rc = load_events(c, k, root->v[i + 1], rules);
		else if (ksm_ynode_is(k, "options"))
			rc = load_options(c, k, root->v[i + 1], rules);
		else
			return ksm_yfail(c, k->line, "unknown key '%s' (expected events, options)",
				    ksm_yquote(&q, k->s, k->len));
		if (rc)
			return -1;
	}
	unsigned all = section_fields(&rules->all);
	for (unsigned t = 0; t < KSM_EV_MAX; t++)
		if ((KSM_ALL_EVENTS & (1u << t)) && !(rules->disabled & (1u << t)))
			rules->fields_used[t] = all | section_fields(&rules->type[t]);
	return 0;
}

int ksm_config_parse(const char *name, const char *text, size_t len, struct ksm_rules **out,
		     char *err, size_t errlen)
{
	struct ksm_ysrc c = { .name = name, .err = err, .errlen = errlen };
	struct ksm_ynode *root = NULL;
	struct ksm_rules *rules = NULL;
	int rc = -1;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (ksm_yaml_parse(&c, text, len, &root))
		goto out;
	rules = calloc(1, sizeof(*rules));
	if (!rules) {
		ksm_yfail(&c, 0, "out of memory");
		goto out;
	}
	if (load_root(&c, root, rules))
		goto out;
	*out = rules;
	rules = NULL;
	rc = 0;
out:
	ksm_rules_free(rules);
	ksm_ynode_free(root);
	return rc;
}

int ksm_rules_load(const char *path, struct ksm_rules **out, char *err, size_t errlen)
{
	struct ksm_ysrc c = { .name = path, .err = err, .errlen = errlen };
	char *text;
	size_t len;

	*out = NULL;
	if (ksm_yaml_read_file(&c, &text, &len))
		return -1;
	int rc = ksm_config_parse(path, text ? text : "", len, out, err, errlen);
	free(text);
	return rc;
}
