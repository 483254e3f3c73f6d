/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Escaping of untrusted strings (paths, arguments) for output.  Nothing
 * the kernel reports can inject a control character into either view.
 *
 * One set of characters is escaped in every view (ksm_cp_escaped): the C0
 * controls, DEL, the C1 controls (U+0080..U+009F: a terminal acts on CSI
 * U+009B as on ESC [), the line and paragraph separators U+2028/U+2029
 * (line breaks to JavaScript and many log viewers), and the bidirectional
 * embeddings, overrides and isolates U+202A..U+202E, U+2066..U+2069 (they
 * reorder what is shown around them).
 *
 * JSON: valid UTF-8 passes through; '"', '\\' and the escaped set as
 * \n \t \r or \uXXXX; each byte that is not part of valid UTF-8 becomes the lone
 * surrogate \udc80..\udcff (PEP 383 "surrogateescape"), so the exact bytes
 * can be recovered (Python: s.encode("utf-8", "surrogateescape")).
 * Text: valid printable UTF-8 passes through; '\\' becomes "\\\\" (but in
 * Windows UTF-16 strings, where it is the path separator, stays as it is);
 * \n \t \r as such; the rest of the escaped set, as the bytes of its UTF-8
 * form, and invalid bytes as \xNN (\xNN always stands for byte NN).
 * Syslog's structured data and message are the text view's.
 */
#ifndef KSM_ESCAPE_H
#define KSM_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/decode.h"

/* Whether code point cp is escaped in every view (see above). */
bool ksm_cp_escaped(uint32_t cp);
/* Whether the UTF-8 bytes p[0..len) hold a character of that set. */
bool ksm_bytes_escaped(const uint8_t *p, size_t len);

void ksm_json_bytes(struct ksm_buf *b, const uint8_t *p, size_t len);
void ksm_text_bytes(struct ksm_buf *b, const uint8_t *p, size_t len);
/* Either encoding of a record string (UTF-16LE or bytes). */
void ksm_json_text(struct ksm_buf *b, const struct ksm_text *t);
void ksm_text_text(struct ksm_buf *b, const struct ksm_text *t);
/* A quoted JSON string. */
void ksm_json_string(struct ksm_buf *b, const uint8_t *p, size_t len);

/* The arguments of argv as ksm_argv_next() gives them, each appended to b
 * by put (NULL: as it is), sep between two: with ' ', the command line.
 * Every NUL ends an argument, so that an empty one is kept, the last one
 * too ("a\0\0" is "a "), and a last one the limit cut is kept as it is. */
void ksm_argv_join(struct ksm_buf *b, const struct ksm_text *argv, char sep,
		   void (*put)(struct ksm_buf *b, const uint8_t *arg, size_t len));

/* Where to cut s (len bytes) to keep at most max bytes without splitting a
 * valid UTF-8 character: max, or the start of the character that max
 * falls inside (bytes that are not valid UTF-8 stand each on its own). */
size_t ksm_utf8_cut(const char *s, size_t len, size_t max);

#endif
