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
#include "devsec.h"
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

/* Every routine the kernel calls is declared with its WDK role type (as
 * the WDK samples do), so a signature that drifts from the role fails to
 * compile.  ntddk.h declares the notify routines' roles only as pointer
 * types (PCREATE_PROCESS_NOTIFY_ROUTINE_EX, PCREATE_THREAD_NOTIFY_ROUTINE,
 * PLOAD_IMAGE_NOTIFY_ROUTINE); passing them to the Ps*Notify* routines
 * checks those. */
DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD driver_unload;
static DRIVER_CANCEL on_cancel_read;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE)
static DRIVER_DISPATCH dispatch_open_close;
_Dispatch_type_(IRP_MJ_CLEANUP) static DRIVER_DISPATCH dispatch_cleanup;
_Dispatch_type_(IRP_MJ_READ) static DRIVER_DISPATCH dispatch_read;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) static DRIVER_DISPATCH dispatch_ioctl;

/* DbgPrintEx as the WDK samples use it: the IHV driver component, shown by
 * default at DPFLTR_ERROR_LEVEL; DPFLTR_INFO_LEVEL needs the component's
 * Debug Print Filter mask (or `ed nt!Kd_IHVDRIVER_Mask 8`). */
#define ksm_log(level, ...) DbgPrintEx(DPFLTR_IHVDRIVER_ID, (level), "ksysmon: " __VA_ARGS__)

static struct ksm_queue g_queue;
static PDEVICE_OBJECT g_device;

/* Read IRPs waiting for data.  A spin lock, not the queue's fast mutex:
 * the cancel routine runs at DISPATCH_LEVEL. */
static KSPIN_LOCK g_pending_lock;
_Guarded_by_(g_pending_lock) static LIST_ENTRY g_pending;

/* The deny list, replaced as a whole by the IOCTL. */
static FAST_MUTEX g_deny_lock;
_Guarded_by_(g_deny_lock) static struct ksm_deny_list *g_deny;

static ksm_u32 handle_u32(_In_opt_ HANDLE h)
{
	return (ksm_u32)(ULONG_PTR)h;
}

/* ---- read IRPs that wait ---- */

_IRQL_requires_max_(DISPATCH_LEVEL)
static VOID complete_irp(_Inout_ PIRP irp, _In_ NTSTATUS status, _In_ ULONG_PTR info)
{
	irp->IoStatus.Status = status;
	irp->IoStatus.Information = info;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
}

/* The I/O manager calls it holding the cancel spin lock (IoCancelIrp). */
_Use_decl_annotations_
static VOID NTAPI on_cancel_read(PDEVICE_OBJECT device, PIRP irp)
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
_IRQL_requires_max_(DISPATCH_LEVEL)
_Must_inspect_result_
static BOOLEAN park_irp(_Inout_ PIRP irp, _In_ BOOLEAN at_head)
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
_IRQL_requires_max_(DISPATCH_LEVEL)
_Must_inspect_result_ _Ret_maybenull_
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
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_
static NTSTATUS read_into(_Inout_ PIRP irp, _Out_ ksm_u32 *written)
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
_IRQL_requires_max_(APC_LEVEL)
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

_IRQL_requires_max_(DISPATCH_LEVEL)
static VOID cancel_all_pending(void)
{
	PIRP irp;

	while ((irp = unpark_irp()) != NULL)
		complete_irp(irp, STATUS_CANCELLED, 0);
}

/* ---- notify routines ---- */

/* The notify routines are where a Sysmon-style monitor gets its events:
 * process create/terminate (Sysmon event IDs 1 and 5), image loaded
 * (ID 6 for drivers, 7 for user images) and thread creation and exit
 * (Sysmon reports a thread only when it is created in another process,
 * ID 8 CreateRemoteThread; ksysmon reports every one).  They run at PASSIVE_LEVEL (the thread
 * notifications also at APC_LEVEL), in the context of the thread that
 * caused them. */

