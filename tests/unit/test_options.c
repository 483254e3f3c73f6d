// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/pipeline/options.c: the command line. */
#include "unit.h"

#include <errno.h>

#include "pipeline/config.h"
#include "pipeline/options.h"
#include "pipeline/options_table.h"
#include "sinks/output.h"
#include "ksysmon_limits.h"

static struct ksm_options o;
static char err[256];

/* argv of the last parse: getopt may permute it and o.output points into
 * it, so it lives until the next parse */
static char *args[KSM_MAX_PIDS * 2 + 16];
static int nargs;

static void free_args(void)
{
	for (int i = 0; i < nargs; i++)
		free(args[i]);
	nargs = 0;
}

static int teardown(void **state)
{
	(void)state;
	free_args();
	return 0;
}

/* Parses "ksysmon" followed by the given arguments. */
static int parsev(const char *const *list)
{
	free_args();
	args[nargs++] = strdup("ksysmon");
	for (; *list; list++) {
		assert_true(nargs < (int)(sizeof(args) / sizeof(args[0])) - 1);
		args[nargs++] = strdup(*list);
	}
	args[nargs] = NULL;
	memset(err, 0, sizeof(err));
	memset(&o, 0xa5, sizeof(o)); /* every field must be set by the parser */
	int rc = ksm_parse_options(nargs, args, &o, err, sizeof(err));
	if (rc == 0)
		assert_string_equal(err, "");
	else
		assert_true(rc == -1 && err[0] && strlen(err) < sizeof(err) && !strchr(err, '\n'));
	return rc;
}

#define PARSE(...) parsev((const char *const[]){ __VA_ARGS__, NULL })
#define PARSE0() parsev((const char *const[]){ NULL })

#define OK(...)                                                                  \
	do {                                                                     \
		if (PARSE(__VA_ARGS__) != 0)                                     \
			fail_msg("rejected: %s", err);                           \
	} while (0)

/* Rejected, with an error that mentions each of the given words. */
static void expect_error(const char *const *words)
{
	for (; *words; words++)
		if (!strstr(err, *words))
			fail_msg("error \"%s\" does not mention \"%s\"", err, *words);
}

#define BAD(mention, ...)                                                        \
	do {                                                                     \
		if (PARSE(__VA_ARGS__) != -1)                                    \
			fail_msg("accepted: %s", #__VA_ARGS__);                  \
		expect_error((const char *const[]){ mention, NULL });            \
	} while (0)

static void assert_defaults_except_ringbuf(void)
{
	assert_int_equal(o.format, KSM_FORMAT_TEXT);
	assert_int_equal(o.event_mask, KSM_DEFAULT_EVENTS);
	assert_int_equal(o.n_pids, 0);
	assert_int_equal(o.max_args_bytes, KSM_DEFAULT_ARGS_BYTES);
	assert_int_equal(o.latency_ms, 100);
	assert_null(o.output);
	assert_false(o.help);
	assert_false(o.version);
	assert_int_equal(o.n_deny_globs, 0);
	assert_int_equal(o.n_deny_sha256, 0);
	assert_false(o.deny_audit);
	assert_false(o.deny_fail_closed);
	assert_int_equal(o.deny_timeout_ms, KSM_DEFAULT_DENY_TIMEOUT_MS);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(PARSE0(), 0);
	assert_defaults_except_ringbuf();
	assert_int_equal(o.ringbuf_bytes, KSM_DEFAULT_RINGBUF_BYTES);
	assert_int_equal(o.ringbuf_bytes, 16u << 20);
	assert_int_equal(o.max_args_bytes, 65536);
	/* the default set: the five process/thread events, not image loads */
	for (unsigned t = KSM_EV_PROCESS_CREATE; t <= KSM_EV_THREAD_EXIT; t++)
		assert_true(o.event_mask & (1u << t));
	assert_false(o.event_mask & (1u << KSM_EV_IMAGE_LOAD));
	assert_int_equal(o.image_hook, KSM_IMAGE_HOOK_AUTO);
	assert_false(o.event_mask & (1u << KSM_EV_NONE));
	assert_false(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));
}

static void test_format(void **state)
{
	(void)state;
	OK("--format=json");
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	OK("--format", "text");
	assert_int_equal(o.format, KSM_FORMAT_TEXT);
	OK("-f", "json");
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	OK("-fjson");
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	OK("-f", "json", "-f", "text"); /* the last one wins */
	assert_int_equal(o.format, KSM_FORMAT_TEXT);
	OK("--form=json"); /* unambiguous prefix of a long option */
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	BAD("--format", "--format=xml");
	expect_error((const char *const[]){ "xml", NULL });
	BAD("--format", "-f", "JSON");
	BAD("--format", "--format=");
	BAD("--format", "--format", "jsonl");
}

