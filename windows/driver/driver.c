/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ksysmon for Windows: a WDM driver that turns process, thread and image
 * notifications into ksysmon records (include/ksysmon_event.h) and hands
 * them to one client through \\.\ksysmon.
 *
 * Record building and the queue live in record.c / queue.c (unit-tested
 * on the host); this file holds only what needs a real kernel: device
 * setup and teardown, the notify routines, and the read IRPs that wait
 * for data.
 */
#include "deny.h"
#include "ksm_ioctl.h"
#include "queue.h"

/* Not every mingw-w64 DDK defines it; Windows 8+ honours it. */
#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000
#endif

/* Up to 16384 records and 16 MiB of paged pool; a client that stops
 * reading costs at most this much before events are counted as lost. */
#define KSM_QUEUE_MAX_RECORDS 16384u
#define KSM_QUEUE_MAX_BYTES (16u * 1024u * 1024u)

DRIVER_INITIALIZE DriverEntry;

static struct ksm_queue g_queue;
static PDEVICE_OBJECT g_device;

/* Read IRPs waiting for data.  A spin lock, not the queue's fast mutex:
 * the cancel routine runs at DISPATCH_LEVEL. */
static KSPIN_LOCK g_pending_lock;
static LIST_ENTRY g_pending;

/* The deny list, replaced as a whole by the IOCTL. */
static FAST_MUTEX g_deny_lock;
static struct ksm_deny_list *g_deny;

static ksm_u32 handle_u32(HANDLE h)
{
	return (ksm_u32)(ULONG_PTR)h;
}

/* ---- read IRPs that wait ---- */

static VOID complete_irp(PIRP irp, NTSTATUS status, ULONG_PTR info)
{
	irp->IoStatus.Status = status;
	irp->IoStatus.Information = info;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
}

static VOID on_cancel_read(PDEVICE_OBJECT device, PIRP irp)
{
	KIRQL irql;

	UNREFERENCED_PARAMETER(device);
	IoReleaseCancelSpinLock(irp->CancelIrql);
	KeAcquireSpinLock(&g_pending_lock, &irql);
	RemoveEntryList(&irp->Tail.Overlay.ListEntry);
	KeReleaseSpinLock(&g_pending_lock, irql);
	complete_irp(irp, STATUS_CANCELLED, 0);
}

/* Parks a read IRP (already marked pending).  FALSE when it was
 * cancelled meanwhile: the caller completes it. */
static BOOLEAN park_irp(PIRP irp, BOOLEAN at_head)
{
	KIRQL irql;
	BOOLEAN parked = TRUE;

	KeAcquireSpinLock(&g_pending_lock, &irql);
	IoSetCancelRoutine(irp, on_cancel_read);
	if (irp->Cancel && IoSetCancelRoutine(irp, NULL) != NULL)
		parked = FALSE; /* cancelled before we could park it */
	else if (at_head)
		InsertHeadList(&g_pending, &irp->Tail.Overlay.ListEntry);
	else
		InsertTailList(&g_pending, &irp->Tail.Overlay.ListEntry);
	KeReleaseSpinLock(&g_pending_lock, irql);
	return parked;
}

/* Takes the first parked IRP whose cancellation has not begun. */
static PIRP unpark_irp(void)
{
	KIRQL irql;
	PIRP irp = NULL;

	KeAcquireSpinLock(&g_pending_lock, &irql);
	while (!IsListEmpty(&g_pending)) {
		PLIST_ENTRY e = RemoveHeadList(&g_pending);
		PIRP candidate = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);

		if (IoSetCancelRoutine(candidate, NULL) != NULL) {
			irp = candidate;
			break;
		}
		/* Its cancel routine is running and will unlink it again:
		 * make that a no-op and let it complete the IRP. */
		InitializeListHead(e);
	}
	KeReleaseSpinLock(&g_pending_lock, irql);
	return irp;
}