_IRQL_requires_max_(APC_LEVEL)
static VOID enqueue(_In_opt_ __drv_aliasesMem struct ksm_entry *e, _In_ unsigned type,
		    _In_ ksm_u64 now)
{
	if (!e) {
		ksm_queue_count_lost(&g_queue, type, now);
		return;
	}
	if (ksm_queue_push(&g_queue, e))
		serve_pending();
}

/* Denies the creation when the image is on the deny list: a creation the
 * routine fails through PS_CREATE_NOTIFY_INFO.CreationStatus never runs. */
_IRQL_requires_max_(APC_LEVEL)
static BOOLEAN deny_if_listed(_In_ HANDLE pid, _Inout_ PPS_CREATE_NOTIFY_INFO info,
			      _In_ const struct ksm_wstr *image, _In_ ksm_u64 now)
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

_IRQL_requires_(PASSIVE_LEVEL)
static VOID on_process_create(_In_ HANDLE pid, _Inout_ PPS_CREATE_NOTIFY_INFO info)
{
	struct ksm_wstr image = ksm_wstr_from_us(info->ImageFileName);
	struct ksm_wstr cmdline = ksm_wstr_from_us(info->CommandLine);
	ksm_u64 now = ksm_now_ns();

	/* A denied process never runs: report the refusal, not a creation. */
	if (deny_if_listed(pid, info, &image, now))
		return;
	/* the creating thread's process is not the parent when the parent was
	 * chosen (PROC_THREAD_ATTRIBUTE_PARENT_PROCESS), as with CLONE_PARENT */
	enqueue(ksm_rec_process_create(now, handle_u32(pid), handle_u32(info->ParentProcessId),
				       handle_u32(info->CreatingThreadId.UniqueThread),
				       handle_u32(info->CreatingThreadId.UniqueProcess), &image,
				       &cmdline),
		KSM_EV_PROCESS_CREATE, now);
}

_IRQL_requires_(PASSIVE_LEVEL)
static VOID on_process_exit(_In_ PEPROCESS process, _In_ HANDLE pid)
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

/* A PCREATE_PROCESS_NOTIFY_ROUTINE_EX (PsSetCreateProcessNotifyRoutineEx):
 * info is NULL when the process exits. */
_IRQL_requires_(PASSIVE_LEVEL) _IRQL_requires_same_
static VOID NTAPI on_process(_Inout_ PEPROCESS process, _In_ HANDLE pid,
			     _Inout_opt_ PPS_CREATE_NOTIFY_INFO info)
{
	if (info)
		on_process_create(pid, info);
	else
		on_process_exit(process, pid);
}

/* A PCREATE_THREAD_NOTIFY_ROUTINE (PsSetCreateThreadNotifyRoutine). */
_IRQL_requires_max_(APC_LEVEL) _IRQL_requires_same_
static VOID NTAPI on_thread(_In_ HANDLE pid, _In_ HANDLE tid, _In_ BOOLEAN create)
{
	ksm_u16 type = create ? KSM_EV_THREAD_CREATE : KSM_EV_THREAD_EXIT;
	ksm_u64 now = ksm_now_ns();

	enqueue(ksm_rec_thread(now, type, handle_u32(pid), handle_u32(tid)), type, now);
}

/* A PLOAD_IMAGE_NOTIFY_ROUTINE (PsSetLoadImageNotifyRoutine); pid is 0
 * for a driver (IMAGE_INFO.SystemModeImage). */
_IRQL_requires_(PASSIVE_LEVEL) _IRQL_requires_same_
static VOID NTAPI on_image(_In_opt_ PUNICODE_STRING name, _In_ HANDLE pid, _In_ PIMAGE_INFO info)
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

_Use_decl_annotations_
static NTSTATUS NTAPI dispatch_open_close(PDEVICE_OBJECT device, PIRP irp)
{
	UNREFERENCED_PARAMETER(device);
	complete_irp(irp, STATUS_SUCCESS, 0);
	return STATUS_SUCCESS;
}

