/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel routines that not every supported kernel exports, looked up at
 * run time.  Importing them would make the loader refuse the driver on a
 * kernel that lacks them (and mingw-w64's import library does not even
 * know the newer ones), so the image imports only the old, universal
 * calls and upgrades itself when the better ones exist.
 */
#include "ksm_kern.h"

/* ExAllocatePool2 (Windows 10 2004+): zeroes by default. */
#define KSM_POOL_FLAG_PAGED 0x0000000000000100ull
typedef PVOID(NTAPI *ksm_alloc_pool2_fn)(ULONG64 flags, SIZE_T size, ULONG tag);
/* KeQuerySystemTimePrecise (Windows 8+). */
typedef VOID(NTAPI *ksm_time_precise_fn)(PLARGE_INTEGER now);
/* Exported by every NT kernel since XP but absent from the WDK headers. */
typedef NTSTATUS(NTAPI *ksm_exit_status_fn)(PEPROCESS process);
typedef UCHAR *(NTAPI *ksm_image_name_fn)(PEPROCESS process);

static ksm_alloc_pool2_fn alloc_pool2;
static ksm_time_precise_fn time_precise;
static ksm_exit_status_fn exit_status;
static ksm_image_name_fn image_name;

_IRQL_requires_(PASSIVE_LEVEL)
static PVOID lookup(_In_z_ PCWSTR name)
{
	UNICODE_STRING s;

	RtlInitUnicodeString(&s, name);
	return MmGetSystemRoutineAddress(&s);
}

_Use_decl_annotations_
void ksm_rt_init(void)
{
	/* Casting through ULONG_PTR: ISO C has no object-to-function cast. */
	alloc_pool2 = (ksm_alloc_pool2_fn)(ULONG_PTR)lookup(u"ExAllocatePool2");
	time_precise = (ksm_time_precise_fn)(ULONG_PTR)lookup(u"KeQuerySystemTimePrecise");
	exit_status = (ksm_exit_status_fn)(ULONG_PTR)lookup(u"PsGetProcessExitStatus");
	image_name = (ksm_image_name_fn)(ULONG_PTR)lookup(u"PsGetProcessImageFileName");
}

_Use_decl_annotations_
void *ksm_alloc(SIZE_T size)
{
	void *p;

	if (size == 0)
		return NULL;
	if (alloc_pool2)
		return alloc_pool2(KSM_POOL_FLAG_PAGED, size, KSM_POOL_TAG);
	/* The legacy allocator leaves memory uninitialised; records would
	 * otherwise carry stale pool bytes (padding, reserved fields) to
	 * user mode. */
	p = ExAllocatePoolWithTag(PagedPool, size, KSM_POOL_TAG);
	if (p)
		RtlZeroMemory(p, size);
	return p;
}

_Use_decl_annotations_
void ksm_free(void *p)
{
	if (p)
		ExFreePoolWithTag(p, KSM_POOL_TAG);
}

_Use_decl_annotations_
ksm_u64 ksm_filetime_to_unix_ns(ksm_u64 ft)
{
	/* 1601-01-01 to 1970-01-01 in 100 ns units */
	const ksm_u64 epoch_delta = 116444736000000000ull;

	if (ft < epoch_delta)
		return 0;
	return (ft - epoch_delta) * 100u;
}

_Use_decl_annotations_
ksm_u64 ksm_now_ns(void)
{
	LARGE_INTEGER now;

	/* The plain clock only ticks every timer interrupt (~15.6 ms), too
	 * coarse to order events; the precise one reads the TSC. */
	if (time_precise)
		time_precise(&now);
	else
		KeQuerySystemTime(&now);
	return ksm_filetime_to_unix_ns((ksm_u64)now.QuadPart);
}

_Use_decl_annotations_
BOOLEAN ksm_process_exit_status(PEPROCESS process, NTSTATUS *status)
{
	if (!exit_status || !process)
		return FALSE;
	*status = exit_status(process);
	return TRUE;
}

_Use_decl_annotations_
const char *ksm_process_short_name(PEPROCESS process)
{
	if (!image_name || !process)
		return NULL;
	return (const char *)image_name(process);
}
