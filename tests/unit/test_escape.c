// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* src/core/escape.c: JSON and terminal escaping of untrusted bytes and UTF-16. */
#include "unit.h"

enum view { JSON, TEXT, JSON_STRING };

/* Escapes len bytes (copied to an exact-size heap block, so that reading
 * one byte too many is caught) and compares with exp. */
static void check(enum view v, const char *in, size_t len, const char *exp)
{
	struct ksm_buf b = { 0 };
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, in, len);
	switch (v) {
	case JSON: ksm_json_bytes(&b, p, len); break;
	case TEXT: ksm_text_bytes(&b, p, len); break;
	case JSON_STRING: ksm_json_string(&b, p, len); break;
	}
	free(p);
	if (strcmp(buf_str(&b), exp) != 0)
		fail_msg("escaping \"%s\" (%zu bytes, view %d): got \"%s\", expected \"%s\"", in, len,
			 v, buf_str(&b), exp);
	assert_int_equal(b.len, strlen(exp));
	ksm_buf_free(&b);
}

#define J(lit, exp) check(JSON, lit, sizeof(lit) - 1, exp)
#define T(lit, exp) check(TEXT, lit, sizeof(lit) - 1, exp)

/* The same through the ksm_text entry points with byte strings. */
static void check_text_bytes(const char *lit, size_t len, const char *json, const char *text)
{
	struct ksm_buf b = { 0 };
	struct ksm_text t = { .data = (const uint8_t *)lit, .len = (uint32_t)len, .present = true };
	ksm_json_text(&b, &t);
	assert_buf(&b, json);
	ksm_buf_reset(&b);
	ksm_text_text(&b, &t);
	assert_buf(&b, text);
	ksm_buf_free(&b);
}

/* UTF-16LE code units through ksm_json_text / ksm_text_text. */
static void check_u16(const uint16_t *units, size_t n, const char *json, const char *text)
{
	struct ksm_buf b = { 0 };
	uint8_t *p = malloc(2 * n + 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		p[2 * i] = (uint8_t)(units[i] & 0xff);
		p[2 * i + 1] = (uint8_t)(units[i] >> 8);
	}
	struct ksm_text t = { .data = p, .len = (uint32_t)(2 * n), .utf16 = true, .present = true };
	ksm_json_text(&b, &t);
	if (strcmp(buf_str(&b), json) != 0)
		fail_msg("UTF-16 JSON: got \"%s\", expected \"%s\"", buf_str(&b), json);
	ksm_buf_reset(&b);
	ksm_text_text(&b, &t);
	if (strcmp(buf_str(&b), text) != 0)
		fail_msg("UTF-16 text: got \"%s\", expected \"%s\"", buf_str(&b), text);
	ksm_buf_free(&b);
	free(p);
}

#define U16(json, text, ...)                                                     \
	do {                                                                     \
		static const uint16_t u_[] = { __VA_ARGS__ };                    \
		check_u16(u_, sizeof(u_) / sizeof(u_[0]), json, text);           \
	} while (0)

/* ---- JSON -------------------------------------------------------------- */

static void test_json_ascii(void **state)
{
	(void)state;
	J("", "");
	J("hello world", "hello world");
	J("/usr/bin/ls -l --color=auto", "/usr/bin/ls -l --color=auto");
	J(" !#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~", " !#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~");
	J("a\"b", "a\\\"b");
	J("\"", "\\\"");
	J("a\\b", "a\\\\b");
	J("\\\\", "\\\\\\\\");
	J("C:\\Windows\\", "C:\\\\Windows\\\\");
	J("/", "/"); /* '/' needs no escape */
}

static void test_json_controls(void **state)
{
	(void)state;
	J("\n", "\\n");
	J("\t", "\\t");
	J("\r", "\\r");
	J("a\nb\tc\rd", "a\\nb\\tc\\rd");
	J("\0", "\\u0000");
	J("\x01", "\\u0001");
	J("\b", "\\u0008");
	J("\f", "\\u000c");
	J("\x0b", "\\u000b");
	J("\x1b[31m", "\\u001b[31m");
	J("\x1f", "\\u001f");
	J("\x7f", "\\u007f");
	J("a\0b", "a\\u0000b");
	/* every control character is escaped */
	for (int c = 0; c < 0x20; c++) {
		char in[1] = { (char)c };
		char exp[8];
		if (c == '\n')
			strcpy(exp, "\\n");
		else if (c == '\t')
			strcpy(exp, "\\t");
		else if (c == '\r')
			strcpy(exp, "\\r");
		else
			snprintf(exp, sizeof(exp), "\\u%04x", c);
		check(JSON, in, 1, exp);
	}
}

