/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Windows driver's device names and control codes, shared by the
 * driver and the client. */
#ifndef KSM_IOCTL_H
#define KSM_IOCTL_H

#define KSM_DEVICE_NAME u"\\Device\\ksysmon"
#define KSM_LINK_NAME u"\\??\\ksysmon"
#define KSM_USER_PATH u"\\\\.\\ksysmon"

/* A device type in the range reserved for vendors (0x8000-0xFFFF). */
#define KSM_DEVICE_TYPE 0x8a5e

/*
 * Replaces the list of images whose process creation is denied.
 * Input: REG_MULTI_SZ-style UTF-16LE - rules each terminated by a NUL,
 * the list by an extra NUL.  An empty input (0 bytes) clears the list.
 * A rule matches an image path that ends with it, case-insensitively for
 * ASCII letters, at a path component boundary: "notepad.exe" matches
 * "\Device\HarddiskVolume2\Windows\notepad.exe", "windows\notepad.exe"
 * too, "pad.exe" does not.
 * Requires a handle opened for writing.
 */
#define KSM_IOCTL_SET_DENY_LIST \
	(((ULONG)KSM_DEVICE_TYPE << 16) | (0x0002u /* FILE_WRITE_ACCESS */ << 14) | \
	 (0x801u << 2) | 0u /* METHOD_BUFFERED */)

/* Largest deny list accepted, in bytes. */
#define KSM_DENY_LIST_MAX (64u * 1024u)

/* A read buffer this large always holds at least one record. */
#define KSM_READ_MIN_BUFFER (512u * 1024u)

#endif
