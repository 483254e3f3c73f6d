// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command line's parser, built from the options' table
 * (options_table.h), the checks of options that go together, and the
 * configuration file's `options:` through the same parser.
 */
#include "pipeline/options.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "ksysmon_limits.h"
#include "pipeline/options_table.h"
#include "policy/globc.h"
#include "sinks/output.h"

static void set_defaults(struct ksm_options *o)
{
	memset(o, 0, sizeof(*o));
	o->format = KSM_FORMAT_TEXT;
	o->event_mask = KSM_DEFAULT_EVENTS;
	o->image_hook = KSM_IMAGE_HOOK_AUTO;
	o->max_args_bytes = KSM_DEFAULT_ARGS_BYTES;
	o->ringbuf_bytes = KSM_DEFAULT_RINGBUF_BYTES;
	o->latency_ms = 100;
	o->deny_timeout_ms = KSM_DEFAULT_DENY_TIMEOUT_MS;
	o->rotate_keep = KSM_ROTATE_DEFAULT_KEEP;
	o->file_mode = KSM_FILE_DEFAULT_MODE;
	o->file_gid = -1;
}

/* ---- getopt's view of the table ------------------------------------------- */

/* getopt_long's value of an entry: its letter, or past every letter. */
static int opt_val(size_t i)
{
	return ksm_opts[i].short_name ? ksm_opts[i].short_name : 256 + (int)i;
}

static const struct ksm_opt *opt_of_val(int val)
{
	for (size_t i = 0; i < ksm_n_opts; i++)
		if (opt_val(i) == val)
			return &ksm_opts[i];
	return NULL;
}

static const struct ksm_opt *opt_of_name(const char *name)
{
	for (size_t i = 0; i < ksm_n_opts; i++)
		if (!strcmp(ksm_opts[i].name, name))
			return &ksm_opts[i];
	return NULL;
}

struct getopt_spec {
	struct option longopts[KSM_OPTS_MAX + 1];
	char shortopts[2 + 2 * KSM_OPTS_MAX + 1];
};

/* ':' first: a missing value is told apart from an unknown option. */
static void getopt_spec(struct getopt_spec *g)
{
	static const int has_arg[] = { [KSM_OPT_ARG_NONE] = no_argument,
				       [KSM_OPT_ARG_REQUIRED] = required_argument,
				       [KSM_OPT_ARG_OPTIONAL] = optional_argument };
	char *p = g->shortopts;

	memset(g, 0, sizeof(*g));
	*p++ = ':';
	for (size_t i = 0; i < ksm_n_opts; i++) {
		const struct ksm_opt *opt = &ksm_opts[i];
		g->longopts[i] = (struct option){ opt->name, has_arg[opt->arg], NULL, opt_val(i) };
		if (!opt->short_name)
			continue;
		*p++ = opt->short_name;
		if (opt->arg == KSM_OPT_ARG_REQUIRED)
			*p++ = ':';
	}
}

/* The value of the last option `val` of the command line (NULL if none
 * has one) in *arg; whether there is one.  getopt reorders what it scans
 * (a --syslog target after its option would move to the end): a copy of
 * argv is scanned. */
static bool find_option(int argc, char **argv, int val, const char **arg)
{
	char **copy = malloc(((size_t)argc + 1) * sizeof(*copy));
	struct getopt_spec g;
	bool found = false;
	int c;

	*arg = NULL;
	if (!copy)
		return false;
	getopt_spec(&g);
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	copy[argc] = NULL;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, copy, g.shortopts, g.longopts, NULL)) != -1) {
		if (c == val) {
			found = true;
			*arg = optarg;
		}
	}
	free(copy);
	return found;
}

const char *ksm_options_config_path(int argc, char **argv)
{
	const char *path;
	const struct ksm_opt *config = opt_of_name("config");
	return find_option(argc, argv, opt_val((size_t)(config - ksm_opts)), &path) ? path : NULL;
}

/* ---- options that go together ------------------------------------------ */

