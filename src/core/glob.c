// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/glob.h"

#include <ctype.h>
#include <string.h>

/* The test of [:name:], or NULL (ksysmon runs in the C locale). */
static int (*class_test(const char *name, size_t len))(int)
{
	static const struct {
		const char *name;
		int (*is)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank }, { "cntrl", iscntrl },
		{ "digit", isdigit }, { "graph", isgraph }, { "lower", islower }, { "print", isprint },
		{ "punct", ispunct }, { "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && !memcmp(classes[i].name, name, len))
			return classes[i].is;
	return NULL;
}

static void emit(ksm_bracket_fn each, void *ctx, unsigned lo, unsigned hi, int (*is)(int))
{
	if (each)
		each(ctx, lo, hi, is);
}

/* The [:name:], [=x=] or [.x.] at s[*j]; advances *j past it. */
static enum ksm_bracket_error named(const char *s, size_t n, size_t *j, struct ksm_bracket *br,
				    ksm_bracket_fn each, void *ctx)
{
	char kind = s[*j + 1];
	size_t start = *j + 2, k = start;
	while (k + 1 < n && !(s[k] == kind && s[k + 1] == ']'))
		k++;
	if (k + 1 >= n)
		return KSM_BRACKET_UNTERMINATED;
	br->kind = kind;
	br->name = s + start;
	br->name_len = k - start;
	if (kind == ':') {
		int (*is)(int) = class_test(br->name, br->name_len);
		if (!is)
			return KSM_BRACKET_UNKNOWN_CLASS;
		emit(each, ctx, 0, 0, is);
	} else if (br->name_len == 1) {
		emit(each, ctx, (unsigned char)s[start], (unsigned char)s[start], NULL);
	} else {
		return KSM_BRACKET_NOT_ONE_BYTE;
	}
	*j = k + 2;
	return KSM_BRACKET_OK;
}

enum ksm_bracket_error ksm_bracket_parse(const char *s, size_t n, size_t i, struct ksm_bracket *br,
					 ksm_bracket_fn each, void *ctx)
{
	size_t j = i + 1;

	memset(br, 0, sizeof(*br));
	br->negate = j < n && (s[j] == '!' || s[j] == '^');
	if (br->negate)
		j++;
	for (bool first = true; j < n && (first || s[j] != ']'); first = false) {
		if (s[j] == '[' && j + 1 < n && (s[j + 1] == ':' || s[j + 1] == '=' || s[j + 1] == '.')) {
			enum ksm_bracket_error e = named(s, n, &j, br, each, ctx);
			if (e)
				return e;
			continue;
		}
		unsigned lo = (unsigned char)s[j];
		if (lo == '\\' && j + 1 < n)
			lo = (unsigned char)s[++j];
		j++;
		unsigned hi = lo;
		if (j + 1 < n && s[j] == '-' && s[j + 1] != ']') {
			hi = (unsigned char)s[j + 1];
			j += 2;
			if (hi == '\\' && j < n)
				hi = (unsigned char)s[j++];
		}
		emit(each, ctx, lo, hi, NULL);
	}
	if (j >= n)
		return KSM_BRACKET_UNTERMINATED;
	br->end = j + 1;
	return KSM_BRACKET_OK;
}
