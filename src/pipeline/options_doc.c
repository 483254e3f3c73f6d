// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --help and ksysmon(8)'s OPTIONS section, written from the options'
 * table (options_table.h), so that neither can name an option, a short
 * letter or an argument the parser does not have.
 */
#include "pipeline/options.h"

#include <stdbool.h>
#include <string.h>

#include "pipeline/options_table.h"

#define HELP_COLUMN 29 /* where the help lines start */

static const char usage_head[] =
	"Usage: ksysmon [OPTION...]\n"
	"Reports process creation and exit, program execution, thread start and\n"
	"end and image loads, from inside the kernel, until interrupted\n"
	"(SIGINT/SIGTERM); can refuse executions by policy.\n"
	"\n";

/* "  -f, --format=FORMAT", "      --syslog[=TARGET]" */
static void help_names(struct ksm_buf *b, const struct ksm_opt *opt)
{
	ksm_buf_puts(b, "  ");
	if (opt->short_name) {
		ksm_buf_putc(b, '-');
		ksm_buf_putc(b, opt->short_name);
		ksm_buf_puts(b, ", ");
	} else {
		ksm_buf_puts(b, "    ");
	}
	ksm_buf_puts(b, "--");
	ksm_buf_puts(b, opt->name);
	if (opt->arg == KSM_OPT_ARG_OPTIONAL)
		ksm_buf_puts(b, "[=");
	else if (opt->arg == KSM_OPT_ARG_REQUIRED)
		ksm_buf_putc(b, '=');
	if (opt->arg != KSM_OPT_ARG_NONE)
		ksm_buf_puts(b, opt->metavar);
	if (opt->arg == KSM_OPT_ARG_OPTIONAL)
		ksm_buf_putc(b, ']');
}

static void pad_to(struct ksm_buf *b, size_t line_start, size_t column)
{
	do
		ksm_buf_putc(b, ' ');
	while (b->len - line_start < column);
}

static void help_entry(struct ksm_buf *b, const struct ksm_opt *opt)
{
	size_t line = b->len;
	help_names(b, opt);
	for (const char *p = opt->help; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (p != opt->help)
			line = b->len;
		pad_to(b, line, HELP_COLUMN);
		ksm_buf_put(b, p, n);
		ksm_buf_putc(b, '\n');
		p += n + (nl != NULL);
	}
}

const char *ksm_usage(void)
{
	/* built once; reachable for the whole run */
	static struct ksm_buf usage;

	if (!usage.len) {
		ksm_buf_puts(&usage, usage_head);
		for (size_t i = 0; i < ksm_n_opts; i++)
			help_entry(&usage, &ksm_opts[i]);
		ksm_buf_putc(&usage, '\0');
	}
	return usage.failed ? usage_head : usage.data;
}

/* A name in roff: every '-' escaped. */
static void roff_name(struct ksm_buf *b, const char *dashes, const char *name)
{
	ksm_buf_puts(b, dashes);
	for (; *name; name++) {
		if (*name == '-')
			ksm_buf_putc(b, '\\');
		ksm_buf_putc(b, *name);
	}
}

/* The .TP item's tag: .BR \-f ", " \-\-format =\fIFORMAT\fR and the like;
 * a lower-case metavar is the one literal value, in bold. */
static void man_tag(struct ksm_buf *b, const struct ksm_opt *opt)
{
	bool alternating = opt->short_name || opt->arg != KSM_OPT_ARG_NONE;
	ksm_buf_puts(b, alternating ? ".BR " : ".B ");
	if (opt->short_name) {
		ksm_buf_puts(b, "\\-");
		ksm_buf_putc(b, opt->short_name);
		ksm_buf_puts(b, " \", \" ");
	}
	roff_name(b, "\\-\\-", opt->name);
	if (opt->arg == KSM_OPT_ARG_NONE) {
		ksm_buf_putc(b, '\n');
		return;
	}
	bool literal = opt->metavar[0] >= 'a' && opt->metavar[0] <= 'z';
	ksm_buf_puts(b, opt->arg == KSM_OPT_ARG_OPTIONAL ? " [=" : " =");
	ksm_buf_puts(b, literal ? "\\fB" : "\\fI");
	ksm_buf_puts(b, opt->metavar);
	ksm_buf_puts(b, "\\fR");
	if (opt->arg == KSM_OPT_ARG_OPTIONAL)
		ksm_buf_putc(b, ']');
	ksm_buf_putc(b, '\n');
}

void ksm_options_man(struct ksm_buf *b)
{
	ksm_buf_puts(b, ".SH OPTIONS\n");
	for (size_t i = 0; i < ksm_n_opts; i++) {
		ksm_buf_puts(b, ".TP\n");
		man_tag(b, &ksm_opts[i]);
		ksm_buf_puts(b, ksm_opts[i].man);
	}
}
