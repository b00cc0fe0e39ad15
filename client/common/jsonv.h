/* jsonv.h — strict readers for signed-metadata JSON (cJSON underneath): each
 * getter checks presence, type and range, and names the JSON path of any
 * problem ("versions[3].manifest.sha256: expected 64 lower-case hex digits").
 * Shared by the repo.json, manifest and delta parsers. */
#ifndef PC_JSONV_H
#define PC_JSONV_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define PC_JSON_MAX_INT 9007199254740991ull /* 2^53 - 1: exact in a double */

/* A JSON path being read, for messages: "versions[3].manifest". */
typedef struct pc_jpath {
    char buf[256];
} pc_jpath;

/* Child paths: "<parent>.<key>" and "<parent>[<i>]". */
void pc_jpath_key(pc_jpath *out, const pc_jpath *parent, const char *key);
void pc_jpath_idx(pc_jpath *out, const pc_jpath *parent, size_t i);

/* Fail with "<what>: <path>: <problem>". */
pc_status pc_jfail(pc_err *e, const char *what, const pc_jpath *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every key of obj must be in `known` (NULL-terminated) or start with "x-". */
pc_status pc_jcheck_keys(const cJSON *obj, const char *const *known, const char *what,
                         const pc_jpath *p, pc_err *e);

/* Required/optional members. Optional ones leave *out untouched if absent
 * (or null, for strings). Strings are copied (caller frees). */
pc_status pc_jget_object(const cJSON *obj, const char *key, bool required, const cJSON **out,
                         const char *what, const pc_jpath *p, pc_err *e);
pc_status pc_jget_array(const cJSON *obj, const char *key, bool required, const cJSON **out,
                        const char *what, const pc_jpath *p, pc_err *e);
pc_status pc_jget_string(const cJSON *obj, const char *key, bool required, size_t maxlen,
                         char **out, const char *what, const pc_jpath *p, pc_err *e);
pc_status pc_jget_u64(const cJSON *obj, const char *key, bool required, uint64_t min,
                      uint64_t max, uint64_t *out, const char *what, const pc_jpath *p,
                      pc_err *e);
pc_status pc_jget_sha256(const cJSON *obj, const char *key, uint8_t out[32], const char *what,
                         const pc_jpath *p, pc_err *e);
/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" into unix seconds. */
pc_status pc_jget_time(const cJSON *obj, const char *key, bool required, int64_t *out,
                       const char *what, const pc_jpath *p, pc_err *e);

/* Parse untrusted JSON text: refuses raw or escaped NUL characters (cJSON
 * would silently cut strings there, so "a\u0000b" would read as "a"). */
pc_status pc_jparse(const char *json, size_t len, const char *what, cJSON **out, pc_err *e);

/* Print root (formatted or compact) with a final newline into a new
 * NUL-terminated string; root is deleted either way. ok false (a failed
 * build-up of root) gives PC_ERR_NOMEM. */
pc_status pc_jprint(cJSON *root, bool ok, bool pretty, char **out, size_t *len, pc_err *e);

/* Format unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (out holds 21 bytes). */
void pc_format_time(int64_t t, char out[21]);
/* Parse that format; false if malformed or out of range. */
bool pc_parse_time(const char *s, int64_t *out);

/* Writers that keep key order and never lose precision. False on no memory. */
bool pc_jadd_sha256(cJSON *obj, const char *key, const uint8_t sha[32]);
bool pc_jadd_u64(cJSON *obj, const char *key, uint64_t v);
bool pc_jadd_time(cJSON *obj, const char *key, int64_t t);

#endif