/* The last handle is going away: its waiting reads must not outlive it. */
_Use_decl_annotations_
static NTSTATUS NTAPI dispatch_cleanup(PDEVICE_OBJECT device, PIRP irp)
{
	UNREFERENCED_PARAMETER(device);
	cancel_all_pending();
	complete_irp(irp, STATUS_SUCCESS, 0);
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
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

_IRQL_requires_(PASSIVE_LEVEL)
_Must_inspect_result_
static NTSTATUS set_deny_list(_In_ PIRP irp, _In_ PIO_STACK_LOCATION sp)
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

/* The I/O manager has already checked the code's FILE_*_ACCESS bits
 * against the handle's granted access. */
_Use_decl_annotations_
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

_IRQL_requires_max_(APC_LEVEL)
static VOID free_state(void)
{
	ksm_queue_flush(&g_queue);
	ksm_deny_free(g_deny);
	g_deny = NULL;
}

_Use_decl_annotations_
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
	ksm_log(DPFLTR_INFO_LEVEL, "unloaded\n");
}

/* Replaces the DACL of the device object (see devsec.h).  The object is
 * opened by pointer for a kernel handle; a kernel-mode open skips the
 * access check, so no object type is needed. */
_IRQL_requires_(PASSIVE_LEVEL)
_Must_inspect_result_
static NTSTATUS restrict_device(_In_ PDEVICE_OBJECT device)
{
	struct ksm_device_sd sd;
	HANDLE h;
	NTSTATUS status;

	status = ksm_device_sd_init(&sd);
	if (!NT_SUCCESS(status))
		return status;
	status = ObOpenObjectByPointer(device, OBJ_KERNEL_HANDLE, NULL, WRITE_DAC, NULL,
				       KernelMode, &h);
	if (!NT_SUCCESS(status))
		return status;
	status = ZwSetSecurityObject(h, KSM_DEVICE_SD_INFORMATION, &sd.sd);
	ZwClose(h);
	return status;
}

/* IoCreateDevice, then the DACL, then the symbolic link: until DriverEntry
 * clears DO_DEVICE_INITIALIZING the I/O manager refuses opens, and the
 * \\.\ksysmon name only exists once the device is restricted. */
_IRQL_requires_(PASSIVE_LEVEL)
_Must_inspect_result_
static NTSTATUS create_device(_In_ PDRIVER_OBJECT driver)
{
	UNICODE_STRING name, link;
	NTSTATUS status;

	RtlInitUnicodeString(&name, KSM_DEVICE_NAME);
	RtlInitUnicodeString(&link, KSM_LINK_NAME);
	/* Exclusive: records are consumed by reading, so two readers would
	 * each see an arbitrary half of the stream.  FILE_DEVICE_SECURE_OPEN:
	 * opens of \Device\ksysmon\anything are checked against the same
	 * DACL as the device itself. */
	status = IoCreateDevice(driver, 0, &name, KSM_DEVICE_TYPE, FILE_DEVICE_SECURE_OPEN, TRUE,
				&g_device);
	if (!NT_SUCCESS(status))
		return status;
	g_device->Flags |= DO_DIRECT_IO;
	status = restrict_device(g_device);
	if (NT_SUCCESS(status))
		status = IoCreateSymbolicLink(&link, &name);
	if (!NT_SUCCESS(status)) {
		IoDeleteDevice(g_device);
		g_device = NULL;
	}
	return status;
}

_IRQL_requires_(PASSIVE_LEVEL)
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

_IRQL_requires_(PASSIVE_LEVEL)
static VOID set_dispatch(_Inout_ PDRIVER_OBJECT driver)
{
	ULONG i;

	for (i = 0; i < sizeof(k_dispatch) / sizeof(k_dispatch[0]); i++)
		driver->MajorFunction[k_dispatch[i].major] = k_dispatch[i].fn;
}

_Use_decl_annotations_
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
	ksm_log(DPFLTR_INFO_LEVEL, "loaded\n");
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
	ksm_log(DPFLTR_ERROR_LEVEL, "load failed 0x%08x\n", (unsigned)status);
	return status;
}
