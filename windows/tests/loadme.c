/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A driver that does nothing but load and unload: the Wine smoke test
 * starts it to make the kernel report an image load to ksysmon. */
#include <ntddk.h>
#include <driverspecs.h>

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD loadme_unload;

_Use_decl_annotations_
static VOID NTAPI loadme_unload(PDRIVER_OBJECT driver)
{
	UNREFERENCED_PARAMETER(driver);
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "loadme: unloaded\n");
}

_Use_decl_annotations_
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
	UNREFERENCED_PARAMETER(registry);
	driver->DriverUnload = loadme_unload;
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "loadme: loaded\n");
	return STATUS_SUCCESS;
}
