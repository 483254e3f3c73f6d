// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prints ksysmon(8)'s OPTIONS section as the options' table gives it
 * (src/pipeline/options_table.c); `make man` puts it into man/ksysmon.8,
 * and a unit test checks that the page holds it.
 */
#include <stdio.h>

#include "pipeline/options.h"

int main(void)
{
	struct ksm_buf b = { 0 };
	int rc = 0;

	ksm_options_man(&b);
	if (b.failed || fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout)) {
		fputs("man_options: cannot write the section\n", stderr);
		rc = 1;
	}
	ksm_buf_free(&b);
	return rc;
}
