/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal test harness: CHECK records a failure and carries on within
 * the test; RUN runs one test; the summary line is "N passed, N failed". */
#ifndef KSM_HARNESS_H
#define KSM_HARNESS_H

#include <stdio.h>

static int h_failed_checks, h_passed, h_failed;

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                               \
			h_failed_checks++;                                      \
		}                                                               \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		unsigned long long h_a = (unsigned long long)(a);               \
		unsigned long long h_b = (unsigned long long)(b);               \
		if (h_a != h_b) {                                               \
			fprintf(stderr, "  %s:%d: %s == %s: %llu != %llu\n",    \
				__FILE__, __LINE__, #a, #b, h_a, h_b);          \
			h_failed_checks++;                                      \
		}                                                               \
	} while (0)

#define RUN(fn)                                                                 \
	do {                                                                    \
		int h_before = h_failed_checks;                                 \
		fn();                                                           \
		if (h_failed_checks == h_before) {                              \
			h_passed++;                                             \
			printf("ok   %s\n", #fn);                               \
		} else {                                                        \
			h_failed++;                                             \
			printf("FAIL %s\n", #fn);                               \
		}                                                               \
	} while (0)

#define SUMMARY()                                                               \
	(printf("%d passed, %d failed\n", h_passed, h_failed), h_failed ? 1 : 0)

#endif
