/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "ntpath.h"

#include <string.h>

static size_t ulen(const uint16_t *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static uint16_t lower(uint16_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint16_t)(c + 32) : c;
}

/* Does path start with prefix (case-insensitively), at a component end? */
static int has_prefix(const uint16_t *path, size_t len, const uint16_t *prefix, size_t plen)
{
	if (plen == 0 || plen > len)
		return 0;
	for (size_t i = 0; i < plen; i++)
		if (lower(path[i]) != lower(prefix[i]))
			return 0;
	return plen == len || path[plen] == '\\';
}

int ksm_ntpaths_add(struct ksm_ntpaths *t, const uint16_t *device, const uint16_t *dos)
{
	struct ksm_ntpath_map *m;
	size_t dl = ulen(device), sl = ulen(dos);

	if (t->count >= KSM_NTPATH_MAX_MAPS || dl == 0 || dl >= 128 || sl == 0 || sl >= 8)
		return -1;
	m = &t->maps[t->count++];
	memcpy(m->device, device, (dl + 1) * 2);
	memcpy(m->dos, dos, (sl + 1) * 2);
	m->device_len = dl;
	m->dos_len = sl;
	return 0;
}

int ksm_ntpaths_set_systemroot(struct ksm_ntpaths *t, const uint16_t *dir)
{
	size_t n = ulen(dir);

	if (n == 0 || n >= 260)
		return -1;
	memcpy(t->systemroot, dir, (n + 1) * 2);
	t->systemroot_len = n;
	return 0;
}

/* out = head + path[skip..len) if it fits; 0 otherwise. */
static size_t splice(const uint16_t *head, size_t hlen, const uint16_t *path, size_t len,
		     size_t skip, uint16_t *out, size_t cap)
{
	size_t n = hlen + (len - skip);

	if (n == 0 || n > cap)
		return 0;
	if (hlen)
		memcpy(out, head, hlen * 2);
	memcpy(out + hlen, path + skip, (len - skip) * 2);
	return n;
}

static int is_drive(const uint16_t *p, size_t len)
{
	return len >= 2 && p[1] == ':' && ((p[0] | 32) >= 'a' && (p[0] | 32) <= 'z') &&
	       (len == 2 || p[2] == '\\');
}

size_t ksm_ntpath_convert(const struct ksm_ntpaths *t, const uint16_t *path, size_t len,
			  uint16_t *out, size_t cap)
{
	static const uint16_t dosdev[] = { '\\', '?', '?', '\\' };
	static const uint16_t win32[] = { '\\', '\\', '?', '\\' };
	static const uint16_t sysroot[] = { '\\', 'S', 'y', 's', 't', 'e', 'm', 'R', 'o', 'o', 't' };
	const struct ksm_ntpath_map *best = NULL;

	if (!path || len == 0)
		return 0;
	if (len > 4 && (memcmp(path, dosdev, 8) == 0 || memcmp(path, win32, 8) == 0) &&
	    is_drive(path + 4, len - 4))
		return splice(NULL, 0, path, len, 4, out, cap);
	if (t->systemroot_len && has_prefix(path, len, sysroot, 11))
		return splice(t->systemroot, t->systemroot_len, path, len, 11, out, cap);
	/* The longest device wins: \Device\Harddisk1 vs \Device\Harddisk10. */
	for (size_t i = 0; i < t->count; i++) {
		const struct ksm_ntpath_map *m = &t->maps[i];
		if (has_prefix(path, len, m->device, m->device_len) &&
		    (!best || m->device_len > best->device_len))
			best = m;
	}
	if (!best)
		return 0;
	return splice(best->dos, best->dos_len, path, len, best->device_len, out, cap);
}
