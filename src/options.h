/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line of build/ksysmon. */
#ifndef KSM_OPTIONS_H
#define KSM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_MAX_PIDS 1024

enum ksm_format { KSM_FORMAT_TEXT, KSM_FORMAT_JSON };

struct ksm_options {
	enum ksm_format format;
	uint32_t event_mask;  /* bit (1 << type) per wanted event type */
	uint32_t pids[KSM_MAX_PIDS];
	size_t n_pids;
	uint32_t max_args_bytes;
	uint64_t ringbuf_bytes;
	uint32_t latency_ms;  /* longest an event may wait before it is shown */
	const char *output;   /* NULL: standard output */
	bool help;
	bool version;
};

/* Parses argv into *o.  On error returns -1 with a one-line reason in err.
 * Pure: no output, no exit. */
int ksm_parse_options(int argc, char **argv, struct ksm_options *o, char *err, size_t errlen);

extern const char ksm_usage[];

#endif
