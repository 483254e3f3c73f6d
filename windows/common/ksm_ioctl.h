/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Windows driver's device names and control codes, shared by the
 * driver and the client. */
#ifndef KSM_IOCTL_H
#define KSM_IOCTL_H

#define KSM_DEVICE_NAME u"\\Device\\ksysmon"
#define KSM_LINK_NAME u"\\??\\ksysmon"
#define KSM_USER_PATH u"\\\\.\\ksysmon"

/* The device type of \Device\ksysmon and of its control codes: a value
 * in the range the I/O manager leaves to vendors (0x8000-0xFFFF; the
 * FILE_DEVICE_* constants below it belong to Microsoft).  Unsigned, so
 * that CTL_CODE's shift by 16 stays within unsigned arithmetic (0x8a5e <<
 * 16 does not fit an int). */
#define KSM_DEVICE_TYPE 0x8a5eu

/*
 * Control codes are built with CTL_CODE(DeviceType, Function, Method,
 * Access) as in the WDK samples: the driver gets CTL_CODE and the METHOD_ /
 * FILE_*_ACCESS constants from wdm.h, the client from winioctl.h (through
 * windows.h).  Functions from 0x800 up are the vendors'.  The Access field
 * is checked by the I/O manager before the driver sees the request: a
 * FILE_WRITE_ACCESS code fails with STATUS_ACCESS_DENIED on a handle
 * opened without FILE_WRITE_DATA.
 *
 * Records are not read through a control code but through ReadFile
 * (IRP_MJ_READ), which the I/O manager likewise refuses on a handle
 * without FILE_READ_DATA.
 */

/*
 * Replaces the list of images whose process creation is denied.
 * Input: REG_MULTI_SZ-style UTF-16LE - rules each terminated by a NUL,
 * the list by an extra NUL.  An empty input (0 bytes) clears the list.
 * A rule matches an image path that ends with it, case-insensitively for
 * ASCII letters, at a path component boundary: "notepad.exe" matches
 * "\Device\HarddiskVolume2\Windows\notepad.exe", "windows\notepad.exe"
 * too, "pad.exe" does not.
 * It changes what may run, so it needs a handle opened for writing
 * (FILE_WRITE_ACCESS).  Value 0x8A5EA004.
 */
#define KSM_IOCTL_SET_DENY_LIST CTL_CODE(KSM_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_WRITE_ACCESS)
/* Checked wherever the header is compiled, against that side's CTL_CODE. */
_Static_assert(KSM_IOCTL_SET_DENY_LIST == 0x8A5EA004u, "the deny-list control code changed");

/* Largest deny list accepted, in bytes. */
#define KSM_DENY_LIST_MAX (64u * 1024u)

/* A read buffer this large always holds at least one record. */
#define KSM_READ_MIN_BUFFER (512u * 1024u)

#endif
