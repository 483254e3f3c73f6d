/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The options of build/ksysmon, one table (options_table.c): each entry
 * gives an option's names, its argument, how its value is checked and
 * stored, its --help lines and its ksysmon(8) text.  From it come the
 * command line's parser and the configuration's `options:` (options.c),
 * --help and the manual page's OPTIONS section (options_doc.c).
 */
#ifndef KSM_OPTIONS_TABLE_H
#define KSM_OPTIONS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/options.h"

#define KSM_OPTS_MAX 64 /* entries the table may hold */

enum ksm_opt_arg {
	KSM_OPT_ARG_NONE,
	KSM_OPT_ARG_REQUIRED, /* --name=VALUE, --name VALUE, -xVALUE, -x VALUE */
	/* --name=VALUE, or the next argument when it does not start with
	 * '-' (--syslog HOST:PORT), or none */
	KSM_OPT_ARG_OPTIONAL,
};

enum {
	KSM_OPT_REPEATABLE = 1u << 0,  /* each use adds one value to a list */
	KSM_OPT_NOT_IN_FILE = 1u << 1, /* not a monitor's setting: refused in `options:` */
};

struct ksm_opt;

/* Checks arg (NULL: an optional argument not given; the flag's options
 * get NULL) and stores it into *o: 0, or -1 with one line in err. */
typedef int ksm_opt_set(const struct ksm_opt *opt, struct ksm_options *o, const char *arg,
			char *err, size_t errlen);

struct ksm_opt {
	const char *name;  /* long name, without "--" */
	char short_name;   /* 0: none */
	enum ksm_opt_arg arg;
	/* the value's name in the documentation ("FILE"); in lower case, the
	 * one value it may have ("sha256") */
	const char *metavar;
	unsigned flags;    /* KSM_OPT_* */
	ksm_opt_set *set;
	size_t field;      /* for the shared setters: offsetof(struct ksm_options, x) */
	uint32_t min, max; /* set_uint32's bounds */
	const char *help;  /* --help: lines beside the name ('\n' between) */
	const char *man;   /* ksysmon(8): the item's roff text, ending in '\n' */
};

extern const struct ksm_opt ksm_opts[];
extern const size_t ksm_n_opts;

#endif
