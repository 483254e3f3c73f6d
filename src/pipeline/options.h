/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line of build/ksysmon. */
#ifndef KSM_OPTIONS_H
#define KSM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ksysmon_event.h"
#include "ksysmon_limits.h"
#include "pipeline/rules.h"
#include "sinks/safefile.h"

#define KSM_MAX_CONTAINERS 64
#define KSM_MAX_DENY_RULES 1024 /* of each kind */
#define KSM_DEFAULT_DENY_TIMEOUT_MS 500

enum ksm_format { KSM_FORMAT_TEXT, KSM_FORMAT_JSON };

/* Reported without --events: all but image loads, which (as in Sysmon)
 * are asked for, being by far the most numerous. */
#define KSM_DEFAULT_EVENTS (KSM_ALL_EVENTS & ~(1u << KSM_EV_IMAGE_LOAD))

struct ksm_options {
	enum ksm_format format;
	uint32_t event_mask;  /* bit (1 << type) per wanted event type */
	uint32_t pids[KSM_MAX_PIDS];
	size_t n_pids;
	/* --container: ids or their prefixes (hex, either case), "all", "host";
	 * point into argv */
	const char *containers[KSM_MAX_CONTAINERS];
	size_t n_containers;
	uint32_t max_args_bytes;
	uint64_t ringbuf_bytes;
	uint32_t latency_ms;  /* longest an event may wait before it is shown */
	bool events_given;    /* --events was on the command line */
	const char *output;   /* NULL: standard output */
	const char *write;    /* -w: capture file, or NULL */
	const char *read;     /* -r: replay this capture instead of the kernel */
	bool print;           /* with -w: also show events */
	uint64_t rotate_size; /* 0: no rotation */
	uint32_t rotate_keep;
	unsigned file_mode;   /* of files created (--file-mode) */
	long file_gid;        /* their group (--file-group), -1: ksysmon's */
	bool exit_on_output_error; /* --on-output-error exit */
	bool syslog;
	const char *syslog_target; /* NULL: the default */
	const char *config;   /* rules file, or NULL */
	const char *metrics_file; /* --metrics-file, or NULL */
	bool hash;            /* --hash sha256 */
	enum ksm_image_hook {
		KSM_IMAGE_HOOK_AUTO,  /* fexit where the kernel allows it, else raw */
		KSM_IMAGE_HOOK_FEXIT, /* fexit on the mmap and mprotect syscalls */
		KSM_IMAGE_HOOK_RAW,   /* the raw sys_exit tracepoint */
		KSM_IMAGE_HOOK_PERF,  /* the perf syscall events */
	} image_hook;
	/* execution policy; the strings point into argv */
	const char *deny_globs[KSM_MAX_DENY_RULES];
	size_t n_deny_globs;
	const char *deny_sha256[KSM_MAX_DENY_RULES];
	size_t n_deny_sha256;
	bool deny_audit;        /* report what would be denied, deny nothing */
	bool deny_fail_closed;  /* deny when no decision is made in time */
	bool deny_unverifiable; /* kill execs of files the fanotify engine cannot watch */
	uint32_t deny_timeout_ms;
	enum ksm_deny_engine {
		KSM_DENY_ENGINE_FANOTIFY, /* this process answers fanotify permission events */
		KSM_DENY_ENGINE_LSM,      /* the kernel decides --deny (BPF-LSM) */
		KSM_DENY_ENGINE_AUTO,     /* LSM where the kernel runs BPF LSM programs */
	} deny_engine;
	bool help;
	bool version;
};

/* Parses argv into *o.  On error returns -1 with a one-line reason in err.
 * Pure: no output, no exit. */
int ksm_parse_options(int argc, char **argv, struct ksm_options *o, char *err, size_t errlen);

/* The --config of the command line, or NULL (read before the rest, which
 * the file's options may complete). */
const char *ksm_options_config_path(int argc, char **argv);

/* The arguments a configuration file's options stand for, kept for the
 * whole run (the options point into them). */
struct ksm_config_args {
	char **v;
	int n;
};

/*
 * Parses the command line over the options of the configuration file
 * (`options:` of --config, as "--name=value" before the command line's):
 * an option the command line gives replaces the file's (a repeatable one,
 * --pid, --deny, --deny-sha256, its whole list).  On error, -1 with one
 * line in err: "file:line: reason" when the option at fault is the
 * file's.  args is freed with ksm_config_args_free().
 */
int ksm_parse_options_with_config(int argc, char **argv,
				  const char *file, const struct ksm_config_option *co, size_t n,
				  struct ksm_config_args *args, struct ksm_options *o,
				  char *err, size_t errlen);
void ksm_config_args_free(struct ksm_config_args *args);

/* --help's text (options_doc.c), from the options' table. */
const char *ksm_usage(void);

/* ksysmon(8)'s OPTIONS section, from ".SH OPTIONS" to the next section,
 * from the same table; appended to b (b->failed on out of memory). */
void ksm_options_man(struct ksm_buf *b);

#endif
