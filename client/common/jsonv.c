/* jsonv.c — strict, path-naming JSON field readers and exact writers. */
#include "jsonv.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"

void pc_jpath_key(pc_jpath *out, const pc_jpath *parent, const char *key)
{
    if (parent == NULL || parent->buf[0] == '\0')
        snprintf(out->buf, sizeof out->buf, "%.200s", key);
    else
        snprintf(out->buf, sizeof out->buf, "%.180s.%.60s", parent->buf, key);
}

void pc_jpath_idx(pc_jpath *out, const pc_jpath *parent, size_t i)
{
    snprintf(out->buf, sizeof out->buf, "%.200s[%zu]", parent ? parent->buf : "", i);
}

pc_status pc_jfail(pc_err *e, const char *what, const pc_jpath *p, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p && p->buf[0])
        return pc_fail(e, PC_ERR_FORMAT, "%s: %s: %s", what, p->buf, msg);
    return pc_fail(e, PC_ERR_FORMAT, "%s: %s", what, msg);
}

typedef struct keyref {
    const char *key;
    size_t idx;
} keyref;

static int cmp_keyref(const void *pa, const void *pb)
{
    const keyref *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* The first key (in document order) that appears again later in obj, or
 * NULL: pairwise for a few members, by sorting for many (x- keys are not
 * limited in number). */
static pc_status first_duplicate_key(const cJSON *obj, const char **dup, pc_err *e)
{
    size_t n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        n++;
    if (n <= 16) {
        for (const cJSON *a = obj->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0) {
                    *dup = a->string;
                    return PC_OK;
                }
        return PC_OK;
    }
    keyref *s = malloc(n * sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    size_t i = 0, first = SIZE_MAX;
    for (const cJSON *a = obj->child; a; a = a->next, i++)
        s[i] = (keyref){a->string, i};
    qsort(s, n, sizeof *s, cmp_keyref);
    /* Equal keys are side by side, the earliest in the document first. */
    for (size_t k = 1; k < n; k++)
        if (strcmp(s[k].key, s[k - 1].key) == 0 && s[k - 1].idx < first) {
            first = s[k - 1].idx;
            *dup = s[k - 1].key;
        }
    free(s);
    return PC_OK;
}

pc_status pc_jcheck_keys(const cJSON *obj, const char *const *known, const char *what,
                         const pc_jpath *p, pc_err *e)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (strncmp(it->string, "x-", 2) == 0)
            continue;
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(it->string, known[i]) == 0;
        if (!ok) {
            pc_jpath k;
            pc_jpath_key(&k, p, it->string);
            return pc_jfail(e, what, &k, "unknown key");
        }
    }
    /* cJSON keeps duplicate keys; a signed document must not have any. */
    const char *dup = NULL;
    pc_status st = first_duplicate_key(obj, &dup, e);
    if (st != PC_OK || dup == NULL)
        return st;
    pc_jpath k;
    pc_jpath_key(&k, p, dup);
    return pc_jfail(e, what, &k, "duplicate key");
}

static const cJSON *member(const cJSON *obj, const char *key, bool required, pc_jpath *kp,
                           const char *what, const pc_jpath *p, pc_err *e, pc_status *st)
{
    pc_jpath_key(kp, p, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *st = PC_OK;
    if (v == NULL && required)
        *st = pc_jfail(e, what, kp, "missing");
    return v;
}

pc_status pc_jget_object(const cJSON *obj, const char *key, bool required, const cJSON **out,
                         const char *what, const pc_jpath *p, pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, required, &kp, what, p, e, &st);
    if (v == NULL)
        return st;
    if (!cJSON_IsObject(v))
        return pc_jfail(e, what, &kp, "expected an object");
    *out = v;
    return PC_OK;
}

pc_status pc_jget_array(const cJSON *obj, const char *key, bool required, const cJSON **out,
                        const char *what, const pc_jpath *p, pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, required, &kp, what, p, e, &st);
    if (v == NULL)
        return st;
    if (!cJSON_IsArray(v))
        return pc_jfail(e, what, &kp, "expected an array");
    *out = v;
    return PC_OK;
}

pc_status pc_jget_string(const cJSON *obj, const char *key, bool required, size_t maxlen,
                         char **out, const char *what, const pc_jpath *p, pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, required, &kp, what, p, e, &st);
    if (v == NULL || (!required && cJSON_IsNull(v)))
        return st;
    if (!cJSON_IsString(v))
        return pc_jfail(e, what, &kp, "expected a string");
    size_t n = strlen(v->valuestring);
    if (n > maxlen)
        return pc_jfail(e, what, &kp, "longer than %zu bytes", maxlen);
    char *copy = strdup(v->valuestring);
    if (copy == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(*out);
    *out = copy;
    return PC_OK;
}

