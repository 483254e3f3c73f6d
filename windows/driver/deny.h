/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The list of images whose process creation is denied (see
 * KSM_IOCTL_SET_DENY_LIST in windows/common/ksm_ioctl.h). */
#ifndef KSM_DENY_H
#define KSM_DENY_H

#include "record.h"

struct ksm_deny_list {
	ksm_u32 count;
	ksm_u32 bytes;
	struct ksm_wstr *rules; /* count entries pointing into text */
	WCHAR *text;
};

/* Validates and copies a multi-string of len bytes.  *out is NULL for an
 * empty list.  STATUS_INVALID_PARAMETER for malformed input (odd length,
 * missing terminators, empty rule, too long). */
_IRQL_requires_max_(APC_LEVEL)
_Must_inspect_result_
NTSTATUS ksm_deny_parse(_In_reads_bytes_opt_(len) const void *buf, _In_ ksm_u32 len,
			_Outptr_result_maybenull_ struct ksm_deny_list **out);
_IRQL_requires_max_(APC_LEVEL)
void ksm_deny_free(_In_opt_ __drv_freesMem(Mem) struct ksm_deny_list *dl);

/* The first rule matching image, or NULL. */
_Ret_maybenull_
const struct ksm_wstr *ksm_deny_match(_In_opt_ const struct ksm_deny_list *dl,
				      _In_opt_ const struct ksm_wstr *image);

#endif
