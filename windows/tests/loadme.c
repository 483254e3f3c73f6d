/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A driver that does nothing but load and unload: the Wine smoke test
 * starts it to make the kernel report an image load to ksysmon. */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;

static VOID NTAPI loadme_unload(PDRIVER_OBJECT driver)
{
	UNREFERENCED_PARAMETER(driver);
	DbgPrint("loadme: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
	UNREFERENCED_PARAMETER(registry);
	driver->DriverUnload = loadme_unload;
	DbgPrint("loadme: loaded\n");
	return STATUS_SUCCESS;
}
