/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The bracket expressions of a glob, read as fnmatch(3) reads them without
 * flags, in the C locale: one reader for every place that checks or
 * compiles a glob (--deny patterns, the configuration's glob conditions).
 */
#ifndef KSM_GLOB_H
#define KSM_GLOB_H

#include <stdbool.h>
#include <stddef.h>

enum ksm_bracket_error {
	KSM_BRACKET_OK,
	KSM_BRACKET_UNTERMINATED,  /* no closing ']' (or ":]", "=]", ".]") */
	KSM_BRACKET_UNKNOWN_CLASS, /* [:name:] of no class below */
	KSM_BRACKET_NOT_ONE_BYTE,  /* [=x=] or [.x.] of other than one byte */
};

struct ksm_bracket {
	bool negate;     /* '!' or '^' first */
	size_t end;      /* just past the closing ']' */
	char kind;       /* on error, of a [: [= [. element: ':', '=' or '.' */
	const char *name; /* and the text between its delimiters */
	size_t name_len;
};

/* One element: the bytes lo..hi (one byte: lo == hi; none when lo > hi),
 * or with is set, the bytes below 0x80 for which is() holds. */
typedef void (*ksm_bracket_fn)(void *ctx, unsigned lo, unsigned hi, int (*is)(int));

/*
 * Reads the bracket expression at s[i] == '[' of s (n bytes): a ']' first
 * (after a '!' or '^') is literal, '\' escapes the byte after it, "a-z" is
 * a range of byte values, [:class:] one of alnum alpha blank cntrl digit
 * graph lower print punct space upper xdigit, [=x=] and [.x.] the byte x.
 * Calls each (when not NULL) per element; fills *br.
 */
enum ksm_bracket_error ksm_bracket_parse(const char *s, size_t n, size_t i, struct ksm_bracket *br,
					 ksm_bracket_fn each, void *ctx);

#endif
