/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * NT object paths to Win32 paths: the kernel reports images as
 * \Device\HarddiskVolume3\Windows\notepad.exe; users know C:\Windows\...
 * The mapping table is filled by the caller (QueryDosDeviceW on Windows),
 * which keeps this file portable and unit-testable on any host.
 */
#ifndef KSM_NTPATH_H
#define KSM_NTPATH_H

#include <stddef.h>
#include <stdint.h>

#define KSM_NTPATH_MAX_MAPS 64

struct ksm_ntpath_map {
	uint16_t device[128]; /* "\Device\HarddiskVolume3", NUL-terminated */
	size_t device_len;    /* code units */
	uint16_t dos[8];      /* "C:" */
	size_t dos_len;
};

struct ksm_ntpaths {
	struct ksm_ntpath_map maps[KSM_NTPATH_MAX_MAPS];
	size_t count;
	uint16_t systemroot[260]; /* "C:\Windows", for \SystemRoot\... */
	size_t systemroot_len;
};

/* Adds a device -> drive mapping (both NUL-terminated UTF-16); 0 on
 * success, -1 when the table is full or a name too long. */
int ksm_ntpaths_add(struct ksm_ntpaths *t, const uint16_t *device, const uint16_t *dos);
int ksm_ntpaths_set_systemroot(struct ksm_ntpaths *t, const uint16_t *dir);

/*
 * Converts path (len code units) into out (cap code units).  Returns the
 * converted length, or 0 when the path has no known prefix (the caller
 * keeps the original).  Recognised: a mapped device followed by '\' or
 * the end, \??\X:..., \\?\X:..., \SystemRoot\...  Matching of device
 * names is case-insensitive (ASCII).
 */
size_t ksm_ntpath_convert(const struct ksm_ntpaths *t, const uint16_t *path, size_t len,
			  uint16_t *out, size_t cap);

#endif
