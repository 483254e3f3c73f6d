// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pure half of the execution policy: rule checks, hex digests,
 * matching; and the --deny* options. */
#include "unit.h"

#include <limits.h>

#include "pipeline/options.h"
#include "policy/policy.h"

static void glob_ok(const char *p)
{
	char err[256] = "";
	if (ksm_glob_check(p, err, sizeof(err)))
		fail_msg("'%s' rejected: %s", p, err);
}

static void glob_bad(const char *p, const char *words)
{
	char err[256] = "";
	assert_int_equal(ksm_glob_check(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, words));
	assert_null(strchr(err, '\n'));
}

static void test_glob_check(void **state)
{
	(void)state;
	glob_ok("/usr/bin/nc");
	glob_ok("/tmp/*");
	glob_ok("*/evil");
	glob_ok("/opt/[a-z]*/bin/?");
	glob_ok("/opt/[]x]");
	glob_ok("/opt/[!/]x");
	glob_ok("/opt/[[:digit:]]");
	glob_ok("/a/\\*");
	glob_ok("/*");
	glob_ok("/a/.hidden");
	glob_ok("/a/..b");
	glob_bad("", "absolute");
	glob_bad("tmp/*", "absolute");
	glob_bad("?tmp", "absolute");
	glob_bad("/tmp/[abc", "unterminated");
	glob_bad("/tmp/[[:digit:]", "unterminated");
	glob_bad("/tmp/x\\", "trailing");
	glob_bad("/tmp//x", "component");
	glob_bad("/tmp/./x", "component");
	glob_bad("/tmp/../x", "component");
	glob_bad("/tmp/..", "component");
	glob_bad("/tmp/", "trailing '/'");
	glob_bad("/", "never matches");
	char long_pat[PATH_MAX + 2];
	memset(long_pat, 'a', sizeof(long_pat) - 1);
	long_pat[0] = '/';
	long_pat[sizeof(long_pat) - 1] = '\0';
	glob_bad(long_pat, "longer");
}

