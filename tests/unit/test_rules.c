// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The configuration file and its rules: loading, errors, evaluation and
 * the kernel-decidable part. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline/config.h"
#include "pipeline/rules.h"
#include "pipeline/select.h"

/* ---- helpers ------------------------------------------------------------- */

static char tmp_path[64];

/* Writes text to a fresh temporary file (its name in tmp_path) and loads
 * it; the file is removed again. */
static int load_text(const char *text, struct ksm_rules **r, char *err, size_t errlen)
{
	strcpy(tmp_path, "/tmp/ksm_rules_XXXXXX");
	int fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	int rc = ksm_rules_load(tmp_path, r, err, errlen);
	unlink(tmp_path);
	return rc;
}

static struct ksm_rules *ok(const char *text)
{
	char err[512] = "";
	struct ksm_rules *r = NULL;
	if (load_text(text, &r, err, sizeof(err)))
		fail_msg("rejected: %s\n--- config:\n%s", err, text);
	assert_non_null(r);
	return r;
}

/* The load fails with "FILE:line: " followed by a message containing
 * words, on one line. */
static void bad_at(const char *text, unsigned line, const char *words, const char *src_file,
		   int src_line)
{
	char err[512] = "", prefix[128];
	struct ksm_rules *r = (struct ksm_rules *)1;
	if (load_text(text, &r, err, sizeof(err)) != -1)
		fail_msg("%s:%d: accepted:\n%s", src_file, src_line, text);
	if (r)
		fail_msg("%s:%d: *out not NULL on error", src_file, src_line);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", tmp_path, line);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, words))
		fail_msg("%s:%d: got '%s', expected '%s...%s'", src_file, src_line, err, prefix, words);
	if (getenv("KSM_SHOW_ERRORS"))
		fprintf(stderr, "%s\n", err);
	if (strchr(err, '\n'))
		fail_msg("%s:%d: message on several lines: '%s'", src_file, src_line, err);
}
#define bad(text, line, words) bad_at(text, line, words, __FILE__, __LINE__)

static struct ksm_rule_input ev(unsigned type)
{
	struct ksm_rule_input in;
	memset(&in, 0, sizeof(in));
	in.type = type;
	return in;
}

static void set(struct ksm_rule_input *in, enum ksm_rule_field f, const char *s)
{
	in->str[f] = s;
	in->len[f] = s ? strlen(s) : 0;
}

static void setn(struct ksm_rule_input *in, enum ksm_rule_field f, long long v)
{
	in->num[f] = v;
	in->has_num[f] = true;
}

/* An exec event with every field known. */
static struct ksm_rule_input full_exec(void)
{
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, KSM_F_IMAGE, "/usr/bin/curl");
	set(&in, KSM_F_CMDLINE, "curl -s http://example.org/x");
	set(&in, KSM_F_PARENT_IMAGE, "/usr/bin/bash");
	set(&in, KSM_F_USER, "alice");
	set(&in, KSM_F_COMM, "curl");
	setn(&in, KSM_F_UID, 1000);
	setn(&in, KSM_F_PID, 4242);
	return in;
}

/* Whether `value` passes a process_exec include of one condition. */
static bool passes(const char *field, const char *cond, const char *pattern,
		   enum ksm_rule_field f, const char *value)
{
	char text[512];
	snprintf(text, sizeof(text), "events:\n  process_exec:\n    include:\n      - %s: {%s: '%s'}\n",
		 field, cond, pattern);
	struct ksm_rules *r = ok(text);
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, f, value);
	bool p = ksm_rules_pass(r, &in);
	ksm_rules_free(r);
	return p;
}

/* ---- conditions ------------------------------------------------------------ */

static void test_string_conditions(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum ksm_rule_field f;
	} fields[] = {
		{ "image", KSM_F_IMAGE }, { "path", KSM_F_PATH }, { "cmdline", KSM_F_CMDLINE },
		{ "parent_image", KSM_F_PARENT_IMAGE }, { "user", KSM_F_USER }, { "comm", KSM_F_COMM },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *n = fields[i].name;
		enum ksm_rule_field f = fields[i].f;

		assert_true(passes(n, "is", "abc/def", f, "abc/def"));
		assert_false(passes(n, "is", "abc/def", f, "abc/de"));
		assert_false(passes(n, "is", "abc/def", f, "abc/defg"));
		assert_false(passes(n, "is", "abc", f, "ABC")); /* case matters */
		assert_true(passes(n, "is", "", f, ""));
		assert_false(passes(n, "is", "", f, "x"));

		assert_true(passes(n, "is_not", "abc", f, "abd"));
		assert_false(passes(n, "is_not", "abc", f, "abc"));
		assert_true(passes(n, "is_not", "abc", f, "ab"));

		assert_true(passes(n, "contains", "b/d", f, "ab/de"));
		assert_true(passes(n, "contains", "ab", f, "ab"));
		assert_false(passes(n, "contains", "abc", f, "ab"));
		assert_false(passes(n, "contains", "x", f, "ab"));
		assert_true(passes(n, "contains", "", f, "ab"));

		assert_true(passes(n, "begins_with", "/us", f, "/usr"));
		assert_true(passes(n, "begins_with", "/usr", f, "/usr"));
		assert_false(passes(n, "begins_with", "/usr", f, "/us"));
		assert_false(passes(n, "begins_with", "/usr", f, "x/usr"));

		assert_true(passes(n, "ends_with", "sh", f, "bash"));
		assert_true(passes(n, "ends_with", "bash", f, "bash"));
		assert_false(passes(n, "ends_with", "bash", f, "ash"));
		assert_false(passes(n, "ends_with", "sh", f, "shx"));

		assert_true(passes(n, "glob", "a*c", f, "abbc"));
		assert_false(passes(n, "glob", "a*c", f, "abbcd"));
		assert_true(passes(n, "glob", "a?c", f, "abc"));
		assert_false(passes(n, "glob", "a?c", f, "ac"));
	}
}