static void test_events(void **state)
{
	(void)state;
	OK("--events=process_exec");
	assert_int_equal(o.event_mask, 1u << KSM_EV_PROCESS_EXEC);
	OK("-e", "process_create,process_exit");
	assert_int_equal(o.event_mask, (1u << KSM_EV_PROCESS_CREATE) | (1u << KSM_EV_PROCESS_EXIT));
	OK("-e", "thread_create,thread_exit,thread_create");
	assert_int_equal(o.event_mask, (1u << KSM_EV_THREAD_CREATE) | (1u << KSM_EV_THREAD_EXIT));
	OK("-e", "image_load");
	assert_int_equal(o.event_mask, 1u << KSM_EV_IMAGE_LOAD);
	OK("--events=all");
	assert_int_equal(o.event_mask, KSM_ALL_EVENTS);
	OK("--events=process_exec,all");
	assert_int_equal(o.event_mask, KSM_ALL_EVENTS);
	OK("--events=all,process_exec");
	assert_int_equal(o.event_mask, KSM_ALL_EVENTS);
	/* a later --events replaces an earlier one */
	OK("-e", "process_exec", "-e", "thread_exit");
	assert_int_equal(o.event_mask, 1u << KSM_EV_THREAD_EXIT);
	/* every name --events accepts is a known type */
	for (unsigned t = 1; t < KSM_EV_MAX; t++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "--events=%s", ksm_event_name(t));
		int rc = PARSE(arg);
		if (KSM_ALL_EVENTS & (1u << t)) {
			assert_int_equal(rc, 0);
			assert_int_equal(o.event_mask, 1u << t);
		} else {
			assert_int_equal(rc, -1);
			expect_error((const char *const[]){ "--events", NULL });
		}
	}

	BAD("--events", "--events=bogus");
	expect_error((const char *const[]){ "bogus", NULL });
	BAD("--events", "--events=events_lost"); /* always on, not selectable */
	BAD("--events", "--events=");
	BAD("--events", "--events=process_exec,");
	BAD("--events", "--events=,process_exec");
	BAD("--events", "--events=process_exec,,thread_exit");
	BAD("--events", "--events=ALL");
	BAD("--events", "--events=Process_Exec");
	BAD("--events", "--events=process_exec ");
	BAD("--events", "--events=process_exec,bogus");
	BAD("--events", "--events=process");
	BAD("--events", "--events=none");
}

static void test_pid(void **state)
{
	(void)state;
	OK("--pid=1");
	assert_int_equal(o.n_pids, 1);
	assert_int_equal(o.pids[0], 1);
	OK("-p", "4194304");
	assert_int_equal(o.pids[0], 4194304);
	OK("-p42", "--pid", "43", "--pid=44");
	assert_int_equal(o.n_pids, 3);
	assert_int_equal(o.pids[0], 42);
	assert_int_equal(o.pids[1], 43);
	assert_int_equal(o.pids[2], 44);
	OK("-p", "007"); /* leading zeros are still decimal */
	assert_int_equal(o.pids[0], 7);

	BAD("--pid", "--pid=0");
	BAD("--pid", "--pid=4194305");
	BAD("--pid", "--pid=-1");
	BAD("--pid", "--pid=+1");
	BAD("--pid", "--pid= 1");
	BAD("--pid", "--pid=1x");
	BAD("--pid", "--pid=1 ");
	BAD("--pid", "--pid=");
	BAD("--pid", "--pid=0x10");
	BAD("--pid", "--pid=1K"); /* no suffixes for pids */
	BAD("--pid", "--pid=1.0");
	BAD("--pid", "--pid=abc");
	BAD("--pid", "--pid=18446744073709551616"); /* overflows strtoull */
	BAD("--pid", "--pid=18446744073709551615");
	BAD("--pid", "--pid=4294967297"); /* would wrap to 1 as uint32 */
	expect_error((const char *const[]){ "4294967297", NULL });
}

/* --container: hex ids or prefixes in either case (a pasted id may be in
 * capitals; engines print lowercase), all, host; anything else one line */
static void test_container(void **state)
{
	(void)state;
	OK("--container", "3f2a", "--container", "3F2A", "--container=AbCdEf0123",
	   "--container", "all", "--container", "host");
	assert_int_equal(o.n_containers, 5);
	assert_string_equal(o.containers[1], "3F2A"); /* as given: lowered when resolved */
	char id[66];
	memset(id, 'F', 64);
	id[64] = '\0';
	OK("--container", id);
	BAD("invalid --container 'ALL'", "--container", "ALL"); /* the keywords are lowercase */
	BAD("invalid --container '3f2g'", "--container", "3f2g");
	BAD("a name is not an id", "--container", "web-1");
	BAD("invalid --container ''", "--container", "");
	id[63] = '\0';
	strcat(id, "F0"); /* 65 digits */
	BAD("invalid --container", "--container", id);
}

/* strtoull skips any leading white space, not just ' ' */
static void test_pid_leading_whitespace(void **state)
{
	(void)state;
	BAD("--pid", "--pid=\t5");
	BAD("--pid", "--pid=\f5");
	BAD("--latency-ms", "--latency-ms=\v5");
	BAD("--ringbuf-size", "--ringbuf-size=\t1M");
}

