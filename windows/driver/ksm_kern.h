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
/* ntifs.h is ntddk.h plus the security routines (RtlCreateAcl,
 * RtlAddAccessAllowedAce, ZwSetSecurityObject, ObOpenObjectByPointer).
 * The WDK's wdm.h pulls in driverspecs.h (the IRQL annotations) itself;
 * mingw-w64's does not. */
#include <ntifs.h>
#include <driverspecs.h>

/* mingw-w64's driverspecs.h (from ReactOS) only has the older spelling
 * __drv_dispatchType; the WDK's driverspecs.h defines that one as
 * _Dispatch_type_, so they are one annotation (nothing, for gcc). */
#ifndef _Dispatch_type_
#define _Dispatch_type_(kind) __drv_dispatchType(kind)
#endif
#endif

#include "ksysmon_event.h"

/* Pool tag 'kSmK' as it appears in pool dumps ("KmSk" reversed). */
#define KSM_POOL_TAG 0x6b536d4bu

/* Resolves optional kernel routines (ExAllocatePool2,
 * KeQuerySystemTimePrecise, PsGetProcessExitStatus, ...) at run time so
 * that the image imports only what every Windows 10 kernel exports. */
_IRQL_requires_(PASSIVE_LEVEL)
void ksm_rt_init(void);

/* Zeroed, tagged allocation from paged pool: every record and the deny
 * list are only touched at IRQL <= APC_LEVEL (callbacks, dispatch
 * routines, under a fast mutex), so they need not occupy non-paged pool. */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_ _Ret_maybenull_ _Post_writable_byte_size_(size)
__drv_allocatesMem(Mem) void *ksm_alloc(_In_ SIZE_T size);
_IRQL_requires_max_(APC_LEVEL)
void ksm_free(_In_opt_ __drv_freesMem(Mem) void *p);

/* Wall clock time in nanoseconds since the Unix epoch (UTC). */
_IRQL_requires_max_(DISPATCH_LEVEL)
ksm_u64 ksm_now_ns(void);

/* FILETIME-style 100 ns units since 1601 to ns since 1970; 0 stays 0. */
ksm_u64 ksm_filetime_to_unix_ns(_In_ ksm_u64 ft);

/* Exit status of a process in its exit notification, if the kernel
 * exports PsGetProcessExitStatus; FALSE otherwise. */
_IRQL_requires_max_(APC_LEVEL)
_Success_(return != FALSE)
BOOLEAN ksm_process_exit_status(_In_opt_ PEPROCESS process, _Out_ NTSTATUS *status);

/* The kernel's short image name of a process (up to 15 characters), or
 * NULL when PsGetProcessImageFileName is not exported. */
_IRQL_requires_max_(APC_LEVEL)
_Ret_maybenull_z_ const char *ksm_process_short_name(_In_opt_ PEPROCESS process);

#endif