pc_status pc_jget_u64(const cJSON *obj, const char *key, bool required, uint64_t min,
                      uint64_t max, uint64_t *out, const char *what, const pc_jpath *p,
                      pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, required, &kp, what, p, e, &st);
    if (v == NULL)
        return st;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
        return pc_jfail(e, what, &kp, "expected an integer");
    if (v->valuedouble < (double)min || v->valuedouble > (double)max ||
        v->valuedouble > (double)PC_JSON_MAX_INT)
        return pc_jfail(e, what, &kp, "out of range (%llu to %llu)", (unsigned long long)min,
                        (unsigned long long)(max < PC_JSON_MAX_INT ? max : PC_JSON_MAX_INT));
    *out = (uint64_t)v->valuedouble;
    return PC_OK;
}

pc_status pc_jget_sha256(const cJSON *obj, const char *key, uint8_t out[32], const char *what,
                         const pc_jpath *p, pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, true, &kp, what, p, e, &st);
    if (v == NULL)
        return st;
    if (!cJSON_IsString(v) || !pc_is_lower_hex(v->valuestring, 64) ||
        !pc_hex_decode(v->valuestring, out, 32))
        return pc_jfail(e, what, &kp, "expected 64 lower-case hex digits");
    return PC_OK;
}

pc_status pc_jparse(const char *json, size_t len, const char *what, cJSON **out, pc_err *e)
{
    *out = NULL;
    if (memchr(json, '\0', len))
        return pc_fail(e, PC_ERR_FORMAT, "%s: contains a NUL byte", what);
    for (size_t i = 0; i + 6 <= len; i++)
        if (json[i] == '\\' && json[i + 1] == 'u' && json[i + 2] == '0' && json[i + 3] == '0' &&
            json[i + 4] == '0' && json[i + 5] == '0')
            return pc_fail(e, PC_ERR_FORMAT, "%s: contains an escaped NUL character (\\u0000)",
                           what);
    *out = cJSON_ParseWithLength(json, len);
    if (*out == NULL)
        return pc_fail(e, PC_ERR_FORMAT, "%s: not valid JSON", what);
    return PC_OK;
}

bool pc_parse_time(const char *s, int64_t *out)
{
    int Y, M, D, h, m, sec;
    char z;
    int n = 0;
    if (strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &Y, &M, &D, &h, &m, &sec, &z, &n) != 7 ||
        n != 20 || z != 'Z')
        return false;
    for (int i = 0; i < 20; i++) {
        bool digit_pos = !(i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19);
        if (digit_pos && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
        sec > 60)
        return false;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != D && sec != 60) /* 2026-02-31 normalises to March */
        return false;
    *out = (int64_t)t;
    return true;
}

void pc_format_time(int64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

pc_status pc_jget_time(const cJSON *obj, const char *key, bool required, int64_t *out,
                       const char *what, const pc_jpath *p, pc_err *e)
{
    pc_jpath kp;
    pc_status st;
    const cJSON *v = member(obj, key, required, &kp, what, p, e, &st);
    if (v == NULL)
        return st;
    if (!cJSON_IsString(v) || !pc_parse_time(v->valuestring, out))
        return pc_jfail(e, what, &kp, "expected a UTC time like 2026-01-31T12:00:00Z");
    return PC_OK;
}

bool pc_jadd_sha256(cJSON *obj, const char *key, const uint8_t sha[32])
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    return cJSON_AddStringToObject(obj, key, hex) != NULL;
}

bool pc_jadd_u64(cJSON *obj, const char *key, uint64_t v)
{
    /* Integers up to 2^53 are exact doubles, but cJSON does not print them
     * exactly: it keeps "%1.15g" whenever that reads back within a relative
     * DBL_EPSILON, so 9007199254740989 became 9.00719925474099e+15 (…990).
     * The digits are written as they are. */
    char digits[24];
    if (v > PC_JSON_MAX_INT)
        return false;
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    return cJSON_AddRawToObject(obj, key, digits) != NULL;
}

bool pc_jadd_time(cJSON *obj, const char *key, int64_t t)
{
    char buf[21];
    pc_format_time(t, buf);
    return cJSON_AddStringToObject(obj, key, buf) != NULL;
}

pc_status pc_jprint(cJSON *root, bool ok, bool pretty, char **out, size_t *len, pc_err *e)
{
    char *text = ok ? (pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root)) : NULL;
    cJSON_Delete(root);
    if (text == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (t2 == NULL) {
        free(text);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    t2[n] = '\n';
    t2[n + 1] = '\0';
    *out = t2;
    *len = n + 1;
    return PC_OK;
}
