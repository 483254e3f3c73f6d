// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/container.h"

#include <string.h>

/* One component of a cgroup path. */
struct comp {
	const char *s;
	size_t n;
};

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool begins(const struct comp *c, const char *p)
{
	size_t n = strlen(p);
	return c->n >= n && !memcmp(c->s, p, n);
}

static bool equals(const struct comp *c, const char *p)
{
	return c->n == strlen(p) && !memcmp(c->s, p, c->n);
}

/* c without prefix p and, if it ends so, suffix sfx (required: it must) */
static bool strip(const struct comp *c, const char *p, const char *sfx, bool required,
		  struct comp *rest)
{
	size_t np = strlen(p), ns = strlen(sfx);
	if (!begins(c, p))
		return false;
	*rest = (struct comp){ c->s + np, c->n - np };
	if (rest->n >= ns && !memcmp(rest->s + rest->n - ns, sfx, ns))
		rest->n -= ns;
	else if (required)
		return false;
	return true;
}

static bool set(struct ksm_container *out, const char *runtime, const struct comp *id)
{
	size_t n = id->n < KSM_CONTAINER_ID_MAX ? id->n : KSM_CONTAINER_ID_MAX;
	if (!n)
		return false;
	out->runtime = runtime;
	memcpy(out->id, id->s, n);
	out->id[n] = '\0';
	return true;
}

/* Engines naming the cgroup <prefix><64 hex id>[<suffix>]; the conmon
 * prefixes come first: they begin like their engine's. */
static const struct {
	const char *prefix, *suffix;
	bool suffix_required;
	const char *runtime; /* NULL: the engine's own process on the host */
} hex_units[] = {
	{ "libpod-conmon-", ".scope", false, NULL },
	{ "crio-conmon-", ".scope", false, NULL },
	{ "libpod-", ".scope", false, "podman" },
	{ "docker-", ".scope", true, "docker" },
	{ "cri-containerd-", ".scope", true, "containerd" },
	{ "nerdctl-", ".scope", true, "containerd" },
	{ "crio-", ".scope", false, "cri-o" },
};

/* a systemd unit name's escapes undone (\x2d is "-"), cut to the id's room */
static bool set_unescaped(struct ksm_container *out, const char *runtime, const struct comp *name)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < name->n && o < KSM_CONTAINER_ID_MAX; i++) {
		const char *h1, *h2;
		if (name->s[i] == '\\' && i + 3 < name->n && name->s[i + 1] == 'x' &&
		    (h1 = memchr(hex, name->s[i + 2], 16)) && (h2 = memchr(hex, name->s[i + 3], 16))) {
			out->id[o++] = (char)((h1 - hex) << 4 | (h2 - hex));
			i += 3;
		} else {
			out->id[o++] = name->s[i];
		}
	}
	if (!o)
		return false;
	out->id[o] = '\0';
	out->runtime = runtime;
	return true;
}

/* A bare id under the directory of a cgroupfs driver. */
static bool bare_id(const struct comp *all, size_t i, struct ksm_container *out)
{
	const struct comp *parent = &all[i - 1];
	if (equals(parent, "docker") || equals(parent, "actions_job"))
		return set(out, "docker", &all[i]);
	if (begins(parent, "pod") && begins(&all[0], "kubepods"))
		return set(out, "kubernetes", &all[i]);
	return false;
}

/* containerd's systemd-style cgroupsPath taken literally: "<slice>:cri-containerd:<id>" */
static bool literal_cgroups_path(const struct comp *c, struct ksm_container *out)
{
	static const char mid[] = ":cri-containerd:";
	const size_t m = sizeof(mid) - 1;
	if (c->n < m + 64 || memcmp(c->s + c->n - 64 - m, mid, m))
		return false;
	struct comp id = { c->s + c->n - 64, 64 };
	return is_hex64(id.s, id.n) && set(out, "containerd", &id);
}

/* The container component all[i] names, given the components before it
 * and after it (n in all); false when it names none. */
static bool match(const struct comp *all, size_t i, size_t n, struct ksm_container *out)
{
	const struct comp *c = &all[i];
	struct comp rest;
	bool payload = i + 1 < n && equals(&all[i + 1], "payload");

	for (size_t k = 0; k < sizeof(hex_units) / sizeof(hex_units[0]); k++) {
		if (!strip(c, hex_units[k].prefix, hex_units[k].suffix, hex_units[k].suffix_required,
			   &rest))
			continue;
		if (!hex_units[k].runtime || !is_hex64(rest.s, rest.n))
			return false;
		return set(out, hex_units[k].runtime, &rest);
	}
	if (is_hex64(c->s, c->n))
		return i > 0 && bare_id(all, i, out);
	if (literal_cgroups_path(c, out))
		return true;
	/* lxc: lxc.payload.<name> (LXC 4), lxc.payload/<name> (3), lxc/<name> */
	if (strip(c, "lxc.payload.", "", false, &rest))
		return set(out, "lxc", &rest);
	if (i == 1 && (equals(&all[0], "lxc") || equals(&all[0], "lxc.payload")))
		return set(out, "lxc", c);
	/* nspawn: the payload in its unit's "payload" child, nspawn itself in
	 * "supervisor"; a VM machined registers has no payload */
	if (payload && (strip(c, "systemd-nspawn@", ".service", true, &rest) ||
			strip(c, "machine-", ".scope", true, &rest)))
		return set_unescaped(out, "systemd-nspawn", &rest);
	return false;
}

#define MAX_DEPTH 64 /* deeper components are not looked at */

bool ksm_container_from_cgroup(const uint8_t *path, size_t len, struct ksm_container *out)
{
	struct comp all[MAX_DEPTH];
	size_t n = 0, start = 0;
	const char *s = (const char *)path;

	for (size_t i = 0; i <= len && n < MAX_DEPTH; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i > start)
			all[n++] = (struct comp){ s + start, i - start };
		start = i + 1;
	}
	/* the innermost container of nested ones */
	struct ksm_container found;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		if (match(all, i, n, &found))
			any = true;
	if (any)
		*out = found;
	return any;
}

bool ksm_container_id_begins(const struct ksm_container *c, const char *s, size_t len)
{
	return len <= strlen(c->id) && !memcmp(c->id, s, len);
}
