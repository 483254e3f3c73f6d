/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --syslog: every shown event also goes to a syslog server as an RFC 5424
 * message (syslog_format.h, whose formatter this header also gives).
 * Targets: unix:PATH (datagrams, the default unix:/dev/log), HOST:PORT or
 * tcp:HOST:PORT (TCP, RFC 6587 octet-counted frames), udp:HOST:PORT.
 * A message that cannot be delivered is counted, never silently dropped,
 * and the target's failures are said on stderr when they start and end.
 */
#ifndef KSM_SYSLOG_H
#define KSM_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decode.h"
#include "sinks/syslog_format.h"

#define KSM_SYSLOG_DEFAULT "unix:/dev/log"

struct ksm_syslog;

struct ksm_syslog_stats {
	uint64_t sent;     /* delivered (TCP: acknowledged by the server's TCP) */
	uint64_t dropped;  /* could not be delivered */
	uint64_t waiting;  /* TCP: written, not yet acknowledged */
	uint64_t failures; /* episodes: the target failing, until it worked again */
	bool failing;      /* now */
};

/* Checks a target's syntax (for option parsing): 0, or -1 with a reason. */
int ksm_syslog_check(const char *target, char *err, size_t errlen);
/* Connects to target (NULL: KSM_SYSLOG_DEFAULT); 0, or -1 with a reason. */
int ksm_syslog_open(struct ksm_syslog **out, const char *target, char *err, size_t errlen);
void ksm_syslog_send(struct ksm_syslog *s, const struct ksm_event *ev);
/* Once per batch of events: sends the TCP frames queued since the last
 * flush, counts what the server acknowledged, says when the target starts
 * failing or works again (NULL is fine). */
void ksm_syslog_flush(struct ksm_syslog *s);
void ksm_syslog_stats(const struct ksm_syslog *s, struct ksm_syslog_stats *st);
/* At the end: what is queued is sent, what is on its way awaited (at most
 * 1 s) and counted; nothing more is sent after.  NULL is fine. */
void ksm_syslog_finish(struct ksm_syslog *s);
void ksm_syslog_close(struct ksm_syslog *s); /* finishes first; NULL is fine */

#endif
