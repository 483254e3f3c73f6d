/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * RFC 5424 messages for --syslog (syslog_format.c): an event in, the
 * message's bytes out, without framing.  Pure: nothing but the buffer is
 * touched, so the same event, host name and process id always give the
 * same bytes.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME ksysmon PROCID MSGID [ksysmon@32473 ...] BOM MSG
 *
 * PRI: facility user, severity warning for events_lost and exec_blocked,
 * info otherwise.  TIMESTAMP: the event's time, UTC, microseconds (cut,
 * not rounded).  MSGID: the event type's name.  Structured data: the
 * event's fields under their JSON names (core/fields.h).  MSG: the text
 * view's line.  On failure (out of memory) b->failed is set.
 */
#ifndef KSM_SYSLOG_FORMAT_H
#define KSM_SYSLOG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/decode.h"

#define KSM_SYSLOG_HOSTNAME_MAX 255 /* RFC 5424 HOSTNAME; longer ones are cut */
#define KSM_SYSLOG_SHORT_VALUE 1024 /* the shortened form's longest value */

/* One whole message, appended to b.  hostname: printable US-ASCII is
 * kept, other bytes become '_' (NULL or "": "-"). */
void ksm_syslog_format(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
		       uint32_t procid);

/* The same message with every structured-data value and MSG cut to at
 * most KSM_SYSLOG_SHORT_VALUE bytes (never inside a UTF-8 sequence or an
 * escape), and truncated="true" added when anything was cut: for a
 * datagram too big to be sent whole. */
void ksm_syslog_format_short(struct ksm_buf *b, const struct ksm_event *ev, const char *hostname,
			     uint32_t procid);

#endif
