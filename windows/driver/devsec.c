/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "devsec.h"

/* A SID with room for two subauthorities (SID declares one): the same
 * layout, Revision, SubAuthorityCount, IdentifierAuthority, then the
 * subauthorities. */
struct ksm_sid2 {
	UCHAR Revision;
	UCHAR SubAuthorityCount;
	SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
	ULONG SubAuthority[2];
};

/* S-1-5-18, "SY" in SDDL */
static const struct ksm_sid2 k_local_system = {
	SID_REVISION, 1, { SECURITY_NT_AUTHORITY }, { SECURITY_LOCAL_SYSTEM_RID, 0 }
};
/* S-1-5-32-544, "BA" in SDDL */
static const struct ksm_sid2 k_administrators = {
	SID_REVISION, 2, { SECURITY_NT_AUTHORITY },
	{ SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS }
};

_Use_decl_annotations_
NTSTATUS ksm_device_sd_init(struct ksm_device_sd *s)
{
	PACL acl = (PACL)s->acl;
	NTSTATUS status;

	RtlZeroMemory(s, sizeof(*s));
	status = RtlCreateAcl(acl, sizeof(s->acl), ACL_REVISION);
	if (NT_SUCCESS(status))
		status = RtlAddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS,
						(PSID)&k_local_system);
	if (NT_SUCCESS(status))
		status = RtlAddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS,
						(PSID)&k_administrators);
	if (NT_SUCCESS(status))
		status = RtlCreateSecurityDescriptor(&s->sd, SECURITY_DESCRIPTOR_REVISION);
	if (NT_SUCCESS(status))
		status = RtlSetDaclSecurityDescriptor(&s->sd, TRUE, acl, FALSE);
	/* "D:P": no access inherited from the \Device directory can widen
	 * it.  The descriptor is absolute and ours, so its control word is
	 * set directly (RtlSetControlSecurityDescriptor is not a kernel
	 * export on every Windows version). */
	if (NT_SUCCESS(status))
		s->sd.Control |= SE_DACL_PROTECTED;
	return status;
}
