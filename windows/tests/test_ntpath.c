/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* NT path to drive-letter conversion (windows/client/ntpath.c). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ntpath.h"

static uint16_t *u(const char *s)
{
	static uint16_t bufs[8][512];
	static int next;
	uint16_t *b = bufs[next++ % 8];
	size_t i;
	for (i = 0; s[i] && i < 511; i++)
		b[i] = (unsigned char)s[i];
	b[i] = 0;
	return b;
}

/* Converts an ASCII NT path; "" when not converted. */
static const char *conv(const struct ksm_ntpaths *t, const char *in)
{
	static char res[512];
	uint16_t out[512];
	size_t n = ksm_ntpath_convert(t, u(in), strlen(in), out, 512);
	for (size_t i = 0; i < n; i++)
		res[i] = (char)out[i];
	res[n] = 0;
	return res;
}

static struct ksm_ntpaths t;

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	CHECK(ksm_ntpaths_add(&t, u("\\Device\\HarddiskVolume1"), u("C:")) == 0);
	CHECK(ksm_ntpaths_add(&t, u("\\Device\\HarddiskVolume10"), u("D:")) == 0);
	CHECK(ksm_ntpaths_add(&t, u("\\Device\\Mup\\server\\share"), u("Z:")) == 0);
	CHECK(ksm_ntpaths_set_systemroot(&t, u("C:\\Windows")) == 0);
}

static void test_volumes(void)
{
	setup();
	CHECK(strcmp(conv(&t, "\\Device\\HarddiskVolume1\\Windows\\notepad.exe"),
		     "C:\\Windows\\notepad.exe") == 0);
	CHECK(strcmp(conv(&t, "\\Device\\HarddiskVolume10\\x.dll"), "D:\\x.dll") == 0);
	CHECK(strcmp(conv(&t, "\\device\\harddiskvolume1\\a"), "C:\\a") == 0);
	CHECK(strcmp(conv(&t, "\\Device\\HarddiskVolume1"), "C:") == 0);
	/* Not a component boundary: Volume100 is neither 1 nor 10. */
	CHECK(strcmp(conv(&t, "\\Device\\HarddiskVolume100\\x"), "") == 0);
	CHECK(strcmp(conv(&t, "\\Device\\Mup\\server\\share\\f.exe"), "Z:\\f.exe") == 0);
}

static void test_other_prefixes(void)
{
	setup();
	CHECK(strcmp(conv(&t, "\\??\\C:\\Windows\\system32\\drivers\\x.sys"),
		     "C:\\Windows\\system32\\drivers\\x.sys") == 0);
	CHECK(strcmp(conv(&t, "\\\\?\\E:\\a.exe"), "E:\\a.exe") == 0);
	CHECK(strcmp(conv(&t, "\\SystemRoot\\System32\\ntoskrnl.exe"),
		     "C:\\Windows\\System32\\ntoskrnl.exe") == 0);
	CHECK(strcmp(conv(&t, "\\??\\UNC\\server\\x"), "") == 0);
	CHECK(strcmp(conv(&t, "relative\\path"), "") == 0);
	CHECK(strcmp(conv(&t, ""), "") == 0);
}

static void test_limits(void)
{
	uint16_t out[4];
	setup();
	/* Output that does not fit is not converted (never cut). */
	CHECK(ksm_ntpath_convert(&t, u("\\Device\\HarddiskVolume1\\abcdef"), 30, out, 4) == 0);
	for (int i = 0; i < KSM_NTPATH_MAX_MAPS; i++)
		ksm_ntpaths_add(&t, u("\\Device\\X"), u("X:"));
	CHECK(ksm_ntpaths_add(&t, u("\\Device\\Y"), u("Y:")) == -1);
}

int main(void)
{
	RUN(test_volumes);
	RUN(test_other_prefixes);
	RUN(test_limits);
	return SUMMARY();
}
