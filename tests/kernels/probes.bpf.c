// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Empty programs of the attach kinds ksysmon does not rely on, loaded and
 * attached one by one in each kernel of the matrix to record which of them
 * the kernel offers.  Built once per kind: -DPROBE_FENTRY, -DPROBE_KPROBE,
 * -DPROBE_LSM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#if defined(PROBE_FENTRY)
SEC("fentry/security_bprm_check")
#elif defined(PROBE_KPROBE)
SEC("kprobe/security_bprm_check")
#elif defined(PROBE_LSM)
SEC("lsm/bprm_check_security")
#endif
int probe(void *ctx)
{
	(void)ctx;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
