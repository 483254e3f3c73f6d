/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who may open \Device\ksysmon.  The device hands out every process,
 * thread and image event of the machine, and its control code changes
 * which programs may run, so only LocalSystem and the Administrators
 * group may open it: the access that the WDK's SDDL_DEVOBJ_SYS_ALL_ADM_ALL
 * ("D:P(A;;GA;;;SY)(A;;GA;;;BA)") grants through IoCreateDeviceSecure.
 *
 * IoCreateDeviceSecure is not a kernel export but code in the WDK's static
 * wdmsec.lib, which mingw-w64 does not ship (it has only wdmsec.h).  So the
 * driver does what the I/O manager documents for a device created with
 * IoCreateDevice: it sets the DACL itself, with ZwSetSecurityObject, before
 * the device can be opened.  GENERIC_ALL on a device object means
 * FILE_ALL_ACCESS (the file object type's generic mapping, which the I/O
 * manager checks opens against), so the DACL holds FILE_ALL_ACCESS
 * directly: D:P(A;;FA;;;SY)(A;;FA;;;BA), protected as the SDDL's "P" asks:
 * set with KSM_DEVICE_SD_INFORMATION, which carries the protection too.
 */
#ifndef KSM_DEVSEC_H
#define KSM_DEVSEC_H

#include "ksm_kern.h"

/* sizeof(ACCESS_ALLOWED_ACE) counts the SID's first ULONG (SidStart). */
#define KSM_ACE_BYTES(subauthorities) \
	(sizeof(ACCESS_ALLOWED_ACE) - sizeof(ULONG) + 8u + 4u * (subauthorities))
/* S-1-5-18 has one subauthority, S-1-5-32-544 two. */
#define KSM_DEVICE_ACL_BYTES (sizeof(ACL) + KSM_ACE_BYTES(1) + KSM_ACE_BYTES(2))

/* What ZwSetSecurityObject replaces: the DACL, marked protected. */
#define KSM_DEVICE_SD_INFORMATION (DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION)

/* An absolute security descriptor and the DACL it points to. */
struct ksm_device_sd {
	SECURITY_DESCRIPTOR sd;
	/* ULONG-aligned, as RtlCreateAcl requires */
	ULONG acl[(KSM_DEVICE_ACL_BYTES + sizeof(ULONG) - 1) / sizeof(ULONG)];
};

/* Builds the descriptor in *s (which must stay in place while it is in
 * use: sd points into acl). */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_
NTSTATUS ksm_device_sd_init(_Out_ struct ksm_device_sd *s);

#endif
