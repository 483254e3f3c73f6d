// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/buf.h"
#include "core/errmsg.h"
#include "core/glob.h"
#include "policy/policy.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool special(char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

/* Length of the literal start of a pattern (up to the first special). */
static size_t literal_prefix(const char *pattern)
{
	size_t n = 0;
	while (pattern[n] && !special(pattern[n]))
		n++;
	return n;
}

/* The bracket expression at pattern[i] == '[' checked; *end past it. */
static int check_bracket(const char *pattern, size_t len, size_t i, size_t *end, char *err, size_t errlen)
{
	struct ksm_bracket br;
	switch (ksm_bracket_parse(pattern, len, i, &br, NULL, NULL)) {
	case KSM_BRACKET_OK:
		break;
	case KSM_BRACKET_UNTERMINATED:
		return ksm_fail(err, errlen, "invalid --deny '%s' (unterminated '[')", pattern);
	case KSM_BRACKET_UNKNOWN_CLASS:
		return ksm_fail(err, errlen, "invalid --deny '%s' (unknown character class '[:%.*s:]')", pattern,
				(int)br.name_len, br.name);
	case KSM_BRACKET_NOT_ONE_BYTE:
		return ksm_fail(err, errlen, "invalid --deny '%s' ('[%c%.*s%c]' is not one byte)", pattern, br.kind,
				(int)br.name_len, br.name, br.kind);
	}
	*end = br.end;
	return 0;
}

int ksm_glob_check(const char *pattern, char *err, size_t errlen)
{
	size_t len = strlen(pattern);

	if (!len)
		return ksm_fail(err, errlen, "invalid --deny '' (expected an absolute path pattern)");
	if (len >= PATH_MAX)
		return ksm_fail(err, errlen, "invalid --deny pattern: longer than %d bytes", PATH_MAX - 1);
	if (pattern[0] != '/' && pattern[0] != '*')
		return ksm_fail(err, errlen, "invalid --deny '%s' (expected an absolute path pattern starting with '/' or '*')",
			    pattern);
	/* walk the components that are pure literals; a wildcard component
	 * such as "*" may well match a canonical name */
	for (size_t i = 0; i < len;) {
		if (pattern[i] == '\\') {
			if (i + 1 == len)
				return ksm_fail(err, errlen, "invalid --deny '%s' (trailing '\\')", pattern);
			i += 2;
			continue;
		}
		if (pattern[i] == '[') {
			if (check_bracket(pattern, len, i, &i, err, errlen))
				return -1;
			continue;
		}
		if (pattern[i] == '/') {
			const char *c = pattern + i + 1;
			size_t clen = strcspn(c, "/");
			bool last = c[clen] == '\0';
			if ((clen == 0 && !last) || (clen == 1 && c[0] == '.') ||
			    (clen == 2 && c[0] == '.' && c[1] == '.'))
				return ksm_fail(err, errlen,
					    "invalid --deny '%s' (an empty, '.' or '..' component never matches a resolved path)",
					    pattern);
			if (clen == 0 && last && i > 0)
				return ksm_fail(err, errlen,
					    "invalid --deny '%s' (a trailing '/' never matches an executed file; use '%s*')",
					    pattern, pattern);
		}
		i++;
	}
	if (len == 1 && pattern[0] == '/')
		return ksm_fail(err, errlen, "invalid --deny '/' (never matches an executed file; use '/*' to deny everything)");
	return 0;
}

int ksm_sha256_parse(const char *hex, uint8_t out[KSM_SHA256_LEN])
{
	uint8_t d[KSM_SHA256_LEN];
	for (size_t i = 0; i < KSM_SHA256_LEN; i++) {
		int hi = ksm_hex_value(hex[2 * i]);
		int lo = hi < 0 ? -1 : ksm_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[KSM_SHA256_HEX_LEN] != '\0')
		return -1;
	memcpy(out, d, sizeof(d));
	return 0;
}

void ksm_sha256_hex(const uint8_t d[KSM_SHA256_LEN], char out[KSM_SHA256_HEX_LEN + 1])
{
	ksm_hex_encode(out, d, KSM_SHA256_LEN);
	out[KSM_SHA256_HEX_LEN] = '\0';
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, KSM_SHA256_LEN);
}

int ksm_policy_init(struct ksm_policy *p, const char *const *globs, size_t n_globs,
		    const char *const *sha256_hex, size_t n_sha256, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (n_globs) {
		p->globs = calloc(n_globs, sizeof(*p->globs));
		if (!p->globs)
			goto oom;
	}
	for (size_t i = 0; i < n_globs; i++) {
		if (ksm_glob_check(globs[i], err, errlen)) {
			ksm_policy_free(p);
			return -1;
		}
		p->globs[i].pattern = globs[i];
		p->globs[i].prefix_len = literal_prefix(globs[i]);
	}
	p->n_globs = n_globs;
	if (n_sha256) {
		p->digests = calloc(n_sha256, KSM_SHA256_LEN);
		if (!p->digests)
			goto oom;
	}
	for (size_t i = 0; i < n_sha256; i++) {
		if (ksm_sha256_parse(sha256_hex[i], p->digests[i])) {
			ksm_fail(err, errlen, "invalid --deny-sha256 '%s' (expected 64 hexadecimal digits)", sha256_hex[i]);
			ksm_policy_free(p);
			return -1;
		}
	}
	if (n_sha256) {
		qsort(p->digests, n_sha256, KSM_SHA256_LEN, cmp_digest);
		size_t n = 1;
		for (size_t i = 1; i < n_sha256; i++)
			if (memcmp(p->digests[i], p->digests[n - 1], KSM_SHA256_LEN))
				memcpy(p->digests[n++], p->digests[i], KSM_SHA256_LEN);
		p->n_digests = n;
	}
	return 0;
oom:
	ksm_policy_free(p);
	return ksm_fail(err, errlen, "out of memory for the deny policy");
}

void ksm_policy_free(struct ksm_policy *p)
{
	free(p->globs);
	free(p->digests);
	memset(p, 0, sizeof(*p));
}

const char *ksm_policy_match_path(const struct ksm_policy *p, const char *path)
{
	for (size_t i = 0; i < p->n_globs; i++) {
		const struct ksm_glob_rule *r = &p->globs[i];
		/* most rules are told apart by their literal start */
		if (strncmp(path, r->pattern, r->prefix_len))
			continue;
		if (r->pattern[r->prefix_len] == '\0') {
			if (path[r->prefix_len] == '\0')
				return r->pattern;
			continue;
		}
		if (fnmatch(r->pattern, path, 0) == 0)
			return r->pattern;
	}
	return NULL;
}

bool ksm_policy_match_sha256(const struct ksm_policy *p, const uint8_t d[KSM_SHA256_LEN])
{
	return p->n_digests && bsearch(d, p->digests, p->n_digests, KSM_SHA256_LEN, cmp_digest);
}
