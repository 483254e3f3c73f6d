// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the configuration file (docs/config.md) with libyaml.  The text
 * is first turned into a small tree of scalars, mappings and lists (each
 * node with its line), then the tree into rules; every error stops the
 * load with "file:line: reason".
 */
#include "pipeline/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/decode.h"

#define MAX_FILE_BYTES (16u << 20)
#define MAX_DEPTH 64 /* nesting of YAML collections */
#define COMM_MAX 15  /* a Linux command name is at most 15 bytes */

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

/* ---- the YAML tree ------------------------------------------------------ */

enum ynode_kind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ynode_kind kind;
	unsigned line;
	/* Y_SCALAR: the text (NUL-terminated); null for an empty plain
	 * scalar, ~ or null */
	char *s;
	size_t len;
	bool null;
	/* Y_MAP: key, value, key, value...; Y_SEQ: the items */
	struct ynode **v;
	size_t n, cap;
};

struct ctx {
	const char *name;
	const char *text;
	size_t text_len;
	char *err;
	size_t errlen;
	yaml_parser_t parser;
};

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->v[i]);
	free(n->v);
	free(n->s);
	free(n);
}

static int vfail(struct ctx *c, unsigned line, const char *fmt, va_list ap)
{
	int k = line ? snprintf(c->err, c->errlen, "%s:%u: ", c->name, line)
		     : snprintf(c->err, c->errlen, "%s: ", c->name);
	if (k >= 0 && (size_t)k < c->errlen)
		vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	/* one line, whatever the parts said */
	for (char *p = c->err; c->errlen && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -1;
}

static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* A printable, bounded copy of some configuration text for a message:
 * control characters become '?', more than 40 bytes are cut ("..."). */
struct qbuf {
	char s[48];
};

static const char *quote(struct qbuf *q, const char *s, size_t len)
{
	size_t n = len, o = 0;
	bool cut = false;
	if (n > 40) {
		n = 40;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80) /* UTF-8 boundary */
			n--;
		cut = true;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		q->s[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (cut) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o] = '\0';
	return q->s;
}

/* What a node is, for "expected X, not Y" messages. */
static const char *what(struct qbuf *q, const struct ynode *n)
{
	if (n->kind == Y_MAP)
		return "a mapping";
	if (n->kind == Y_SEQ)
		return "a list";
	if (n->null)
		return "nothing";
	struct qbuf inner;
	size_t k = strlen(quote(&inner, n->s, n->len)); /* at most 43 */
	q->s[0] = '\'';
	memcpy(q->s + 1, inner.s, k);
	q->s[k + 1] = '\'';
	q->s[k + 2] = '\0';
	return q->s;
}

static bool is_str(const struct ynode *n, const char *s)
{
	return n->kind == Y_SCALAR && !n->null && n->len == strlen(s) && !memcmp(n->s, s, n->len);
}

static unsigned line_of_offset(const struct ctx *c, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < c->text_len; i++)
		line += c->text[i] == '\n';
	return line;
}

/* The number of the last line that has text (1 for an empty text). */
static unsigned last_line(const struct ctx *c)
{
	size_t n = c->text_len;
	if (n && c->text[n - 1] == '\n')
		n--;
	return line_of_offset(c, n);
}

static int yaml_fail(struct ctx *c)
{
	yaml_parser_t *p = &c->parser;
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(c, 0, "out of memory");
	case YAML_READER_ERROR:
		return fail(c, line_of_offset(c, p->problem_offset), "invalid text: %s", problem);
	default:
		break;
	}
	/* at the end of the text libyaml counts one line more than there is */
	bool at_end = p->problem_mark.index >= c->text_len;
	unsigned line = (unsigned)p->problem_mark.line + 1;
	unsigned last = last_line(c);
	if (line > last)
		line = last;
	const char *where = at_end ? " at the end of the file"
			    : c->text[p->problem_mark.index] == '\t' ? " (a tab: indent with spaces)"
								    : "";
	if (p->context && !strcmp(p->context, "while scanning an alias"))
		return fail(c, line, "YAML syntax error: a value cannot start with '*' unless quoted ('*.so')");
	if (p->context && p->context_mark.line + 1 != line)
		return fail(c, line, "YAML syntax error: %s%s (%s started on line %u)", problem, where,
			    p->context, (unsigned)p->context_mark.line + 1);
	if (p->context)
		return fail(c, line, "YAML syntax error: %s%s (%s)", problem, where, p->context);
	return fail(c, line, "YAML syntax error: %s%s", problem, where);
}

