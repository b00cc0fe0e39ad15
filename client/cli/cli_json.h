/* cli_json.h — the JSON document a `patchcast` command prints with --json:
 * exactly one, on stdout, its commas and escapes done once for all. The
 * failure and usage reports that write it for every command (cli.h) are in
 * cli_json.c too. */
#ifndef PC_CLI_JSON_H
#define PC_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>

/* The document. A value with a key is a member of the innermost open
 * object; with key NULL, an element of the innermost array (or the
 * document itself). Closing the outermost object or array ends the
 * document: a newline, stdout flushed. Strings are escaped: `"` and `\`,
 * control characters as \uXXXX, bytes that are not UTF-8 as \ufffd (the
 * document stays valid JSON whatever a file name holds). */
void pc_json_object(const char *key);
void pc_json_array(const char *key);
void pc_json_end(void);                           /* closes the innermost object or array */
void pc_json_str(const char *key, const char *v); /* NULL: null */
void pc_json_uint(const char *key, uint64_t v);
void pc_json_bool(const char *key, bool v);
void pc_json_num(const char *key, double v);      /* two decimals */

#endif
