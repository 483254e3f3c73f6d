/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A growable byte buffer that formatters append to. */
#ifndef KSM_BUF_H
#define KSM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ksm_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; contents are incomplete */
};

void ksm_buf_free(struct ksm_buf *b);
void ksm_buf_reset(struct ksm_buf *b);
/* Makes room for n more bytes; false (and b->failed) when out of memory. */
bool ksm_buf_reserve(struct ksm_buf *b, size_t n);
void ksm_buf_put(struct ksm_buf *b, const void *p, size_t n);
void ksm_buf_putc(struct ksm_buf *b, char c);
void ksm_buf_puts(struct ksm_buf *b, const char *s);
void ksm_buf_u64(struct ksm_buf *b, uint64_t v);
void ksm_buf_i64(struct ksm_buf *b, int64_t v);
/* 0x-prefixed lower-case hexadecimal */
void ksm_buf_hex(struct ksm_buf *b, uint64_t v);
/* n bytes as 2n lower-case hexadecimal digits */
void ksm_buf_hexbytes(struct ksm_buf *b, const uint8_t *p, size_t n);

/* Hexadecimal: n bytes as 2n lower-case digits at out (no NUL added); the
 * value of digit c, of either case, or -1 when c is none. */
void ksm_hex_encode(char *out, const uint8_t *p, size_t n);
int ksm_hex_value(int c);
/* v as exactly `width` decimal digits, zero-padded */
void ksm_buf_digits(struct ksm_buf *b, uint64_t v, int width);

#endif
