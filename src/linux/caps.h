/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The capabilities ksysmon runs with: those the options need are checked
 * one by one at start (a missing one is named, with what it is for), and
 * once the programs are attached every capability not needed any more is
 * given up, the bounding set included, so that the long-running process
 * can no longer load BPF programs, modules, or change its identity.
 * Capabilities are bits (1ull << CAP_X).
 */
#ifndef KSM_CAPS_H
#define KSM_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/options.h"

/* What the options need: to start (load, attach, seed) and to keep
 * running (read /proc and files, answer fanotify, create files). */
void ksm_caps_needed(const struct ksm_options *o, uint64_t *start, uint64_t *keep);
/* 0 when the effective set holds need; else -1 and one line in err
 * naming each missing capability and its use. */
int ksm_caps_check(uint64_t need, char *err, size_t errlen);
/* Keeps only keep (of what the process has) in its effective, permitted
 * and bounding sets, clears the inheritable and ambient ones, and sets
 * no_new_privs.  0 or -errno. */
int ksm_caps_drop(uint64_t keep);
/* Whether op (0 or -errno) fails with EPERM with only keep effective, as
 * after ksm_caps_drop(keep): tried with the effective set cut to keep for
 * the time of the call (true when that cannot be tried).  Some kernels ask
 * for CAP_BPF (or CAP_SYS_ADMIN) at every bpf() call. */
bool ksm_caps_refused_with(uint64_t keep, int (*op)(void *ctx), void *ctx);
/* The effective set now. */
uint64_t ksm_caps_effective(void);

#endif
