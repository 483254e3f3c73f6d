/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A user-mode stand-in for the handful of WDK calls used by the driver's
 * portable parts (queue.c, record.c, deny.c, rt.c), so that they can be
 * unit-tested with the host compiler and sanitizers.  Semantics follow the
 * WDK documentation; the fast mutex is a pthread mutex so that
 * ThreadSanitizer understands it.  Allocations are counted and can be
 * made to fail on demand.
 */
#ifndef KSM_WDK_SHIM_H
#define KSM_WDK_SHIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NTAPI
#define VOID void

/* The SAL and driver annotations the portable files use.  For a compiler
 * they are empty, as in the WDK's sal.h / driverspecs.h outside of code
 * analysis (and always in mingw-w64's). */
#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _In_reads_(n)
#define _In_reads_bytes_(n)
#define _In_reads_bytes_opt_(n)
#define _Out_
#define _Out_writes_(n)
#define _Out_writes_bytes_(n)
#define _Out_writes_bytes_to_(n, c)
#define _Outptr_result_maybenull_
#define _Inout_
#define _Must_inspect_result_
#define _Ret_maybenull_
#define _Ret_maybenull_z_
#define _Post_writable_byte_size_(n)
#define _Success_(expr)
#define _Use_decl_annotations_
#define _IRQL_requires_(irql)
#define _IRQL_requires_max_(irql)
#define _Requires_lock_held_(lock)
#define _Guarded_by_(lock)
#define __drv_allocatesMem(kind)
#define __drv_freesMem(kind)
#define __drv_aliasesMem
#define TRUE 1
#define FALSE 0
#define PAGED_CODE() ((void)0)

typedef int32_t NTSTATUS;
typedef uint8_t BOOLEAN;
typedef uint8_t UCHAR;
typedef uint16_t USHORT;
typedef uint16_t WCHAR;
typedef uint32_t ULONG;
typedef int64_t LONGLONG;
typedef uint64_t ULONG64;
typedef uint64_t ULONGLONG;
typedef uintptr_t ULONG_PTR;
typedef size_t SIZE_T;
typedef void *PVOID;
typedef void *HANDLE;
typedef void *PEPROCESS;
typedef const WCHAR *PCWSTR;
typedef WCHAR *PWSTR;

