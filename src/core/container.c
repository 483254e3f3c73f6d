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

/* The container component c names, given the components before it
 * (all[0..i-1]) and after it; false when it names none. */
static bool match(const struct comp *all, size_t i, size_t n, struct ksm_container *out)
{
	const struct comp *c = &all[i];
	struct comp rest;

	for (size_t k = 0; k < sizeof(hex_units) / sizeof(hex_units[0]); k++) {
		if (!strip(c, hex_units[k].prefix, hex_units[k].suffix, hex_units[k].suffix_required,
			   &rest))
			continue;
		if (!hex_units[k].runtime || !is_hex64(rest.s, rest.n))
			return false;
		return set(out, hex_units[k].runtime, &rest);
	}
	if (is_hex64(c->s, c->n) && i > 0) {
		/* the cgroupfs drivers: a bare id under the engine's directory */
		if (equals(&all[i - 1], "docker"))
			return set(out, "docker", c);
		if (begins(&all[i - 1], "pod") && begins(&all[0], "kubepods"))
			return set(out, "kubernetes", c);
		return false;
	}
	if (strip(c, "lxc.payload.", "", false, &rest))
		return set(out, "lxc", &rest);
	if (i == 1 && equals(&all[0], "lxc"))
		return set(out, "lxc", c);
	/* nspawn's own process sits in the unit's "supervisor" child */
	if (strip(c, "systemd-nspawn@", ".service", true, &rest))
		return !(i + 1 < n && equals(&all[i + 1], "supervisor")) &&
		       set(out, "systemd-nspawn", &rest);
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