static void test_strings_with_lengths(void **state)
{
	(void)state;
	/* comparisons use len, not only the NUL */
	struct ksm_rules *r = ok("events:\n  process_exec:\n    include:\n      - image: {is: /bin/ls}\n");
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	in.str[KSM_F_IMAGE] = "/bin/lsX";
	in.len[KSM_F_IMAGE] = 7;
	assert_true(ksm_rules_pass(r, &in));
	in.len[KSM_F_IMAGE] = 8;
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* UTF-8 values, and bytes that are not */
	r = ok("events:\n  process_exec:\n    include:\n      - cmdline: {contains: \"café\"}\n");
	in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, KSM_F_CMDLINE, "echo caf\xc3\xa9 \xff");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_CMDLINE, "echo cafe");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_numeric_fields(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  process_exec:\n"
				 "    include:\n"
				 "      - uid: {is: 0}\n"
				 "      - pid: {is: 4294967295}\n"
				 "      - uid: 33\n"
				 "  process_exit:\n"
				 "    include:\n"
				 "      - pid: {is_not: 7}\n");
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	setn(&in, KSM_F_UID, 0);
	assert_true(ksm_rules_pass(r, &in));
	setn(&in, KSM_F_UID, 33);
	assert_true(ksm_rules_pass(r, &in));
	setn(&in, KSM_F_UID, 1000);
	assert_false(ksm_rules_pass(r, &in));
	setn(&in, KSM_F_PID, 4294967295LL);
	assert_true(ksm_rules_pass(r, &in));
	/* a numeric string does not stand for the number */
	in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, KSM_F_UID, "0");
	assert_false(ksm_rules_pass(r, &in));

	in = ev(KSM_EV_PROCESS_EXIT);
	setn(&in, KSM_F_PID, 7);
	assert_false(ksm_rules_pass(r, &in));
	setn(&in, KSM_F_PID, 8);
	assert_true(ksm_rules_pass(r, &in));
	in.has_num[KSM_F_PID] = false; /* unknown: is_not holds */
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* quoted integers are accepted too; leading zeros are decimal */
	r = ok("events:\n  all:\n    exclude:\n      - uid: {is: \"010\"}\n");
	in = ev(KSM_EV_PROCESS_EXEC);
	setn(&in, KSM_F_UID, 10);
	assert_false(ksm_rules_pass(r, &in));
	setn(&in, KSM_F_UID, 8);
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_unknown_fields(void **state)
{
	(void)state;
	/* a NULL field: every condition is false except is_not */
	static const char *const conds[] = { "is", "contains", "begins_with", "ends_with", "glob" };
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		assert_false(passes("image", conds[i], "", KSM_F_IMAGE, NULL));
		assert_false(passes("image", conds[i], "*", KSM_F_IMAGE, NULL));
	}
	assert_true(passes("image", "is_not", "/x", KSM_F_IMAGE, NULL));

	struct ksm_rules *r = ok("events:\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - user: {is: root}\n"
				 "      - uid: {is: 0}\n");
	struct ksm_rule_input in = ev(KSM_EV_THREAD_CREATE); /* knows nothing */
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_USER, "root");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_glob_semantics(void **state)
{
	(void)state;
	/* '*' and '?' match '/' and leading dots */
	assert_true(passes("path", "glob", "/usr/lib/*", KSM_F_PATH, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(passes("path", "glob", "/usr/lib/*", KSM_F_PATH, "/usr/lib/"));
	assert_false(passes("path", "glob", "/usr/lib/*", KSM_F_PATH, "/usr/lib"));
	assert_true(passes("path", "glob", "*/.cache/*", KSM_F_PATH, "/home/a/.cache/x/y"));
	assert_true(passes("path", "glob", "/tmp/*", KSM_F_PATH, "/tmp/.hidden"));
	assert_true(passes("path", "glob", "/a?b", KSM_F_PATH, "/a/b"));
	assert_true(passes("path", "glob", "*", KSM_F_PATH, ""));
	/* the whole string must match */
	assert_false(passes("path", "glob", "/usr/*.so", KSM_F_PATH, "/usr/lib/libz.so.1"));
	assert_true(passes("path", "glob", "/usr/*.so*", KSM_F_PATH, "/usr/lib/libz.so.1"));
	/* bracket expressions, classes, negation, escapes */
	assert_true(passes("comm", "glob", "kworker[0-9]*", KSM_F_COMM, "kworker7/u8"));
	assert_false(passes("comm", "glob", "kworker[0-9]*", KSM_F_COMM, "kworkerX"));
	assert_true(passes("comm", "glob", "[!a]*", KSM_F_COMM, "bash"));
	assert_false(passes("comm", "glob", "[!a]*", KSM_F_COMM, "ash"));
	assert_true(passes("comm", "glob", "[^a]*", KSM_F_COMM, "bash"));
	assert_true(passes("comm", "glob", "x[[:digit:]]", KSM_F_COMM, "x5"));
	assert_false(passes("comm", "glob", "x[[:digit:]]", KSM_F_COMM, "xa"));
	assert_true(passes("comm", "glob", "[]]", KSM_F_COMM, "]"));
	assert_true(passes("cmdline", "glob", "a\\*", KSM_F_CMDLINE, "a*"));
	assert_false(passes("cmdline", "glob", "a\\*", KSM_F_CMDLINE, "ab"));
	assert_true(passes("cmdline", "glob", "a\\[b", KSM_F_CMDLINE, "a[b"));
	/* case matters */
	assert_false(passes("path", "glob", "*.SO", KSM_F_PATH, "/x.so"));
}

/* ---- structure ------------------------------------------------------------- */

static void test_include_exclude(void **state)
{
	(void)state;
	/* no rules at all: everything passes */
	struct ksm_rules *r = ok("events: {}\n");
	struct ksm_rule_input in = full_exec();
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	r = ok("events:\n"
	       "  process_exec:\n"
	       "    include:\n"
	       "      - image: {ends_with: /curl}\n"
	       "      - image: {ends_with: /wget}\n"
	       "    exclude:\n"
	       "      - user: {is: alice}\n");
	in = full_exec();
	assert_false(ksm_rules_pass(r, &in)); /* included, but exclude wins */
	set(&in, KSM_F_USER, "bob");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_IMAGE, "/usr/bin/wget");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_IMAGE, "/usr/bin/ls"); /* includes present, none matches */
	assert_false(ksm_rules_pass(r, &in));
	/* other types are untouched */
	in.type = KSM_EV_PROCESS_EXIT;
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* only excludes: everything else passes */
	r = ok("events:\n  process_exec:\n    exclude:\n      - comm: cron\n      - comm: {is: atd}\n");
	in = full_exec();
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_COMM, "cron");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_COMM, "atd");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* an empty exclude list is allowed */
	r = ok("events:\n  process_exec:\n    exclude: []\n");
	in = full_exec();
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_all_any(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  process_exec:\n"
				 "    include:\n"
				 "      - all:\n"
				 "          - cmdline: {contains: \"http://\"}\n"
				 "          - any:\n"
				 "              - user: {is: root}\n"
				 "              - all:\n"
				 "                  - uid: {is: 1000}\n"
				 "                  - comm: {is: curl}\n");
	struct ksm_rule_input in = full_exec(); /* alice, uid 1000, curl, http:// */
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_COMM, "wget");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_USER, "root");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_CMDLINE, "curl https://x");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* several conditions on a field, and several keys in a rule: all */
	r = ok("events:\n"
	       "  process_exec:\n"
	       "    exclude:\n"
	       "      - image: {begins_with: /usr/, ends_with: sh}\n"
	       "      - comm: cron\n"
	       "        uid: 0\n");
	in = full_exec();
	set(&in, KSM_F_IMAGE, "/usr/bin/bash");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_IMAGE, "/bin/bash");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_IMAGE, "/usr/bin/bashx");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_COMM, "cron");
	assert_true(ksm_rules_pass(r, &in)); /* uid 1000 */
	setn(&in, KSM_F_UID, 0);
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* flow style and deep nesting */
	r = ok("events: {image_load: {exclude: [{any: [{all: [{any: [{path: {glob: '*.so'}}]}]}]}]}}\n");
	in = ev(KSM_EV_IMAGE_LOAD);
	set(&in, KSM_F_PATH, "/lib/a.so");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_PATH, "/lib/a.so.1");
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_all_section(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - pid: {is: 1}\n"
				 "  process_exec:\n"
				 "    exclude:\n"
				 "      - comm: cron\n");
	for (unsigned t = KSM_EV_PROCESS_CREATE; t <= KSM_EV_IMAGE_LOAD; t++) {
		struct ksm_rule_input in = ev(t);
		setn(&in, KSM_F_PID, 1);
		assert_false(ksm_rules_pass(r, &in));
		setn(&in, KSM_F_PID, 2);
		assert_true(ksm_rules_pass(r, &in));
		set(&in, KSM_F_COMM, "cron");
		assert_int_equal(ksm_rules_pass(r, &in), t != KSM_EV_PROCESS_EXEC);
	}
	/* types a configuration cannot name always pass */
	struct ksm_rule_input in = ev(KSM_EV_EVENTS_LOST);
	setn(&in, KSM_F_PID, 1);
	assert_true(ksm_rules_pass(r, &in));
	in.type = KSM_EV_EXEC_BLOCKED;
	assert_true(ksm_rules_pass(r, &in));
	in.type = KSM_EV_MAX + 5;
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* include rules of `all` and of the type: one of either */
	r = ok("events:\n"
	       "  all:\n"
	       "    include:\n"
	       "      - user: root\n"
	       "  process_exec:\n"
	       "    include:\n"
	       "      - image: {ends_with: /curl}\n");
	in = full_exec(); /* alice, curl */
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_IMAGE, "/bin/ls");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_USER, "root");
	assert_true(ksm_rules_pass(r, &in));
	in = ev(KSM_EV_PROCESS_EXIT);
	set(&in, KSM_F_IMAGE, "/usr/bin/curl"); /* the exec include is not for exits */
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_USER, "root");
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

