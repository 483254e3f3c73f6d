/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Buffered event output: formatted lines collect in memory and are
 * written in large blocks, so a busy machine costs few write(2) calls. */
#ifndef KSM_OUTPUT_H
#define KSM_OUTPUT_H

#include <stdbool.h>

#include "buf.h"

#define KSM_OUTPUT_FLUSH_BYTES (256u << 10)

struct ksm_output {
	int fd;
	struct ksm_buf buf;
	int error; /* errno of the first failed write; nothing is written after */
};

/* Writes out what is buffered; returns 0 or -errno. */
int ksm_output_flush(struct ksm_output *out);
/* Flushes when the buffer has grown past KSM_OUTPUT_FLUSH_BYTES. */
int ksm_output_maybe_flush(struct ksm_output *out);

#endif