/* Fills a read IRP from the queue. */
static NTSTATUS read_into(PIRP irp, ksm_u32 *written)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	ksm_u32 len = sp->Parameters.Read.Length, needed;
	void *buf;

	*written = 0;
	if (len == 0 || !irp->MdlAddress)
		return STATUS_SUCCESS;
	buf = MmGetSystemAddressForMdlSafe(irp->MdlAddress,
					   NormalPagePriority | MdlMappingNoExecute);
	if (!buf)
		return STATUS_INSUFFICIENT_RESOURCES;
	return ksm_queue_read(&g_queue, buf, len, written, &needed);
}

/* Completes parked reads while there is data for them.  Called after
 * every queued record and after parking a read, so a record queued
 * between a reader's check and its parking is never left waiting. */
static VOID serve_pending(void)
{
	PIRP irp;
	ksm_u32 written;
	NTSTATUS status;

	while (ksm_queue_readable(&g_queue) && (irp = unpark_irp()) != NULL) {
		status = read_into(irp, &written);
		if (NT_SUCCESS(status) && written == 0) {
			/* Another reader took the data first. */
			if (!park_irp(irp, TRUE))
				complete_irp(irp, STATUS_CANCELLED, 0);
			return;
		}
		complete_irp(irp, status, written);
	}
}

static VOID cancel_all_pending(void)
{
	PIRP irp;

	while ((irp = unpark_irp()) != NULL)
		complete_irp(irp, STATUS_CANCELLED, 0);
}

/* ---- notify routines ---- */

static VOID enqueue(struct ksm_entry *e, unsigned type, ksm_u64 now)
{
	if (!e) {
		ksm_queue_count_lost(&g_queue, type, now);
		return;
	}
	if (ksm_queue_push(&g_queue, e))
		serve_pending();
}

/* Denies the creation when the image is on the deny list. */
static BOOLEAN deny_if_listed(HANDLE pid, PPS_CREATE_NOTIFY_INFO info,
			      const struct ksm_wstr *image, ksm_u64 now)
{
	const struct ksm_wstr *hit;
	struct ksm_entry *e = NULL;

	ExAcquireFastMutex(&g_deny_lock);
	hit = ksm_deny_match(g_deny, image);
	/* Built under the lock: the rule text belongs to the list, which
	 * the IOCTL may replace and free at any time. */
	if (hit)
		e = ksm_rec_exec_blocked(now, handle_u32(pid), image, hit);
	ExReleaseFastMutex(&g_deny_lock);
	if (!hit)
		return FALSE;
	info->CreationStatus = STATUS_ACCESS_DENIED;
	enqueue(e, KSM_EV_EXEC_BLOCKED, now);
	return TRUE;
}

static VOID on_process_create(HANDLE pid, PPS_CREATE_NOTIFY_INFO info)
{
	struct ksm_wstr image = ksm_wstr_from_us(info->ImageFileName);
	struct ksm_wstr cmdline = ksm_wstr_from_us(info->CommandLine);
	ksm_u64 now = ksm_now_ns();

	/* A denied process never runs: report the refusal, not a creation. */
	if (deny_if_listed(pid, info, &image, now))
		return;
	enqueue(ksm_rec_process_create(now, handle_u32(pid), handle_u32(info->ParentProcessId),
				       handle_u32(info->CreatingThreadId.UniqueThread), &image,
				       &cmdline),
		KSM_EV_PROCESS_CREATE, now);
}

static VOID on_process_exit(PEPROCESS process, HANDLE pid)
{
	NTSTATUS exit_status = 0;
	ksm_u32 status = 0;
	ksm_u64 now = ksm_now_ns();

	if (ksm_process_exit_status(process, &exit_status))
		status = ksm_exit_status_to_wait(exit_status);
	enqueue(ksm_rec_process_exit(now, handle_u32(pid), handle_u32(PsGetCurrentThreadId()),
				     status, ksm_process_short_name(process)),
		KSM_EV_PROCESS_EXIT, now);
}