static void test_on_off(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  thread_create: off\n"
				 "  thread_exit: false\n"
				 "  process_exit: on\n"
				 "  image_load: 'off'\n"
				 "  process_create: true\n");
	for (unsigned t = KSM_EV_PROCESS_CREATE; t <= KSM_EV_IMAGE_LOAD; t++) {
		struct ksm_rule_input in = ev(t);
		bool off = t == KSM_EV_THREAD_CREATE || t == KSM_EV_THREAD_EXIT || t == KSM_EV_IMAGE_LOAD;
		assert_int_equal(ksm_rules_pass(r, &in), !off);
	}
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_THREAD_CREATE), 0);
	ksm_rules_free(r);

	/* NULL rules: everything passes */
	struct ksm_rule_input in = full_exec();
	assert_true(ksm_rules_pass(NULL, &in));
	assert_int_equal(ksm_rules_fields_used(NULL, KSM_EV_PROCESS_EXEC), 0);
	struct ksm_kernel_filter kf;
	memset(&kf, 0xff, sizeof(kf));
	ksm_rules_kernel_filter(NULL, &kf);
	assert_int_equal(kf.disabled_types, 0);
	assert_int_equal(kf.n_pid_excl + kf.n_uid_excl + kf.n_comm_excl + kf.n_prefix_excl, 0);
	ksm_rules_free(NULL);
}

/* The container fields: strings of the enrichment, absent on the host;
 * pid_ns a number. */
static void test_container_fields(void **state)
{
	(void)state;
	const char *id = "54e915531b6a5a878088d94d44ca8ca941ee6ee852be1314e272d9c14004661e";
	assert_true(passes("container_id", "begins_with", "54e915", KSM_F_CONTAINER_ID, id));
	assert_false(passes("container_id", "begins_with", "54e916", KSM_F_CONTAINER_ID, id));
	assert_false(passes("container_id", "begins_with", "54e915", KSM_F_CONTAINER_ID, NULL));
	assert_true(passes("container_runtime", "is", "podman", KSM_F_CONTAINER_RUNTIME, "podman"));
	assert_false(passes("container_runtime", "is", "docker", KSM_F_CONTAINER_RUNTIME, "podman"));
	assert_true(passes("cgroup", "glob", "/libpod_parent/*", KSM_F_CGROUP,
			   "/libpod_parent/libpod-54e9"));

	struct ksm_rules *r = ok("events:\n  all:\n    exclude:\n      - pid_ns: {is: 4026531836}\n"
				 "      - container_runtime: {is: podman}\n");
	struct ksm_rule_input in = full_exec();
	setn(&in, KSM_F_PID_NS, 4026531836);
	assert_false(ksm_rules_pass(r, &in)); /* the excluded pid namespace */
	setn(&in, KSM_F_PID_NS, 4026532500);
	assert_true(ksm_rules_pass(r, &in)); /* a host process: no runtime */
	set(&in, KSM_F_CONTAINER_RUNTIME, "podman");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
	char err[512];
	assert_int_not_equal(load_text("events:\n  all:\n    exclude:\n      - pid_ns: {begins_with: '40'}\n",
				       &r, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "pid_ns"));
}

