// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * YAML text to a tree of nodes with their lines (yamltree.h), built from
 * libyaml's events: the events give each alias its own position, which
 * the message refusing it names.
 */
#include "pipeline/yamltree.h"

#include "core/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

struct ctx {
	const struct ksm_ysrc *src;
	const char *text;
	size_t text_len;
	yaml_parser_t parser;
};

void ksm_ynode_free(struct ksm_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ksm_ynode_free(n->v[i]);
	free(n->v);
	free(n->s);
	free(n);
}

int ksm_yfail(const struct ksm_ysrc *src, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int k = line ? snprintf(src->err, src->errlen, "%s:%u: ", src->name, line)
		     : snprintf(src->err, src->errlen, "%s: ", src->name);
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < src->errlen)
		vsnprintf(src->err + k, src->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	/* one line, whatever the parts said */
	for (char *p = src->err; src->errlen && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -1;
}

const char *ksm_yquote(struct ksm_yquote *q, const char *s, size_t len)
{
	size_t n = len, o = 0;
	bool cut = false;
	if (n > 40) {
		n = ksm_utf8_cut(s, len, 40);
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

const char *ksm_ywhat(struct ksm_yquote *q, const struct ksm_ynode *n)
{
	if (n->kind == KSM_Y_MAP)
		return "a mapping";
	if (n->kind == KSM_Y_SEQ)
		return "a list";
	if (n->null)
		return "nothing";
	struct ksm_yquote inner;
	size_t k = strlen(ksm_yquote(&inner, n->s, n->len)); /* at most 43 */
	q->s[0] = '\'';
	memcpy(q->s + 1, inner.s, k);
	q->s[k + 1] = '\'';
	q->s[k + 2] = '\0';
	return q->s;
}

bool ksm_ynode_is(const struct ksm_ynode *n, const char *s)
{
	return n->kind == KSM_Y_SCALAR && !n->null && n->len == strlen(s) && !memcmp(n->s, s, n->len);
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
		return ksm_yfail(c->src, 0, "out of memory");
	case YAML_READER_ERROR:
		return ksm_yfail(c->src, line_of_offset(c, p->problem_offset), "invalid text: %s", problem);
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
		return ksm_yfail(c->src, line, "YAML syntax error: a value cannot start with '*' unless quoted ('*.so')");
	if (p->context && p->context_mark.line + 1 != line)
		return ksm_yfail(c->src, line, "YAML syntax error: %s%s (%s started on line %u)", problem, where,
			    p->context, (unsigned)p->context_mark.line + 1);
	if (p->context)
		return ksm_yfail(c->src, line, "YAML syntax error: %s%s (%s)", problem, where, p->context);
	return ksm_yfail(c->src, line, "YAML syntax error: %s%s", problem, where);
}

static int next_event(struct ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev))
		return yaml_fail(c);
	return 0;
}

static struct ksm_ynode *ynode_new(struct ctx *c, enum ksm_ynode_kind kind, const yaml_event_t *ev)
{
	struct ksm_ynode *n = calloc(1, sizeof(*n));
	if (!n) {
		ksm_yfail(c->src, 0, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->line = (unsigned)ev->start_mark.line + 1;
	return n;
}

static int ynode_push(struct ctx *c, struct ksm_ynode *parent, struct ksm_ynode *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct ksm_ynode **v = realloc(parent->v, cap * sizeof(*v));
		if (!v) {
			ksm_ynode_free(child);
			return ksm_yfail(c->src, 0, "out of memory");
		}
		parent->v = v;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

static int build(struct ctx *c, yaml_event_t *ev, unsigned depth, struct ksm_ynode **out);

/* The members of a collection whose start event was just read, up to its
 * end event. */
static int build_members(struct ctx *c, struct ksm_ynode *n, yaml_event_type_t end, unsigned depth)
{
	for (;;) {
		yaml_event_t ev;
		struct ksm_ynode *child = NULL;
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
		bool key = n->kind == KSM_Y_MAP && n->n % 2 == 0;
		if (key && (child->kind != KSM_Y_SCALAR || child->null)) {
			struct ksm_yquote q;
			int r = child->kind == KSM_Y_SCALAR
					? ksm_yfail(c->src, child->line, "empty key")
					: ksm_yfail(c->src, child->line, "a key must be a plain name, not %s", ksm_ywhat(&q, child));
			ksm_ynode_free(child);
			return r;
		}
		if (key) {
			for (size_t i = 0; i < n->n; i += 2) {
				if (n->v[i]->len == child->len &&
				    !memcmp(n->v[i]->s, child->s, child->len)) {
					struct ksm_yquote q;
					int r = ksm_yfail(c->src, child->line, "duplicate key '%s' (first on line %u)",
						     ksm_yquote(&q, child->s, child->len), n->v[i]->line);
					ksm_ynode_free(child);
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
static int build(struct ctx *c, yaml_event_t *ev, unsigned depth, struct ksm_ynode **out)
{
	struct ksm_ynode *n = NULL;
	unsigned line = (unsigned)ev->start_mark.line + 1;

	*out = NULL;
	if (depth > KSM_YAML_MAX_DEPTH)
		return ksm_yfail(c->src, line, "nested more than %d levels deep", KSM_YAML_MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return ksm_yfail(c->src, line, "aliases (*name) are not supported; quote a value that starts with '*' ('*.so')");
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		n = ynode_new(c, KSM_Y_SCALAR, ev);
		if (!n)
			return -1;
		n->s = malloc(len + 1);
		if (!n->s) {
			ksm_ynode_free(n);
			return ksm_yfail(c->src, 0, "out of memory");
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
		n = ynode_new(c, map ? KSM_Y_MAP : KSM_Y_SEQ, ev);
		if (!n)
			return -1;
		if (build_members(c, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth)) {
			ksm_ynode_free(n);
			return -1;
		}
		break;
	}
	default:
		return ksm_yfail(c->src, line, "unexpected YAML event");
	}
	*out = n;
	return 0;
}

/* The one document of the text. */
static int build_document(struct ctx *c, struct ksm_ynode **out)
{
	yaml_event_t ev;
	struct ksm_ynode *root = NULL;

	*out = NULL;
	if (next_event(c, &ev)) /* stream start */
		return -1;
	yaml_event_delete(&ev);
	if (next_event(c, &ev))
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return ksm_yfail(c->src, 1, "empty configuration (expected a mapping with an 'events' key)");
	}
	yaml_event_delete(&ev); /* document start */
	if (next_event(c, &ev))
		return -1;
	int rc = build(c, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (rc)
		return -1;
	if (next_event(c, &ev)) { /* document end */
		ksm_ynode_free(root);
		return -1;
	}
	yaml_event_delete(&ev);
	if (next_event(c, &ev)) {
		ksm_ynode_free(root);
		return -1;
	}
	if (ev.type != YAML_STREAM_END_EVENT) {
		unsigned line = (unsigned)ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		ksm_ynode_free(root);
		return ksm_yfail(c->src, line, "more than one YAML document (one configuration per file)");
	}
	yaml_event_delete(&ev);
	*out = root;
	return 0;
}

int ksm_yaml_parse(const struct ksm_ysrc *src, const char *text, size_t len,
		   struct ksm_ynode **root)
{
	struct ctx c = { .src = src, .text = text, .text_len = len };
	int rc;

	*root = NULL;
	if (!yaml_parser_initialize(&c.parser))
		return ksm_yfail(src, 0, "out of memory");
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
	rc = build_document(&c, root);
	yaml_parser_delete(&c.parser);
	return rc;
}

int ksm_yaml_read_file(const struct ksm_ysrc *src, char **out, size_t *out_len)
{
	const char *path = src->name;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int fd;

	*out = NULL;
	*out_len = 0;
	/* O_NONBLOCK: a FIFO would hold ksysmon until someone wrote to it */
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return ksm_yfail(src, 0, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ksm_yfail(src, 0, "not a regular file");
	}
	for (;;) {
		if (len == cap) {
			if (cap >= KSM_YAML_MAX_FILE) {
				free(text);
				close(fd);
				return ksm_yfail(src, 0, "larger than %u bytes: not a configuration file",
					    KSM_YAML_MAX_FILE);
			}
			cap = cap ? 2 * cap : 4096;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				close(fd);
				return ksm_yfail(src, 0, "out of memory");
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
			return ksm_yfail(src, 0, "cannot read: %s", strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = text;
	*out_len = len;
	return 0;
}
