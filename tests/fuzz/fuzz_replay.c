// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any bytes as a capture file, through the whole replay
 * path (header, record framing, annotations, decoding, enrichment, the
 * rules-free selection and both views).  A crash, a sanitizer report or a
 * leak is a finding; error messages are expected (run with -close_fd_mask).
 */
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/options.h"
#include "pipeline/pipeline.h"
#include "pipeline/replay.h"

static void parse(struct ksm_options *o, const char *format)
{
	char *argv[] = { "ksysmon", "-r", "fuzz", "-f", (char *)format, "-o", "/dev/null",
			 "--hash", "sha256", NULL };
	char err[256];
	if (ksm_parse_options(9, argv, o, err, sizeof(err)))
		abort();
}

/* Set up once: a pipeline's process table is large, and its state carried
 * from one input to the next is one more thing for the fuzzer to vary. */
static struct ksm_pipeline *pipeline(const struct ksm_options *o)
{
	struct ksm_pipeline *p = calloc(1, sizeof(*p));
	char err[256];
	if (!p || ksm_pipeline_init(p, o, NULL, false, err, sizeof(err)))
		abort();
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ksm_options json_opts, text_opts;
	static struct ksm_pipeline *json, *text;

	if (!json) {
		parse(&json_opts, "json");
		parse(&text_opts, "text");
		json = pipeline(&json_opts);
		text = pipeline(&text_opts);
	}
	/* the last byte picks the view, so both are fuzzed */
	struct ksm_pipeline *p = size && (data[size - 1] & 1) ? text : json;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (f) {
		ksm_replay_stream(p, f, "fuzz");
		fclose(f);
	}
	return 0;
}