static void test_sha256_parse(void **state)
{
	(void)state;
	uint8_t d[KSM_SHA256_LEN];
	char hex[KSM_SHA256_HEX_LEN + 1];
	const char *s = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";

	assert_int_equal(ksm_sha256_parse(s, d), 0);
	assert_int_equal(d[0], 0x00);
	assert_int_equal(d[1], 0x11);
	assert_int_equal(d[10], 0xaa);
	assert_int_equal(d[31], 0xff);
	ksm_sha256_hex(d, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

	memset(d, 0x5a, sizeof(d));
	assert_int_equal(ksm_sha256_parse("", d), -1);
	assert_int_equal(ksm_sha256_parse("0", d), -1);
	assert_int_equal(ksm_sha256_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeef", d), -1);
	assert_int_equal(ksm_sha256_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0", d), -1);
	assert_int_equal(ksm_sha256_parse("g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", d), -1);
	assert_int_equal(ksm_sha256_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddee f", d), -1);
	assert_int_equal(d[0], 0x5a); /* untouched on failure */
}

static void test_match_path(void **state)
{
	(void)state;
	const char *globs[] = { "/usr/bin/nc", "/tmp/x/*", "*/evil", "/opt/[ab]in/?" };
	struct ksm_policy p;
	char err[256];

	assert_int_equal(ksm_policy_init(&p, globs, 4, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(ksm_policy_match_path(&p, "/usr/bin/nc"), "/usr/bin/nc");
	assert_null(ksm_policy_match_path(&p, "/usr/bin/nc.openbsd"));
	assert_null(ksm_policy_match_path(&p, "/usr/bin/n"));
	assert_string_equal(ksm_policy_match_path(&p, "/tmp/x/a"), "/tmp/x/*");
	/* '*' also matches '/' */
	assert_string_equal(ksm_policy_match_path(&p, "/tmp/x/sub/a"), "/tmp/x/*");
	assert_string_equal(ksm_policy_match_path(&p, "/tmp/x/.hidden"), "/tmp/x/*");
	assert_null(ksm_policy_match_path(&p, "/tmp/x"));
	assert_null(ksm_policy_match_path(&p, "/tmp/xy/a"));
	assert_string_equal(ksm_policy_match_path(&p, "/home/u/evil"), "*/evil");
	assert_null(ksm_policy_match_path(&p, "/home/u/evil2"));
	assert_string_equal(ksm_policy_match_path(&p, "/opt/bin/z"), "/opt/[ab]in/?");
	assert_null(ksm_policy_match_path(&p, "/opt/cin/z"));
	assert_null(ksm_policy_match_path(&p, "/opt/bin/zz"));
	assert_null(ksm_policy_match_path(&p, ""));
	assert_false(ksm_policy_match_sha256(&p, (const uint8_t[32]){ 0 }));
	ksm_policy_free(&p);
}

static void test_first_rule_wins(void **state)
{
	(void)state;
	const char *globs[] = { "/a/*", "/a/b" };
	struct ksm_policy p;
	char err[256];
	assert_int_equal(ksm_policy_init(&p, globs, 2, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(ksm_policy_match_path(&p, "/a/b"), "/a/*");
	ksm_policy_free(&p);
}

static void test_match_sha256(void **state)
{
	(void)state;
	const char *hex[] = {
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0000000000000000000000000000000000000000000000000000000000000001",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", /* duplicate */
		"8000000000000000000000000000000000000000000000000000000000000000",
	};
	struct ksm_policy p;
	char err[256];
	uint8_t d[32] = { 0 };

	assert_int_equal(ksm_policy_init(&p, NULL, 0, hex, 4, err, sizeof(err)), 0);
	assert_int_equal(p.n_digests, 3);
	assert_false(ksm_policy_match_sha256(&p, d));
	d[31] = 1;
	assert_true(ksm_policy_match_sha256(&p, d));
	memset(d, 0xff, sizeof(d));
	assert_true(ksm_policy_match_sha256(&p, d));
	memset(d, 0, sizeof(d));
	d[0] = 0x80;
	assert_true(ksm_policy_match_sha256(&p, d));
	d[31] = 1;
	assert_false(ksm_policy_match_sha256(&p, d));
	assert_null(ksm_policy_match_path(&p, "/bin/true"));
	ksm_policy_free(&p);
}

static void test_policy_init_rejects(void **state)
{
	(void)state;
	const char *bad_glob[] = { "/ok", "rel" };
	const char *bad_hex[] = { "zz" };
	struct ksm_policy p;
	char err[256];

	assert_int_equal(ksm_policy_init(&p, bad_glob, 2, NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'rel'"));
	assert_int_equal(ksm_policy_init(&p, NULL, 0, bad_hex, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'zz'"));
}

static int parse(struct ksm_options *o, char *err, int argc, ...)
{
	char *argv[16] = { "ksysmon" };
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i + 1] = va_arg(ap, char *);
	va_end(ap);
	return ksm_parse_options(argc + 1, argv, o, err, 256);
}

static void test_options(void **state)
{
	(void)state;
	static struct ksm_options o;
	char err[256];
	char hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

	assert_int_equal(parse(&o, err, 0), 0);
	assert_int_equal(o.n_deny_globs, 0);
	assert_false(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));
	assert_int_equal(o.deny_timeout_ms, KSM_DEFAULT_DENY_TIMEOUT_MS);
	assert_false(o.deny_audit);
	assert_false(o.deny_fail_closed);

	assert_int_equal(parse(&o, err, 7, "--deny", "/a/*", "--deny=/b", "--deny-sha256", hex,
			       "--audit", "--deny-timeout-ms=20"), 0);
	assert_int_equal(o.n_deny_globs, 2);
	assert_string_equal(o.deny_globs[0], "/a/*");
	assert_string_equal(o.deny_globs[1], "/b");
	assert_int_equal(o.n_deny_sha256, 1);
	assert_ptr_equal(o.deny_sha256[0], hex); /* points into argv */
	assert_true(o.deny_audit);
	assert_false(o.deny_fail_closed);
	assert_int_equal(o.deny_timeout_ms, 20);
	assert_true(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));

	/* a policy is reported whatever --events says */
	assert_int_equal(parse(&o, err, 5, "-e", "process_exit", "--deny", "/x", "--fail-closed"), 0);
	assert_true(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));
	assert_true(o.deny_fail_closed);

	assert_int_equal(parse(&o, err, 2, "--deny", "x"), -1);
	assert_non_null(strstr(err, "invalid --deny 'x'"));
	assert_int_equal(parse(&o, err, 2, "--deny-sha256", "12"), -1);
	assert_non_null(strstr(err, "invalid --deny-sha256 '12'"));
	assert_int_equal(parse(&o, err, 1, "--audit"), -1);
	assert_non_null(strstr(err, "--audit needs"));
	assert_int_equal(parse(&o, err, 1, "--fail-closed"), -1);
	assert_non_null(strstr(err, "--fail-closed needs"));
	assert_int_equal(parse(&o, err, 4, "--deny", "/x", "--deny-timeout-ms", "0"), -1);
	assert_int_equal(parse(&o, err, 4, "--deny", "/x", "--deny-timeout-ms", "60001"), -1);
	assert_int_equal(parse(&o, err, 2, "--audit", "--help"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_check),
		cmocka_unit_test(test_sha256_parse),
		cmocka_unit_test(test_match_path),
		cmocka_unit_test(test_first_rule_wins),
		cmocka_unit_test(test_match_sha256),
		cmocka_unit_test(test_policy_init_rejects),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
