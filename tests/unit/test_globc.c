// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --deny patterns compiled for the kernel engine: the kernel's step
 * matcher must say what fnmatch(3) says, on every pattern and path. */
#include "unit.h"

#include <ctype.h>
#include <fnmatch.h>

#include "core/glob.h"
#include "policy/globc.h"
#include "policy/policy.h"

static struct ksm_glob g;

static int kernel_says(const char *pattern, const char *path)
{
	char err[256] = "";
	if (ksm_glob_compile(pattern, &g, err, sizeof(err)))
		fail_msg("'%s' not compiled: %s", pattern, err);
	return ksm_glob_match(&g, path, strlen(path));
}

static void same_as_fnmatch(const char *pattern, const char *path)
{
	int want = fnmatch(pattern, path, 0) == 0;
	int got = kernel_says(pattern, path);
	if (got != want)
		fail_msg("'%s' on '%s': kernel %d, fnmatch %d", pattern, path, got, want);
}

static void test_fixed_cases(void **state)
{
	static const char *const cases[][2] = {
		{ "/usr/bin/nc", "/usr/bin/nc" },      { "/usr/bin/nc", "/usr/bin/ncat" },
		{ "/tmp/*", "/tmp/x/y/z" },            { "/tmp/*", "/tmp" },
		{ "/tmp/*", "/tmp/" },                 { "*/nc", "/usr/bin/nc" },
		{ "*", "/" },                          { "/a?c", "/abc" },
		{ "/a?c", "/a/c" },                    { "/a[bc]d", "/acd" },
		{ "/a[!bc]d", "/a/d" },                { "/a[^b]d", "/abd" },
		{ "/a[]]b", "/a]b" },                  { "/a[!]]b", "/a]b" },
		{ "/a[a-c]x", "/abx" },                { "/a[a-c]x", "/adx" },
		{ "/a[[:digit:]]", "/a7" },            { "/a[[:digit:]]", "/ab" },
		{ "/a[[:alpha:]_]*", "/a_1" },         { "/a\\*", "/a*" },
		{ "/a\\*", "/ab" },                    { "/a\\?", "/a?" },
		{ "/a[\\]]", "/a]" },                  { "/a*b*c", "/axxbyybzzc" },
		{ "/a*b*c", "/axxbyybzz" },            { "/**/x", "/y/x" },
		{ "/a[[=b=]]", "/ab" },                { "/a[[.-.]]", "/a-" },
		{ "/a[-x]", "/a-" },                   { "/a[x-]", "/a-" },
		{ "/\xc3\xa9*", "/\xc3\xa9t\xc3\xa9" }, { "/a?", "/a\xc3\xa9" },
		{ "*.sh", "/tmp/x.sh" },               { "/x/*/y", "/x/y" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_as_fnmatch(cases[i][0], cases[i][1]);
}

static unsigned next_random(unsigned *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return *seed >> 16;
}

/* "/" then count parts drawn at random, into out (large enough). */
static void random_join(char *out, const char *const *parts, unsigned nparts, int count,
			unsigned *seed)
{
	size_t len = 0;
	out[len++] = '/';
	for (int i = 0; i < count; i++) {
		const char *part = parts[next_random(seed) % nparts];
		memcpy(out + len, part, strlen(part));
		len += strlen(part);
	}
	out[len] = 0;
}

/* Random patterns and paths over a small alphabet, where the corner cases
 * (stars next to each other, classes next to '/', escapes) come often. */
static void test_random_against_fnmatch(void **state)
{
	static const char *const pat_parts[] = {
		"a", "b", "/", ".", "*", "?", "[ab]", "[!a]", "[a-c]", "\\*", "[[:digit:]]", "1", "**", "[/]",
	};
	static const char *const path_parts[] = { "a", "b", "c", "/", ".", "1", "*", "ab", "/a" };
	char pattern[128], path[128];
	unsigned seed = 12345;
	(void)state;
	for (int n = 0; n < 200000; n++) {
		random_join(pattern, pat_parts, 14, 1 + (int)next_random(&seed) % 7, &seed);
		random_join(path, path_parts, 9, (int)next_random(&seed) % 9, &seed);
		same_as_fnmatch(pattern, path);
	}
}

static void test_limits(void **state)
{
	char err[256] = "", long_pattern[400];
	(void)state;
	memset(long_pattern, 'a', sizeof(long_pattern) - 1);
	long_pattern[0] = '/';
	long_pattern[sizeof(long_pattern) - 1] = 0;
	assert_int_equal(ksm_glob_compile(long_pattern, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kernel engine's limit"));
	assert_int_equal(ksm_glob_compile("/[a][b][c][d][e][f][g][h][i]", &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bracket expressions"));
	assert_int_equal(ksm_glob_compile("/[[:nope:]]", &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown class"));
	assert_null(strchr(err, '\n'));
	/* a path longer than the kernel matches is undecided, not a miss */
	static char path[KSM_GLOB_PATH_MAX + 8];
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	assert_int_equal(ksm_glob_compile("/*", &g, err, sizeof(err)), 0);
	assert_int_equal(ksm_glob_match(&g, path, strlen(path)), -1);
	/* the text is kept for exec_blocked.rule */
	assert_int_equal(ksm_glob_compile("/tmp/x/*", &g, err, sizeof(err)), 0);
	assert_int_equal(g.text_len, 8);
	assert_memory_equal(g.text, "/tmp/x/*", 8);
}

/* The elements the reader reports, as "lo-hi" (bytes), "c" (a class). */
static void collect(void *ctx, unsigned lo, unsigned hi, int (*is)(int))
{
	char *out = ctx;
	size_t o = strlen(out);
	if (is)
		snprintf(out + o, 64 - o, "%s[%c]", o ? "," : "", is == isdigit ? 'd' : '?');
	else
		snprintf(out + o, 64 - o, "%s%c-%c", o ? "," : "", lo, hi);
}

static enum ksm_bracket_error bracket(const char *s, size_t n, struct ksm_bracket *br, char out[64])
{
	out[0] = '\0';
	return ksm_bracket_parse(s, n, 0, br, collect, out);
}

/* The one bracket reader: what --deny, the kernel compiler and the
 * configuration's globs each read differently before. */
static void test_bracket_reader(void **state)
{
	(void)state;
	struct ksm_bracket br;
	char out[64];
	assert_int_equal(bracket("[a-c]x", 6, &br, out), KSM_BRACKET_OK);
	assert_string_equal(out, "a-c");
	assert_int_equal(br.end, 5);
	assert_false(br.negate);
	/* a ']' first is literal, after '!' too */
	assert_int_equal(bracket("[]x]", 4, &br, out), KSM_BRACKET_OK);
	assert_string_equal(out, "]-],x-x");
	assert_int_equal(bracket("[!]]", 4, &br, out), KSM_BRACKET_OK);
	assert_true(br.negate);
	assert_string_equal(out, "]-]");
	assert_int_equal(br.end, 4);
	/* '\' escapes inside: "[\]]" is the class of ']' (fnmatch agrees) */
	assert_int_equal(bracket("[\\]]", 4, &br, out), KSM_BRACKET_OK);
	assert_string_equal(out, "]-]");
	assert_int_equal(br.end, 4);
	assert_int_equal(fnmatch("/[\\]]", "/]", 0), 0);
	assert_int_equal(bracket("[a\\-c]", 6, &br, out), KSM_BRACKET_OK); /* no range */
	assert_string_equal(out, "a-a,---,c-c");
	assert_int_equal(bracket("[[:digit:]]", 11, &br, out), KSM_BRACKET_OK);
	assert_string_equal(out, "[d]");
	assert_int_equal(bracket("[[=a=][.b.]]", 12, &br, out), KSM_BRACKET_OK);
	assert_string_equal(out, "a-a,b-b");
	/* errors, with the element at fault */
	assert_int_equal(bracket("[[:nope:]]", 10, &br, out), KSM_BRACKET_UNKNOWN_CLASS);
	assert_int_equal(br.name_len, 4);
	assert_memory_equal(br.name, "nope", 4);
	assert_int_equal(bracket("[[=ab=]]", 8, &br, out), KSM_BRACKET_NOT_ONE_BYTE);
	assert_int_equal(br.kind, '=');
	assert_int_equal(bracket("[[:digit:]", 10, &br, out), KSM_BRACKET_UNTERMINATED);
	assert_int_equal(bracket("[[:digit]", 9, &br, out), KSM_BRACKET_UNTERMINATED);
	assert_int_equal(bracket("[abc", 4, &br, out), KSM_BRACKET_UNTERMINATED);
	assert_int_equal(bracket("[", 1, &br, out), KSM_BRACKET_UNTERMINATED);
	assert_int_equal(bracket("[]", 2, &br, out), KSM_BRACKET_UNTERMINATED);
	/* only n bytes are read: the ']' after them does not count */
	assert_int_equal(bracket("[ab]", 3, &br, out), KSM_BRACKET_UNTERMINATED);
	/* every reader now agrees */
	char err[256];
	assert_int_equal(ksm_glob_check("/x/[\\]]y", err, sizeof(err)), 0);
	assert_int_equal(ksm_glob_check("/x/[[:nope:]]", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown character class '[:nope:]'"));
	assert_int_equal(ksm_glob_check("/x/[[.ab.]]", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not one byte"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_cases),
		cmocka_unit_test(test_random_against_fnmatch),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bracket_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
