// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/errmsg.h"
#include "pipeline/options.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "sinks/output.h"
#include "policy/globc.h"
#include "policy/policy.h"
#include "sinks/syslog.h"
#include "ksysmon_limits.h"

const char ksm_usage[] =
	"Usage: ksysmon [OPTION...]\n"
	"Reports process creation and exit, program execution, thread start and\n"
	"end and image loads, from inside the kernel, until interrupted\n"
	"(SIGINT/SIGTERM); can refuse executions by policy.\n"
	"\n"
	"  -f, --format=FORMAT        text (default) or json (JSON Lines)\n"
	"  -e, --events=LIST          comma-separated event types to report:\n"
	"                             process_create, process_exec, process_exit,\n"
	"                             thread_create, thread_exit, image_load, or all\n"
	"                             (default: all but image_load)\n"
	"  -p, --pid=PID              only events of this process (and processes\n"
	"                             it creates); repeatable\n"
	"      --container=ID         only events of this container (an id or a\n"
	"                             prefix naming one running container), of\n"
	"                             any container (all) or of the host (host);\n"
	"                             repeatable\n"
	"  -a, --max-args-bytes=N     capture at most N bytes of arguments per exec\n"
	"                             (default 65536, at most 1048575)\n"
	"  -b, --ringbuf-size=SIZE    kernel queue size in bytes, a power of two;\n"
	"                             K and M suffixes accepted (default 16M)\n"
	"  -l, --latency-ms=MS        longest delay before an event is shown\n"
	"                             (default 100, 1..1000)\n"
	"  -o, --output=FILE          write events to FILE instead of stdout\n"
	"  -w, --write=FILE           record the raw events to a capture FILE\n"
	"                             (nothing is shown unless --print or -o)\n"
	"      --print                with -w: show the events as well\n"
	"  -r, --read=FILE            replay a capture instead of watching the\n"
	"                             kernel (same filters and views as live)\n"
	"      --rotate-size=SIZE     start a new output/capture file when it would\n"
	"                             pass SIZE bytes (K, M, G suffixes; >= 64K);\n"
	"                             FILE becomes FILE.1, FILE.1 FILE.2, ...\n"
	"      --rotate-keep=K        rotated files kept (default 5, 0..1000)\n"
	"      --file-mode=MODE       mode of the files written (octal; default\n"
	"                             0600; 0640 or 0644 let a group or everyone\n"
	"                             read them)\n"
	"      --file-group=GROUP     group of the files written (name or number)\n"
	"      --on-output-error=WHAT continue (default: count the events that\n"
	"                             cannot be written, retry every second) or\n"
	"                             exit (not with --deny rules, unless --audit)\n"
	"      --syslog[=TARGET]      send events to syslog as RFC 5424 messages:\n"
	"                             unix:PATH (default unix:/dev/log), HOST:PORT\n"
	"                             or tcp:HOST:PORT (TCP), udp:HOST:PORT\n"
	"  -c, --config=FILE          include/exclude rules (YAML, see docs/config.md)\n"
	"      --metrics-file=FILE    write counters to FILE every 5 s, in the\n"
	"                             Prometheus text format (node_exporter's\n"
	"                             textfile collector), replaced whole\n"
	"      --hash=sha256          add the SHA-256 of executed files and images\n"
	"      --image-hook=HOOK      how image loads are caught: auto (default:\n"
	"                             fexit where the kernel allows it, else raw),\n"
	"                             fexit (at the exit of mmap and mprotect only),\n"
	"                             raw (one program on every syscall exit) or\n"
	"                             perf (the syscall events of mmap and mprotect:\n"
	"                             dearer per mmap, cheaper for other syscalls)\n"
	"      --deny=GLOB            refuse to execute files whose absolute path\n"
	"                             matches GLOB (fnmatch(3); '*' also matches\n"
	"                             '/'); repeatable\n"
	"      --deny-sha256=HEX      refuse to execute files whose content has this\n"
	"                             SHA-256 digest, under any name; repeatable\n"
	"      --audit                deny nothing, report what would be denied\n"
	"      --deny-timeout-ms=MS   longest an exec waits for a decision\n"
	"                             (default 500, 1..60000); after it the exec is\n"
	"                             allowed, unless --fail-closed\n"
	"      --fail-closed          deny an exec that cannot be decided in time\n"
	"                             or whose file cannot be checked\n"
	"      --deny-unverifiable    kill, before its first instruction, an exec\n"
	"                             of a file the fanotify engine cannot check: on\n"
	"                             a filesystem it cannot watch (mounted in\n"
	"                             another mount namespace, FUSE, a memfd)\n"
	"      --deny-engine=ENGINE   who decides --deny rules: fanotify (default;\n"
	"                             this process), lsm (the kernel, through BPF-LSM\n"
	"                             at bprm_check_security: no exec waits for this\n"
	"                             process) or auto (lsm where the kernel runs BPF\n"
	"                             LSM programs, else fanotify)\n"
	"  -h, --help                 show this help\n"
	"  -V, --version              show the version\n";

