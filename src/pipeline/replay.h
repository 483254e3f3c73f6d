/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -r: a capture's records through the same pipeline as live ones. */
#ifndef KSM_REPLAY_H
#define KSM_REPLAY_H

#include <stdio.h>

#include "pipeline/pipeline.h"

/* Replays what is valid; a damaged part is reported on stderr, named by
 * its byte offset.  0 when the whole capture was read, -1 when a part was
 * damaged, -2 when nothing could be read (not a capture). */
int ksm_replay_stream(struct ksm_pipeline *p, FILE *f, const char *name);
int ksm_replay_file(struct ksm_pipeline *p, const char *path);

#endif
