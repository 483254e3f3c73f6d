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
	size_t n = id->n; /* within a component: it fits */
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

/* a systemd unit name's escapes undone (\x2d is "-"): never longer than
 * the component, which fits */
static bool set_unescaped(struct ksm_container *out, const char *runtime, const struct comp *name)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < name->n; i++) {
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

/* A component with its neighbours: the first of the path, the one
 * before (NULL for the first) and the one after (NULL for the last). */
struct at {
	const struct comp *first, *prev, *cur, *next;
	size_t i; /* index of cur */
};

/* A bare id under the directory of a cgroupfs driver. */
static bool bare_id(const struct at *a, struct ksm_container *out)
{
	const struct comp *parent = a->prev;
	if (equals(parent, "docker") || equals(parent, "actions_job"))
		return set(out, "docker", a->cur);
	if (begins(parent, "pod") && begins(a->first, "kubepods"))
		return set(out, "kubernetes", a->cur);
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

/* The container component a->cur names; false when it names none. */
static bool match(const struct at *a, struct ksm_container *out)
{
	const struct comp *c = a->cur;
	struct comp rest;
	bool payload = a->next && equals(a->next, "payload");

	if (c->n > KSM_CONTAINER_NAME_MAX)
		return false; /* not a cgroup's name (a forged record): names none */

	for (size_t k = 0; k < sizeof(hex_units) / sizeof(hex_units[0]); k++) {
		if (!strip(c, hex_units[k].prefix, hex_units[k].suffix, hex_units[k].suffix_required,
			   &rest))
			continue;
		if (!hex_units[k].runtime || !is_hex64(rest.s, rest.n))
			return false;
		return set(out, hex_units[k].runtime, &rest);
	}
	if (is_hex64(c->s, c->n))
		return a->prev && bare_id(a, out);
	if (literal_cgroups_path(c, out))
		return true;
	/* lxc: lxc.payload.<name> (LXC 4), lxc.payload/<name> (3), lxc/<name> */
	if (strip(c, "lxc.payload.", "", false, &rest))
		return set(out, "lxc", &rest);
	if (a->i == 1 && (equals(a->first, "lxc") || equals(a->first, "lxc.payload")))
		return set(out, "lxc", c);
	/* nspawn: the payload in its unit's "payload" child, nspawn itself in
	 * "supervisor"; a VM machined registers has no payload */
	if (payload && (strip(c, "systemd-nspawn@", ".service", true, &rest) ||
			strip(c, "machine-", ".scope", true, &rest)))
		return set_unescaped(out, "systemd-nspawn", &rest);
	return false;
}

/* The next non-empty component from *pos; false at the end. */
static bool next_comp(const char *s, size_t len, size_t *pos, struct comp *c)
{
	while (*pos < len && s[*pos] == '/')
		(*pos)++;
	if (*pos == len)
		return false;
	const char *slash = memchr(s + *pos, '/', len - *pos);
	size_t end = slash ? (size_t)(slash - s) : len;
	*c = (struct comp){ s + *pos, end - *pos };
	*pos = end;
	return true;
}

bool ksm_container_from_cgroup(const uint8_t *path, size_t len, struct ksm_container *out)
{
	const char *s = (const char *)path;
	size_t pos = 0;
	struct comp first, prev, cur, next;
	bool has_cur = next_comp(s, len, &pos, &cur);
	bool has_next = has_cur && next_comp(s, len, &pos, &next);
	/* every component, however deep: the innermost container of nested ones */
	struct ksm_container found;
	bool any = false;
	first = cur;
	for (size_t i = 0; has_cur; i++) {
		struct at a = { &first, i ? &prev : NULL, &cur, has_next ? &next : NULL, i };
		if (match(&a, &found))
			any = true;
		prev = cur;
		cur = next;
		has_cur = has_next;
		has_next = has_cur && next_comp(s, len, &pos, &next);
	}
	if (any)
		*out = found;
	return any;
}

const char *ksm_container_runtime(const char *s, size_t len)
{
	static const char *const names[] = { "podman", "docker", "containerd", "cri-o",
					     "kubernetes", "lxc", "systemd-nspawn" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !memcmp(names[i], s, len))
			return names[i];
	return NULL;
}

bool ksm_container_id_begins(const struct ksm_container *c, const char *s, size_t len)
{
	return len <= strlen(c->id) && !memcmp(c->id, s, len);
}