/* Whole decimal number in [min, max] with an optional K/M/G suffix. */
static int parse_size(const char *s, uint64_t min, uint64_t max, bool suffix, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1; /* no sign, no white space: strtoull would accept them */
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (suffix && *end) {
		unsigned shift = *end == 'K' || *end == 'k' ? 10 :
				 *end == 'M' || *end == 'm' ? 20 :
				 *end == 'G' || *end == 'g' ? 30 : 0;
		if (!shift || end[1] || v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
		end++;
	}
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_events(const char *list, uint32_t *mask)
{
	const char *p = list;
	*mask = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 3 && !memcmp(p, "all", 3)) {
			*mask |= KSM_ALL_EVENTS;
		} else {
			enum ksm_event_type t = ksm_event_by_name(p, len);
			if (t == KSM_EV_NONE || !(KSM_ALL_EVENTS & (1u << t)))
				return -1;
			*mask |= 1u << t;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

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

/* An octal mode with only the bits safefile.h allows, the owner's read
 * and write among them. */
static int parse_mode(const char *s, unsigned *mode)
{
	char *end;
	if (*s < '0' || *s > '7' || strlen(s) > 4)
		return -1;
	unsigned long v = strtoul(s, &end, 8);
	if (*end || (v & ~(unsigned long)KSM_FILE_MODE_BITS) || (v & 0600) != 0600)
		return -1;
	*mode = (unsigned)v;
	return 0;
}

/* A group name, or a number. */
static int parse_group(const char *s, long *gid)
{
	uint64_t v;
	struct group gr, *found = NULL;
	char buf[4096];

	if (!parse_size(s, 0, UINT32_MAX - 1, false, &v)) {
		*gid = (long)v;
		return 0;
	}
	if (getgrnam_r(s, &gr, buf, sizeof(buf), &found) || !found)
		return -1;
	*gid = (long)found->gr_gid;
	return 0;
}

enum { OPT_IMAGE_HOOK = 254, OPT_HASH = 255, OPT_DENY = 256, OPT_DENY_SHA256, OPT_AUDIT, OPT_DENY_TIMEOUT, OPT_FAIL_CLOSED,
       OPT_CONTAINER, OPT_PRINT, OPT_ROTATE_SIZE, OPT_ROTATE_KEEP, OPT_SYSLOG, OPT_FILE_MODE, OPT_FILE_GROUP,
       OPT_OUTPUT_ERROR, OPT_DENY_ENGINE = 300, OPT_DENY_UNVERIFIABLE, OPT_METRICS };

static const char *long_name(const struct option *opts, int val)
{
	for (; opts->name; opts++)
		if (opts->val == val)
			return opts->name;
	return NULL;
}

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

/* The position of word in names (NULL-terminated, in the order of the
 * option's enum), or -1. */
static int keyword_index(const char *word, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(word, names[i]))
			return i;
	return -1;
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

/* all, host, or 1 to 64 lowercase hex digits */
static bool container_arg(const char *s)
{
	size_t n = strlen(s);
	if (!strcmp(s, "all") || !strcmp(s, "host"))
		return true;
	return n >= 1 && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

static const struct option longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "events", required_argument, NULL, 'e' },
	{ "pid", required_argument, NULL, 'p' },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "max-args-bytes", required_argument, NULL, 'a' },
	{ "ringbuf-size", required_argument, NULL, 'b' },
	{ "latency-ms", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "write", required_argument, NULL, 'w' },
	{ "read", required_argument, NULL, 'r' },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-keep", required_argument, NULL, OPT_ROTATE_KEEP },
	{ "syslog", optional_argument, NULL, OPT_SYSLOG },
	{ "file-mode", required_argument, NULL, OPT_FILE_MODE },
	{ "file-group", required_argument, NULL, OPT_FILE_GROUP },
	{ "on-output-error", required_argument, NULL, OPT_OUTPUT_ERROR },
	{ "config", required_argument, NULL, 'c' },
	{ "metrics-file", required_argument, NULL, OPT_METRICS },
	{ "hash", required_argument, NULL, OPT_HASH },
	{ "image-hook", required_argument, NULL, OPT_IMAGE_HOOK },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "deny-sha256", required_argument, NULL, OPT_DENY_SHA256 },
	{ "audit", no_argument, NULL, OPT_AUDIT },
	{ "deny-timeout-ms", required_argument, NULL, OPT_DENY_TIMEOUT },
	{ "fail-closed", no_argument, NULL, OPT_FAIL_CLOSED },
	{ "deny-engine", required_argument, NULL, OPT_DENY_ENGINE },
	{ "deny-unverifiable", no_argument, NULL, OPT_DENY_UNVERIFIABLE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

#define SHORT_OPTS ":f:e:p:a:b:l:o:w:r:c:hV"

/* The value of the last option `val` of the command line (NULL if none
 * has one) in *arg; whether there is one.  getopt reorders what it scans
 * (a --syslog target after its option would move to the end): a copy of
 * argv is scanned. */
static bool find_option(int argc, char **argv, int val, const char **arg)
{
	char **copy = malloc(((size_t)argc + 1) * sizeof(*copy));
	bool found = false;
	int c;

	*arg = NULL;
	if (!copy)
		return false;
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	copy[argc] = NULL;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, copy, SHORT_OPTS, longopts, NULL)) != -1) {
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
	return find_option(argc, argv, 'c', &path) ? path : NULL;
}