/* How -w, -r, --print, --output and rotation go together. */
static int check_files(struct ksm_options *o, char *err, size_t errlen)
{
	if (o->read && o->write)
		return ksm_fail(err, errlen, "--read and --write cannot be combined");
	if (o->read && (o->n_deny_globs || o->n_deny_sha256))
		return ksm_fail(err, errlen, "--deny rules cannot be used with --read");
	if (o->read && o->metrics_file)
		return ksm_fail(err, errlen, "--metrics-file cannot be used with --read");
	if (o->print && !o->write)
		return ksm_fail(err, errlen, "--print needs --write");
	if (o->rotate_size && !o->output && !o->write)
		return ksm_fail(err, errlen, "--rotate-size needs --output FILE or --write FILE");
	/* a replay shows what was recorded unless told otherwise */
	if (o->read && !o->events_given)
		o->event_mask = KSM_ALL_EVENTS;
	return 0;
}

/* Rules the kernel is to decide must fit its matcher. */
static int check_deny_engine(const struct ksm_options *o, char *err, size_t errlen)
{
	static struct ksm_glob g; /* 1.3 KiB: not on the stack */
	char why[200];

	if (o->deny_engine == KSM_DENY_ENGINE_FANOTIFY)
		return 0;
	if (!o->n_deny_globs && !o->help && !o->version)
		return ksm_fail(err, errlen, "--deny-engine needs a --deny rule");
	for (size_t i = 0; i < o->n_deny_globs; i++)
		if (ksm_glob_compile(o->deny_globs[i], &g, why, sizeof(why)))
			return ksm_fail(err, errlen, "invalid --deny for --deny-engine %s: %s",
					o->deny_engine == KSM_DENY_ENGINE_LSM ? "lsm" : "auto", why);
	return 0;
}

/* Every rule between options, in one place, after each value was checked
 * alone; then what follows from them. */
static int check_combinations(struct ksm_options *o, char *err, size_t errlen)
{
	if (check_files(o, err, errlen))
		return -1;
	if (check_deny_engine(o, err, errlen))
		return -1;
	/* enforcement must not end with an output (a full disk) */
	if (o->exit_on_output_error && (o->n_deny_globs || o->n_deny_sha256) && !o->deny_audit)
		return ksm_fail(err, errlen, "--on-output-error exit cannot be used with --deny rules (enforcement would stop with the output)");
	if (o->n_deny_globs || o->n_deny_sha256)
		o->event_mask |= 1u << KSM_EV_EXEC_BLOCKED; /* whatever --events says */
	else if ((o->deny_audit || o->deny_fail_closed || o->deny_unverifiable) && !o->help && !o->version)
		return ksm_fail(err, errlen, "--%s needs a --deny or --deny-sha256 rule",
			    o->deny_audit ? "audit" : o->deny_fail_closed ? "fail-closed" : "deny-unverifiable");
	/* the queue must hold several of the largest exec records */
	uint64_t largest = sizeof(struct ksm_process_exec) + KSM_EXEC_STRINGS * KSM_PATH_MAX + 2 * KSM_NS_PATH_MAX +
			   (uint64_t)o->max_args_bytes;
	if (o->ringbuf_bytes < KSM_RINGBUF_EXECS * largest)
		return ksm_fail(err, errlen, "--ringbuf-size %" PRIu64 " is too small for --max-args-bytes %u (needs at least %" PRIu64 ")",
			    o->ringbuf_bytes, o->max_args_bytes, KSM_RINGBUF_EXECS * largest);
	return 0;
}

/* ---- the parser ------------------------------------------------------------- */

/* What getopt_long refused (c is ':' for a missing value). */
static int getopt_error(int c, char **argv, char *err, size_t errlen)
{
	const struct ksm_opt *opt = optopt ? opt_of_val(optopt) : NULL;

	if (c == ':') {
		if (opt)
			return ksm_fail(err, errlen, "option '--%s' needs a value", opt->name);
		return ksm_fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
	}
	/* optopt: the option at fault, also inside a group like -xh */
	if (opt)
		return ksm_fail(err, errlen, "option '--%s' takes no value", opt->name);
	if (optopt)
		return ksm_fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
	return ksm_fail(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
}

int ksm_parse_options(int argc, char **argv, struct ksm_options *o, char *err, size_t errlen)
{
	struct getopt_spec g;
	int c;

	set_defaults(o);
	getopt_spec(&g);
	optind = 0; /* full reset: the parser may run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts, NULL)) != -1) {
		const struct ksm_opt *opt = opt_of_val(c);
		if (!opt)
			return getopt_error(c, argv, err, errlen);
		/* an optional value may follow as the next argument, as in
		 * --syslog HOST:PORT */
		if (opt->arg == KSM_OPT_ARG_OPTIONAL && !optarg && optind < argc && argv[optind][0] != '-')
			optarg = argv[optind++];
		if (opt->set(opt, o, optarg, err, errlen))
			return -1;
	}
	if (optind < argc)
		return ksm_fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	return check_combinations(o, err, errlen);
}