static void test_json_valid_utf8(void **state)
{
	(void)state;
	J("caf\xc3\xa9", "caf\xc3\xa9");                       /* 2 bytes */
	J("\xe2\x82\xac", "\xe2\x82\xac");                     /* 3 bytes: euro */
	J("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");             /* 4 bytes: emoji */
	J("\xdf\xbf", "\xdf\xbf");                             /* U+07FF */
	J("\xe0\xa0\x80", "\xe0\xa0\x80");                     /* U+0800 */
	J("\xed\x9f\xbf", "\xed\x9f\xbf");                     /* U+D7FF */
	J("\xee\x80\x80", "\xee\x80\x80");                     /* U+E000 */
	J("\xef\xbf\xbf", "\xef\xbf\xbf");                     /* U+FFFF */
	J("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");             /* U+10000 */
	J("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");             /* U+10FFFF */
	J("\xe2\x80\xa7", "\xe2\x80\xa7");                     /* U+2027, before the set */
	J("\xe2\x80\xaf", "\xe2\x80\xaf");                     /* U+202F, after it */
	J("\xe2\x81\xa5", "\xe2\x81\xa5");                     /* U+2065 */
	J("\xe2\x81\xaa", "\xe2\x81\xaa");                     /* U+206A */
	J("\xc2\xa0", "\xc2\xa0");                             /* U+00A0 */
	J("\xd0\x9f\xd1\x80\xd0\xb8\"", "\xd0\x9f\xd1\x80\xd0\xb8\\\"");
}

static void test_json_invalid_utf8(void **state)
{
	(void)state;
	J("\xff", "\\udcff");
	J("\xfe", "\\udcfe");
	J("\x80", "\\udc80");                                  /* lone continuation */
	J("\xbf", "\\udcbf");
	J("a\x80z", "a\\udc80z");
	J("\xc3", "\\udcc3");                                  /* truncated at the end */
	J("\xe2\x82", "\\udce2\\udc82");
	J("\xf0\x9f\x98", "\\udcf0\\udc9f\\udc98");
	J("\xe2\x82" "A", "\\udce2\\udc82A");                  /* truncated in the middle */
	J("\xc3" "A", "\\udcc3A");
	J("\xc3\xc3\xa9", "\\udcc3\xc3\xa9");                  /* lead, then a valid pair */
	J("\xc0\xaf", "\\udcc0\\udcaf");                       /* overlong '/' */
	J("\xc1\xbf", "\\udcc1\\udcbf");                       /* overlong */
	J("\xe0\x80\x80", "\\udce0\\udc80\\udc80");            /* overlong NUL, 3 bytes */
	J("\xe0\x9f\xbf", "\\udce0\\udc9f\\udcbf");            /* overlong U+07FF */
	J("\xf0\x8f\xbf\xbf", "\\udcf0\\udc8f\\udcbf\\udcbf"); /* overlong U+FFFF */
	J("\xed\xa0\x80", "\\udced\\udca0\\udc80");            /* surrogate U+D800 */
	J("\xed\xbf\xbf", "\\udced\\udcbf\\udcbf");            /* surrogate U+DFFF */
	J("\xf4\x90\x80\x80", "\\udcf4\\udc90\\udc80\\udc80"); /* U+110000 */
	J("\xf7\xbf\xbf\xbf", "\\udcf7\\udcbf\\udcbf\\udcbf");
	J("\xf8\x88\x80\x80\x80", "\\udcf8\\udc88\\udc80\\udc80\\udc80"); /* 5-byte form */
	J("\xfc\x84\x80\x80\x80\x80", "\\udcfc\\udc84\\udc80\\udc80\\udc80\\udc80");
	J("ok\xff\"", "ok\\udcff\\\"");
}

static void test_json_string(void **state)
{
	(void)state;
	check(JSON_STRING, "", 0, "\"\"");
	check(JSON_STRING, "a b", 3, "\"a b\"");
	check(JSON_STRING, "\"\n\xff", 3, "\"\\\"\\n\\udcff\"");
}

/* ---- the one set every view escapes ----------------------------------- */

/* Each member of the set, as UTF-8 bytes: escaped in JSON as \uXXXX, in
 * text as the bytes of its UTF-8 form; as a UTF-16 unit the same; its
 * neighbours pass through. */