static void test_fields_used(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - pid: 1\n"
				 "  process_exec:\n"
				 "    include:\n"
				 "      - any: [{cmdline: {contains: x}}, {all: [{user: root}, {parent_image: /x}]}]\n"
				 "  image_load:\n"
				 "    exclude:\n"
				 "      - path: {glob: '*'}\n"
				 "  thread_exit: off\n");
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_PROCESS_EXEC),
			 (1u << KSM_F_PID) | (1u << KSM_F_CMDLINE) | (1u << KSM_F_USER) |
				 (1u << KSM_F_PARENT_IMAGE));
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_IMAGE_LOAD), (1u << KSM_F_PID) | (1u << KSM_F_PATH));
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_PROCESS_EXIT), 1u << KSM_F_PID);
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_THREAD_EXIT), 0);
	assert_int_equal(ksm_rules_fields_used(r, KSM_EV_EVENTS_LOST), 0);
	assert_int_equal(ksm_rules_fields_used(r, 1000), 0);
	ksm_rules_free(r);
}

static void test_yaml_forms(void **state)
{
	(void)state;
	/* comments, document markers, quoting styles, block scalars */
	struct ksm_rules *r = ok("%YAML 1.1\n"
				 "---\n"
				 "# comment\n"
				 "events:   # comment\n"
				 "  process_exec:\n"
				 "    include:\n"
				 "      - cmdline: {is: \"a \\\"b\\\"\\tc\"}\n"
				 "      - cmdline: {is: 'it''s'}\n"
				 "      - cmdline:\n"
				 "          is: |-\n"
				 "            two\n"
				 "            lines\n"
				 "      - comm: {is: \"null\"}\n"
				 "...\n");
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, KSM_F_CMDLINE, "a \"b\"\tc");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_CMDLINE, "it's");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_CMDLINE, "two\nlines");
	assert_true(ksm_rules_pass(r, &in));
	set(&in, KSM_F_CMDLINE, "x");
	assert_false(ksm_rules_pass(r, &in));
	set(&in, KSM_F_COMM, "null");
	assert_true(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* anchors are harmless (aliases are refused) */
	r = ok("events:\n  process_exec: &x\n    exclude: [{comm: a}]\n");
	ksm_rules_free(r);
	/* CRLF line ends */
	r = ok("events:\r\n  process_exec:\r\n    exclude:\r\n      - comm: a\r\n");
	in = ev(KSM_EV_PROCESS_EXEC);
	set(&in, KSM_F_COMM, "a");
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	bad("events:\n"
	    "  process_exec:\n"
	    "    include:\n"
	    "      - image: {startswith: /usr}\n",
	    4, "unknown condition 'startswith' (expected is, is_not, contains, begins_with, ends_with, glob)");
	bad("events:\n"
	    "  process_exec:\n"
	    "    include:\n"
	    "      - image:\n"
	    "          ends_with: x\n"
	    "          startswith: y\n",
	    6, "unknown condition 'startswith'");
	bad("events:\n  proces_exec: off\n", 2,
	    "unknown event type 'proces_exec' (expected process_create, process_exec, process_exit, "
	    "thread_create, thread_exit, image_load, all)");
	bad("events:\n  events_lost: off\n", 2, "event type 'events_lost' cannot be configured");
	bad("events:\n  exec_blocked:\n    exclude: []\n", 2, "'exec_blocked' cannot be configured");
	bad("events:\n  image_load:\n    exclude:\n      - imag: {is: x}\n", 4,
	    "unknown field 'imag' (expected image, path, cmdline, parent_image, user, uid, pid, comm, container_id, container_runtime, cgroup, pid_ns, all, any)");
	bad("events:\n  image_load:\n    exlude:\n      - path: {is: x}\n", 3,
	    "unknown key 'exlude' in 'image_load' (expected include, exclude)");
	bad("event:\n  image_load: off\n", 1, "unknown key 'event' (expected events, options)");

	/* numeric fields */
	bad("events:\n  all:\n    exclude:\n      - uid: {contains: 3}\n", 4,
	    "condition 'contains' does not apply to numeric field 'uid' (expected is, is_not)");
	bad("events:\n  all:\n    exclude:\n      - pid: {glob: '1*'}\n", 4,
	    "condition 'glob' does not apply to numeric field 'pid'");
	bad("events:\n  all:\n    exclude:\n      - uid: {is: root}\n", 4,
	    "'uid' takes an integer from 0 to 4294967295, not 'root'");
	bad("events:\n  all:\n    exclude:\n      - uid: -1\n", 4, "'uid' takes an integer");
	bad("events:\n  all:\n    exclude:\n      - pid: {is: 4294967296}\n", 4, "'pid' takes an integer");
	bad("events:\n  all:\n    exclude:\n      - pid: {is: 0x10}\n", 4, "'pid' takes an integer");
	bad("events:\n  all:\n    exclude:\n      - pid: {is: 1.5}\n", 4, "'pid' takes an integer");
	bad("events:\n  all:\n    exclude:\n      - pid: {is: ''}\n", 4, "'pid' takes an integer");

	/* wrong value types */
	bad("events:\n  all:\n    exclude:\n      - image: {is: [a, b]}\n", 4,
	    "'is' on 'image' takes a string, not a list");
	bad("events:\n  all:\n    exclude:\n      - image: {is: {a: b}}\n", 4,
	    "'is' on 'image' takes a string, not a mapping");
	bad("events:\n  all:\n    exclude:\n      - uid: {is: [1]}\n", 4,
	    "'is' on 'uid' takes an integer, not a list");
	bad("events:\n  all:\n    exclude:\n      - image: {is: }\n", 4, "missing value for 'is' on 'image' (write \"\" for an empty string)");
	bad("events:\n  all:\n    exclude:\n      - uid: {is: ~}\n", 4, "missing value for 'is' on 'uid'");
	bad("events:\n  all:\n    exclude:\n      - image:\n", 4, "'image' takes conditions such as {is: ...} or a value, not nothing");
	bad("events:\n  all:\n    exclude:\n      - image: {}\n", 4, "not an empty mapping");
	bad("events:\n  all:\n    exclude:\n      - image: [a]\n", 4, "'image' takes conditions such as {is: ...} or a value, not a list");
	bad("events:\n  all:\n    exclude:\n      - image\n", 4,
	    "a rule must be a mapping such as 'image: {ends_with: /curl}', not 'image'");
	bad("events:\n  all:\n    exclude:\n      - {}\n", 4, "empty rule");
	bad("events:\n  all:\n    exclude:\n      - [a]\n", 4, "a rule must be a mapping");
	bad("events:\n  all:\n    exclude:\n      - cmdline: {is: \"a\\0b\"}\n", 4, "the value of 'is' on 'cmdline' contains a NUL character");
	bad("events:\n  all:\n    exclude:\n      - comm: {is: sixteen_bytes_xx}\n", 4,
	    "'comm' is at most 15 bytes long; 'sixteen_bytes_xx' (16 bytes) never occurs");
	bad("events:\n  all:\n    exclude:\n      - comm: {ends_with: sixteen_bytes_xx}\n", 4, "at most 15 bytes");
	bad("events:\n  all:\n    exclude:\n      - path: {glob: '/usr/[ab'}\n", 4,
	    "invalid glob '/usr/[ab': unterminated '['");
	bad("events:\n  all:\n    exclude:\n      - path: {glob: '/usr/[[:digit:]'}\n", 4, "unterminated '['");
	bad("events:\n  all:\n    exclude:\n      - path: {glob: '/usr/x\\'}\n", 4, "ends with a lone '\\'");
	bad("events:\n  all:\n    exclude:\n      - path: {glob: '/usr/[[:digits:]]'}\n", 4,
	    "unknown character class");

	/* sections */
	bad("events:\n  process_exec:\n    include: []\n", 3,
	    "empty include list (no event could pass; to report no process_exec event, write 'process_exec: off')");
	bad("events:\n  process_exec:\n    include:\n  thread_exit: off\n", 3,
	    "'include' takes a list of rules, not nothing");
	bad("events:\n  process_exec:\n    exclude: {comm: x}\n", 3, "'exclude' takes a list of rules, not a mapping");
	bad("events:\n  process_exec: maybe\n", 2,
	    "'process_exec' takes on, off or a mapping with include/exclude, not 'maybe'");
	bad("events:\n  process_exec:\n", 2, "'process_exec' takes on, off or a mapping with include/exclude, not nothing");
	bad("events:\n  process_exec:\n    - exclude\n", 3, "not a list");
	bad("events:\n  all: off\n", 2, "'all' takes a mapping with include/exclude, not 'off'");
	bad("events:\n  - process_exec\n", 2, "'events' takes a mapping of event types, not a list");
	bad("events: off\n", 1, "'events' takes a mapping of event types, not 'off'");
	bad("events:\n  all:\n    exclude:\n      - any: []\n", 4, "empty 'any' list");
	bad("events:\n  all:\n    exclude:\n      - all:\n          []\n", 5, "empty 'all' list");
	bad("events:\n  all:\n    exclude:\n      - any: {comm: x}\n", 4, "'any' takes a list of rules, not a mapping");
	bad("events:\n  all:\n    exclude:\n      - any:\n          - comm: x\n          - bogus: y\n", 6,
	    "unknown field 'bogus'");
	bad("events:\n  all:\n    exclude:\n      - any:\n          - comm: x\n          - all:\n              - comm: {has: y}\n",
	    7, "unknown condition 'has'");

	/* duplicate keys, at every level */
	bad("events:\n  thread_exit: off\n  thread_exit: on\n", 3, "duplicate key 'thread_exit' (first on line 2)");
	bad("events:\n  all:\n    exclude:\n      - image: {is: a, is: b}\n", 4, "duplicate key 'is'");
	bad("events:\n  all:\n    exclude:\n      - image: {is: a}\n        image: {is: b}\n", 5,
	    "duplicate key 'image' (first on line 4)");
	bad("events:\n  all:\n    exclude: []\n    exclude: []\n", 4, "duplicate key 'exclude'");
	bad("events: {}\nevents: {}\n", 2, "duplicate key 'events'");

	/* the file as a whole */
	bad("", 1, "empty configuration");
	bad("# only a comment\n\n", 1, "empty configuration");
	bad("- a\n- b\n", 1, "the configuration must be a mapping with an 'events' key, not a list");
	bad("\n\nhello\n", 3, "the configuration must be a mapping with an 'events' key, not 'hello'");
	bad("events: {}\n---\nevents: {}\n", 2, "more than one YAML document");
	bad("events:\n  process_exec: &a\n    exclude: []\n  process_exit: *a\n", 4, "aliases (*name) are not supported");
	bad("? [a]\n: b\n", 1, "a key must be a plain name, not a list");
	bad("events:\n  ~: off\n", 2, "empty key");
	bad("events:\n  image_load:\n    exclude:\n      - path: {glob: *.so}\n", 4,
	    "YAML syntax error: a value cannot start with '*' unless quoted ('*.so')");
	bad("events:\n  image_load:\n    exclude:\n      - path:\n          glob: *foo\n", 5,
	    "aliases (*name) are not supported; quote a value that starts with '*'");

	/* YAML syntax, with libyaml's line */
	bad("events:\n  process_exec:\n    include:\n      - image: {is: x\n  thread_exit: off\n", 5,
	    "YAML syntax error: ");
	bad("events:\n  process_exec: off\n bad: 1\n", 3, "YAML syntax error: ");
	bad("events:\n\tprocess_exec: off\n", 2, "YAML syntax error: found character that cannot start any token (a tab: indent with spaces)");
	bad("events:\n  image_load:\n    exclude:\n      - path: \"abc\n", 4,
	    "YAML syntax error: found unexpected end of stream at the end of the file");
	bad("events: {}\n# \xff\n", 2, "invalid text: ");
	bad("events:\n  process_exec: off\n  process_exit: 'x\x01'\n", 3, "invalid text: ");

	/* messages stay on one line and bounded, whatever the names */
	bad("events:\n  \"a\\nb\": off\n", 2, "unknown event type 'a?b'");
	bad("events:\n  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: off\n", 2,
	    "unknown event type 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (expected");

	/* deep nesting is bounded */
	char deep[4096] = "events:\n  all:\n    exclude:\n      - ";
	for (int i = 0; i < 100; i++)
		strcat(deep, "{any: [");
	strcat(deep, "{comm: x}");
	for (int i = 0; i < 100; i++)
		strcat(deep, "]}");
	strcat(deep, "\n");
	bad(deep, 4, "nested more than 64 levels deep");
}

