/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Escaping of untrusted strings (paths, arguments) for output.  Nothing
 * the kernel reports can inject a control character into either view.
 *
 * JSON: valid UTF-8 passes through; '"', '\\' and control characters are
 * escaped; each byte that is not part of valid UTF-8 becomes the lone
 * surrogate \udc80..\udcff (PEP 383 "surrogateescape"), so the exact bytes
 * can be recovered (Python: s.encode("utf-8", "surrogateescape")).
 * Text: valid printable UTF-8 passes through; '\\' becomes "\\\\" (but in
 * Windows UTF-16 strings, where it is the path separator, stays as it is);
 * \n \t \r as such; other control characters and invalid bytes as \xNN.
 */
#ifndef KSM_ESCAPE_H
#define KSM_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "decode.h"

void ksm_json_bytes(struct ksm_buf *b, const uint8_t *p, size_t len);
void ksm_text_bytes(struct ksm_buf *b, const uint8_t *p, size_t len);
/* Either encoding of a record string (UTF-16LE or bytes). */
void ksm_json_text(struct ksm_buf *b, const struct ksm_text *t);
void ksm_text_text(struct ksm_buf *b, const struct ksm_text *t);
/* A quoted JSON string. */
void ksm_json_string(struct ksm_buf *b, const uint8_t *p, size_t len);

#endif