static void test_pid_limit(void **state)
{
	(void)state;
	static const char *list[2 * KSM_MAX_PIDS + 3];
	static char nums[KSM_MAX_PIDS + 1][16];
	int n = 0;
	for (int i = 0; i < KSM_MAX_PIDS; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%d", 1000 + i);
		list[n++] = "-p";
		list[n++] = nums[i];
	}
	list[n] = NULL;
	assert_int_equal(parsev(list), 0);
	assert_int_equal(o.n_pids, KSM_MAX_PIDS);
	for (int i = 0; i < KSM_MAX_PIDS; i++)
		assert_int_equal(o.pids[i], 1000 + i);

	/* one more */
	snprintf(nums[KSM_MAX_PIDS], sizeof(nums[0]), "%d", 99);
	list[n++] = "--pid";
	list[n++] = nums[KSM_MAX_PIDS];
	list[n] = NULL;
	assert_int_equal(parsev(list), -1);
	expect_error((const char *const[]){ "--pid", "1024", NULL });
}

static void test_max_args_bytes(void **state)
{
	(void)state;
	OK("--max-args-bytes=0");
	assert_int_equal(o.max_args_bytes, 0);
	OK("-a", "4096");
	assert_int_equal(o.max_args_bytes, 4096);
	OK("-a", "1048575");
	assert_int_equal(o.max_args_bytes, KSM_ARGS_CAP - 1);
	BAD("--max-args-bytes", "--max-args-bytes=1048576");
	BAD("--max-args-bytes", "-a", "-1");
	BAD("--max-args-bytes", "-a", "64K"); /* no suffix here */
	BAD("--max-args-bytes", "-a", "");
	BAD("--max-args-bytes", "-a", "1e3");
}

static void test_ringbuf_size(void **state)
{
	(void)state;
	OK("--ringbuf-size=1M");
	assert_int_equal(o.ringbuf_bytes, 1u << 20);
	OK("-b", "1m");
	assert_int_equal(o.ringbuf_bytes, 1u << 20);
	OK("-b", "512K");
	assert_int_equal(o.ringbuf_bytes, 512u << 10);
	OK("-b", "512k");
	assert_int_equal(o.ringbuf_bytes, 512u << 10);
	OK("-b", "1G");
	assert_int_equal(o.ringbuf_bytes, 1u << 30);
	OK("-b", "1g");
	assert_int_equal(o.ringbuf_bytes, 1u << 30);
	OK("-b", "1073741824");
	assert_int_equal(o.ringbuf_bytes, 1u << 30);
	OK("-b", "2097152");
	assert_int_equal(o.ringbuf_bytes, 2u << 20);
	/* the smallest, when the arguments are small enough to fit */
	OK("-b", "64K", "-a", "0");
	assert_int_equal(o.ringbuf_bytes, 65536);
	assert_int_equal(o.max_args_bytes, 0);
	OK("-a", "0", "-b", "65536"); /* order does not matter */
	assert_int_equal(o.ringbuf_bytes, 65536);

	BAD("--ringbuf-size", "-b", "32K");     /* below 64K */
	BAD("--ringbuf-size", "-b", "2G");      /* above 1G */
	BAD("--ringbuf-size", "-b", "3M");      /* not a power of two */
	BAD("--ringbuf-size", "-b", "100000");
	BAD("--ringbuf-size", "-b", "0");
	BAD("--ringbuf-size", "-b", "1T");
	BAD("--ringbuf-size", "-b", "K");
	BAD("--ringbuf-size", "-b", "1KB");
	BAD("--ringbuf-size", "-b", "1.5M");
	BAD("--ringbuf-size", "-b", "-1M");
	BAD("--ringbuf-size", "-b", "");
	BAD("--ringbuf-size", "-b", "18446744073709551615K"); /* shift would overflow */
	BAD("--ringbuf-size", "-b", "17179869184G");
	BAD("--ringbuf-size", "-b", "4294967296K"); /* 4T: power of two, too big */
	expect_error((const char *const[]){ "4294967296K", NULL });
}

static void test_ringbuf_too_small_for_args(void **state)
{
	(void)state;
	/* 3 * (240 + 4 * 4096 + 2 * 1024 + 65536) = 252624 > 128K */
	assert_int_equal(sizeof(struct ksm_process_exec), 240);
	BAD("--ringbuf-size", "-b", "128K");
	expect_error((const char *const[]){ "--max-args-bytes", "131072", "65536", "252624", NULL });
	OK("-b", "256K");
	/* the largest argument limit needs 4M */
	BAD("--max-args-bytes", "-a", "1048575", "-b", "2M");
	expect_error((const char *const[]){ "--ringbuf-size", NULL });
	OK("-a", "1048575", "-b", "4M");
	/* exactly at the limit: 3 * (18672 + N) <= 65536 up to N = 3173 */
	OK("-b", "64K", "-a", "3173");
	BAD("--ringbuf-size", "-b", "64K", "-a", "3174");
}