static void test_file_errors(void **state)
{
	(void)state;
	char err[512];
	struct ksm_rules *r = (struct ksm_rules *)1;

	assert_int_equal(ksm_rules_load("/nonexistent/ksysmon.yaml", &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_string_equal(err, "/nonexistent/ksysmon.yaml: cannot open: No such file or directory");

	r = (struct ksm_rules *)1;
	assert_int_equal(ksm_rules_load("/tmp", &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_string_equal(err, "/tmp: not a regular file");

	/* a FIFO nobody writes to is refused at once, not waited on */
	char fifo[] = "/tmp/ksm-config-fifo-XXXXXX";
	int tmpfd = mkstemp(fifo);
	assert_true(tmpfd >= 0);
	close(tmpfd);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	r = (struct ksm_rules *)1;
	assert_int_equal(ksm_rules_load(fifo, &r, err, sizeof(err)), -1);
	unlink(fifo);
	assert_null(r);
	assert_non_null(strstr(err, ": not a regular file"));

	/* a short error buffer is cut, never overrun */
	char small[12];
	r = (struct ksm_rules *)1;
	assert_int_equal(ksm_rules_load("/nonexistent/ksysmon.yaml", &r, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);

	/* in memory, without a trailing newline */
	const char text[] = "events: {process_exec: off}";
	assert_int_equal(ksm_config_parse("mem", text, sizeof(text) - 1, &r, err, sizeof(err)), 0);
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);
	assert_int_equal(ksm_config_parse("mem", "events: [", 9, &r, err, sizeof(err)), -1);
	assert_null(r);
	if (strncmp(err, "mem:1: YAML syntax error: ", 26))
		fail_msg("%s", err);
}

/* ---- the kernel-decidable part --------------------------------------------- */

#define T(x) (1u << KSM_EV_##x)

static size_t find_pid(const struct ksm_kernel_filter *kf, long long v)
{
	for (size_t i = 0; i < kf->n_pid_excl; i++)
		if (kf->pid_excl[i].value == v)
			return i;
	fail_msg("pid %lld not in the kernel filter", v);
	return 0;
}

static size_t find_uid(const struct ksm_kernel_filter *kf, long long v)
{
	for (size_t i = 0; i < kf->n_uid_excl; i++)
		if (kf->uid_excl[i].value == v)
			return i;
	fail_msg("uid %lld not in the kernel filter", v);
	return 0;
}

static size_t find_comm(const struct ksm_kernel_filter *kf, const char *c)
{
	for (size_t i = 0; i < kf->n_comm_excl; i++)
		if (!strcmp(kf->comm_excl[i].comm, c))
			return i;
	fail_msg("comm %s not in the kernel filter", c);
	return 0;
}

static size_t find_prefix(const struct ksm_kernel_filter *kf, const char *p)
{
	for (size_t i = 0; i < kf->n_prefix_excl; i++)
		if (kf->prefix_excl[i].len == strlen(p) && !strcmp(kf->prefix_excl[i].prefix, p))
			return i;
	fail_msg("prefix %s not in the kernel filter", p);
	return 0;
}

static void test_kernel_filter(void **state)
{
	(void)state;
	struct ksm_kernel_filter kf;
	struct ksm_rules *r = ok("events:\n"
				 "  thread_create: off\n"
				 "  thread_exit: off\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - pid: {is: 1}\n"                 /* every type that is on */
				 "      - comm: {is: cron}\n"             /* create, exec, exit */
				 "      - uid: 33\n"                      /* exec only */
				 "      - image: {begins_with: /opt/}\n" /* exec only */
				 "      - path: {begins_with: /usr/lib/}\n" /* image_load only */
				 "      - user: root\n"                   /* never */
				 "  process_exec:\n"
				 "    include:\n"
				 "      - uid: 5\n"                       /* includes never */
				 "    exclude:\n"
				 "      - image: {begins_with: /usr/lib/systemd/}\n"
				 "      - pid: 1\n"                       /* merged with the all: one */
				 "      - uid: {is_not: 44}\n"            /* not `is` */
				 "      - comm: {begins_with: kwork}\n"   /* not `is` */
				 "      - image: {is: /bin/true}\n"       /* not begins_with */
				 "      - cmdline: {begins_with: /x}\n"   /* not a kernel field */
				 "      - parent_image: {begins_with: /x}\n"
				 "      - any:\n"                         /* each member on its own */
				 "          - comm: {is: atd}\n"
				 "          - pid: {is: 2}\n"
				 "          - cmdline: {contains: secret}\n" /* stays in user space */
				 "          - any: [{uid: 77}]\n"
				 "      - all: [{pid: 3}]\n"               /* one member: that member */
				 "      - all: [{pid: 4}, {uid: 4}]\n"     /* both at once: user space */
				 "      - comm: {is: a, is_not: b}\n"      /* two conditions: user space */
				 "      - comm: x\n"
				 "        uid: 9\n"                        /* two keys: user space */
				 "  image_load:\n"
				 "    exclude:\n"
				 "      - path: {begins_with: /usr/lib/}\n" /* merged */
				 "      - image: {begins_with: /never/}\n" /* image is not in image_load */
				 "      - comm: {is: ld}\n");              /* no comm in image_load records */
	ksm_rules_kernel_filter(r, &kf);
	unsigned on = KSM_ALL_EVENTS & ~(T(THREAD_CREATE) | T(THREAD_EXIT));
	assert_int_equal(kf.disabled_types, T(THREAD_CREATE) | T(THREAD_EXIT));

	assert_int_equal(kf.n_pid_excl, 3);
	assert_int_equal(kf.pid_excl[find_pid(&kf, 1)].types, on);
	assert_int_equal(kf.pid_excl[find_pid(&kf, 2)].types, T(PROCESS_EXEC));
	assert_int_equal(kf.pid_excl[find_pid(&kf, 3)].types, T(PROCESS_EXEC));

	assert_int_equal(kf.n_uid_excl, 2);
	assert_int_equal(kf.uid_excl[find_uid(&kf, 33)].types, T(PROCESS_EXEC));
	assert_int_equal(kf.uid_excl[find_uid(&kf, 77)].types, T(PROCESS_EXEC));

	assert_int_equal(kf.n_comm_excl, 2);
	assert_int_equal(kf.comm_excl[find_comm(&kf, "cron")].types,
			 T(PROCESS_CREATE) | T(PROCESS_EXEC) | T(PROCESS_EXIT));
	assert_int_equal(kf.comm_excl[find_comm(&kf, "atd")].types, T(PROCESS_EXEC));

	assert_int_equal(kf.n_prefix_excl, 3);
	size_t i = find_prefix(&kf, "/opt/");
	assert_int_equal(kf.prefix_excl[i].types, T(PROCESS_EXEC));
	assert_int_equal(kf.prefix_excl[i].len, 5);
	assert_int_equal(kf.prefix_excl[find_prefix(&kf, "/usr/lib/")].types, T(IMAGE_LOAD));
	assert_int_equal(kf.prefix_excl[find_prefix(&kf, "/usr/lib/systemd/")].types, T(PROCESS_EXEC));

	/* user space still decides everything the kernel would */
	struct ksm_rule_input in = full_exec();
	assert_true(ksm_rules_pass(r, &in) == false); /* uid 1000 is not 44 */
	setn(&in, KSM_F_UID, 44);
	set(&in, KSM_F_COMM, "ls");
	setn(&in, KSM_F_PID, 10);
	set(&in, KSM_F_IMAGE, "/bin/ls");
	set(&in, KSM_F_CMDLINE, "ls");
	assert_false(ksm_rules_pass(r, &in)); /* the include wants uid 5 */
	ksm_rules_free(r);

	/* no config: nothing */
	r = ok("events: {}\n");
	memset(&kf, 0xff, sizeof(kf));
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.disabled_types, 0);
	assert_int_equal(kf.n_pid_excl + kf.n_uid_excl + kf.n_comm_excl + kf.n_prefix_excl, 0);
	ksm_rules_free(r);

	/* what does not fit stays in user space */
	char text[16384] = "events:\n  all:\n    exclude:\n";
	for (int k = 0; k < 70; k++) {
		char line[128];
		snprintf(line, sizeof(line), "      - pid: %d\n      - uid: %d\n      - comm: c%d\n", k, k, k);
		strcat(text, line);
	}
	strcat(text, "  process_exec:\n    exclude:\n");
	for (int k = 0; k < 20; k++) {
		char line[128];
		snprintf(line, sizeof(line), "      - image: {begins_with: /p%d/}\n", k);
		strcat(text, line);
	}
	strcat(text, "      - image: {begins_with: \"\"}\n");
	strcat(text, "      - image: {begins_with: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n");
	strcat(text, "      - image: {begins_with: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n");
	r = ok(text);
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.n_pid_excl, 64);
	assert_int_equal(kf.n_uid_excl, 64);
	assert_int_equal(kf.n_comm_excl, 64);
	assert_int_equal(kf.n_prefix_excl, 16);
	assert_int_equal(kf.pid_excl[63].value, 63);
	assert_string_equal(kf.comm_excl[63].comm, "c63");
	assert_string_equal(kf.prefix_excl[15].prefix, "/p15/");
	in = ev(KSM_EV_PROCESS_EXIT);
	setn(&in, KSM_F_PID, 69); /* beyond the kernel's share: user space excludes it */
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* a 63-byte prefix fits; the empty one and a 64-byte one do not */
	r = ok("events:\n  process_exec:\n    exclude:\n"
	       "      - image: {begins_with: \"\"}\n"
	       "      - image: {begins_with: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n"
	       "      - image: {begins_with: /bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}\n"
	       "      - comm: {is: fifteen_bytes_x}\n");
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.n_prefix_excl, 1);
	assert_int_equal(kf.prefix_excl[0].len, 63);
	assert_int_equal(kf.prefix_excl[0].prefix[63], '\0');
	assert_int_equal(kf.n_comm_excl, 1);
	assert_string_equal(kf.comm_excl[0].comm, "fifteen_bytes_x");
	ksm_rules_free(r);
}

static const struct ksm_num_excl *find_num(const struct ksm_num_excl *list, size_t n, long long v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].value == v)
			return &list[i];
	fail_msg("%lld not in the kernel filter", v);
	return NULL;
}

