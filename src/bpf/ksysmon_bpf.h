/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Common includes of the BPF programs. */
#ifndef KSM_KSYSMON_BPF_H
#define KSM_KSYSMON_BPF_H

#include "ksysmon_limits.h"

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ksysmon_event.h"

#endif
