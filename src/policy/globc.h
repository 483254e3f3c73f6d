/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --deny patterns compiled for the kernel engine (include/ksysmon_glob.h). */
#ifndef KSM_GLOBC_H
#define KSM_GLOBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ksysmon_glob.h"

/*
 * Compiles a checked --deny pattern (see ksm_glob_check) into g, so that
 * matching it gives what fnmatch(pattern, path, 0) gives in the C locale.
 * Returns 0, or -1 with a one-line reason in err when the pattern exceeds
 * the kernel engine's limits (KSM_GLOB_TEXT_MAX bytes, KSM_GLOB_MAX_TOKENS
 * elements, KSM_GLOB_MAX_CLASSES bracket expressions) or has an unknown
 * character class.
 */
int ksm_glob_compile(const char *pattern, struct ksm_glob *g, char *err, size_t errlen);

/* Matches path[0..len) as the kernel does: 1 matched, 0 did not, -1
 * undecided (path too long, or more than KSM_GLOB_MAX_STEPS steps). */
int ksm_glob_match(const struct ksm_glob *g, const char *path, size_t len);

#endif
