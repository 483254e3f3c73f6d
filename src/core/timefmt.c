// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Time formatting without gmtime_r, so that it is the same on every
 * platform and costs a few divisions per event. */
#include "core/format.h"

struct civil {
	int64_t year;
	unsigned month, day, hour, min, sec;
};

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant). */
static struct civil civil_from_ns(uint64_t ns)
{
	struct civil c;
	int64_t secs = (int64_t)(ns / 1000000000u);
	int64_t days = secs / 86400;
	int64_t rem = secs % 86400;

	c.hour = (unsigned)(rem / 3600);
	c.min = (unsigned)(rem / 60 % 60);
	c.sec = (unsigned)(rem % 60);

	int64_t z = days + 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	c.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

static void put_clock(struct ksm_buf *b, const struct civil *c)
{
	ksm_buf_digits(b, c->hour, 2);
	ksm_buf_putc(b, ':');
	ksm_buf_digits(b, c->min, 2);
	ksm_buf_putc(b, ':');
	ksm_buf_digits(b, c->sec, 2);
	ksm_buf_putc(b, '.');
}

void ksm_time_rfc3339(struct ksm_buf *b, uint64_t ns)
{
	struct civil c = civil_from_ns(ns);
	ksm_buf_digits(b, (uint64_t)c.year, 4);
	ksm_buf_putc(b, '-');
	ksm_buf_digits(b, c.month, 2);
	ksm_buf_putc(b, '-');
	ksm_buf_digits(b, c.day, 2);
	ksm_buf_putc(b, 'T');
	put_clock(b, &c);
	ksm_buf_digits(b, ns % 1000000000u, 9);
	ksm_buf_putc(b, 'Z');
}

void ksm_time_clock(struct ksm_buf *b, uint64_t ns)
{
	struct civil c = civil_from_ns(ns);
	put_clock(b, &c);
	ksm_buf_digits(b, ns % 1000000000u / 1000000u, 3);
}
