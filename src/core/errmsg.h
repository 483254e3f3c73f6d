/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One-line error messages written into a caller's buffer. */
#ifndef KSM_ERRMSG_H
#define KSM_ERRMSG_H

#include <stddef.h>

/* Formats the message into err and returns -1, for `return ksm_fail(...)`. */
int ksm_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
