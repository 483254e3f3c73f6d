/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "deny.h"

#include "ksm_ioctl.h"

/* Counts the rules of a multi-string, or returns 0 when it is malformed. */
static ksm_u32 count_rules(_In_reads_(n) const WCHAR *s, _In_ ksm_u32 n)
{
	ksm_u32 i = 0, rules = 0, start;

	for (;;) {
		if (i >= n)
			return 0; /* no final terminator */
		if (s[i] == 0)
			return (i == n - 1) ? rules : 0; /* trailing data is malformed */
		start = i;
		while (i < n && s[i] != 0)
			i++;
		if (i >= n || i == start)
			return 0;
		rules++;
		i++;
	}
}

_Use_decl_annotations_
NTSTATUS ksm_deny_parse(const void *buf, ksm_u32 len, struct ksm_deny_list **out)
{
	struct ksm_deny_list *dl;
	ksm_u32 n = len / 2, count, i, r = 0;

	*out = NULL;
	if (len == 0)
		return STATUS_SUCCESS;
	if (!buf || (len & 1) || len > KSM_DENY_LIST_MAX)
		return STATUS_INVALID_PARAMETER;
	count = count_rules(buf, n);
	if (count == 0)
		return STATUS_INVALID_PARAMETER;
	/* One allocation: header, rule table, then the text. */
	dl = ksm_alloc(sizeof(*dl) + count * sizeof(struct ksm_wstr) + len);
	if (!dl)
		return STATUS_INSUFFICIENT_RESOURCES;
	dl->count = count;
	dl->bytes = len;
	dl->rules = (struct ksm_wstr *)(dl + 1);
	dl->text = (WCHAR *)(dl->rules + count);
	RtlCopyMemory(dl->text, buf, len);
	for (i = 0; r < count; r++) {
		dl->rules[r].buf = &dl->text[i];
		while (dl->text[i])
			i++;
		dl->rules[r].bytes = (ksm_u32)((&dl->text[i] - dl->rules[r].buf) * 2);
		i++;
	}
	*out = dl;
	return STATUS_SUCCESS;
}

_Use_decl_annotations_
void ksm_deny_free(struct ksm_deny_list *dl)
{
	ksm_free(dl);
}

static WCHAR fold(_In_ WCHAR c)
{
	if (c == '/')
		return '\\';
	return (c >= 'A' && c <= 'Z') ? (WCHAR)(c + ('a' - 'A')) : c;
}

static BOOLEAN rule_matches(_In_ const struct ksm_wstr *rule, _In_ const struct ksm_wstr *image)
{
	ksm_u32 rn = rule->bytes / 2, in = image->bytes / 2, i;
	const WCHAR *tail;

	if (rn == 0 || rn > in)
		return FALSE;
	tail = image->buf + (in - rn);
	for (i = 0; i < rn; i++)
		if (fold(tail[i]) != fold(rule->buf[i]))
			return FALSE;
	/* Only whole components: "pad.exe" must not match "notepad.exe". */
	return rn == in || fold(tail[-1]) == '\\' || fold(rule->buf[0]) == '\\';
}

_Use_decl_annotations_
const struct ksm_wstr *ksm_deny_match(const struct ksm_deny_list *dl,
				      const struct ksm_wstr *image)
{
	ksm_u32 i;

	if (!dl || !image || !image->buf)
		return NULL;
	for (i = 0; i < dl->count; i++)
		if (rule_matches(&dl->rules[i], image))
			return &dl->rules[i];
	return NULL;
}