static void test_latency(void **state)
{
	(void)state;
	OK("--latency-ms=1");
	assert_int_equal(o.latency_ms, 1);
	OK("-l", "1000");
	assert_int_equal(o.latency_ms, 1000);
	OK("-l250");
	assert_int_equal(o.latency_ms, 250);
	BAD("--latency-ms", "-l", "0");
	BAD("--latency-ms", "-l", "1001");
	BAD("--latency-ms", "-l", "1s");
	BAD("--latency-ms", "-l", "");
}

static void test_output(void **state)
{
	(void)state;
	OK("--output=/tmp/events.jsonl");
	assert_string_equal(o.output, "/tmp/events.jsonl");
	OK("-o", "out file");
	assert_string_equal(o.output, "out file");
	OK("-o", "-");
	assert_string_equal(o.output, "-");
	BAD("--output", "--output=");
	BAD("--output", "-o", "");
}

static void test_help_version(void **state)
{
	(void)state;
	OK("--help");
	assert_true(o.help);
	assert_false(o.version);
	OK("-h");
	assert_true(o.help);
	OK("--version");
	assert_true(o.version);
	assert_false(o.help);
	OK("-V");
	assert_true(o.version);
	OK("-hV");
	assert_true(o.help && o.version);
	OK("-h", "-f", "json");
	assert_true(o.help);
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	BAD("--help", "--help=yes");
	BAD("--version", "--version=1");
}

static void test_usage(void **state)
{
	(void)state;
	static const char *const names[] = {
		"--format", "--events", "--pid", "--max-args-bytes", "--ringbuf-size", "--latency-ms",
		"--output", "--deny", "--deny-sha256", "--audit", "--deny-timeout-ms",
		"--fail-closed", "--deny-unverifiable", "--help", "--version",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(ksm_usage(), names[i]))
			fail_msg("usage does not mention %s", names[i]);
	/* every selectable event type is listed */
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		if ((KSM_ALL_EVENTS & (1u << t)) && !strstr(ksm_usage(), ksm_event_name(t)))
			fail_msg("usage does not list %s", ksm_event_name(t));
}

/* Every option of the table is in --help and in the manual's section,
 * under its names, with its argument as the parser takes it. */
static void test_table_in_help_and_man(void **state)
{
	(void)state;
	struct ksm_buf man = { 0 };
	char want[96];

	ksm_options_man(&man);
	assert_false(man.failed);
	ksm_buf_putc(&man, '\0');
	for (size_t i = 0; i < ksm_n_opts; i++) {
		const struct ksm_opt *opt = &ksm_opts[i];
		const char *arg = opt->arg == KSM_OPT_ARG_NONE ? "" : opt->metavar;
		const char *open = opt->arg == KSM_OPT_ARG_OPTIONAL ? "[=" : opt->arg ? "=" : "";
		const char *close = opt->arg == KSM_OPT_ARG_OPTIONAL ? "]" : "";
		if (opt->short_name)
			snprintf(want, sizeof(want), "\n  -%c, --%s%s%s%s ", opt->short_name, opt->name,
				 open, arg, close);
		else
			snprintf(want, sizeof(want), "\n      --%s%s%s%s ", opt->name, open, arg, close);
		if (!strstr(ksm_usage(), want))
			fail_msg("--help has no \"%s\"", want + 1);
		snprintf(want, sizeof(want), "\\-\\-%s", opt->name);
		for (char *p = want + 4; *p; p++)
			if (*p == '-') {
				memmove(p + 1, p, strlen(p) + 1);
				*p++ = '\\';
			}
		if (!strstr(man.data, want))
			fail_msg("the manual's options have no %s", want);
		/* the parser knows it by that name */
		char name[80];
		snprintf(name, sizeof(name), "--%s", opt->name);
		PARSE(name, opt->arg == KSM_OPT_ARG_REQUIRED ? "x" : "--version");
		if (strstr(err, "unknown option"))
			fail_msg("%s: %s", name, err);
	}
	ksm_buf_free(&man);
}