#define NS_TYPES (T(PROCESS_CREATE) | T(PROCESS_EXEC) | T(PROCESS_EXIT) | T(IMAGE_LOAD))

static void test_kernel_filter_pid_ns(void **state)
{
	(void)state;
	struct ksm_kernel_filter kf;
	/* exclusions: `is` on pid_ns, for the types whose records carry it */
	struct ksm_rules *r = ok("events:\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - pid_ns: 4026531836\n"
				 "      - pid_ns: {is_not: 7}\n"           /* not `is` */
				 "      - all: [{pid_ns: 8}, {pid: 1}]\n"  /* both at once */
				 "  process_exec:\n"
				 "    exclude:\n"
				 "      - any: [{pid_ns: 9}, {cmdline: {contains: x}}]\n");
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.n_pidns_excl, 2);
	assert_int_equal(find_num(kf.pidns_excl, kf.n_pidns_excl, 4026531836)->types, NS_TYPES);
	assert_int_equal(find_num(kf.pidns_excl, kf.n_pidns_excl, 9)->types, T(PROCESS_EXEC));
	assert_int_equal(kf.pidns_incl_types, 0);
	ksm_rules_free(r);

	/* includes: a type whose include rules (its own and all's) are all
	 * pid_ns values gets the set; another condition keeps it in user space */
	r = ok("events:\n"
	       "  all:\n"
	       "    include:\n"
	       "      - pid_ns: 11\n"
	       "  process_exec:\n"
	       "    include:\n"
	       "      - any: [{pid_ns: 12}, {all: [{pid_ns: 13}]}]\n"
	       "  process_exit:\n"
	       "    include:\n"
	       "      - comm: sh\n"
	       "  image_load: off\n");
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.pidns_incl_types, T(PROCESS_CREATE) | T(PROCESS_EXEC));
	assert_int_equal(find_num(kf.pidns_incl, kf.n_pidns_incl, 11)->types & kf.pidns_incl_types,
			 T(PROCESS_CREATE) | T(PROCESS_EXEC));
	assert_int_equal(find_num(kf.pidns_incl, kf.n_pidns_incl, 12)->types, T(PROCESS_EXEC));
	assert_int_equal(find_num(kf.pidns_incl, kf.n_pidns_incl, 13)->types, T(PROCESS_EXEC));
	assert_int_equal(kf.n_pidns_excl, 0);
	/* user space agrees: 12 passes exec, not create */
	struct ksm_rule_input in = ev(KSM_EV_PROCESS_EXEC);
	setn(&in, KSM_F_PID_NS, 12);
	assert_true(ksm_rules_pass(r, &in));
	in = ev(KSM_EV_PROCESS_CREATE);
	setn(&in, KSM_F_PID_NS, 12);
	assert_false(ksm_rules_pass(r, &in));
	ksm_rules_free(r);

	/* more values than the set holds: that type stays in user space */
	char text[8192] = "events:\n  process_exec:\n    include:\n";
	for (int k = 0; k < KSM_MAX_EXCL + 1; k++) {
		char line[64];
		snprintf(line, sizeof(line), "      - pid_ns: %d\n", 100 + k);
		strcat(text, line);
	}
	strcat(text, "  process_create:\n    include:\n      - pid_ns: 5\n");
	r = ok(text);
	ksm_rules_kernel_filter(r, &kf);
	assert_int_equal(kf.pidns_incl_types, T(PROCESS_CREATE));
	ksm_rules_free(r);
}

