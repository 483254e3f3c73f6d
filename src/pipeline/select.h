/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Applies the configuration's rules (src/pipeline/rules.h) to decoded, enriched
 * events. */
#ifndef KSM_SELECT_H
#define KSM_SELECT_H

#include "core/buf.h"
#include "core/decode.h"
#include "pipeline/rules.h"

/* Whether ev passes the rules; scratch holds the NUL-terminated copies of
 * the fields the rules look at.  rules may be NULL: everything passes. */
bool ksm_select_event(const struct ksm_rules *rules, const struct ksm_event *ev,
		      struct ksm_buf *scratch);

#endif
