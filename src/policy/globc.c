// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/errmsg.h"
#include "policy/globc.h"

#include <ctype.h>
#include <string.h>

static void class_set(uint8_t *bits, unsigned c)
{
	bits[(c >> 3) & 31] |= (uint8_t)(1u << (c & 7));
}

/* [:name:] in the C locale, which is ksysmon's: bytes of 0x80 and above
 * are in no class. */
static int named_class(uint8_t *bits, const char *name, size_t len)
{
	static const struct {
		const char *name;
		int (*is)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank }, { "cntrl", iscntrl },
		{ "digit", isdigit }, { "graph", isgraph }, { "lower", islower }, { "print", isprint },
		{ "punct", ispunct }, { "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i].name) != len || memcmp(classes[i].name, name, len))
			continue;
		for (unsigned c = 0; c < 128; c++)
			if (classes[i].is((int)c))
				class_set(bits, c);
		return 0;
	}
	return -1;
}

/*
 * The bracket expression at s[*i] == '[' into a bitmap, as fnmatch(3)
 * reads it without flags: '!' or '^' negates, a ']' first is literal,
 * ranges by byte value, [:class:], [=c=] and [.c.] of one byte, '\'
 * escapes.  Advances *i past the ']'.
 */
static int compile_bracket(const char *s, size_t *i, uint8_t *bits, char *err, size_t errlen)
{
	size_t j = *i + 1;
	bool negate = s[j] == '!' || s[j] == '^';
	int prev = -1; /* the last single byte, a possible range start */

	if (negate)
		j++;
	for (bool first = true; s[j] && (first || s[j] != ']'); first = false) {
		if (s[j] == '[' && (s[j + 1] == ':' || s[j + 1] == '=' || s[j + 1] == '.')) {
			char kind = s[j + 1];
			const char *name = s + j + 2, *close = strstr(name, kind == ':' ? ":]" : kind == '=' ? "=]" : ".]");
			if (!close)
				return ksm_fail(err, errlen, "unterminated '[%c' in '%s'", kind, s);
			size_t len = (size_t)(close - name);
			if (kind == ':') {
				if (named_class(bits, name, len))
					return ksm_fail(err, errlen, "unknown class '[:%.*s:]' in '%s'", (int)len, name, s);
				prev = -1;
			} else if (len == 1) {
				prev = (unsigned char)name[0];
				class_set(bits, (unsigned)prev);
			} else {
				return ksm_fail(err, errlen, "'[%c%.*s%c]' is not one byte in '%s'", kind, (int)len, name, kind, s);
			}
			j = (size_t)(close - s) + 2;
			continue;
		}
		int c = (unsigned char)s[j];
		if (c == '\\' && s[j + 1])
			c = (unsigned char)s[++j];
		j++;
		if (s[j] == '-' && s[j + 1] && s[j + 1] != ']') {
			int hi = (unsigned char)s[j + 1];
			j += 2;
			if (hi == '\\' && s[j])
				hi = (unsigned char)s[j++];
			for (int k = c; k <= hi; k++)
				class_set(bits, (unsigned)k);
			prev = -1;
			continue;
		}
		class_set(bits, (unsigned)c);
		prev = c;
	}
	(void)prev;
	if (s[j] != ']')
		return ksm_fail(err, errlen, "unterminated '[' in '%s'", s);
	if (negate)
		for (int k = 0; k < 32; k++)
			bits[k] = (uint8_t)~bits[k];
	*i = j + 1;
	return 0;
}

int ksm_glob_compile(const char *pattern, struct ksm_glob *g, char *err, size_t errlen)
{
	size_t len = strlen(pattern), nclass = 0;

	memset(g, 0, sizeof(*g));
	if (len >= KSM_GLOB_TEXT_MAX)
		return ksm_fail(err, errlen, "longer than %d bytes, the kernel engine's limit: '%s'",
				KSM_GLOB_TEXT_MAX - 1, pattern);
	memcpy(g->text, pattern, len);
	g->text_len = (uint32_t)len;
	for (size_t i = 0; i < len;) {
		uint16_t t;
		if (pattern[i] == '*') {
			i++;
			if (g->ntok && g->tok[g->ntok - 1] == KSM_GLOB_STAR)
				continue; /* '**' is '*' */
			t = KSM_GLOB_STAR;
		} else if (pattern[i] == '?') {
			i++;
			t = KSM_GLOB_ANY;
		} else if (pattern[i] == '[') {
			if (nclass == KSM_GLOB_MAX_CLASSES)
				return ksm_fail(err, errlen, "more than %d bracket expressions, the kernel engine's limit: '%s'",
						KSM_GLOB_MAX_CLASSES, pattern);
			if (compile_bracket(pattern, &i, g->classes[nclass], err, errlen))
				return -1;
			t = (uint16_t)(KSM_GLOB_CLASS + nclass++);
		} else {
			if (pattern[i] == '\\' && i + 1 < len)
				i++;
			t = (unsigned char)pattern[i++];
		}
		if (g->ntok == KSM_GLOB_MAX_TOKENS)
			return ksm_fail(err, errlen, "more than %d elements, the kernel engine's limit: '%s'",
					KSM_GLOB_MAX_TOKENS, pattern);
		g->tok[g->ntok++] = t;
	}
	return 0;
}

int ksm_glob_match(const struct ksm_glob *g, const char *path, size_t len)
{
	struct ksm_glob_state st = { .slen = (uint32_t)len };
	if (len >= KSM_GLOB_PATH_MAX)
		return -1;
	for (uint64_t n = 0; n < KSM_GLOB_MAX_STEPS && !st.result; n++)
		ksm_glob_step(g, path, &st);
	return st.result > 0 ? 1 : st.result < 0 ? 0 : -1;
}