/* man/ksysmon.8's OPTIONS section is the table's (`make man` writes it). */
static void test_man_page_is_the_tables(void **state)
{
	(void)state;
	struct ksm_buf page = { 0 }, gen = { 0 };
	char chunk[4096];
	size_t n;
	FILE *f = fopen("man/ksysmon.8", "r");

	if (!f)
		fail_msg("man/ksysmon.8: %s (run from the source tree)", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ksm_buf_put(&page, chunk, n);
	fclose(f);
	ksm_buf_putc(&page, '\0');
	ksm_options_man(&gen);
	ksm_buf_putc(&gen, '\0');
	assert_false(page.failed || gen.failed);

	const char *start = strstr(page.data, "\n.SH OPTIONS\n");
	assert_non_null(start);
	start++;
	const char *end = strstr(start + 1, "\n.SH ");
	assert_non_null(end);
	end++;
	bool same = (size_t)(end - start) == gen.len - 1 && !memcmp(start, gen.data, gen.len - 1);
	ksm_buf_free(&page);
	ksm_buf_free(&gen);
	if (!same)
		fail_msg("man/ksysmon.8's OPTIONS differ from the options' table: run 'make man'");
}

/* --ringbuf-size takes the G suffix, and --help says so. */
static void test_ringbuf_g_suffix(void **state)
{
	(void)state;
	OK("--ringbuf-size=1G");
	assert_int_equal(o.ringbuf_bytes, 1u << 30);
	OK("-b", "1g");
	assert_int_equal(o.ringbuf_bytes, 1u << 30);
	BAD("--ringbuf-size", "-b", "2G");
	if (!strstr(ksm_usage(), "K, M and G suffixes"))
		fail_msg("--help does not name the G suffix of --ringbuf-size");
}

/* The usage and the parser agree on the largest --max-args-bytes. */
static void test_usage_max_args_bytes(void **state)
{
	(void)state;
	char largest[32];
	snprintf(largest, sizeof(largest), "at most %u)", KSM_ARGS_CAP - 1);
	OK("-a", "1048575");
	BAD("--max-args-bytes", "-a", "1048576");
	if (!strstr(ksm_usage(), largest))
		fail_msg("usage does not say \"%s\" (the parser's limit)", largest);
}

static void test_unknown_option(void **state)
{
	(void)state;
	BAD("--bogus", "--bogus");
	BAD("--bogus=1", "--bogus=1");
	BAD("-x", "-x");
	BAD("-q", "-f", "json", "-q");
	BAD("--formats", "--formats=json");
	/* --de is a prefix of --deny, --deny-sha256 and --deny-timeout-ms */
	BAD("--de", "--de=x");
}

/* Rejected, with an error that mentions one of the given words. */
static void expect_error_any(const char *a, const char *b)
{
	if (!strstr(err, a) && !strstr(err, b))
		fail_msg("error \"%s\" mentions neither \"%s\" nor \"%s\"", err, a, b);
}

static const char *const opt_pairs[][2] = {
	{ "-f", "--format" }, { "-e", "--events" }, { "-p", "--pid" },
	{ "-a", "--max-args-bytes" }, { "-b", "--ringbuf-size" }, { "-l", "--latency-ms" },
	{ "-o", "--output" }, { "--deny", "--deny" }, { "--deny-sha256", "--deny-sha256" },
	{ "--deny-timeout-ms", "--deny-timeout-ms" },
};

static void test_missing_value(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(opt_pairs) / sizeof(opt_pairs[0]); i++) {
		for (int form = 0; form < 2; form++) {
			assert_int_equal(PARSE("-V", opt_pairs[i][form]), -1);
			expect_error_any(opt_pairs[i][0], opt_pairs[i][1]);
		}
	}
}

/* The option named in an error is the one at fault, also inside a group
 * of short options ("-xh"), where optind has not moved past the group. */
static void test_option_named_in_group(void **state)
{
	(void)state;
	BAD("-x", "-xh");
	BAD("-x", "-hx");
	BAD("-x", "-f", "json", "-Vxh");
	BAD("-x", "--format=json", "-xh");
	assert_int_equal(PARSE("-hp"), -1);
	expect_error_any("'-p'", "'--pid'");
	assert_int_equal(PARSE("-Vb"), -1);
	expect_error_any("'-b'", "'--ringbuf-size'");
}

static void test_stray_argument(void **state)
{
	(void)state;
	BAD("foo", "foo");
	BAD("foo", "-f", "json", "foo");
	BAD("bar", "--", "bar");
	BAD("-", "-");
	BAD("stray", "stray", "-f", "json"); /* before the options too */
}

static void test_separator(void **state)
{
	(void)state;
	OK("-f", "json", "--");
	assert_int_equal(o.format, KSM_FORMAT_JSON);
}

