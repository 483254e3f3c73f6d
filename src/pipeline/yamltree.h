/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * YAML text as a small tree of scalars, mappings and lists, each node with
 * the line it starts on (yamltree.c, on libyaml's event parser).  What the
 * tree means is the reader's business (config.c); this file knows only
 * YAML, and refuses what a configuration must not hold:
 *   - aliases (*name), named at their own line (anchors are ignored);
 *   - a key that is not a non-empty scalar, or given twice in a mapping;
 *   - more than KSM_YAML_MAX_DEPTH nested collections;
 *   - no document, or more than one.
 * libyaml's own document loader would resolve aliases silently (no node,
 * no line for the alias) and refuse repeated anchors, hence the tree.
 *
 * Every error is one line in the caller's buffer, "name:line: reason"
 * ("name: reason" when no line applies), and every function that fails
 * returns -1.
 */
#ifndef KSM_YAMLTREE_H
#define KSM_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#define KSM_YAML_MAX_DEPTH 64       /* nesting of collections */
#define KSM_YAML_MAX_FILE (16u << 20) /* bytes of a file read whole */

/* The text's name for messages, and where they go. */
struct ksm_ysrc {
	const char *name;
	char *err;
	size_t errlen;
};

enum ksm_ynode_kind { KSM_Y_SCALAR, KSM_Y_MAP, KSM_Y_SEQ };

struct ksm_ynode {
	enum ksm_ynode_kind kind;
	unsigned line; /* 1-based */
	/* KSM_Y_SCALAR: the text (NUL-terminated, may hold NULs: len says);
	 * null for an empty plain scalar, ~ or null */
	char *s;
	size_t len;
	bool null;
	/* KSM_Y_MAP: key, value, key, value... (keys: non-null scalars, no
	 * two equal); KSM_Y_SEQ: the items */
	struct ksm_ynode **v;
	size_t n, cap;
};

/* "name:line: reason" (line 0: "name: reason") into src's buffer, with
 * line breaks of the parts made spaces; returns -1. */
int ksm_yfail(const struct ksm_ysrc *src, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads the file src->name whole (a regular file of at most
 * KSM_YAML_MAX_FILE bytes; a FIFO is refused, not waited on) into *text
 * (malloc'd, NULL when empty; *len bytes). */
int ksm_yaml_read_file(const struct ksm_ysrc *src, char **text, size_t *len);

/* The one document of text (len bytes) as a tree in *root (freed with
 * ksm_ynode_free).  A syntax error names libyaml's problem and its line. */
int ksm_yaml_parse(const struct ksm_ysrc *src, const char *text, size_t len,
		   struct ksm_ynode **root);

void ksm_ynode_free(struct ksm_ynode *n); /* NULL is fine */

/* Whether n is the (non-null) scalar s. */
bool ksm_ynode_is(const struct ksm_ynode *n, const char *s);

/* A printable, bounded copy of some text for a message: control
 * characters become '?', more than 40 bytes are cut ("..."). */
struct ksm_yquote {
	char s[48];
};
const char *ksm_yquote(struct ksm_yquote *q, const char *s, size_t len);

/* What a node is, for "expected X, not Y" messages: "a mapping", "a
 * list", "nothing" or the quoted scalar ('value'). */
const char *ksm_ywhat(struct ksm_yquote *q, const struct ksm_ynode *n);

#endif
