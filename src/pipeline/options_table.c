// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The options' table (options_table.h): how each value is checked and
 * stored, and what --help and ksysmon(8) say of it.  The help lines and
 * the manual's text sit together here so that they change together.
 */
#include "pipeline/options_table.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/errmsg.h"
#include "ksysmon_limits.h"
#include "policy/globc.h"
#include "policy/policy.h"
#include "sinks/output.h"
#include "sinks/syslog.h"

/* ---- values -------------------------------------------------------------- */

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

/* The position of arg in names (NULL-terminated, in the order of the
 * option's enum), or -1 with "invalid --name 'arg' (expected a, b or c)". */
static int keyword(const struct ksm_opt *opt, const char *arg, const char *const *names,
		   char *err, size_t errlen)
{
	char expected[128] = "";
	size_t n = 0;

	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	while (names[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(expected);
		snprintf(expected + k, sizeof(expected) - k, "%s%s",
			 i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	}
	ksm_fail(err, errlen, "invalid --%s '%s' (expected %s)", opt->name, arg, expected);
	return -1;
}

/* ---- setters -------------------------------------------------------------- */

#define FIELD(o, opt, type) ((type *)((char *)(o) + (opt)->field))

/* A flag: the bool at opt->field. */
static int set_flag(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		    size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	*FIELD(o, opt, bool) = true;
	return 0;
}

/* A file name: the const char * at opt->field. */
static int set_file(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		    size_t errlen)
{
	if (!*arg)
		return ksm_fail(err, errlen, "invalid --%s '' (expected a file name)", opt->name);
	*FIELD(o, opt, const char *) = arg;
	return 0;
}

/* A whole number from opt->min to opt->max: the uint32_t at opt->field. */
static int set_uint32(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
		      char *err, size_t errlen)
{
	uint64_t v;
	if (parse_size(arg, opt->min, opt->max, false, &v))
		return ksm_fail(err, errlen, "invalid --%s '%s' (expected %u to %u)", opt->name, arg,
				opt->min, opt->max);
	*FIELD(o, opt, uint32_t) = (uint32_t)v;
	return 0;
}

static int set_format(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		      size_t errlen)
{
	static const char *const formats[] = { "text", "json", NULL };
	int i = keyword(opt, arg, formats, err, errlen);
	if (i < 0)
		return -1;
	o->format = (enum ksm_format)i;
	return 0;
}

static int set_events(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		      size_t errlen)
{
	(void)opt;
	if (parse_events(arg, &o->event_mask))
		return ksm_fail(err, errlen, "invalid --events '%s' (expected a comma-separated list of event types)", arg);
	o->events_given = true;
	return 0;
}

static int set_pid(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		   size_t errlen)
{
	uint64_t v;
	(void)opt;
	if (parse_size(arg, 1, 4194304, false, &v))
		return ksm_fail(err, errlen, "invalid --pid '%s' (expected a process id from 1 to 4194304)", arg);
	if (o->n_pids == KSM_MAX_PIDS)
		return ksm_fail(err, errlen, "too many --pid options (at most %d)", KSM_MAX_PIDS);
	o->pids[o->n_pids++] = (uint32_t)v;
	return 0;
}

/* all, host, or 1 to 64 hex digits (either case: engines print lowercase,
 * a pasted id may not be): an id or its prefix; which running container a
 * prefix names is decided at start */
static int set_container(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			 char *err, size_t errlen)
{
	size_t n = strlen(arg);
	(void)opt;
	if (strcmp(arg, "all") && strcmp(arg, "host") &&
	    (n < 1 || n > 64 || strspn(arg, "0123456789abcdefABCDEF") != n))
		return ksm_fail(err, errlen,
				"invalid --container '%s' (expected a container id or its prefix in hex, all or host; a name is not an id: podman ps --no-trunc shows ids)",
				arg);
	if (o->n_containers == KSM_MAX_CONTAINERS)
		return ksm_fail(err, errlen, "too many --container options (at most %d)",
				KSM_MAX_CONTAINERS);
	o->containers[o->n_containers++] = arg;
	return 0;
}

static int set_ringbuf_size(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			    char *err, size_t errlen)
{
	uint64_t v;
	(void)opt;
	if (parse_size(arg, 1, 1ull << 30, true, &v) || (v & (v - 1)) || v < 65536)
		return ksm_fail(err, errlen, "invalid --ringbuf-size '%s' (expected a power of two from 64K to 1G)", arg);
	o->ringbuf_bytes = v;
	return 0;
}

static int set_rotate_size(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			   char *err, size_t errlen)
{
	uint64_t v;
	(void)opt;
	if (parse_size(arg, KSM_ROTATE_MIN_BYTES, UINT64_MAX >> 1, true, &v))
		return ksm_fail(err, errlen, "invalid --rotate-size '%s' (expected a size of at least 64K)", arg);
	o->rotate_size = v;
	return 0;
}

static int set_file_mode(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			 char *err, size_t errlen)
{
	(void)opt;
	if (parse_mode(arg, &o->file_mode))
		return ksm_fail(err, errlen, "invalid --file-mode '%s' (expected 0600, 0640, 0644 or another octal mode within 0644 that lets the owner read and write)", arg);
	return 0;
}

static int set_file_group(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			  char *err, size_t errlen)
{
	(void)opt;
	if (parse_group(arg, &o->file_gid))
		return ksm_fail(err, errlen, "invalid --file-group '%s' (expected a group name or number)", arg);
	return 0;
}

static int set_on_output_error(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			       char *err, size_t errlen)
{
	static const char *const whats[] = { "continue", "exit", NULL };
	int i = keyword(opt, arg, whats, err, errlen);
	if (i < 0)
		return -1;
	o->exit_on_output_error = i == 1;
	return 0;
}

static int set_syslog(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
		      char *err, size_t errlen)
{
	(void)opt;
	if (arg && ksm_syslog_check(arg, err, errlen))
		return -1;
	o->syslog = true;
	o->syslog_target = arg;
	return 0;
}

static int set_hash(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		    size_t errlen)
{
	static const char *const hashes[] = { "sha256", NULL };
	if (keyword(opt, arg, hashes, err, errlen) < 0)
		return -1;
	o->hash = true;
	return 0;
}

static int set_image_hook(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			  char *err, size_t errlen)
{
	static const char *const hooks[] = { "auto", "fexit", "raw", "perf", NULL };
	int i = keyword(opt, arg, hooks, err, errlen);
	if (i < 0)
		return -1;
	o->image_hook = (enum ksm_image_hook)i;
	return 0;
}

static int set_deny(const struct ksm_opt *opt, struct ksm_options *o, const char *arg, char *err,
		    size_t errlen)
{
	(void)opt;
	if (ksm_glob_check(arg, err, errlen))
		return -1;
	if (o->n_deny_globs == KSM_MAX_DENY_RULES)
		return ksm_fail(err, errlen, "too many --deny options (at most %d)", KSM_MAX_DENY_RULES);
	o->deny_globs[o->n_deny_globs++] = arg;
	return 0;
}

static int set_deny_sha256(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			   char *err, size_t errlen)
{
	uint8_t digest[KSM_SHA256_LEN];
	(void)opt;
	if (ksm_sha256_parse(arg, digest))
		return ksm_fail(err, errlen, "invalid --deny-sha256 '%s' (expected 64 hexadecimal digits)", arg);
	if (o->n_deny_sha256 == KSM_MAX_DENY_RULES)
		return ksm_fail(err, errlen, "too many --deny-sha256 options (at most %d)", KSM_MAX_DENY_RULES);
	o->deny_sha256[o->n_deny_sha256++] = arg;
	return 0;
}

static int set_deny_engine(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			   char *err, size_t errlen)
{
	static const char *const engines[] = { "fanotify", "lsm", "auto", NULL };
	int i = keyword(opt, arg, engines, err, errlen);
	if (i < 0)
		return -1;
	o->deny_engine = (enum ksm_deny_engine)i;
	return 0;
}

/* ---- the table -------------------------------------------------------------- */

#define FLAG(x) .set = set_flag, .field = offsetof(struct ksm_options, x)
#define FILE_NAME(x) .set = set_file, .field = offsetof(struct ksm_options, x)
#define UINT32(x, lo, hi) .set = set_uint32, .field = offsetof(struct ksm_options, x), .min = (lo), .max = (hi)

/* In the order of --help and ksysmon(8). */
const struct ksm_opt ksm_opts[] = {
	{
		.name = "format",
		.short_name = 'f',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FORMAT",
		.set = set_format,
		.help =
			"text (default) or json (JSON Lines)",
		.man =
			".B text\n"
			"(default): one line per event; or\n"
			".BR json :\n"
			"JSON Lines, one object per event (schema:\n"
			".IR ksysmon\\-events.schema.json ).\n",
	},
	{
		.name = "events",
		.short_name = 'e',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "LIST",
		.set = set_events,
		.help =
			"comma-separated event types to report:\n"
			"process_create, process_exec, process_exit,\n"
			"thread_create, thread_exit, image_load, or all\n"
			"(default: all but image_load)",
		.man =
			"Comma-separated event types to report:\n"
			".BR process_create \", \" process_exec \", \" process_exit ,\n"
			".BR thread_create \", \" thread_exit \", \" image_load ,\n"
			"or\n"
			".BR all .\n"
			"The default is all but\n"
			".BR image_load .\n"
			"Types not wanted are dropped in the kernel, and programs nobody needs are\n"
			"not attached.\n",
	},
	{
		.name = "pid",
		.short_name = 'p',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "PID",
		.flags = KSM_OPT_REPEATABLE,
		.set = set_pid,
		.help =
			"only events of this process (and processes\n"
			"it creates); repeatable",
		.man =
			"Only events of this process and of the processes it creates, decided in\n"
			"the kernel.\n"
			"Repeatable, up to 1024.\n"
			"A pid no process has at start is accepted with a warning.\n",
	},
	{
		.name = "container",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "ID",
		.flags = KSM_OPT_REPEATABLE,
		.set = set_container,
		.help =
			"only events of this container (an id or a\n"
			"prefix naming one running container), of\n"
			"any container (all) or of the host (host);\n"
			"repeatable",
		.man =
			"Only events of this container: its id or a prefix of it (hex digits, in\n"
			"either case: engines print lowercase, an id pasted in capitals means the\n"
			"same) naming exactly one running container at start, \\fBall\\fR (any container)\n"
			"or \\fBhost\\fR (processes in no container).  Repeatable; events of the\n"
			"others are counted as filtered.  A value naming none or several running\n"
			"containers is refused with a one-line error.  The id selected stays\n"
			"selected for the run: a container started later with another id is\n"
			"not, the same container restarted is.  Ids only (no \\fBall\\fR nor\n"
			"\\fBhost\\fR): decided in the kernel for the cgroups that exist at start\n"
			"(those of the selected containers and any cgroup below them pass, the\n"
			"others are dropped before the queue, counted with the kernel's\n"
			"filtered events); a cgroup made later reaches ksysmon, which decides\n"
			"from its path.  \\fBall\\fR and \\fBhost\\fR are decided by ksysmon alone.\n"
			"With \\fB\\-\\-read\\fR, a\n"
			"prefix selects every container of the capture whose id begins with it.\n"
			"With \\fB\\-\\-pid\\fR, an event is shown only if it passes both.\n"
			"A container's name is not\n"
			"accepted (the ids are in\n"
			".BR \"podman ps --no-trunc\" );\n"
			"an lxc or systemd-nspawn container, whose id is its name, is selected\n"
			"with a\n"
			".B container_id\n"
			"rule in the configuration.\n"
			"Thread events are selected by the thread's own cgroup, as the others\n"
			"by their process's; an exec refused by the policy is always shown.\n",
	},
	{
		.name = "max-args-bytes",
		.short_name = 'a',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "N",
		UINT32(max_args_bytes, 0, KSM_ARGS_CAP - 1),
		.help =
			"capture at most N bytes of arguments per exec\n"
			"(default 65536, at most 1048575)",
		.man =
			"Capture at most\n"
			".I N\n"
			"bytes of arguments per exec (default 65536, at most 1048575); past it\n"
			".B argv_truncated\n"
			"is true.\n",
	},
	{
		.name = "ringbuf-size",
		.short_name = 'b',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "SIZE",
		.set = set_ringbuf_size,
		.help =
			"kernel queue size in bytes, a power of two;\n"
			"K, M and G suffixes accepted (default 16M)",
		.man =
			"Size of the kernel queue, a power of two from 64K to 1G\n"
			".RB ( K \", \" M \", \" G\n"
			"suffixes; default 16M).\n"
			"It must hold three of the largest exec records.\n",
	},
	{
		.name = "latency-ms",
		.short_name = 'l',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "MS",
		UINT32(latency_ms, 1, 1000),
		.help =
			"longest delay before an event is shown\n"
			"(default 100, 1..1000)",
		.man =
			"Longest time an event waits in the queue before it is shown (default 100,\n"
			"1 to 1000).\n",
	},
	{
		.name = "output",
		.short_name = 'o',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FILE",
		FILE_NAME(output),
		.help =
			"write events to FILE instead of stdout",
		.man =
			"Write events to\n"
			".I FILE\n"
			"instead of standard output.\n"
			"A regular file is always made anew: created under a hidden temporary name\n"
			"in its directory with its mode and group, checked, then renamed into place.\n"
			"A symbolic link, another user's file or a file with other hard links at the\n"
			"name is refused.\n"
			"A FIFO, a character device,\n"
			".IR /dev/stdout \", \" /dev/stderr \" or \" /dev/fd/N\n"
			"is written as it is.\n",
	},
	{
		.name = "write",
		.short_name = 'w',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FILE",
		FILE_NAME(write),
		.help =
			"record the raw events to a capture FILE\n"
			"(nothing is shown unless --print or -o)",
		.man =
			"Record the raw events to a capture\n"
			".IR FILE ;\n"
			"nothing is shown unless\n"
			".B \\-\\-print\n"
			"or\n"
			".BR \\-\\-output .\n"
			"The same rules as\n"
			".BR \\-\\-output .\n",
	},
	{
		.name = "print",
		.arg = KSM_OPT_ARG_NONE,
		FLAG(print),
		.help =
			"with -w: show the events as well",
		.man =
			"With\n"
			".BR \\-w :\n"
			"show the events as well.\n",
	},
	{
		.name = "read",
		.short_name = 'r',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FILE",
		.flags = KSM_OPT_NOT_IN_FILE,
		FILE_NAME(read),
		.help =
			"replay a capture instead of watching the\n"
			"kernel (same filters and views as live)",
		.man =
			"Replay a capture instead of watching the kernel, through the same filters\n"
			"and views.\n",
	},
	{
		.name = "rotate-size",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "SIZE",
		.set = set_rotate_size,
		.help =
			"start a new output/capture file when it would\n"
			"pass SIZE bytes (K, M, G suffixes; >= 64K);\n"
			"FILE becomes FILE.1, FILE.1 FILE.2, ...",
		.man =
			"With\n"
			".B \\-\\-output\n"
			"or\n"
			".BR \\-w :\n"
			"before a file would pass\n"
			".I SIZE\n"
			"bytes (at least 64K), rename it to\n"
			".IR FILE .1\n"
			".RI ( FILE .1\n"
			"to\n"
			".IR FILE .2,\n"
			"and so on) and start a new\n"
			".IR FILE .\n"
			"A line or record is never split across files.\n",
	},
	{
		.name = "rotate-keep",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "K",
		UINT32(rotate_keep, 0, KSM_ROTATE_MAX_KEEP),
		.help =
			"rotated files kept (default 5, 0..1000)",
		.man =
			"Rotated files kept (default 5, 0 to 1000).\n",
	},
	{
		.name = "file-mode",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "MODE",
		.set = set_file_mode,
		.help =
			"mode of the files written (octal; default\n"
			"0600; 0640 or 0644 let a group or everyone\n"
			"read them)",
		.man =
			"Mode of the files created, exactly, whatever the umask (octal; default\n"
			"0600; within 0644, with the owner's read and write).\n",
	},
	{
		.name = "file-group",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "GROUP",
		.set = set_file_group,
		.help =
			"group of the files written (name or number)",
		.man =
			"Group (name or number) of the files created.\n",
	},
	{
		.name = "on-output-error",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "WHAT",
		.set = set_on_output_error,
		.help =
			"continue (default: count the events that\n"
			"cannot be written, retry every second) or\n"
			"exit (not with --deny rules, unless --audit)",
		.man =
			"When writing fails (a full disk, an I/O error):\n"
			".B continue\n"
			"(default) counts the events not written and tries again every second;\n"
			".B exit\n"
			"ends ksysmon with status 1; it is refused with\n"
			".B --deny\n"
			"or\n"
			".B --deny-sha256\n"
			"rules, unless\n"
			".BR --audit :\n"
			"enforcement never stops because of an output.\n",
	},
	{
		.name = "syslog",
		.arg = KSM_OPT_ARG_OPTIONAL,
		.metavar = "TARGET",
		.set = set_syslog,
		.help =
			"send events to syslog as RFC 5424 messages:\n"
			"unix:PATH (default unix:/dev/log), HOST:PORT\n"
			"or tcp:HOST:PORT (TCP), udp:HOST:PORT",
		.man =
			"Also send every shown event to syslog as an RFC 5424 message:\n"
			".BI unix: PATH\n"
			"(default\n"
			".BR unix:/dev/log ),\n"
			".IB HOST : PORT\n"
			"or\n"
			".BI tcp: HOST : PORT\n"
			"(TCP, octet-counted frames),\n"
			".BI udp: HOST : PORT\\fR.\n"
			"A message that cannot be delivered is counted as dropped; a TCP message\n"
			"is counted as sent once the server acknowledged it.\n"
			"When the target starts failing (refused, unreachable, a server that\n"
			"answers as a RELP server does, or acknowledges nothing for 3 seconds)\n"
			"ksysmon says so once on standard error, and again when it works again,\n"
			"with the messages dropped meanwhile.\n",
	},
	{
		.name = "config",
		.short_name = 'c',
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FILE",
		.flags = KSM_OPT_NOT_IN_FILE,
		FILE_NAME(config),
		.help =
			"include/exclude rules (YAML, see docs/config.md)",
		.man =
			"Include and exclude rules per event type, in YAML (see\n"
			".BR ksysmon.yaml (5)).\n"
			"A bad file is refused with\n"
			".IB file : line : \" reason\"\n"
			"and ksysmon does not start.\n"
			"Read again on\n"
			".BR SIGHUP .\n",
	},
	{
		.name = "metrics-file",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "FILE",
		FILE_NAME(metrics_file),
		.help =
			"write counters to FILE every 5 s, in the\n"
			"Prometheus text format (node_exporter's\n"
			"textfile collector), replaced whole",
		.man =
			"Write the counters to\n"
			".I FILE\n"
			"every 5 seconds, on\n"
			".B SIGUSR1\n"
			"and at exit, in the Prometheus text format, for the textfile collector of\n"
			".BR prometheus\\-node\\-exporter (1):\n"
			"events seen, shown, filtered in the kernel and by ksysmon, and lost, per\n"
			"type; the queue's fill; events not written and write failures per file;\n"
			"syslog messages sent, dropped and waiting, its failures and whether it\n"
			"fails now; digests computed and cache hits; reloads.\n"
			"The file is replaced whole each time (a new file, mode 0644, renamed over\n"
			"the old one), so a reader never sees part of it.\n",
	},
	{
		.name = "hash",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "sha256",
		.set = set_hash,
		.help =
			"add the SHA-256 of executed files and images",
		.man =
			"Add the SHA-256 of the executed file to\n"
			".B process_exec\n"
			"and of the mapped file to\n"
			".B image_load\n"
			"(cached by device, inode, size and times).\n",
	},
	{
		.name = "image-hook",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "HOOK",
		.set = set_image_hook,
		.help =
			"how image loads are caught: auto (default:\n"
			"fexit where the kernel allows it, else raw),\n"
			"fexit (at the exit of mmap and mprotect only),\n"
			"raw (one program on every syscall exit) or\n"
			"perf (the syscall events of mmap and mprotect:\n"
			"dearer per mmap, cheaper for other syscalls)",
		.man =
			"How image loads are caught:\n"
			".B auto\n"
			"(default:\n"
			".B fexit\n"
			"where the kernel attaches it, else\n"
			".BR raw ),\n"
			".B fexit\n"
			"(at the exit of mmap and mprotect only),\n"
			".B raw\n"
			"(one program on every system call exit) or\n"
			".B perf\n"
			"(the syscall events of mmap and mprotect).\n",
	},
	{
		.name = "deny",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "GLOB",
		.flags = KSM_OPT_REPEATABLE,
		.set = set_deny,
		.help =
			"refuse to execute files whose absolute path\n"
			"matches GLOB (fnmatch(3); '*' also matches\n"
			"'/'); repeatable",
		.man =
			"Refuse to execute files whose absolute, resolved path matches\n"
			".IR GLOB ,\n"
			"an\n"
			".BR fnmatch (3)\n"
			"pattern where\n"
			".B *\n"
			"and\n"
			".B ?\n"
			"also match\n"
			".BR / .\n"
			"A file reached only through a tree in no mount namespace (a bind\n"
			"mount unmounted with MNT_DETACH, an\n"
			".BR open_tree (2)\n"
			"clone never attached; runc's copy of itself) has no such path: no\n"
			".I GLOB\n"
			"matches it.\n"
			"Repeatable, up to 1024.\n",
	},
	{
		.name = "deny-sha256",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "HEX",
		.flags = KSM_OPT_REPEATABLE,
		.set = set_deny_sha256,
		.help =
			"refuse to execute files whose content has this\n"
			"SHA-256 digest, under any name; repeatable",
		.man =
			"Refuse files whose content has this SHA-256 digest, under any name.\n"
			"Repeatable, up to 1024.\n",
	},
	{
		.name = "audit",
		.arg = KSM_OPT_ARG_NONE,
		FLAG(deny_audit),
		.help =
			"deny nothing, report what would be denied",
		.man =
			"Deny nothing; report what would have been denied.\n",
	},
	{
		.name = "deny-timeout-ms",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "MS",
		UINT32(deny_timeout_ms, 1, 60000),
		.help =
			"longest an exec waits for a decision\n"
			"(default 500, 1..60000); after it the exec is\n"
			"allowed, unless --fail-closed",
		.man =
			"Longest an exec waits for a decision (default 500, 1 to 60000); after it\n"
			"the exec is allowed, unless\n"
			".BR \\-\\-fail\\-closed .\n",
	},
	{
		.name = "fail-closed",
		.arg = KSM_OPT_ARG_NONE,
		FLAG(deny_fail_closed),
		.help =
			"deny an exec that cannot be decided in time\n"
			"or whose file cannot be checked",
		.man =
			"Deny an exec that cannot be decided in time or whose file cannot be read.\n",
	},
	{
		.name = "deny-unverifiable",
		.arg = KSM_OPT_ARG_NONE,
		FLAG(deny_unverifiable),
		.help =
			"kill, before its first instruction, an exec\n"
			"of a file the fanotify engine cannot check: on\n"
			"a filesystem it cannot watch (mounted in\n"
			"another mount namespace, FUSE, a memfd)",
		.man =
			"With the fanotify engine: kill, before its first instruction, every exec\n"
			"of a file it cannot check (on a filesystem mounted in another mount\n"
			"namespace, FUSE, a memfd), reported as\n"
			".B exec_blocked\n"
			"with rule\n"
			".BR \"unwatched filesystem\" ;\n"
			"with\n"
			".B \\-\\-audit\n"
			"only reported.\n",
	},
	{
		.name = "deny-engine",
		.arg = KSM_OPT_ARG_REQUIRED,
		.metavar = "ENGINE",
		.set = set_deny_engine,
		.help =
			"who decides --deny rules: fanotify (default;\n"
			"this process), lsm (the kernel, through BPF-LSM\n"
			"at bprm_check_security: no exec waits for this\n"
			"process) or auto (lsm where the kernel runs BPF\n"
			"LSM programs, else fanotify)",
		.man =
			"Who decides\n"
			".B \\-\\-deny\n"
			"rules:\n"
			".B fanotify\n"
			"(default: this process),\n"
			".B lsm\n"
			"(the kernel, through a BPF-LSM program: no exec waits for ksysmon) or\n"
			".B auto\n"
			".RB ( lsm\n"
			"where the kernel runs BPF LSM programs, else\n"
			".BR fanotify ).\n",
	},
	{
		.name = "help",
		.short_name = 'h',
		.arg = KSM_OPT_ARG_NONE,
		.flags = KSM_OPT_NOT_IN_FILE,
		FLAG(help),
		.help =
			"show this help",
		.man =
			"Show the options and exit.\n",
	},
	{
		.name = "version",
		.short_name = 'V',
		.arg = KSM_OPT_ARG_NONE,
		.flags = KSM_OPT_NOT_IN_FILE,
		FLAG(version),
		.help =
			"show the version",
		.man =
			"Show the version and exit.\n",
	},
};

const size_t ksm_n_opts = sizeof(ksm_opts) / sizeof(ksm_opts[0]);

_Static_assert(sizeof(ksm_opts) / sizeof(ksm_opts[0]) <= KSM_OPTS_MAX, "KSM_OPTS_MAX too small");
