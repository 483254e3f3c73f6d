// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/escape.h"

#include <stdbool.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if p[0] does not
 * start one.  Rejects overlong forms, surrogates and values > U+10FFFF. */
static size_t utf8_len(const uint8_t *p, size_t avail, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

size_t ksm_utf8_cut(const char *s, size_t len, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp;
	if (len <= max)
		return len;
	/* the lead byte of a character that max would split: at most 3 back */
	for (size_t k = 1; k <= 3 && k <= max && (p[max - k + 1] & 0xc0) == 0x80; k++)
		if ((p[max - k] & 0xc0) != 0x80)
			return utf8_len(p + max - k, len - (max - k), &cp) > k ? max - k : max;
	return max;
}

/* The UTF-8 form of cp in s; returns its length. */
static size_t utf8_encode(uint32_t cp, char s[4])
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6)), s[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12)), s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | (cp >> 18)), s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	s[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), s[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static void put_utf8(struct ksm_buf *b, uint32_t cp)
{
	char s[4];
	ksm_buf_put(b, s, utf8_encode(cp, s));
}

bool ksm_cp_escaped(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f ||          /* C0, DEL */
	       (cp >= 0x80 && cp < 0xa0) ||        /* C1: CSI, NEL, ... */
	       cp == 0x2028 || cp == 0x2029 ||     /* line, paragraph separators */
	       (cp >= 0x202a && cp <= 0x202e) ||   /* bidi embeddings, overrides */
	       (cp >= 0x2066 && cp <= 0x2069);     /* bidi isolates */
}

bool ksm_bytes_escaped(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_len(p + i, len - i, &cp);
		if (n && ksm_cp_escaped(cp))
			return true;
		i += n ? n : 1;
	}
	return false;
}

/* "\\u" or another prefix, then unit as 4 hexadecimal digits */
static void put_unit(struct ksm_buf *b, const char *prefix, uint32_t unit)
{
	char s[4];
	ksm_hex_encode(s, (const uint8_t[2]){ (uint8_t)(unit >> 8), (uint8_t)unit }, 2);
	ksm_buf_puts(b, prefix);
	ksm_buf_put(b, s, sizeof(s));
}

static void json_u(struct ksm_buf *b, uint32_t unit)
{
	put_unit(b, "\\u", unit);
}

static void text_x(struct ksm_buf *b, uint8_t byte)
{
	char s[4] = { '\\', 'x' };
	ksm_hex_encode(s + 2, &byte, 1);
	ksm_buf_put(b, s, sizeof(s));
}

/* One code point of valid input, escaped for JSON. */
static void json_cp(struct ksm_buf *b, uint32_t cp)
{
	switch (cp) {
	case '"': ksm_buf_put(b, "\\\"", 2); return;
	case '\\': ksm_buf_put(b, "\\\\", 2); return;
	case '\n': ksm_buf_put(b, "\\n", 2); return;
	case '\t': ksm_buf_put(b, "\\t", 2); return;
	case '\r': ksm_buf_put(b, "\\r", 2); return;
	}
	if (ksm_cp_escaped(cp))
		json_u(b, cp);
	else
		put_utf8(b, cp);
}

/* One code point of valid input, escaped for a terminal. */
static void text_cp(struct ksm_buf *b, uint32_t cp)
{
	switch (cp) {
	case '\\': ksm_buf_put(b, "\\\\", 2); return;
	case '\n': ksm_buf_put(b, "\\n", 2); return;
	case '\t': ksm_buf_put(b, "\\t", 2); return;
	case '\r': ksm_buf_put(b, "\\r", 2); return;
	}
	if (!ksm_cp_escaped(cp)) {
		put_utf8(b, cp);
		return;
	}
	/* shown as the bytes of its UTF-8 form: \xNN always means byte NN */
	char s[4];
	size_t n = utf8_encode(cp, s);
	for (size_t i = 0; i < n; i++)
		text_x(b, (uint8_t)s[i]);
}

void ksm_json_bytes(struct ksm_buf *b, const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		/* fast path: plain printable ASCII is copied in one go */
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		ksm_buf_put(b, p + i, run - i);
		i = run;
		if (i >= len)
			break;
		uint32_t cp;
		size_t n = utf8_len(p + i, len - i, &cp);
		if (n) {
			json_cp(b, cp);
			i += n;
		} else {
			json_u(b, 0xdc00u | p[i]);
			i++;
		}
	}
}

void ksm_text_bytes(struct ksm_buf *b, const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '\\')
			run++;
		ksm_buf_put(b, p + i, run - i);
		i = run;
		if (i >= len)
			break;
		uint32_t cp;
		size_t n = utf8_len(p + i, len - i, &cp);
		if (n) {
			text_cp(b, cp);
			i += n;
		} else {
			text_x(b, p[i]);
			i++;
		}
	}
}

/* Walks UTF-16LE code units; a lone surrogate is passed as is to `bad`. */
static void utf16_walk(struct ksm_buf *b, const uint8_t *p, size_t len,
		       void (*good)(struct ksm_buf *, uint32_t),
		       void (*bad)(struct ksm_buf *, uint32_t))
{
	size_t n = len / 2;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
		if (u >= 0xd800 && u <= 0xdbff && i + 1 < n) {
			uint32_t lo = p[2 * i + 2] | (uint32_t)p[2 * i + 3] << 8;
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				good(b, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
				i++;
				continue;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff)
			bad(b, u);
		else
			good(b, u);
	}
}

static void text_bad_unit(struct ksm_buf *b, uint32_t u)
{
	put_unit(b, "\\u", u);
}

void ksm_json_text(struct ksm_buf *b, const struct ksm_text *t)
{
	if (t->utf16)
		utf16_walk(b, t->data, t->len, json_cp, json_u);
	else
		ksm_json_bytes(b, t->data, t->len);
}

/* Windows strings: '\\' is the path separator there, shown as it is. */
static void text_cp_windows(struct ksm_buf *b, uint32_t cp)
{
	if (cp == '\\')
		ksm_buf_putc(b, '\\');
	else
		text_cp(b, cp);
}

void ksm_text_text(struct ksm_buf *b, const struct ksm_text *t)
{
	if (t->utf16)
		utf16_walk(b, t->data, t->len, text_cp_windows, text_bad_unit);
	else
		ksm_text_bytes(b, t->data, t->len);
}

void ksm_json_string(struct ksm_buf *b, const uint8_t *p, size_t len)
{
	ksm_buf_putc(b, '"');
	ksm_json_bytes(b, p, len);
	ksm_buf_putc(b, '"');
}

void ksm_argv_join(struct ksm_buf *b, const struct ksm_text *argv, char sep,
		   void (*put)(struct ksm_buf *b, const uint8_t *arg, size_t len))
{
	struct ksm_argv_iter it;
	const uint8_t *arg;
	size_t len;

	ksm_argv_begin(&it, argv);
	for (bool first = true; ksm_argv_next(&it, &arg, &len); first = false) {
		if (!first)
			ksm_buf_putc(b, sep);
		if (put)
			put(b, arg, len);
		else
			ksm_buf_put(b, arg, len);
	}
}
