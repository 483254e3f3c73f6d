/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The named fields of an event, in their one fixed order.  The JSON view
 * and syslog's structured data are two sinks of the same walk, so a field
 * added here appears in both under the same name.  Names are a stable
 * interface: extend, never rename.
 */
#ifndef KSM_FIELDS_H
#define KSM_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decode.h"

struct ksm_field_sink {
	void (*num)(void *ctx, const char *name, uint64_t v);
	void (*boolean)(void *ctx, const char *name, bool v);
	/* a string of the record or the context; prefix and suffix (NULL:
	 * none) are put before and after it as they are: a path's state,
	 * "(unreachable)" and " (deleted)" (ksm_path_prefix, ksm_path_suffix) */
	void (*text)(void *ctx, const char *name, const struct ksm_text *t, const char *prefix,
		     const char *suffix);
	/* a NUL-terminated string the client made (type, user, guid) */
	void (*string)(void *ctx, const char *name, const char *s);
	void (*time)(void *ctx, const char *name, uint64_t ns);   /* wall clock */
	void (*hex)(void *ctx, const char *name, uint64_t v);     /* "0x1f" */
	void (*digest)(void *ctx, const char *name, const uint8_t sha256[32]);
	/* the arguments: "argv" (a list) and "cmdline" (one string) */
	void (*argv)(void *ctx, const struct ksm_text *argv);
	/* events_lost: the counts by type name, then "total" */
	void (*lost)(void *ctx, const uint64_t lost[KSM_EV_MAX]);
};

/* Calls the sink once per field of ev, "type" and "time" first. */
void ksm_event_fields(const struct ksm_event *ev, const struct ksm_field_sink *s, void *ctx);
/* The same without "type" and "time", for views that carry those two in
 * their own header (syslog's MSGID and TIMESTAMP). */
void ksm_event_body_fields(const struct ksm_event *ev, const struct ksm_field_sink *s,
			   void *ctx);

#endif
