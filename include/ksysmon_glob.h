/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A --deny pattern compiled for matching in the kernel (BPF-LSM engine):
 * the fnmatch(3) glob (flags 0: '*' and '?' also match '/', '\' escapes)
 * as a list of tokens, each one byte of the path.  Compiled by the client
 * (src/policy/globc.c), matched by the BPF program one step at a time with the
 * step below, which the client's tests run against fnmatch(3) itself.
 */
#ifndef KSYSMON_GLOB_H
#define KSYSMON_GLOB_H

#include "ksysmon_event.h"

#define KSM_GLOB_MAX_TOKENS 256 /* a power of two, for masks */
#define KSM_GLOB_MAX_CLASSES 8  /* bracket expressions per pattern */
#define KSM_GLOB_TEXT_MAX 256   /* the pattern as given, for exec_blocked.rule */
#define KSM_GLOB_PATH_MAX 4096  /* PATH_MAX: the path matched, a power of two */
/* steps of one match before it counts as undecided: the greedy matcher
 * takes at most (path length + 1) x (tokens + 1) */
#define KSM_GLOB_MAX_STEPS ((KSM_GLOB_PATH_MAX + 1) * (KSM_GLOB_MAX_TOKENS + 1))

/* tokens: 0-255 a literal byte; then: */
#define KSM_GLOB_ANY 0x100   /* '?': any one byte */
#define KSM_GLOB_STAR 0x101  /* '*': any run of bytes, '/' included */
#define KSM_GLOB_CLASS 0x200 /* + i: a byte in classes[i] ([...]) */

struct ksm_glob {
	ksm_u32 ntok;
	ksm_u32 text_len;
	ksm_u16 tok[KSM_GLOB_MAX_TOKENS];
	ksm_u8 classes[KSM_GLOB_MAX_CLASSES][32]; /* bitmaps of bytes */
	char text[KSM_GLOB_TEXT_MAX];
};

/* Where a match is: the greedy wildcard matcher, which only ever backs up
 * to the last '*' (enough for globs whose only repetition is '*'). */
struct ksm_glob_state {
	ksm_u32 p, s;           /* next token, next path byte */
	ksm_u32 star_p, star_s; /* the last '*' and where its run ends now */
	ksm_u32 has_star;
	ksm_u32 slen;
	int result; /* 1 matched, -1 did not, 0 not yet */
};

static inline int ksm_glob_token_matches(const struct ksm_glob *g, ksm_u16 t, ksm_u8 c)
{
	if (t == KSM_GLOB_ANY)
		return 1;
	if (t >= KSM_GLOB_CLASS)
		return (g->classes[(t - KSM_GLOB_CLASS) & (KSM_GLOB_MAX_CLASSES - 1)][(c >> 3) & 31] >> (c & 7)) & 1;
	return t == c;
}

/*
 * One step of matching g against path[0..st->slen): sets st->result when
 * the match is decided.  Indexes are masked so that the BPF verifier sees
 * every access bounded.
 */
static inline void ksm_glob_step(const struct ksm_glob *g, const char *path,
				 struct ksm_glob_state *st)
{
	ksm_u32 ntok = g->ntok;
	if (st->s < st->slen) {
		if (st->p < ntok) {
			ksm_u16 t = g->tok[st->p & (KSM_GLOB_MAX_TOKENS - 1)];
			ksm_u8 c = (ksm_u8)path[st->s & (KSM_GLOB_PATH_MAX - 1)];
			if (t == KSM_GLOB_STAR) {
				st->star_p = st->p++;
				st->star_s = st->s;
				st->has_star = 1;
				return;
			}
			if (ksm_glob_token_matches(g, t, c)) {
				st->p++;
				st->s++;
				return;
			}
		}
		if (!st->has_star) {
			st->result = -1;
			return;
		}
		/* the last '*' takes one more byte */
		st->p = st->star_p + 1;
		st->s = ++st->star_s;
		return;
	}
	/* the path is consumed: what is left of the pattern must be '*'s */
	if (st->p < ntok && g->tok[st->p & (KSM_GLOB_MAX_TOKENS - 1)] == KSM_GLOB_STAR) {
		st->p++;
		return;
	}
	st->result = st->p == ntok ? 1 : -1;
}

#endif /* KSYSMON_GLOB_H */
