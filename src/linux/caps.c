// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "linux/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/errmsg.h"

#define BIT(c) (1ull << (c))

static const struct {
	int cap;
	const char *name;
	const char *use;
} cap_uses[] = {
	{ CAP_BPF, "CAP_BPF", "to load the BPF programs" },
	{ CAP_PERFMON, "CAP_PERFMON", "to attach the BPF tracing programs" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "for fanotify exec decisions (--deny)" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "to read every process's /proc entries" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "to read every program for digests" },
	{ CAP_CHOWN, "CAP_CHOWN", "to give files a group (--file-group)" },
};

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

void ksm_caps_needed(const struct ksm_options *o, uint64_t *start, uint64_t *keep)
{
	bool deny = o->n_deny_globs || o->n_deny_sha256;
	bool digests = o->hash || o->n_deny_sha256;

	/* before 5.8 (no CAP_BPF) loading and attaching need CAP_SYS_ADMIN */
	*start = last_cap() >= CAP_BPF ? BIT(CAP_BPF) | BIT(CAP_PERFMON) : BIT(CAP_SYS_ADMIN);
	*keep = BIT(CAP_SYS_PTRACE); /* new processes' /proc entries */
	if (deny)
		*keep |= BIT(CAP_SYS_ADMIN); /* marks on file systems mounted later */
	if (digests)
		*keep |= BIT(CAP_DAC_READ_SEARCH);
	if (o->file_gid >= 0)
		*keep |= BIT(CAP_CHOWN);
	*start |= *keep;
	/* rotation and reopening create files where starting could: kept if held */
	*keep |= BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER);
}

static int capget_sets(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

uint64_t ksm_caps_effective(void)
{
	struct __user_cap_data_struct d[2];
	if (capget_sets(d))
		return 0;
	return (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
}

int ksm_caps_check(uint64_t need, char *err, size_t errlen)
{
	uint64_t missing = need & ~ksm_caps_effective();
	size_t k = 0;

	if (!missing)
		return 0;
	k += (size_t)snprintf(err, errlen, "missing ");
	for (size_t i = 0; i < sizeof(cap_uses) / sizeof(cap_uses[0]) && k < errlen; i++)
		if (missing & BIT(cap_uses[i].cap))
			k += (size_t)snprintf(err + k, errlen - k, "%s%s (%s)", k > 8 ? ", " : "",
					      cap_uses[i].name, cap_uses[i].use);
	if (k < errlen)
		snprintf(err + k, errlen - k, "; run as root or grant them (AmbientCapabilities= of a unit, setpriv --ambient-caps)");
	return -1;
}

static int set_effective(struct __user_cap_data_struct d[2], uint64_t eff)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

bool ksm_caps_refused_with(uint64_t keep, int (*op)(void *ctx), void *ctx)
{
	struct __user_cap_data_struct d[2];
	if (capget_sets(d))
		return true;
	uint64_t eff = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	if (set_effective(d, eff & keep))
		return true;
	bool refused = op(ctx) == -EPERM;
	set_effective(d, eff);
	return refused;
}

int ksm_caps_drop(uint64_t keep)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int last = last_cap();

	if (capget_sets(d))
		return -errno;
	uint64_t have = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	/* the bounding set first: dropping from it needs CAP_SETPCAP */
	if (have & BIT(CAP_SETPCAP))
		for (int c = 0; c <= last; c++)
			if (!(keep & BIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
				return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	uint64_t now = have & keep;
	for (int i = 0; i < 2; i++) {
		d[i].effective = d[i].permitted = (uint32_t)(now >> (32 * i));
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
}
