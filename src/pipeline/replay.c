// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "pipeline/replay.h"

#include <errno.h>
#include <string.h>

#include "sinks/capture.h"

int ksm_replay_stream(struct ksm_pipeline *p, FILE *f, const char *name)
{
	struct ksm_capture_reader r;
	char err[256];
	const uint8_t *rec;
	uint32_t size;
	uint64_t bad = 0;
	int rc = 0;

	if (ksm_capture_open(&r, f, err, sizeof(err))) {
		fprintf(stderr, "ksysmon: %s: %s\n", name, err);
		return -2;
	}
	memcpy(p->enrich.procs.boot_id, r.info.boot_id, sizeof(r.info.boot_id));
	ksm_boot_clock_init(&p->clock, r.info.boot_time_ns, 0);
	for (;;) {
		uint64_t offset = r.offset;
		enum ksm_capture_next n = ksm_capture_next(&r, &rec, &size, err, sizeof(err));
		if (n == KSM_CAPTURE_END)
			break;
		if (n == KSM_CAPTURE_BROKEN) {
			fprintf(stderr, "ksysmon: %s: %s; the rest of the file is not replayed\n", name, err);
			rc = -1;
			break;
		}
		if (!ksm_pipeline_replay_record(p, rec, size)) {
			/* its size was plausible: the records after it still count */
			if (!bad++)
				fprintf(stderr, "ksysmon: %s: malformed record at byte %llu, skipped\n",
					name, (unsigned long long)offset);
			rc = -1;
		}
		if (ksm_pipeline_write_end(p))
			break; /* the reader went away, or --on-output-error exit */
		if (p->stop && *p->stop) {
			fprintf(stderr, "ksysmon: %s: interrupted at byte %llu; the rest is not replayed\n",
				name, (unsigned long long)r.offset);
			break;
		}
	}
	if (bad > 1)
		fprintf(stderr, "ksysmon: %s: %llu malformed records skipped in all\n", name,
			(unsigned long long)bad);
	ksm_capture_close(&r);
	ksm_pipeline_flush(p);
	int end = ksm_pipeline_write_end(p);
	/* a replay is a batch: events it could not write make it fail */
	bool failed = (end && end != -EPIPE) || p->out.episodes || p->capture.episodes;
	return failed ? -1 : rc;
}

int ksm_replay_file(struct ksm_pipeline *p, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "ksysmon: cannot read capture '%s': %s\n", path, strerror(errno));
		return -2;
	}
	int rc = ksm_replay_stream(p, f, path);
	fclose(f);
	return rc;
}