int ksm_parse_options(int argc, char **argv, struct ksm_options *o, char *err, size_t errlen)
{
	uint64_t v;
	uint8_t digest[KSM_SHA256_LEN];
	int c;

	set_defaults(o);
	optind = 0; /* full reset: the parser may run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORT_OPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'f': {
			static const char *const formats[] = { "text", "json", NULL };
			int i = keyword_index(optarg, formats);
			if (i < 0)
				return ksm_fail(err, errlen, "invalid --format '%s' (expected text or json)", optarg);
			o->format = (enum ksm_format)i;
			break;
		}
		case 'e':
			if (parse_events(optarg, &o->event_mask))
				return ksm_fail(err, errlen, "invalid --events '%s' (expected a comma-separated list of event types)", optarg);
			o->events_given = true;
			break;
		case 'p':
			if (parse_size(optarg, 1, 4194304, false, &v))
				return ksm_fail(err, errlen, "invalid --pid '%s' (expected a process id from 1 to 4194304)", optarg);
			if (o->n_pids == KSM_MAX_PIDS)
				return ksm_fail(err, errlen, "too many --pid options (at most %d)", KSM_MAX_PIDS);
			o->pids[o->n_pids++] = (uint32_t)v;
			break;
		case OPT_CONTAINER:
			if (!container_arg(optarg))
				return ksm_fail(err, errlen, "invalid --container '%s' (expected a container id or its prefix in lowercase hex, all or host)", optarg);
			if (o->n_containers == KSM_MAX_CONTAINERS)
				return ksm_fail(err, errlen, "too many --container options (at most %d)", KSM_MAX_CONTAINERS);
			o->containers[o->n_containers++] = optarg;
			break;
		case 'a':
			if (parse_size(optarg, 0, KSM_ARGS_CAP - 1, false, &v))
				return ksm_fail(err, errlen, "invalid --max-args-bytes '%s' (expected 0 to %u)", optarg, KSM_ARGS_CAP - 1);
			o->max_args_bytes = (uint32_t)v;
			break;
		case 'b':
			if (parse_size(optarg, 1, 1ull << 30, true, &v) || (v & (v - 1)) || v < 65536)
				return ksm_fail(err, errlen, "invalid --ringbuf-size '%s' (expected a power of two from 64K to 1G)", optarg);
			o->ringbuf_bytes = v;
			break;
		case 'l':
			if (parse_size(optarg, 1, 1000, false, &v))
				return ksm_fail(err, errlen, "invalid --latency-ms '%s' (expected 1 to 1000)", optarg);
			o->latency_ms = (uint32_t)v;
			break;
		case 'o':
			if (!*optarg)
				return ksm_fail(err, errlen, "invalid --output '' (expected a file name)");
			o->output = optarg;
			break;
		case 'w':
		case 'r':
			if (!*optarg)
				return ksm_fail(err, errlen, "invalid --%s '' (expected a file name)", c == 'w' ? "write" : "read");
			*(c == 'w' ? &o->write : &o->read) = optarg;
			break;
		case OPT_PRINT:
			o->print = true;
			break;
		case OPT_ROTATE_SIZE:
			if (parse_size(optarg, KSM_ROTATE_MIN_BYTES, UINT64_MAX >> 1, true, &v))
				return ksm_fail(err, errlen, "invalid --rotate-size '%s' (expected a size of at least 64K)", optarg);
			o->rotate_size = v;
			break;
		case OPT_ROTATE_KEEP:
			if (parse_size(optarg, 0, KSM_ROTATE_MAX_KEEP, false, &v))
				return ksm_fail(err, errlen, "invalid --rotate-keep '%s' (expected 0 to %d)", optarg, KSM_ROTATE_MAX_KEEP);
			o->rotate_keep = (unsigned)v;
			break;
		case OPT_FILE_MODE:
			if (parse_mode(optarg, &o->file_mode))
				return ksm_fail(err, errlen, "invalid --file-mode '%s' (expected 0600, 0640, 0644 or another octal mode within 0644 that lets the owner read and write)", optarg);
			break;
		case OPT_FILE_GROUP:
			if (parse_group(optarg, &o->file_gid))
				return ksm_fail(err, errlen, "invalid --file-group '%s' (expected a group name or number)", optarg);
			break;
		case OPT_OUTPUT_ERROR: {
			static const char *const whats[] = { "continue", "exit", NULL };
			int i = keyword_index(optarg, whats);
			if (i < 0)
				return ksm_fail(err, errlen, "invalid --on-output-error '%s' (expected continue or exit)", optarg);
			o->exit_on_output_error = i == 1;
			break;
		}
		case OPT_SYSLOG:
			/* the target may follow as the next argument, as in --syslog HOST:PORT */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (optarg && ksm_syslog_check(optarg, err, errlen))
				return -1;
			o->syslog = true;
			o->syslog_target = optarg;
			break;
		case OPT_IMAGE_HOOK: {
			static const char *const hooks[] = { "auto", "fexit", "raw", "perf", NULL };
			int i = keyword_index(optarg, hooks);
			if (i < 0)
				return ksm_fail(err, errlen, "invalid --image-hook '%s' (expected auto, fexit, raw or perf)", optarg);
			o->image_hook = (enum ksm_image_hook)i;
			break;
		}
		case OPT_HASH:
			if (strcmp(optarg, "sha256"))
				return ksm_fail(err, errlen, "invalid --hash '%s' (expected sha256)", optarg);
			o->hash = true;
			break;
		case 'c':
		case OPT_METRICS:
			if (!*optarg)
				return ksm_fail(err, errlen, "invalid --%s '' (expected a file name)",
						c == 'c' ? "config" : "metrics-file");
			*(c == 'c' ? &o->config : &o->metrics_file) = optarg;
			break;
		case OPT_DENY:
			if (ksm_glob_check(optarg, err, errlen))
				return -1;
			if (o->n_deny_globs == KSM_MAX_DENY_RULES)
				return ksm_fail(err, errlen, "too many --deny options (at most %d)", KSM_MAX_DENY_RULES);
			o->deny_globs[o->n_deny_globs++] = optarg;
			break;
		case OPT_DENY_SHA256:
			if (ksm_sha256_parse(optarg, digest))
				return ksm_fail(err, errlen, "invalid --deny-sha256 '%s' (expected 64 hexadecimal digits)", optarg);
			if (o->n_deny_sha256 == KSM_MAX_DENY_RULES)
				return ksm_fail(err, errlen, "too many --deny-sha256 options (at most %d)", KSM_MAX_DENY_RULES);
			o->deny_sha256[o->n_deny_sha256++] = optarg;
			break;
		case OPT_AUDIT:
			o->deny_audit = true;
			break;
		case OPT_DENY_TIMEOUT:
			if (parse_size(optarg, 1, 60000, false, &v))
				return ksm_fail(err, errlen, "invalid --deny-timeout-ms '%s' (expected 1 to 60000)", optarg);
			o->deny_timeout_ms = (uint32_t)v;
			break;
		case OPT_FAIL_CLOSED:
			o->deny_fail_closed = true;
			break;
		case OPT_DENY_UNVERIFIABLE:
			o->deny_unverifiable = true;
			break;
		case OPT_DENY_ENGINE: {
			static const char *const engines[] = { "fanotify", "lsm", "auto", NULL };
			int i = keyword_index(optarg, engines);
			if (i < 0)
				return ksm_fail(err, errlen, "invalid --deny-engine '%s' (expected fanotify, lsm or auto)", optarg);
			o->deny_engine = (enum ksm_deny_engine)i;
			break;
		}
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		case ':':
			if (long_name(longopts, optopt))
				return ksm_fail(err, errlen, "option '--%s' needs a value", long_name(longopts, optopt));
			return ksm_fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			/* optopt: the option at fault, also inside a group like -xh */
			if (optopt && long_name(longopts, optopt))
				return ksm_fail(err, errlen, "option '--%s' takes no value", long_name(longopts, optopt));
			if (optopt)
				return ksm_fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
			return ksm_fail(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ksm_fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
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

/* Options a configuration file may not set: they say which file, or are
 * not a monitor's settings. */
static bool file_may_set(const char *name)
{
	static const char *const not_in_file[] = { "config", "read", "help", "version" };
	for (size_t i = 0; i < sizeof(not_in_file) / sizeof(not_in_file[0]); i++)
		if (!strcmp(name, not_in_file[i]))
			return false;
	return true;
}

/* Options given once per value, whose lists are so many options. */
static bool repeatable(const char *name)
{
	return !strcmp(name, "pid") || !strcmp(name, "container") || !strcmp(name, "deny") ||
	       !strcmp(name, "deny-sha256");
}

/* Whether the command line gives the option of this long name. */
static bool cmdline_gives(int argc, char **argv, const char *name)
{
	const char *arg;
	for (const struct option *p = longopts; p->name; p++)
		if (!strcmp(p->name, name))
			return find_option(argc, argv, p->val, &arg);
	return false;
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