/* ---- the shipped example and the documentation's examples ------------------ */

static void test_example_and_docs(void **state)
{
	(void)state;
	char err[512];
	struct ksm_rules *r = NULL;

	if (access("examples/ksysmon.yaml", R_OK) || access("docs/config.md", R_OK))
		skip(); /* not run from the source tree */
	if (ksm_rules_load("examples/ksysmon.yaml", &r, err, sizeof(err)))
		fail_msg("%s", err);
	struct ksm_kernel_filter kf;
	ksm_rules_kernel_filter(r, &kf);
	assert_true(kf.disabled_types & T(THREAD_CREATE));
	ksm_rules_free(r);

	/* every ```yaml block of docs/config.md is a valid configuration */
	FILE *f = fopen("docs/config.md", "r");
	assert_non_null(f);
	char line[1024], block[16384];
	size_t n = 0, blocks = 0;
	bool in_block = false;
	unsigned lineno = 0, start = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!in_block && !strcmp(line, "```yaml\n")) {
			in_block = true;
			n = 0;
			start = lineno;
			continue;
		}
		if (in_block && !strcmp(line, "```\n")) {
			in_block = false;
			block[n] = '\0';
			if (ksm_config_parse("docs/config.md", block, n, &r, err, sizeof(err)))
				fail_msg("the example at docs/config.md:%u: %s", start, err);
			ksm_rules_free(r);
			blocks++;
			continue;
		}
		if (in_block) {
			size_t l = strlen(line);
			assert_true(n + l < sizeof(block));
			memcpy(block + n, line, l);
			n += l;
		}
	}
	fclose(f);
	assert_false(in_block);
	assert_true(blocks >= 5);
}

