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
