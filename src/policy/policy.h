/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Execution policy: which executed files are refused.  Pure functions, no
 * I/O: rules are checked and parsed here, matched against the resolved
 * path of the executed file and, for content rules, its SHA-256 digest.
 */
#ifndef KSM_POLICY_H
#define KSM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_SHA256_LEN 32
#define KSM_SHA256_HEX_LEN 64

/*
 * Checks a --deny pattern.  A pattern is an fnmatch(3) glob, matched
 * without flags against the absolute path of the executed file: '*' and
 * '?' also match '/'.  It must be able to match an absolute, canonical
 * path: it starts with '/' or '*', has no empty, "." or ".." component,
 * no unterminated '[' and no trailing '\'.  Returns 0, or -1 with a
 * one-line reason in err.
 */
int ksm_glob_check(const char *pattern, char *err, size_t errlen);

/* Exactly 64 hexadecimal digits (either case) into 32 bytes; 0 or -1. */
int ksm_sha256_parse(const char *hex, uint8_t out[KSM_SHA256_LEN]);
/* 64 lower-case digits and a NUL into out[65]. */
void ksm_sha256_hex(const uint8_t d[KSM_SHA256_LEN], char out[KSM_SHA256_HEX_LEN + 1]);

struct ksm_glob_rule {
	const char *pattern;
	size_t prefix_len; /* literal bytes before the first special character */
};

struct ksm_policy {
	struct ksm_glob_rule *globs;
	size_t n_globs;
	uint8_t (*digests)[KSM_SHA256_LEN]; /* sorted, no duplicates */
	size_t n_digests;
};

/*
 * Builds a policy from checked rules (the strings must outlive it).
 * Returns 0, or -1 with a reason in err (a bad rule, or out of memory).
 */
int ksm_policy_init(struct ksm_policy *p, const char *const *globs, size_t n_globs,
		    const char *const *sha256_hex, size_t n_sha256, char *err, size_t errlen);
void ksm_policy_free(struct ksm_policy *p);

/* The first glob that matches path, or NULL. */
const char *ksm_policy_match_path(const struct ksm_policy *p, const char *path);
/* Whether the digest is one of the denied ones. */
bool ksm_policy_match_sha256(const struct ksm_policy *p, const uint8_t d[KSM_SHA256_LEN]);

#endif