/* A decoded event's path fields as the rules see them: one no root leads
 * to (a tree in no mount namespace) is unknown to them, as a missing field
 * is; the same path from a root is known. */
static void test_unreachable_paths_unknown(void **state)
{
	(void)state;
	struct ksm_rules *r = ok("events:\n"
				 "  all:\n"
				 "    exclude:\n"
				 "      - image: {begins_with: /}\n"
				 "      - path: {begins_with: /}\n"
				 "      - parent_image: {begins_with: /}\n");
	struct ksm_rules *not = ok("events:\n  all:\n    include:\n      - image: {is_not: /x}\n");
	struct ksm_buf scratch = { 0 };
	struct ksm_text slash = { (const uint8_t *)"/sub/w", 6, false, true };
	struct ksm_text shown = { (const uint8_t *)"(unreachable)/sub/w", 19, false, true };

	struct ksm_event ex = { .type = KSM_EV_PROCESS_EXEC, .pid = 1 };
	ex.u.exec.image = slash;
	assert_false(ksm_select_event(r, &ex, &scratch));
	ex.u.exec.image_state = KSM_PATH_UNREACHABLE;
	assert_true(ksm_select_event(r, &ex, &scratch));
	assert_true(ksm_select_event(not, &ex, &scratch)); /* unknown: is_not holds */
	ex.ctx.parent_image = shown;
	ex.ctx.parent_image_flags = KSM_PATH_UNREACHABLE;
	assert_true(ksm_select_event(r, &ex, &scratch));
	ex.ctx.parent_image = slash;
	ex.ctx.parent_image_flags = 0;
	assert_false(ksm_select_event(r, &ex, &scratch));

	struct ksm_event exit_ = { .type = KSM_EV_PROCESS_EXIT, .pid = 1 };
	exit_.ctx.image = shown;
	exit_.ctx.image_flags = KSM_PATH_UNREACHABLE;
	assert_true(ksm_select_event(r, &exit_, &scratch));
	exit_.ctx.image = slash;
	exit_.ctx.image_flags = KSM_PATH_DELETED;
	assert_false(ksm_select_event(r, &exit_, &scratch));

	struct ksm_event load = { .type = KSM_EV_IMAGE_LOAD, .pid = 1 };
	load.u.image.path = slash;
	assert_false(ksm_select_event(r, &load, &scratch));
	load.u.image.path_state = KSM_PATH_UNREACHABLE | KSM_PATH_DELETED;
	assert_true(ksm_select_event(r, &load, &scratch));
	ksm_buf_free(&scratch);
	ksm_rules_free(r);
	ksm_rules_free(not);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_paths_unknown),
		cmocka_unit_test(test_string_conditions),
		cmocka_unit_test(test_strings_with_lengths),
		cmocka_unit_test(test_numeric_fields),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_glob_semantics),
		cmocka_unit_test(test_include_exclude),
		cmocka_unit_test(test_all_any),
		cmocka_unit_test(test_all_section),
		cmocka_unit_test(test_on_off),
		cmocka_unit_test(test_fields_used),
		cmocka_unit_test(test_container_fields),
		cmocka_unit_test(test_yaml_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_kernel_filter),
		cmocka_unit_test(test_kernel_filter_pid_ns),
		cmocka_unit_test(test_example_and_docs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