static void test_deny_options(void **state)
{
	(void)state;
	static const char sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	OK("--deny=/tmp/*");
	assert_int_equal(o.n_deny_globs, 1);
	assert_string_equal(o.deny_globs[0], "/tmp/*");
	assert_true(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));
	assert_false(o.deny_audit);
	OK("--deny", "/usr/bin/nc", "--deny=*/evil", "--audit", "--fail-closed",
	   "--deny-timeout-ms=60000");
	assert_int_equal(o.n_deny_globs, 2);
	assert_string_equal(o.deny_globs[1], "*/evil");
	assert_true(o.deny_audit);
	assert_true(o.deny_fail_closed);
	assert_int_equal(o.deny_timeout_ms, 60000);
	OK("--deny-sha256", sha);
	assert_int_equal(o.n_deny_sha256, 1);
	assert_string_equal(o.deny_sha256[0], sha);
	assert_true(o.event_mask & (1u << KSM_EV_EXEC_BLOCKED));
	OK("--deny=/x", "--deny-timeout-ms=1");
	assert_int_equal(o.deny_timeout_ms, 1);
	assert_false(o.deny_unverifiable);
	OK("--deny-sha256", sha, "--deny-unverifiable");
	assert_true(o.deny_unverifiable);

	BAD("--deny", "--deny=");
	BAD("--deny", "--deny=relative/path");
	BAD("--deny-sha256", "--deny-sha256=e3b0");
	BAD("--deny-sha256", "--deny-sha256=zz", "--deny=/x");
	BAD("--deny-timeout-ms", "--deny=/x", "--deny-timeout-ms=0");
	BAD("--deny-timeout-ms", "--deny=/x", "--deny-timeout-ms=60001");
	/* policy modifiers without a rule */
	BAD("--audit", "--audit");
	BAD("--fail-closed", "--fail-closed");
	BAD("--deny-unverifiable", "--deny-unverifiable");
	/* ... are fine with --help */
	OK("--audit", "--help");
}

static void test_parse_twice(void **state)
{
	(void)state;
	OK("-f", "json", "-p", "5");
	OK("-p", "6");
	assert_int_equal(o.format, KSM_FORMAT_TEXT); /* defaults again */
	assert_int_equal(o.n_pids, 1);
	assert_int_equal(o.pids[0], 6);
	/* the same arguments twice give the same result */
	OK("-l", "7", "-e", "process_exec");
	OK("-l", "7", "-e", "process_exec");
	assert_int_equal(o.latency_ms, 7);
	assert_int_equal(o.event_mask, 1u << KSM_EV_PROCESS_EXEC);
	/* an error half-way through a group of short options leaves no
	 * state behind for the next parse */
	BAD("unknown option", "-Vqh");
	OK("-f", "json");
	assert_false(o.version);
	assert_false(o.help);
	BAD("needs a value", "-hf");
	OK("-V");
	assert_true(o.version);
	assert_false(o.help);
	BAD("unknown option", "-hqV");
	OK("-h");
	assert_true(o.help);
	assert_false(o.version);
	/* an error in the middle of a long list */
	BAD("--pid", "-p", "1", "-p", "0", "-p", "3");
	OK("-p", "2");
	assert_int_equal(o.n_pids, 1);
	assert_int_equal(o.pids[0], 2);
	/* many rounds */
	for (int i = 0; i < 100; i++) {
		char l[16];
		snprintf(l, sizeof(l), "%d", i % 1000 + 1);
		if (i % 3 == 0)
			BAD("--bogus", "--bogus");
		OK("-l", l);
		assert_int_equal(o.latency_ms, i % 1000 + 1);
	}
}