/* ---- the configuration's options ------------------------------------------ */

/* Options a configuration file may not set: they say which file, or are
 * not a monitor's settings.  An unknown name is left to the parser. */
static bool file_may_set(const char *name)
{
	const struct ksm_opt *opt = opt_of_name(name);
	return !opt || !(opt->flags & KSM_OPT_NOT_IN_FILE);
}

/* Options given once per value, whose lists are so many options. */
static bool repeatable(const char *name)
{
	const struct ksm_opt *opt = opt_of_name(name);
	return opt && (opt->flags & KSM_OPT_REPEATABLE);
}

/* Whether the command line gives the option of this long name. */
static bool cmdline_gives(int argc, char **argv, const char *name)
{
	const struct ksm_opt *opt = opt_of_name(name);
	const char *arg;
	return opt && find_option(argc, argv, opt_val((size_t)(opt - ksm_opts)), &arg);
}

void ksm_config_args_free(struct ksm_config_args *args)
{
	for (int i = 0; i < args->n; i++)
		free(args->v[i]);
	free(args->v);
	args->v = NULL;
	args->n = 0;
}

/* The file's option whose --name the message names, if any. */
static const struct ksm_config_option *option_at_fault(const struct ksm_config_option *co, size_t n,
						       const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		char needle[80];
		snprintf(needle, sizeof(needle), "--%s", co[i].name);
		const char *p = strstr(msg, needle);
		size_t k = strlen(needle);
		if (p && (p[k] == '\0' || p[k] == ' ' || p[k] == '\'' || p[k] == '='))
			return &co[i];
	}
	return NULL;
}

int ksm_parse_options_with_config(int argc, char **argv,
				  const char *file, const struct ksm_config_option *co, size_t n,
				  struct ksm_config_args *args, struct ksm_options *o,
				  char *err, size_t errlen)
{
	char msg[512];

	args->n = 0;
	args->v = calloc(n + (size_t)argc + 1, sizeof(char *));
	if (!args->v)
		return ksm_fail(err, errlen, "out of memory");
	args->v[args->n++] = strdup(argv[0]);
	for (size_t i = 0; i < n; i++) {
		if (!file_may_set(co[i].name))
			return ksm_fail(err, errlen, "%s:%u: '%s' cannot be set in the configuration file",
					file, co[i].line, co[i].name);
		if (cmdline_gives(argc, argv, co[i].name))
			continue;
		char *a = NULL;
		if (asprintf(&a, co[i].value ? "--%s=%s" : "--%s", co[i].name, co[i].value) < 0)
			return ksm_fail(err, errlen, "out of memory");
		/* a list for an option taken once is one comma-separated value
		 * (events: [process_exec, process_exit]) */
		while (!repeatable(co[i].name) && co[i].value && i + 1 < n && co[i + 1].value &&
		       !strcmp(co[i + 1].name, co[i].name)) {
			char *b = NULL;
			if (asprintf(&b, "%s,%s", a, co[++i].value) < 0) {
				free(a);
				return ksm_fail(err, errlen, "out of memory");
			}
			free(a);
			a = b;
		}
		args->v[args->n++] = a;
	}
	for (int i = 1; i < argc; i++)
		args->v[args->n++] = strdup(argv[i]);
	for (int i = 0; i < args->n; i++)
		if (!args->v[i])
			return ksm_fail(err, errlen, "out of memory");
	if (!ksm_parse_options(args->n, args->v, o, msg, sizeof(msg)))
		return 0;
	/* the file's option at fault is named by its line (one the command
	 * line also gives was left out) */
	const struct ksm_config_option *at = option_at_fault(co, n, msg);
	if (at && !cmdline_gives(argc, argv, at->name))
		return ksm_fail(err, errlen, "%s:%u: %s", file, at->line, msg);
	return ksm_fail(err, errlen, "%s", msg);
}
