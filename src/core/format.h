/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The two views of an event: one text line, or one JSON object per line. */
#ifndef KSM_FORMAT_H
#define KSM_FORMAT_H

#include "core/buf.h"
#include "core/decode.h"

/* 2026-11-25T07:49:43.123456789Z */
void ksm_time_rfc3339(struct ksm_buf *b, uint64_t ns);
/* 07:49:43.123 (UTC), the seed client's clock */
void ksm_time_clock(struct ksm_buf *b, uint64_t ns);

/* Append one line, '\n' included. */
void ksm_format_text(struct ksm_buf *out, const struct ksm_event *ev);
void ksm_format_json(struct ksm_buf *out, const struct ksm_event *ev);

/* A process identity as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL. */
void ksm_guid_format(const uint8_t guid[16], char out[37]);

/* Decoded wait(2) status. */
struct ksm_exit_status {
	bool signaled;
	int code;  /* exit code, or signal number */
	bool core_dumped;
};
struct ksm_exit_status ksm_exit_status(uint32_t status);

#endif