typedef union {
	struct {
		uint32_t LowPart;
		int32_t HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct {
	USHORT Length;
	USHORT MaximumLength;
	PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

/* Control codes, as wdm.h and winioctl.h define them. */
#define CTL_CODE(DeviceType, Function, Method, Access) \
	(((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3
#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 0x0001
#define FILE_WRITE_ACCESS 0x0002

/* Security descriptors, with the layouts of ntifs.h / winnt.h. */
typedef uint32_t ACCESS_MASK;
typedef uint16_t SECURITY_DESCRIPTOR_CONTROL;
typedef struct {
	UCHAR Value[6];
} SID_IDENTIFIER_AUTHORITY;
typedef struct {
	UCHAR Revision;
	UCHAR SubAuthorityCount;
	SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
	ULONG SubAuthority[1];
} SID;
typedef void *PSID;
typedef struct {
	UCHAR AclRevision;
	UCHAR Sbz1;
	USHORT AclSize;
	USHORT AceCount;
	USHORT Sbz2;
} ACL, *PACL;
typedef struct {
	UCHAR AceType;
	UCHAR AceFlags;
	USHORT AceSize;
} ACE_HEADER;
typedef struct {
	ACE_HEADER Header;
	ACCESS_MASK Mask;
	ULONG SidStart;
} ACCESS_ALLOWED_ACE;
typedef struct {
	UCHAR Revision;
	UCHAR Sbz1;
	SECURITY_DESCRIPTOR_CONTROL Control;
	PSID Owner;
	PSID Group;
	PACL Sacl;
	PACL Dacl;
} SECURITY_DESCRIPTOR, *PSECURITY_DESCRIPTOR;

#define SID_REVISION 1
#define SECURITY_NT_AUTHORITY { 0, 0, 0, 0, 0, 5 }
#define SECURITY_LOCAL_SYSTEM_RID 0x00000012u
#define SECURITY_BUILTIN_DOMAIN_RID 0x00000020u
#define DOMAIN_ALIAS_RID_ADMINS 0x00000220u
#define ACL_REVISION 2
#define ACCESS_ALLOWED_ACE_TYPE 0
#define SECURITY_DESCRIPTOR_REVISION 1
#define SE_DACL_PRESENT 0x0004
#define SE_DACL_DEFAULTED 0x0008
#define SE_DACL_PROTECTED 0x1000
#define DACL_SECURITY_INFORMATION 0x00000004L
#define PROTECTED_DACL_SECURITY_INFORMATION 0x80000000L
#define FILE_ALL_ACCESS (0x000F0000u | 0x00100000u | 0x1FFu)

NTSTATUS RtlCreateAcl(PACL acl, ULONG len, ULONG revision);
NTSTATUS RtlAddAccessAllowedAce(PACL acl, ULONG revision, ACCESS_MASK mask, PSID sid);
NTSTATUS RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR sd, ULONG revision);
NTSTATUS RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR sd, BOOLEAN present, PACL dacl,
				      BOOLEAN defaulted);

#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define STATUS_UNKNOWN_REVISION ((NTSTATUS)0xC0000058)
#define STATUS_ALLOTTED_SPACE_EXCEEDED ((NTSTATUS)0xC0000099)
#define STATUS_INVALID_ACL ((NTSTATUS)0xC0000077)
#define STATUS_INVALID_SID ((NTSTATUS)0xC0000078)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)

#define CONTAINING_RECORD(addr, type, field) \
	((type *)((char *)(addr) - offsetof(type, field)))

/* Doubly linked lists, exactly as in wdm.h. */
typedef struct _LIST_ENTRY {
	struct _LIST_ENTRY *Flink;
	struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

static inline void InitializeListHead(PLIST_ENTRY h)
{
	h->Flink = h->Blink = h;
}
static inline BOOLEAN IsListEmpty(const LIST_ENTRY *h)
{
	return h->Flink == h;
}
static inline void InsertTailList(PLIST_ENTRY h, PLIST_ENTRY e)
{
	PLIST_ENTRY b = h->Blink;
	e->Flink = h;
	e->Blink = b;
	b->Flink = e;
	h->Blink = e;
}
static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY h)
{
	PLIST_ENTRY e = h->Flink, f = e->Flink;
	h->Flink = f;
	f->Blink = h;
	return e;
}

typedef struct {
	pthread_mutex_t m;
} FAST_MUTEX, *PFAST_MUTEX;

void ExInitializeFastMutex(PFAST_MUTEX m);
void ExAcquireFastMutex(PFAST_MUTEX m);
void ExReleaseFastMutex(PFAST_MUTEX m);

typedef enum { NonPagedPool = 0, PagedPool = 1, NonPagedPoolNx = 512 } POOL_TYPE;

PVOID ExAllocatePoolWithTag(POOL_TYPE type, SIZE_T size, ULONG tag);
void ExFreePoolWithTag(PVOID p, ULONG tag);

#define RtlCopyMemory(d, s, n) memcpy((d), (s), (n))
#define RtlMoveMemory(d, s, n) memmove((d), (s), (n))
#define RtlZeroMemory(d, n) memset((d), 0, (n))

void RtlInitUnicodeString(PUNICODE_STRING s, PCWSTR src);
PVOID MmGetSystemRoutineAddress(PUNICODE_STRING name);
void KeQuerySystemTime(PLARGE_INTEGER t);

/* ---- test controls ---- */

/* Allocations made through the shim and not yet freed. */
long shim_live_allocs(void);
long shim_total_allocs(void);
/* The n-th allocation from now (1 = the next) fails; 0 disables. */
void shim_fail_alloc_in(long n);
/* Every allocation fails while on. */
void shim_fail_all_allocs(int on);
/* What MmGetSystemRoutineAddress returns for an ASCII name (NULL removes). */
void shim_set_routine(const char *name, void *fn);
void shim_clear_routines(void);
/* Fixes the time KeQuerySystemTime reports (100 ns since 1601); 0 = real. */
void shim_set_system_time(uint64_t ft);
/* The pool type and tag of the last allocation. */
POOL_TYPE shim_last_pool(void);
ULONG shim_last_tag(void);

#endif
