/* hex.h — lower-case hex encoding and strict decoding of byte strings. */
#ifndef PC_HEX_H
#define PC_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write 2*len hex digits and a NUL into out (which holds 2*len+1 chars). */
void pc_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decode exactly 2*len hex digits from in (either case; in need not be
 * NUL-terminated after them) into out. False on any non-hex character. */
bool pc_hex_decode(const char *in, uint8_t *out, size_t len);

/* True if s is exactly n lower-case hex digits followed by NUL. */
bool pc_is_lower_hex(const char *s, size_t n);

#endif