static int next_event(struct ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev))
		return yaml_fail(c);
	return 0;
}

static struct ynode *ynode_new(struct ctx *c, enum ynode_kind kind, const yaml_event_t *ev)
{
	struct ynode *n = calloc(1, sizeof(*n));
	if (!n) {
		fail(c, 0, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->line = (unsigned)ev->start_mark.line + 1;
	return n;
}

static int ynode_push(struct ctx *c, struct ynode *parent, struct ynode *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct ynode **v = realloc(parent->v, cap * sizeof(*v));
		if (!v) {
			ynode_free(child);
			return fail(c, 0, "out of memory");
		}
		parent->v = v;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

static int build(struct ctx *c, yaml_event_t *ev, unsigned depth, struct ynode **out);

/* The members of a collection whose start event was just read, up to its
 * end event. */
static int build_members(struct ctx *c, struct ynode *n, yaml_event_type_t end, unsigned depth)
{
	for (;;) {
		yaml_event_t ev;
		struct ynode *child = NULL;
		if (next_event(c, &ev))
			return -1;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		int rc = build(c, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (rc)
			return -1;
		bool key = n->kind == Y_MAP && n->n % 2 == 0;
		if (key && (child->kind != Y_SCALAR || child->null)) {
			struct qbuf q;
			int r = child->kind == Y_SCALAR
					? fail(c, child->line, "empty key")
					: fail(c, child->line, "a key must be a plain name, not %s", what(&q, child));
			ynode_free(child);
			return r;
		}
		if (key) {
			for (size_t i = 0; i < n->n; i += 2) {
				if (n->v[i]->len == child->len &&
				    !memcmp(n->v[i]->s, child->s, child->len)) {
					struct qbuf q;
					int r = fail(c, child->line, "duplicate key '%s' (first on line %u)",
						     quote(&q, child->s, child->len), n->v[i]->line);
					ynode_free(child);
					return r;
				}
			}
		}
		if (ynode_push(c, n, child))
			return -1;
	}
	return 0;
}

/* Builds the node that starts with event ev (not deleted here). */
static int build(struct ctx *c, yaml_event_t *ev, unsigned depth, struct ynode **out)
{
	struct ynode *n = NULL;
	unsigned line = (unsigned)ev->start_mark.line + 1;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return fail(c, line, "nested more than %d levels deep", MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return fail(c, line, "aliases (*name) are not supported; quote a value that starts with '*' ('*.so')");
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		n = ynode_new(c, Y_SCALAR, ev);
		if (!n)
			return -1;
		n->s = malloc(len + 1);
		if (!n->s) {
			ynode_free(n);
			return fail(c, 0, "out of memory");
		}
		memcpy(n->s, v, len);
		n->s[len] = '\0';
		n->len = len;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			n->null = !len || !strcmp(n->s, "~") || !strcmp(n->s, "null") ||
				  !strcmp(n->s, "Null") || !strcmp(n->s, "NULL");
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		n = ynode_new(c, map ? Y_MAP : Y_SEQ, ev);
		if (!n)
			return -1;
		if (build_members(c, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth)) {
			ynode_free(n);
			return -1;
		}
		break;
	}
	default:
		return fail(c, line, "unexpected YAML event");
	}
	*out = n;
	return 0;
}

/* The one document of the text. */
static int build_document(struct ctx *c, struct ynode **out)
{
	yaml_event_t ev;
	struct ynode *root = NULL;

	*out = NULL;
	if (next_event(c, &ev)) /* stream start */
		return -1;
	yaml_event_delete(&ev);
	if (next_event(c, &ev))
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return fail(c, 1, "empty configuration (expected a mapping with an 'events' key)");
	}
	yaml_event_delete(&ev); /* document start */
	if (next_event(c, &ev))
		return -1;
	int rc = build(c, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (rc)
		return -1;
	if (next_event(c, &ev)) { /* document end */
		ynode_free(root);
		return -1;
	}
	yaml_event_delete(&ev);
	if (next_event(c, &ev)) {
		ynode_free(root);
		return -1;
	}
	if (ev.type != YAML_STREAM_END_EVENT) {
		unsigned line = (unsigned)ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		ynode_free(root);
		return fail(c, line, "more than one YAML document (one configuration per file)");
	}
	yaml_event_delete(&ev);
	*out = root;
	return 0;
}

/* ---- from the tree to rules --------------------------------------------- */

#define CONDS_EXPECTED "is, is_not, contains, begins_with, ends_with, glob"
#define FIELDS_EXPECTED "image, path, cmdline, parent_image, user, uid, pid, comm, container_id, container_runtime, cgroup, pid_ns, all, any"
#define TYPES_EXPECTED \
	"process_create, process_exec, process_exit, thread_create, thread_exit, image_load, all"

static int rule_push(struct ctx *c, struct ksm_rule **v, size_t *n, struct ksm_rule *r)
{
	struct ksm_rule *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		ksm_rule_clear(r);
		return fail(c, 0, "out of memory");
	}
	*v = nv;
	nv[(*n)++] = *r;
	return 0;
}

static bool class_name_ok(const char *s, size_t n)
{
	static const char *const names[] = { "alnum", "alpha", "blank", "cntrl", "digit", "graph",
					     "lower", "print", "punct", "space", "upper", "xdigit" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !memcmp(names[i], s, n))
			return true;
	return false;
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
		size_t j = i + 1;
		if (j < n && (p[j] == '!' || p[j] == '^'))
			j++;
		if (j < n && p[j] == ']')
			j++;
		for (;; j++) {
			if (j >= n)
				return "unterminated '[' (write '\\[' for a literal '[')";
			if (p[j] == ']')
				break;
			if (p[j] == '\\') {
				j++;
				continue;
			}
			if (p[j] == '[' && j + 1 < n && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
				char kind = p[j + 1];
				size_t k = j + 2;
				while (k + 1 < n && !(p[k] == kind && p[k + 1] == ']'))
					k++;
				if (k + 1 >= n)
					return "unterminated '[' (write '\\[' for a literal '[')";
				if (kind == ':' && !class_name_ok(p + j + 2, k - (j + 2)))
					return "unknown character class (expected [:alnum:], [:alpha:], [:blank:], "
					       "[:cntrl:], [:digit:], [:graph:], [:lower:], [:print:], "
					       "[:punct:], [:space:], [:upper:], [:xdigit:])";
				j = k + 1;
			}
		}
		i = j;
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
static int load_cond(struct ctx *c, enum ksm_rule_field f, const struct ynode *cond_key,
		     const struct ynode *val, struct ksm_rule *out)
{
	struct qbuf q1;
	enum ksm_rule_cond cond = KSM_C_IS;
	const char *fname = field_names[f];

	memset(out, 0, sizeof(*out));
	out->kind = KSM_R_COND;
	out->field = f;
	out->line = cond_key ? cond_key->line : val->line;
	if (cond_key) {
		for (cond = 0; cond < KSM_C_COUNT; cond++)
			if (is_str(cond_key, cond_names[cond]))
				break;
		if (cond == KSM_C_COUNT)
			return fail(c, cond_key->line, "unknown condition '%s' (expected " CONDS_EXPECTED ")",
				    quote(&q1, cond_key->s, cond_key->len));
	}
	out->cond = cond;
	const char *cname = cond_names[cond];
	unsigned vline = val->kind == Y_SCALAR && val->null && cond_key ? cond_key->line : val->line;
	if (val->kind != Y_SCALAR)
		return fail(c, vline, "'%s' on '%s' takes %s, not %s", cname, fname,
			    ksm_rule_field_numeric(f) ? "an integer" : "a string", what(&q1, val));
	if (val->null)
		return fail(c, vline, "missing value for '%s' on '%s'%s", cname, fname,
			    ksm_rule_field_numeric(f) ? "" : " (write \"\" for an empty string)");
	if (ksm_rule_field_numeric(f)) {
		if (cond != KSM_C_IS && cond != KSM_C_IS_NOT)
			return fail(c, cond_key->line,
				    "condition '%s' does not apply to numeric field '%s' (expected is, is_not)",
				    cname, fname);
		if (!parse_u32(val->s, val->len, &out->num))
			return fail(c, vline, "'%s' takes an integer from 0 to 4294967295, not %s", fname,
				    what(&q1, val));
		return 0;
	}
	if (memchr(val->s, '\0', val->len))
		return fail(c, vline, "the value of '%s' on '%s' contains a NUL character", cname, fname);
	if (f == KSM_F_COMM && cond != KSM_C_GLOB && val->len > COMM_MAX)
		return fail(c, vline, "'comm' is at most %d bytes long; '%s' (%zu bytes) never occurs",
			    COMM_MAX, quote(&q1, val->s, val->len), val->len);
	if (cond == KSM_C_GLOB) {
		const char *why = glob_problem(val->s, val->len);
		if (why)
			return fail(c, vline, "invalid glob '%s': %s", quote(&q1, val->s, val->len), why);
	}
	out->str = malloc(val->len + 1);
	if (!out->str)
		return fail(c, 0, "out of memory");
	memcpy(out->str, val->s, val->len + 1);
	out->len = val->len;
	return 0;
}

/* `field: value` or `field: {cond: value, ...}` (all of them). */
static int load_field(struct ctx *c, enum ksm_rule_field f, const struct ynode *key,
		      const struct ynode *val, struct ksm_rule *out)
{
	struct qbuf q;

	memset(out, 0, sizeof(*out));
	if (val->kind == Y_SCALAR && !val->null)
		return load_cond(c, f, NULL, val, out);
	if (val->kind != Y_MAP || !val->n)
		return fail(c, val->kind == Y_SCALAR ? key->line : val->line,
			    "'%s' takes conditions such as {is: ...} or a value, not %s",
			    field_names[f], val->kind == Y_MAP ? "an empty mapping" : what(&q, val));
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

static int load_rule(struct ctx *c, const struct ynode *n, struct ksm_rule *out);

/* `all: [...]` / `any: [...]`. */
static int load_combination(struct ctx *c, enum ksm_rule_kind kind, const struct ynode *key,
			    const struct ynode *val, struct ksm_rule *out)
{
	struct qbuf q;
	const char *kname = kind == KSM_R_ALL ? "all" : "any";

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->line = key->line;
	if (val->kind != Y_SEQ)
		return fail(c, val->kind == Y_SCALAR ? key->line : val->line,
			    "'%s' takes a list of rules, not %s", kname, what(&q, val));
	if (!val->n)
		return fail(c, val->line, "empty '%s' list", kname);
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
static int load_rule_key(struct ctx *c, const struct ynode *key, const struct ynode *val,
			 struct ksm_rule *out)
{
	struct qbuf q;

	memset(out, 0, sizeof(*out));
	if (is_str(key, "all"))
		return load_combination(c, KSM_R_ALL, key, val, out);
	if (is_str(key, "any"))
		return load_combination(c, KSM_R_ANY, key, val, out);
	for (unsigned f = 0; f < KSM_F_COUNT; f++)
		if (is_str(key, field_names[f]))
			return load_field(c, (enum ksm_rule_field)f, key, val, out);
	return fail(c, key->line, "unknown field '%s' (expected " FIELDS_EXPECTED ")",
		    quote(&q, key->s, key->len));
}

/* A rule: a mapping of fields and combinations that must all match. */
static int load_rule(struct ctx *c, const struct ynode *n, struct ksm_rule *out)
{
	struct qbuf q;

	memset(out, 0, sizeof(*out));
	if (n->kind != Y_MAP)
		return fail(c, n->line, "a rule must be a mapping such as 'image: {ends_with: /curl}', not %s",
			    what(&q, n));
	if (!n->n)
		return fail(c, n->line, "empty rule");
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
static int load_list(struct ctx *c, const struct ynode *key, const struct ynode *val,
		     const char *section, struct ksm_rule_list *list)
{
	struct qbuf q;
	bool include = is_str(key, "include");

	if (val->kind != Y_SEQ)
		return fail(c, val->kind == Y_SCALAR ? key->line : val->line,
			    "'%s' takes a list of rules, not %s", key->s, what(&q, val));
	if (!val->n && include)
		return fail(c, val->line,
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

static int load_events(struct ctx *c, const struct ynode *key, const struct ynode *ev,
		       struct ksm_rules *rules)
{
	struct qbuf q;

	if (ev->kind != Y_MAP)
		return fail(c, ev->kind == Y_SCALAR ? key->line : ev->line,
			    "'events' takes a mapping of event types, not %s", what(&q, ev));
	for (size_t i = 0; i < ev->n; i += 2) {
		const struct ynode *k = ev->v[i], *v = ev->v[i + 1];
		struct ksm_rule_section *sec;
		bool all = is_str(k, "all");
		unsigned type = 0;

		if (all) {
			sec = &rules->all;
		} else {
			type = ksm_event_by_name(k->s, k->len);
			if (type != KSM_EV_NONE && !(KSM_RULE_TYPES & (1u << type)))
				return fail(c, k->line, "event type '%s' cannot be configured (it is always reported)",
					    k->s);
			if (type == KSM_EV_NONE)
				return fail(c, k->line, "unknown event type '%s' (expected " TYPES_EXPECTED ")",
					    quote(&q, k->s, k->len));
			sec = &rules->type[type];
		}
		if (v->kind == Y_SCALAR && !v->null && !all) {
			if (is_str(v, "off") || is_str(v, "false"))
				rules->disabled |= 1u << type;
			else if (!is_str(v, "on") && !is_str(v, "true"))
				return fail(c, v->line,
					    "'%s' takes on, off or a mapping with include/exclude, not %s",
					    k->s, what(&q, v));
			continue;
		}
		if (v->kind != Y_MAP)
			return fail(c, v->kind == Y_SCALAR ? k->line : v->line,
				    all ? "'all' takes a mapping with include/exclude, not %s"
					: "'%s' takes on, off or a mapping with include/exclude, not %s",
				    all ? what(&q, v) : k->s, what(&q, v));
		for (size_t j = 0; j < v->n; j += 2) {
			const struct ynode *lk = v->v[j];
			struct ksm_rule_list *list;
			if (is_str(lk, "include"))
				list = &sec->include;
			else if (is_str(lk, "exclude"))
				list = &sec->exclude;
			else
				return fail(c, lk->line, "unknown key '%s' in '%s' (expected include, exclude)",
					    quote(&q, lk->s, lk->len), k->s);
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
static int add_option(struct ctx *c, struct ksm_rules *r, const struct ynode *key, const char *value,
		      unsigned line)
{
	struct ksm_config_option *v = realloc(r->opts, (r->n_opts + 1) * sizeof(*v));
	if (!v)
		return fail(c, 0, "out of memory");
	r->opts = v;
	v[r->n_opts] = (struct ksm_config_option){ strdup(key->s), value ? strdup(value) : NULL, line };
	if (!v[r->n_opts].name || (value && !v[r->n_opts].value)) {
		free(v[r->n_opts].name);
		free(v[r->n_opts].value);
		return fail(c, 0, "out of memory");
	}
	r->n_opts++;
	return 0;
}

/* A scalar value of an option: `true` sets a flag, `false` nothing. */
static int load_option_value(struct ctx *c, struct ksm_rules *r, const struct ynode *key,
			     const struct ynode *v)
{
	struct qbuf q;

	if (v->kind != Y_SCALAR || v->null)
		return fail(c, v->line, "option '%s' takes a value or a list of values, not %s",
			    quote(&q, key->s, key->len), what(&q, v));
	if (memchr(v->s, '\0', v->len))
		return fail(c, v->line, "option '%s': a NUL byte in its value", quote(&q, key->s, key->len));
	if (is_str(v, "false"))
		return 0;
	return add_option(c, r, key, is_str(v, "true") ? NULL : v->s, v->line);
}

/* options: the command line's long options by name, without dashes
 * (checked by the option parser, which names them). */
static int load_options(struct ctx *c, const struct ynode *key, const struct ynode *opts,
			struct ksm_rules *rules)
{
	struct qbuf q;

	if (opts->kind != Y_MAP)
		return fail(c, opts->kind == Y_SCALAR ? key->line : opts->line,
			    "'options' takes a mapping of option names to values, not %s", what(&q, opts));
	for (size_t i = 0; i < opts->n; i += 2) {
		const struct ynode *k = opts->v[i], *v = opts->v[i + 1];
		if (v->kind != Y_SEQ) {
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

static int load_root(struct ctx *c, const struct ynode *root, struct ksm_rules *rules)
{
	struct qbuf q;

	if (root->kind != Y_MAP)
		return fail(c, root->line, "the configuration must be a mapping with an 'events' key, not %s",
			    what(&q, root));
	for (size_t i = 0; i < root->n; i += 2) {
		const struct ynode *k = root->v[i];
		int rc;
		if (is_str(k, "events"))
			rc = load_events(c, k, root->v[i + 1], rules);
		else if (is_str(k, "options"))
			rc = load_options(c, k, root->v[i + 1], rules);
		else
			return fail(c, k->line, "unknown key '%s' (expected events, options)",
				    quote(&q, k->s, k->len));
		if (rc)
			return -1;
	}
	unsigned all = section_fields(&rules->all);
	for (unsigned t = 0; t < KSM_EV_MAX; t++)
		if ((KSM_RULE_TYPES & (1u << t)) && !(rules->disabled & (1u << t)))
			rules->fields_used[t] = all | section_fields(&rules->type[t]);
	return 0;
}

int ksm_config_parse(const char *name, const char *text, size_t len, struct ksm_rules **out,
		     char *err, size_t errlen)
{
	struct ctx c = { .name = name, .text = text, .text_len = len, .err = err, .errlen = errlen };
	struct ynode *root = NULL;
	struct ksm_rules *rules = NULL;
	int rc = -1;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&c.parser))
		return fail(&c, 0, "out of memory");
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
	if (build_document(&c, &root))
		goto out;
	rules = calloc(1, sizeof(*rules));
	if (!rules) {
		fail(&c, 0, "out of memory");
		goto out;
	}
	if (load_root(&c, root, rules))
		goto out;
	*out = rules;
	rules = NULL;
	rc = 0;
out:
	ksm_rules_free(rules);
	ynode_free(root);
	yaml_parser_delete(&c.parser);
	return rc;
}

int ksm_rules_load(const char *path, struct ksm_rules **out, char *err, size_t errlen)
{
	struct ctx c = { .name = path, .err = err, .errlen = errlen };
	char *text = NULL;
	size_t len = 0, cap = 0;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: a FIFO would hold ksysmon until someone wrote to it */
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return fail(&c, 0, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(&c, 0, "not a regular file");
	}
	for (;;) {
		if (len == cap) {
			if (cap >= MAX_FILE_BYTES) {
				free(text);
				close(fd);
				return fail(&c, 0, "larger than %u bytes: not a configuration file",
					    MAX_FILE_BYTES);
			}
			cap = cap ? 2 * cap : 4096;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				close(fd);
				return fail(&c, 0, "out of memory");
			}
			text = t;
		}
		ssize_t n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(text);
			close(fd);
			return fail(&c, 0, "cannot read: %s", strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	int rc = ksm_config_parse(path, text ? text : "", len, out, err, errlen);
	free(text);
	return rc;
}