static VOID NTAPI on_process(PEPROCESS process, HANDLE pid, PPS_CREATE_NOTIFY_INFO info)
{
	if (info)
		on_process_create(pid, info);
	else
		on_process_exit(process, pid);
}

static VOID NTAPI on_thread(HANDLE pid, HANDLE tid, BOOLEAN create)
{
	ksm_u16 type = create ? KSM_EV_THREAD_CREATE : KSM_EV_THREAD_EXIT;
	ksm_u64 now = ksm_now_ns();

	enqueue(ksm_rec_thread(now, type, handle_u32(pid), handle_u32(tid)), type, now);
}

static VOID NTAPI on_image(PUNICODE_STRING name, HANDLE pid, PIMAGE_INFO info)
{
	struct ksm_wstr path = ksm_wstr_from_us(name);
	BOOLEAN kernel = info->SystemModeImage != 0;
	ksm_u64 now = ksm_now_ns();

	enqueue(ksm_rec_image_load(now, handle_u32(pid), handle_u32(PsGetCurrentThreadId()),
				   (ksm_u64)(ULONG_PTR)info->ImageBase, (ksm_u64)info->ImageSize,
				   kernel, &path, KSM_IMAGE_PATH_MAX_BYTES),
		KSM_EV_IMAGE_LOAD, now);
}

/* ---- dispatch routines ---- */

static NTSTATUS NTAPI dispatch_open_close(PDEVICE_OBJECT device, PIRP irp)
{
	UNREFERENCED_PARAMETER(device);
	complete_irp(irp, STATUS_SUCCESS, 0);
	return STATUS_SUCCESS;
}

/* The last handle is going away: its waiting reads must not outlive it. */
static NTSTATUS NTAPI dispatch_cleanup(PDEVICE_OBJECT device, PIRP irp)
{
	UNREFERENCED_PARAMETER(device);
	cancel_all_pending();
	complete_irp(irp, STATUS_SUCCESS, 0);
	return STATUS_SUCCESS;
}

static NTSTATUS NTAPI dispatch_read(PDEVICE_OBJECT device, PIRP irp)
{
	ksm_u32 written;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(device);
	status = read_into(irp, &written);
	if (!NT_SUCCESS(status) || written > 0 ||
	    IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length == 0) {
		complete_irp(irp, status, written);
		return status;
	}
	/* Nothing yet: the read waits until a record arrives, the caller
	 * cancels it, or the handle is closed. */
	IoMarkIrpPending(irp);
	if (!park_irp(irp, FALSE))
		complete_irp(irp, STATUS_CANCELLED, 0);
	else
		serve_pending();
	return STATUS_PENDING;
}

static NTSTATUS set_deny_list(PIRP irp, PIO_STACK_LOCATION sp)
{
	struct ksm_deny_list *fresh, *old;
	NTSTATUS status;

	status = ksm_deny_parse(irp->AssociatedIrp.SystemBuffer,
				sp->Parameters.DeviceIoControl.InputBufferLength, &fresh);
	if (!NT_SUCCESS(status))
		return status;
	ExAcquireFastMutex(&g_deny_lock);
	old = g_deny;
	g_deny = fresh;
	ExReleaseFastMutex(&g_deny_lock);
	ksm_deny_free(old);
	return STATUS_SUCCESS;
}

static NTSTATUS NTAPI dispatch_ioctl(PDEVICE_OBJECT device, PIRP irp)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;

	UNREFERENCED_PARAMETER(device);
	if (sp->Parameters.DeviceIoControl.IoControlCode == KSM_IOCTL_SET_DENY_LIST)
		status = set_deny_list(irp, sp);
	complete_irp(irp, status, 0);
	return status;
}

/* ---- load and unload ---- */

static VOID free_state(void)
{
	ksm_queue_flush(&g_queue);
	ksm_deny_free(g_deny);
	g_deny = NULL;
}