static void check_escaped_cp(uint32_t cp, bool escaped)
{
	char in[4], json[16], text[20];
	size_t n;
	if (cp < 0x80)
		in[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		in[0] = (char)(0xc0 | (cp >> 6)), in[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else
		in[0] = (char)(0xe0 | (cp >> 12)), in[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		in[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	assert_int_equal(ksm_cp_escaped(cp), escaped);
	assert_int_equal(ksm_bytes_escaped((const uint8_t *)in, n), escaped);
	if (cp == '\n' || cp == '\t' || cp == '\r' || cp == '"' || cp == '\\')
		return; /* their own short forms, tested above and below */
	if (escaped) {
		snprintf(json, sizeof(json), "\\u%04x", (unsigned)cp);
		text[0] = '\0';
		for (size_t i = 0; i < n; i++)
			snprintf(text + 4 * i, sizeof(text) - 4 * i, "\\x%02x", (unsigned)(uint8_t)in[i]);
	} else {
		memcpy(json, in, n), json[n] = '\0';
		memcpy(text, in, n), text[n] = '\0';
	}
	check(JSON, in, n, json);
	check(TEXT, in, n, text);
	uint16_t unit = (uint16_t)cp;
	check_u16(&unit, 1, json, text);
}

static void test_escaped_set_is_shared(void **state)
{
	(void)state;
	for (uint32_t cp = 0; cp < 0x800; cp++)
		check_escaped_cp(cp, cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0));
	for (uint32_t cp = 0x2000; cp < 0x2100; cp++)
		check_escaped_cp(cp, cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
					     (cp >= 0x2066 && cp <= 0x2069));
	/* in context: CSI, a right-to-left override, a line separator */
	J("a\xc2\x9b" "31mb", "a\\u009b31mb");
	T("a\xc2\x9b" "31mb", "a\\xc2\\x9b31mb");
	J("x\xe2\x80\xae" "abc", "x\\u202eabc");
	T("x\xe2\x80\xae" "abc", "x\\xe2\\x80\\xae" "abc");
	J("\xe2\x80\xa8\xe2\x81\xa9", "\\u2028\\u2069");
	assert_false(ksm_bytes_escaped((const uint8_t *)"caf\xc3\xa9 \xff", 7));
	assert_true(ksm_bytes_escaped((const uint8_t *)"\xff\x1b", 2));
}

/* ---- text -------------------------------------------------------------- */

static void test_text_ascii_and_controls(void **state)
{
	(void)state;
	T("", "");
	T("hello world", "hello world");
	T("a\"b", "a\"b"); /* quotes are left to the caller */
	T("a\\b", "a\\\\b");
	T("\n", "\\n");
	T("\t", "\\t");
	T("\r", "\\r");
	T("\0", "\\x00");
	T("\x01", "\\x01");
	T("\x1b[2J", "\\x1b[2J");
	T("\b", "\\x08");
	T("\x1f", "\\x1f");
	T("\x7f", "\\x7f");
	T("\\x41", "\\\\x41"); /* a literal \x41 stays distinguishable */
	for (int c = 0; c < 0x20; c++) {
		char in[1] = { (char)c };
		char exp[8];
		if (c == '\n')
			strcpy(exp, "\\n");
		else if (c == '\t')
			strcpy(exp, "\\t");
		else if (c == '\r')
			strcpy(exp, "\\r");
		else
			snprintf(exp, sizeof(exp), "\\x%02x", c);
		check(TEXT, in, 1, exp);
	}
}

static void test_text_utf8(void **state)
{
	(void)state;
	T("caf\xc3\xa9", "caf\xc3\xa9");
	T("\xe2\x82\xac", "\xe2\x82\xac");
	T("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	/* C1 controls (U+0080..U+009F) are shown as their bytes */
	T("\xc2\x80", "\\xc2\\x80");
	T("\xc2\x85", "\\xc2\\x85");
	T("\xc2\x9b" "31m", "\\xc2\\x9b31m"); /* CSI */
	T("\xc2\x9f", "\\xc2\\x9f");
	T("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is printable */
	for (unsigned cp = 0x80; cp < 0xa0; cp++) {
		char in[2] = { (char)(0xc0 | (cp >> 6)), (char)(0x80 | (cp & 0x3f)) };
		char exp[16];
		snprintf(exp, sizeof(exp), "\\xc2\\x%02x", (unsigned)(uint8_t)in[1]);
		check(TEXT, in, 2, exp);
	}
}

static void test_text_invalid_utf8(void **state)
{
	(void)state;
	T("\xff", "\\xff");
	T("\x80", "\\x80");
	T("\xe2\x82", "\\xe2\\x82");
	T("\xe2\x82" "A", "\\xe2\\x82A");
	T("\xc0\xaf", "\\xc0\\xaf");
	T("\xed\xa0\x80", "\\xed\\xa0\\x80");
	T("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	T("/tmp/\xff\xfe.sh", "/tmp/\\xff\\xfe.sh");
}

static void test_text_entry_points_bytes(void **state)
{
	(void)state;
	check_text_bytes("a\"\\\n\xff", 5, "a\\\"\\\\\\n\\udcff", "a\"\\\\\\n\\xff");
	check_text_bytes("", 0, "", "");
	struct ksm_buf b = { 0 };
	struct ksm_text absent = { 0 };
	ksm_json_text(&b, &absent);
	ksm_text_text(&b, &absent);
	assert_int_equal(b.len, 0);
	ksm_buf_free(&b);
}

/* ---- UTF-16 ------------------------------------------------------------ */

static void test_utf16(void **state)
{
	(void)state;
	check_u16(NULL, 0, "", "");
	U16("abc", "abc", 'a', 'b', 'c');
	/* '\\' is the Windows path separator: shown as it is in text */
	U16("C:\\\\Windows\\\\notepad.exe", "C:\\Windows\\notepad.exe", 'C', ':', '\\', 'W',
	    'i', 'n', 'd', 'o', 'w', 's', '\\', 'n', 'o', 't', 'e', 'p', 'a', 'd', '.', 'e', 'x',
	    'e');
	U16("\\\"q\\\"", "\"q\"", '"', 'q', '"');
	U16("\\n\\t\\r", "\\n\\t\\r", '\n', '\t', '\r');
	U16("\\u0000\\u0001\\u001f\\u007f", "\\x00\\x01\\x1f\\x7f", 0, 1, 0x1f, 0x7f);
	/* BMP */
	U16("\xc3\xa9", "\xc3\xa9", 0x00e9);
	U16("\xe2\x82\xac", "\xe2\x82\xac", 0x20ac);
	U16("\xef\xbf\xbf", "\xef\xbf\xbf", 0xffff);
	U16("\xee\x80\x80", "\xee\x80\x80", 0xe000);
	/* C1 and the bidi/separator set: escaped in both views */
	U16("\\u0085", "\\xc2\\x85", 0x0085);
	U16("\\u202e", "\\xe2\\x80\\xae", 0x202e);
	/* surrogate pairs */
	U16("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 0xd83d, 0xde00);
	U16("\xf0\x90\x80\x80", "\xf0\x90\x80\x80", 0xd800, 0xdc00);
	U16("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 0xdbff, 0xdfff);
	U16("a\xf0\x9f\x98\x80z", "a\xf0\x9f\x98\x80z", 'a', 0xd83d, 0xde00, 'z');
	/* lone surrogates */
	U16("\\ud800", "\\ud800", 0xd800);              /* high at the end */
	U16("\\udbffA", "\\udbffA", 0xdbff, 'A');       /* high then not low */
	U16("\\udc00", "\\udc00", 0xdc00);              /* lone low */
	U16("a\\udfffb", "a\\udfffb", 'a', 0xdfff, 'b');
	U16("\\ude00\\ud83d", "\\ude00\\ud83d", 0xde00, 0xd83d); /* reversed pair */
	U16("\\ud83d\xf0\x9f\x98\x80", "\\ud83d\xf0\x9f\x98\x80", 0xd83d, 0xd83d, 0xde00);
}

/* ---- round trips over random input -------------------------------------- */

static uint64_t rng = 0x0123456789abcdefull;
static uint32_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* a hexadecimal digit of an escape: lower case only, as they are written */
static int hexval(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : ksm_hex_value(c);
}

/* Undoes the JSON escaping, turning \udcXX back into byte XX
 * (surrogateescape); returns the length, or -1 on anything unexpected. */
static long json_unescape(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c < 0x20 || c == '"')
			return -1;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i >= n)
			return -1;
		switch (s[i]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'u': {
			if (i + 4 >= n)
				return -1;
			unsigned v = 0;
			for (int k = 1; k <= 4; k++) {
				int h = hexval(s[i + k]);
				if (h < 0)
					return -1;
				v = v << 4 | (unsigned)h;
			}
			i += 4;
			if (v < 0x20 || v == 0x7f)
				out[o++] = (uint8_t)v;
			else if (v < 0x80 || (v >= 0xdc00 && v < 0xdc80) || v >= 0xdd00)
				return -1; /* only the escaped set and invalid bytes */
			else if (v < 0x800) /* C1 */
				out[o++] = (uint8_t)(0xc0 | (v >> 6)), out[o++] = (uint8_t)(0x80 | (v & 0x3f));
			else if (v < 0xdc00) /* U+2028.. */
				out[o++] = (uint8_t)(0xe0 | (v >> 12)), out[o++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f)),
				out[o++] = (uint8_t)(0x80 | (v & 0x3f));
			else if (v >= 0xdc80 && v <= 0xdcff)
				out[o++] = (uint8_t)(v & 0xff);
			else
				return -1;
			break;
		}
		default:
			return -1;
		}
	}
	return (long)o;
}

/* Undoes the text escaping (\\, \n, \t, \r, \xNN). */
static long text_unescape(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i >= n)
			return -1;
		switch (s[i]) {
		case '\\': out[o++] = '\\'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'x': {
			if (i + 2 >= n)
				return -1;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (uint8_t)(h << 4 | l);
			i += 2;
			break;
		}
		default:
			return -1;
		}
	}
	return (long)o;
}

static void test_random_round_trip(void **state)
{
	(void)state;
	uint8_t in[64], back[64];
	struct ksm_buf b = { 0 };
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rnd() % sizeof(in);
		/* mix of ASCII, high bytes and well-formed sequences */
		for (size_t i = 0; i < len; i++) {
			uint32_t r = rnd();
			if (r % 4 == 0)
				in[i] = (uint8_t)(0x80 | (r >> 8) % 0x40);
			else if (r % 4 == 1 && i + 2 < len) {
				in[i++] = 0xe2, in[i++] = 0x82, in[i] = 0xac;
			} else
				in[i] = (uint8_t)(r >> 8);
		}
		uint8_t *p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, in, len);

		ksm_buf_reset(&b);
		ksm_json_bytes(&b, p, len);
		long n = json_unescape(b.data ? b.data : "", b.len, back);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);

		ksm_buf_reset(&b);
		ksm_text_bytes(&b, p, len);
		n = text_unescape(b.data ? b.data : "", b.len, back);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
		/* no C1 control survives in the text view */
		for (size_t i = 0; i + 1 < b.len; i++)
			assert_false((uint8_t)b.data[i] == 0xc2 && (uint8_t)b.data[i + 1] >= 0x80 &&
				     (uint8_t)b.data[i + 1] < 0xa0);
		free(p);
	}
	ksm_buf_free(&b);
}

