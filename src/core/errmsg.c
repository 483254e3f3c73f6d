// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int ksm_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