static VOID NTAPI driver_unload(PDRIVER_OBJECT driver)
{
	UNICODE_STRING link;

	UNREFERENCED_PARAMETER(driver);
	/* Callbacks first: once removed, none is running or can start, so
	 * nothing touches the queue while it is freed. */
	PsRemoveLoadImageNotifyRoutine(on_image);
	PsRemoveCreateThreadNotifyRoutine(on_thread);
	PsSetCreateProcessNotifyRoutineEx(on_process, TRUE);
	RtlInitUnicodeString(&link, KSM_LINK_NAME);
	IoDeleteSymbolicLink(&link);
	cancel_all_pending();
	free_state();
	IoDeleteDevice(g_device);
	g_device = NULL;
	DbgPrint("ksysmon: unloaded\n");
}

static NTSTATUS create_device(PDRIVER_OBJECT driver)
{
	UNICODE_STRING name, link;
	NTSTATUS status;

	RtlInitUnicodeString(&name, KSM_DEVICE_NAME);
	RtlInitUnicodeString(&link, KSM_LINK_NAME);
	/* Exclusive: records are consumed by reading, so two readers would
	 * each see an arbitrary half of the stream. */
	status = IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN,
				TRUE, &g_device);
	if (!NT_SUCCESS(status))
		return status;
	g_device->Flags |= DO_DIRECT_IO;
	status = IoCreateSymbolicLink(&link, &name);
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(g_device);
		g_device = NULL;
	}
	return status;
}

static VOID delete_device(void)
{
	UNICODE_STRING link;

	RtlInitUnicodeString(&link, KSM_LINK_NAME);
	IoDeleteSymbolicLink(&link);
	IoDeleteDevice(g_device);
	g_device = NULL;
}

static const struct {
	UCHAR major;
	PDRIVER_DISPATCH fn;
} k_dispatch[] = {
	{ IRP_MJ_CREATE, dispatch_open_close },
	{ IRP_MJ_CLOSE, dispatch_open_close },
	{ IRP_MJ_CLEANUP, dispatch_cleanup },
	{ IRP_MJ_READ, dispatch_read },
	{ IRP_MJ_DEVICE_CONTROL, dispatch_ioctl },
};

static VOID set_dispatch(PDRIVER_OBJECT driver)
{
	ULONG i;

	for (i = 0; i < sizeof(k_dispatch) / sizeof(k_dispatch[0]); i++)
		driver->MajorFunction[k_dispatch[i].major] = k_dispatch[i].fn;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
	NTSTATUS status;

	UNREFERENCED_PARAMETER(registry);
	ksm_rt_init();
	ksm_queue_init(&g_queue, KSM_QUEUE_MAX_RECORDS, KSM_QUEUE_MAX_BYTES);
	KeInitializeSpinLock(&g_pending_lock);
	InitializeListHead(&g_pending);
	ExInitializeFastMutex(&g_deny_lock);
	set_dispatch(driver);

	status = create_device(driver);
	if (!NT_SUCCESS(status))
		goto fail;
	/* Fails with STATUS_ACCESS_DENIED unless the image is linked with
	 * FORCE_INTEGRITY (and so must be signed). */
	status = PsSetCreateProcessNotifyRoutineEx(on_process, FALSE);
	if (!NT_SUCCESS(status))
		goto fail_device;
	status = PsSetCreateThreadNotifyRoutine(on_thread);
	if (!NT_SUCCESS(status))
		goto fail_process;
	status = PsSetLoadImageNotifyRoutine(on_image);
	if (!NT_SUCCESS(status))
		goto fail_thread;

	driver->DriverUnload = driver_unload;
	g_device->Flags &= ~DO_DEVICE_INITIALIZING;
	DbgPrint("ksysmon: loaded\n");
	return STATUS_SUCCESS;

fail_thread:
	PsRemoveCreateThreadNotifyRoutine(on_thread);
fail_process:
	PsSetCreateProcessNotifyRoutineEx(on_process, TRUE);
fail_device:
	delete_device();
fail:
	/* Records may already have been queued by the callbacks that were
	 * registered for a moment. */
	free_state();
	DbgPrint("ksysmon: load failed 0x%08x\n", (unsigned)status);
	return status;
}
