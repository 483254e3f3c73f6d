/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one place that decides where the kernel API comes from.  The driver
 * is built against the DDK; the host unit tests build queue.c, record.c,
 * deny.c and rt.c against windows/tests/wdk_shim.h, which implements the
 * few calls those files use in user mode (with allocation counting and
 * failure injection).  Nothing in those files may use a kernel call the
 * shim does not provide, which keeps them honest and testable.
 */
#ifndef KSM_KERN_H
#define KSM_KERN_H

#ifdef KSM_WDK_SHIM
#include "wdk_shim.h"
#else
#include <ntddk.h>
#endif

#include "ksysmon_event.h"

/* Pool tag 'kSmK' as it appears in pool dumps ("KmSk" reversed). */
#define KSM_POOL_TAG 0x6b536d4bu

/* Resolves optional kernel routines (ExAllocatePool2,
 * KeQuerySystemTimePrecise, PsGetProcessExitStatus, ...) at run time so
 * that the image imports only what every Windows 10 kernel exports. */
void ksm_rt_init(void);

/* Zeroed, tagged allocation from paged pool: every record and the deny
 * list are only touched at IRQL <= APC_LEVEL (callbacks, dispatch
 * routines, under a fast mutex), so they need not occupy non-paged pool. */
void *ksm_alloc(SIZE_T size);
void ksm_free(void *p);

/* Wall clock time in nanoseconds since the Unix epoch (UTC). */
ksm_u64 ksm_now_ns(void);

/* FILETIME-style 100 ns units since 1601 to ns since 1970; 0 stays 0. */
ksm_u64 ksm_filetime_to_unix_ns(ksm_u64 ft);

/* Exit status of a process in its exit notification, if the kernel
 * exports PsGetProcessExitStatus; FALSE otherwise. */
BOOLEAN ksm_process_exit_status(PEPROCESS process, NTSTATUS *status);

/* The kernel's short image name of a process (up to 15 characters), or
 * NULL when PsGetProcessImageFileName is not exported. */
const char *ksm_process_short_name(PEPROCESS process);

#endif