#define CUT(s, max, want) assert_int_equal(ksm_utf8_cut(s, sizeof(s) - 1, max), want)

/* Cutting at a character boundary: a cut inside a valid character moves to
 * its start; invalid bytes (stray continuation bytes, a truncated or
 * overlong sequence) are single bytes, cut where asked. */
static void test_utf8_cut(void **state)
{
	(void)state;
	CUT("abc", 5, 3);               /* short enough: all of it */
	CUT("abc", 3, 3);
	CUT("abcdef", 4, 4);
	CUT("ab\xc3\xa9" "cd", 3, 2);      /* inside a 2-byte character */
	CUT("ab\xc3\xa9" "cd", 4, 4);      /* just after it */
	CUT("a\xe2\x82\xac", 2, 1);      /* inside a 3-byte one, each place */
	CUT("a\xe2\x82\xac", 3, 1);
	CUT("a\xe2\x82\xac" "b", 4, 4);
	CUT("\xf0\x9f\x98\x80x", 1, 0); /* a 4-byte one, from the start */
	CUT("\xf0\x9f\x98\x80x", 3, 0);
	CUT("\xf0\x9f\x98\x80x", 4, 4);
	/* not valid UTF-8: no character to keep whole */
	CUT("abcd\x80\x80\x80\x80\x80\x80", 8, 8); /* stray continuation bytes */
	CUT("\x80\x80\x80", 1, 1);
	CUT("ab\xe2\x82x", 3, 3);        /* a 3-byte lead that ends early */
	CUT("ab\xc0\xafx", 3, 3);        /* overlong '/' */
	CUT("ab\xed\xa0\x80", 4, 4);      /* a surrogate */
	CUT("", 0, 0);
	CUT("\xc3\xa9", 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_ascii),
		cmocka_unit_test(test_json_controls),
		cmocka_unit_test(test_json_valid_utf8),
		cmocka_unit_test(test_json_invalid_utf8),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_escaped_set_is_shared),
		cmocka_unit_test(test_text_ascii_and_controls),
		cmocka_unit_test(test_text_utf8),
		cmocka_unit_test(test_text_invalid_utf8),
		cmocka_unit_test(test_text_entry_points_bytes),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_utf8_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
