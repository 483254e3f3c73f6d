// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/errmsg.h"
#include "core/glob.h"
#include "policy/globc.h"

#include <string.h>

static void class_set(uint8_t *bits, unsigned c)
{
	bits[(c >> 3) & 31] |= (uint8_t)(1u << (c & 7));
}

/* Sets the bytes of one bracket element ([:name:]: in the C locale, which
 * is ksysmon's, bytes of 0x80 and above are in no class). */
static void class_add(void *ctx, unsigned lo, unsigned hi, int (*is)(int))
{
	uint8_t *bits = ctx;
	if (is) {
		for (unsigned c = 0; c < 128; c++)
			if (is((int)c))
				class_set(bits, c);
		return;
	}
	for (unsigned c = lo; c <= hi; c++)
		class_set(bits, c);
}

/* The bracket expression at s[*i] == '[' into a bitmap; advances *i past
 * the ']'. */
static int compile_bracket(const char *s, size_t *i, uint8_t *bits, char *err, size_t errlen)
{
	struct ksm_bracket br;
	switch (ksm_bracket_parse(s, strlen(s), *i, &br, class_add, bits)) {
	case KSM_BRACKET_OK:
		break;
	case KSM_BRACKET_UNTERMINATED:
		return ksm_fail(err, errlen, "unterminated '[' in '%s'", s);
	case KSM_BRACKET_UNKNOWN_CLASS:
		return ksm_fail(err, errlen, "unknown class '[:%.*s:]' in '%s'", (int)br.name_len, br.name, s);
	case KSM_BRACKET_NOT_ONE_BYTE:
		return ksm_fail(err, errlen, "'[%c%.*s%c]' is not one byte in '%s'", br.kind, (int)br.name_len,
				br.name, br.kind, s);
	}
	if (br.negate)
		for (int k = 0; k < 32; k++)
			bits[k] = (uint8_t)~bits[k];
	*i = br.end;
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
