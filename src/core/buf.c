// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

void ksm_buf_free(struct ksm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

void ksm_buf_reset(struct ksm_buf *b)
{
	b->len = 0;
	b->failed = false;
}

bool ksm_buf_reserve(struct ksm_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (n <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void ksm_buf_put(struct ksm_buf *b, const void *p, size_t n)
{
	if (!n || !ksm_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void ksm_buf_putc(struct ksm_buf *b, char c)
{
	if (!ksm_buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

void ksm_buf_puts(struct ksm_buf *b, const char *s)
{
	ksm_buf_put(b, s, strlen(s));
}

void ksm_buf_u64(struct ksm_buf *b, uint64_t v)
{
	char tmp[20];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ksm_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void ksm_buf_i64(struct ksm_buf *b, int64_t v)
{
	if (v < 0) {
		ksm_buf_putc(b, '-');
		ksm_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		ksm_buf_u64(b, (uint64_t)v);
	}
}

static const char hex_digits[] = "0123456789abcdef";

void ksm_hex_encode(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*out++ = hex_digits[p[i] >> 4];
		*out++ = hex_digits[p[i] & 15];
	}
}

int ksm_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void ksm_buf_hex(struct ksm_buf *b, uint64_t v)
{
	char tmp[18];
	int i = sizeof(tmp);
	do {
		tmp[--i] = hex_digits[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	ksm_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void ksm_buf_hexbytes(struct ksm_buf *b, const uint8_t *p, size_t n)
{
	if (!ksm_buf_reserve(b, 2 * n))
		return;
	ksm_hex_encode(b->data + b->len, p, n);
	b->len += 2 * n;
}

void ksm_buf_digits(struct ksm_buf *b, uint64_t v, int width)
{
	char tmp[20];
	if (width > 20)
		width = 20;
	for (int i = width - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	ksm_buf_put(b, tmp, (size_t)width);
}
