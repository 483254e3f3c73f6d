/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "wdk_shim.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_long live_allocs, total_allocs, fail_in;
static atomic_int fail_all;
static atomic_ullong fixed_time;
static _Atomic POOL_TYPE last_pool;
static atomic_uint last_tag;

#define MAX_ROUTINES 16
static struct {
	char name[64];
	void *fn;
} routines[MAX_ROUTINES];

void ExInitializeFastMutex(PFAST_MUTEX m)
{
	pthread_mutex_init(&m->m, NULL);
}

void ExAcquireFastMutex(PFAST_MUTEX m)
{
	pthread_mutex_lock(&m->m);
}

void ExReleaseFastMutex(PFAST_MUTEX m)
{
	pthread_mutex_unlock(&m->m);
}

static int should_fail(void)
{
	if (atomic_load(&fail_all))
		return 1;
	long n = atomic_load(&fail_in);
	while (n > 0) {
		if (atomic_compare_exchange_weak(&fail_in, &n, n - 1))
			return n == 1;
	}
	return 0;
}

PVOID ExAllocatePoolWithTag(POOL_TYPE type, SIZE_T size, ULONG tag)
{
	if (size == 0 || should_fail())
		return NULL;
	/* Poison, like the checked kernel, so that missing zeroing shows. */
	void *p = malloc(size);
	if (!p)
		return NULL;
	memset(p, 0xA5, size);
	atomic_store(&last_pool, type);
	atomic_store(&last_tag, tag);
	atomic_fetch_add(&live_allocs, 1);
	atomic_fetch_add(&total_allocs, 1);
	return p;
}

void ExFreePoolWithTag(PVOID p, ULONG tag)
{
	(void)tag;
	if (!p) {
		fprintf(stderr, "shim: ExFreePoolWithTag(NULL) would bugcheck\n");
		abort();
	}
	atomic_fetch_sub(&live_allocs, 1);
	free(p);
}

void RtlInitUnicodeString(PUNICODE_STRING s, PCWSTR src)
{
	size_t n = 0;
	while (src && src[n])
		n++;
	s->Buffer = (PWSTR)src;
	s->Length = (USHORT)(n * 2);
	s->MaximumLength = (USHORT)(n * 2 + 2);
}

PVOID MmGetSystemRoutineAddress(PUNICODE_STRING name)
{
	char a[64];
	size_t n = name->Length / 2;
	if (n >= sizeof(a))
		return NULL;
	for (size_t i = 0; i < n; i++)
		a[i] = (char)name->Buffer[i];
	a[n] = 0;
	for (int i = 0; i < MAX_ROUTINES; i++)
		if (routines[i].fn && strcmp(routines[i].name, a) == 0)
			return routines[i].fn;
	return NULL;
}

/* ---- security descriptors: the documented behaviour of the Rtl
 * routines, on the documented binary layouts ---- */

NTSTATUS RtlCreateAcl(PACL acl, ULONG len, ULONG revision)
{
	if (len < sizeof(ACL))
		return STATUS_BUFFER_TOO_SMALL;
	if (revision != ACL_REVISION || len > 0xFFFF || len % 4)
		return STATUS_INVALID_PARAMETER;
	memset(acl, 0, sizeof(*acl));
	acl->AclRevision = (UCHAR)revision;
	acl->AclSize = (USHORT)len;
	return STATUS_SUCCESS;
}

NTSTATUS RtlAddAccessAllowedAce(PACL acl, ULONG revision, ACCESS_MASK mask, PSID sid)
{
	const SID *s = sid;
	ULONG sid_len, ace_len, used = sizeof(ACL);
	unsigned char *p = (unsigned char *)acl;
	ACE_HEADER h;

	if (revision != acl->AclRevision)
		return STATUS_UNKNOWN_REVISION;
	if (s->Revision != SID_REVISION || s->SubAuthorityCount > 15)
		return STATUS_INVALID_SID;
	for (int i = 0; i < acl->AceCount; i++) {
		memcpy(&h, p + used, sizeof(h));
		if (h.AceSize < sizeof(h) || used + h.AceSize > acl->AclSize)
			return STATUS_INVALID_ACL;
		used += h.AceSize;
	}
	sid_len = 8u + 4u * s->SubAuthorityCount;
	ace_len = (ULONG)offsetof(ACCESS_ALLOWED_ACE, SidStart) + sid_len;
	if (used + ace_len > acl->AclSize)
		return STATUS_ALLOTTED_SPACE_EXCEEDED;
	h.AceType = ACCESS_ALLOWED_ACE_TYPE;
	h.AceFlags = 0;
	h.AceSize = (USHORT)ace_len;
	memcpy(p + used, &h, sizeof(h));
	memcpy(p + used + offsetof(ACCESS_ALLOWED_ACE, Mask), &mask, sizeof(mask));
	memcpy(p + used + offsetof(ACCESS_ALLOWED_ACE, SidStart), s, sid_len);
	acl->AceCount++;
	return STATUS_SUCCESS;
}

NTSTATUS RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR sd, ULONG revision)
{
	if (revision != SECURITY_DESCRIPTOR_REVISION)
		return STATUS_UNKNOWN_REVISION;
	memset(sd, 0, sizeof(*sd));
	sd->Revision = (UCHAR)revision;
	return STATUS_SUCCESS;
}

NTSTATUS RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR sd, BOOLEAN present, PACL dacl,
				      BOOLEAN defaulted)
{
	if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
		return STATUS_UNKNOWN_REVISION;
	sd->Control &= (SECURITY_DESCRIPTOR_CONTROL)~(SE_DACL_PRESENT | SE_DACL_DEFAULTED);
	sd->Dacl = NULL;
	if (present) {
		sd->Control |= SE_DACL_PRESENT;
		sd->Dacl = dacl;
		if (defaulted)
			sd->Control |= SE_DACL_DEFAULTED;
	}
	return STATUS_SUCCESS;
}

void KeQuerySystemTime(PLARGE_INTEGER t)
{
	uint64_t ft = atomic_load(&fixed_time);
	if (!ft) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ft = (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u +
		     116444736000000000ull;
	}
	t->QuadPart = (LONGLONG)ft;
}

long shim_live_allocs(void)
{
	return atomic_load(&live_allocs);
}

long shim_total_allocs(void)
{
	return atomic_load(&total_allocs);
}

void shim_fail_alloc_in(long n)
{
	atomic_store(&fail_in, n);
}

void shim_fail_all_allocs(int on)
{
	atomic_store(&fail_all, on);
}

void shim_set_routine(const char *name, void *fn)
{
	for (int i = 0; i < MAX_ROUTINES; i++)
		if (routines[i].fn && strcmp(routines[i].name, name) == 0) {
			routines[i].fn = fn;
			return;
		}
	for (int i = 0; i < MAX_ROUTINES; i++)
		if (!routines[i].fn) {
			snprintf(routines[i].name, sizeof(routines[i].name), "%s", name);
			routines[i].fn = fn;
			return;
		}
	abort();
}

void shim_clear_routines(void)
{
	memset(routines, 0, sizeof(routines));
}

void shim_set_system_time(uint64_t ft)
{
	atomic_store(&fixed_time, ft);
}

POOL_TYPE shim_last_pool(void)
{
	return atomic_load(&last_pool);
}

ULONG shim_last_tag(void)
{
	return atomic_load(&last_tag);
}