static void test_small_error_buffer(void **state)
{
	(void)state;
	char *av[] = { "ksysmon", "--pid=0", NULL };
	char small[8];
	memset(small, 'X', sizeof(small));
	assert_int_equal(ksm_parse_options(2, av, &o, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1); /* truncated, terminated */
	assert_int_equal(ksm_parse_options(2, av, &o, NULL, 0), -1);
}

static void test_capture_options(void **state)
{
	(void)state;
	OK("-w", "cap");
	assert_string_equal(o.write, "cap");
	assert_null(o.read);
	assert_false(o.print);
	assert_int_equal(o.rotate_size, 0);
	assert_int_equal(o.rotate_keep, KSM_ROTATE_DEFAULT_KEEP);
	OK("--write=cap", "--print", "--rotate-size", "1M", "--rotate-keep", "0");
	assert_true(o.print);
	assert_true(o.rotate_size == 1u << 20);
	assert_int_equal(o.rotate_keep, 0);
	OK("-o", "out.json", "--rotate-size=64K", "--rotate-keep=1000");
	assert_true(o.rotate_size == 65536);
	assert_int_equal(o.rotate_keep, 1000);
	/* a replay shows every recorded type unless told otherwise */
	OK("-r", "cap");
	assert_string_equal(o.read, "cap");
	assert_int_equal(o.event_mask, KSM_ALL_EVENTS);
	OK("--read", "cap", "--events", "process_exec");
	assert_int_equal(o.event_mask, 1u << KSM_EV_PROCESS_EXEC);
	OK("-e", "process_exec");
	assert_true(o.events_given);

	BAD("cannot be combined", "-r", "a", "-w", "b");
	BAD("--deny", "-r", "a", "--deny", "/tmp/*");
	BAD("--print needs --write", "--print");
	BAD("--rotate-size needs", "--rotate-size", "1M");
	BAD("at least 64K", "-o", "x", "--rotate-size", "65535");
	BAD("at least 64K", "-o", "x", "--rotate-size", "1X");
	BAD("--rotate-keep", "-o", "x", "--rotate-size", "1M", "--rotate-keep", "1001");
	BAD("--rotate-keep", "--rotate-keep", "-1");
	BAD("--write", "-w", "");
	BAD("--read", "--read=");
	BAD("'--write' needs a value", "--write");
}

static void test_file_options(void **state)
{
	(void)state;
	OK("-o", "x");
	assert_int_equal(o.file_mode, 0600);
	assert_int_equal(o.file_gid, -1);
	assert_false(o.exit_on_output_error);
	OK("-o", "x", "--file-mode", "0640", "--file-group", "0", "--on-output-error", "exit");
	assert_int_equal(o.file_mode, 0640);
	assert_int_equal(o.file_gid, 0);
	assert_true(o.exit_on_output_error);
	OK("--file-mode=644", "--file-group=root", "--on-output-error=continue");
	assert_int_equal(o.file_mode, 0644);
	assert_int_equal(o.file_gid, 0);
	assert_false(o.exit_on_output_error);
	OK("--file-group", "4294967294");
	assert_int_equal(o.file_gid, 4294967294l);
	/* others never write, nothing executes, the owner reads and writes */
	BAD("--file-mode", "--file-mode", "0666");
	BAD("--file-mode", "--file-mode", "0620");
	BAD("--file-mode", "--file-mode", "0700");
	BAD("--file-mode", "--file-mode", "0400");
	BAD("--file-mode", "--file-mode", "04600");
	BAD("--file-mode", "--file-mode", "0608");
	BAD("--file-mode", "--file-mode", "");
	BAD("--file-group", "--file-group", "no-such-group-ksm");
	BAD("--file-group", "--file-group", "4294967295");
	BAD("--on-output-error", "--on-output-error", "retry");
	/* deny enforcement never ends with an output; audit enforces nothing */
	BAD("enforcement would stop", "--on-output-error", "exit", "--deny", "/x/*");
	BAD("enforcement would stop", "--on-output-error", "exit", "--deny-sha256",
	    "0000000000000000000000000000000000000000000000000000000000000000");
	OK("--on-output-error", "exit", "--deny", "/x/*", "--audit");
}

/* Keywords map onto their enums in order; anything else is named. */
static void test_hook_and_engine_keywords(void **state)
{
	(void)state;
	OK("--image-hook", "fexit");
	assert_int_equal(o.image_hook, KSM_IMAGE_HOOK_FEXIT);
	OK("--image-hook=raw");
	assert_int_equal(o.image_hook, KSM_IMAGE_HOOK_RAW);
	OK("--image-hook", "perf");
	assert_int_equal(o.image_hook, KSM_IMAGE_HOOK_PERF);
	OK("--image-hook", "auto");
	assert_int_equal(o.image_hook, KSM_IMAGE_HOOK_AUTO);
	BAD("auto, fexit, raw or perf", "--image-hook", "kprobe");
	OK("--deny", "/x/*");
	assert_int_equal(o.deny_engine, KSM_DENY_ENGINE_FANOTIFY);
	OK("--deny", "/x/*", "--deny-engine", "lsm");
	assert_int_equal(o.deny_engine, KSM_DENY_ENGINE_LSM);
	OK("--deny", "/x/*", "--deny-engine=auto");
	assert_int_equal(o.deny_engine, KSM_DENY_ENGINE_AUTO);
	BAD("fanotify, lsm or auto", "--deny", "/x/*", "--deny-engine", "ebpf");
	BAD("needs a --deny rule", "--deny-engine", "lsm");
}

static void test_syslog_option(void **state)
{
	(void)state;
	OK("--syslog");
	assert_true(o.syslog);
	assert_null(o.syslog_target);
	/* the target may be the next argument, or joined with '=' */
	OK("--syslog", "127.0.0.1:514", "-f", "json");
	assert_string_equal(o.syslog_target, "127.0.0.1:514");
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	OK("--syslog=unix:/dev/log");
	assert_string_equal(o.syslog_target, "unix:/dev/log");
	OK("--syslog", "-f", "json");
	assert_null(o.syslog_target);
	OK("-f", "json");
	assert_false(o.syslog);
	BAD("port", "--syslog", "tcp:127.0.0.1:0");
	BAD("port", "--syslog=127.0.0.1:65536");
}

/* Options of a configuration file under a command line. */
static int with_config(const char *yaml, char **argv, int argc, struct ksm_options *o, char *err,
		       struct ksm_config_args *args)
{
	struct ksm_rules *r;
	size_t n;
	assert_int_equal(ksm_config_parse("k.yaml", yaml, strlen(yaml), &r, err, 256), 0);
	const struct ksm_config_option *co = ksm_rules_options(r, &n);
	int rc = ksm_parse_options_with_config(argc, argv, "k.yaml", co, n, args, o, err, 256);
	ksm_rules_free(r);
	return rc;
}

static void test_config_file_options(void **state)
{
	(void)state;
	static struct ksm_options o;
	struct ksm_config_args args = { 0 };
	char err[256];
	const char *yaml = "options:\n"
			   "  format: json\n"
			   "  events: [process_exec, process_exit]\n"
			   "  rotate-size: 1M\n"
			   "  output: /var/log/k.json\n"
			   "  pid: [10, 11]\n"
			   "  deny: [\"/tmp/*\"]\n"
			   "  audit: true\n"
			   "  print: false\n"
			   "events:\n"
			   "  thread_create: off\n";
	char *plain[] = { "ksysmon", NULL };
	assert_int_equal(with_config(yaml, plain, 1, &o, err, &args), 0);
	assert_int_equal(o.format, KSM_FORMAT_JSON);
	assert_int_equal(o.event_mask, (1u << KSM_EV_PROCESS_EXEC) | (1u << KSM_EV_PROCESS_EXIT) |
					   (1u << KSM_EV_EXEC_BLOCKED));
	assert_int_equal(o.rotate_size, 1u << 20);
	assert_string_equal(o.output, "/var/log/k.json");
	assert_int_equal(o.n_pids, 2);
	assert_int_equal(o.pids[1], 11);
	assert_int_equal(o.n_deny_globs, 1);
	assert_true(o.deny_audit);
	assert_false(o.print);
	ksm_config_args_free(&args);

	/* the command line wins: a scalar, and a list replaced whole */
	char *over[] = { "ksysmon", "-f", "text", "--pid=5", NULL };
	assert_int_equal(with_config(yaml, over, 4, &o, err, &args), 0);
	assert_int_equal(o.format, KSM_FORMAT_TEXT);
	assert_int_equal(o.n_pids, 1);
	assert_int_equal(o.pids[0], 5);
	assert_string_equal(o.output, "/var/log/k.json");
	ksm_config_args_free(&args);

	/* finding --config leaves argv as it was: a --syslog target that
	 * follows its option stays there */
	char *sys[] = { "ksysmon", "--syslog", "udp:127.0.0.1:514", "-c", "k.yaml", NULL };
	assert_string_equal(ksm_options_config_path(5, sys), "k.yaml");
	assert_string_equal(sys[2], "udp:127.0.0.1:514");
	assert_int_equal(ksm_parse_options(5, sys, &o, err, sizeof(err)), 0);
	assert_string_equal(o.syslog_target, "udp:127.0.0.1:514");

	/* the file's bad value is named by its line, unless overridden */
	const char *bad = "options:\n  format: json\n  latency-ms: 0\n";
	assert_int_equal(with_config(bad, plain, 1, &o, err, &args), -1);
	assert_string_equal(err, "k.yaml:3: invalid --latency-ms '0' (expected 1 to 1000)");
	ksm_config_args_free(&args);
	char *fix[] = { "ksysmon", "--latency-ms", "5", NULL };
	assert_int_equal(with_config(bad, fix, 3, &o, err, &args), 0);
	assert_int_equal(o.latency_ms, 5);
	ksm_config_args_free(&args);

	assert_int_equal(with_config("options:\n  colour: red\n", plain, 1, &o, err, &args), -1);
	assert_string_equal(err, "k.yaml:2: unknown option '--colour=red' (see --help)");
	ksm_config_args_free(&args);
	assert_int_equal(with_config("options:\n  read: x.ksm\n", plain, 1, &o, err, &args), -1);
	assert_string_equal(err, "k.yaml:2: 'read' cannot be set in the configuration file");
	ksm_config_args_free(&args);
	/* a value the options cannot take, in YAML terms */
	struct ksm_rules *r;
	const char *map = "options:\n  format: {a: b}\n", *scalar = "options: 3\n";
	assert_int_equal(ksm_config_parse("k.yaml", map, strlen(map), &r, err, sizeof(err)), -1);
	assert_string_equal(err, "k.yaml:2: option 'format' takes a value or a list of values, not a mapping");
	assert_int_equal(ksm_config_parse("k.yaml", scalar, strlen(scalar), &r, err, sizeof(err)), -1);
	assert_string_equal(err, "k.yaml:1: 'options' takes a mapping of option names to values, not '3'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_pid_leading_whitespace),
		cmocka_unit_test(test_pid_limit),
		cmocka_unit_test(test_max_args_bytes),
		cmocka_unit_test(test_ringbuf_size),
		cmocka_unit_test(test_ringbuf_too_small_for_args),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_usage_max_args_bytes),
		cmocka_unit_test(test_unknown_option),
				cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_option_named_in_group),
		cmocka_unit_test(test_stray_argument),
		cmocka_unit_test(test_separator),
		cmocka_unit_test(test_deny_options),
		cmocka_unit_test(test_parse_twice),
		cmocka_unit_test(test_capture_options),
		cmocka_unit_test(test_file_options),
		cmocka_unit_test(test_hook_and_engine_keywords),
		cmocka_unit_test(test_syslog_option),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_config_file_options),
		cmocka_unit_test(test_table_in_help_and_man),
		cmocka_unit_test(test_man_page_is_the_tables),
		cmocka_unit_test(test_ringbuf_g_suffix),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
