/* trust.c — root metadata: parse, write, and the checks of a root step. */
#include "trust.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

#define WHAT "root metadata"
#define ROOT_TYPE "patchcast-root"

void pc_root_site_path(uint64_t v, char out[64])
{
    snprintf(out, 64, "roots/%" PRIu64 ".root.json", v);
}

int pc_keyset_find(const pc_keyset *set, const pc_pubkey *key)
{
    for (size_t i = 0; i < set->nkeys; i++)
        if (!memcmp(set->keys[i].keynum, key->keynum, PC_KEYNUM_LEN) &&
            !memcmp(set->keys[i].pk, key->pk, PC_PK_LEN))
            return (int)i;
    return -1;
}

static pc_status validate_set(const pc_keyset *s, const char *name, pc_err *e)
{
    if (s->nkeys == 0 || s->nkeys > PC_ROOT_MAX_KEYS)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": %s.keys: 1 to %d keys", name, PC_ROOT_MAX_KEYS);
    if (s->threshold < 1 || s->threshold > s->nkeys)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": %s.threshold: %u, but must be 1 to %zu (the keys listed)",
                       name, s->threshold, s->nkeys);
    for (size_t i = 0; i < s->nkeys; i++)
        for (size_t j = 0; j < i; j++)
            if (!memcmp(s->keys[i].keynum, s->keys[j].keynum, PC_KEYNUM_LEN)) {
                char id[17];
                pc_keyid_hex(s->keys[i].keynum, id);
                return pc_fail(e, PC_ERR_FORMAT, WHAT ": %s.keys: key id %s listed twice", name, id);
            } else if (!memcmp(s->keys[i].pk, s->keys[j].pk, PC_PK_LEN)) {
                /* One holder, two votes: the same key under another id. */
                char a[17], b[17];
                pc_keyid_hex(s->keys[j].keynum, a);
                pc_keyid_hex(s->keys[i].keynum, b);
                return pc_fail(e, PC_ERR_FORMAT,
                               WHAT ": %s.keys: one public key listed twice (key ids %s and %s)",
                               name, a, b);
            }
    return PC_OK;
}

pc_status pc_root_validate(const pc_root *r, pc_err *e)
{
    pc_status st;
    if (r->version < 1 || r->version > PC_JSON_MAX_INT)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": version: 1 to 2^53-1");
    if (r->expires <= r->created)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": expires: must be later than created");
    if (r->expires > 253402300799) /* what a reader parses (§11) */
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": expires: after 9999-12-31T23:59:59Z");
    if ((st = validate_set(&r->root, "root_keys", e)) || (st = validate_set(&r->repo, "repo_keys", e)))
        return st;
    return PC_OK;
}

static pc_status parse_set(const cJSON *top, const char *key, pc_keyset *out, const pc_jpath *tp,
                           pc_err *e)
{
    static const char *const known[] = {"threshold", "keys", NULL};
    const cJSON *o = NULL, *keys = NULL, *it;
    pc_jpath p, kp;
    pc_jpath_key(&p, tp, key);
    pc_jpath_key(&kp, &p, "keys");
    uint64_t t = 0;
    pc_status st;
    if ((st = pc_jget_object(top, key, true, &o, WHAT, tp, e)) ||
        (st = pc_jcheck_keys(o, known, WHAT, &p, e)) ||
        (st = pc_jget_u64(o, "threshold", true, 1, PC_ROOT_MAX_KEYS, &t, WHAT, &p, e)) ||
        (st = pc_jget_array(o, "keys", true, &keys, WHAT, &p, e)))
        return st;
    out->threshold = (unsigned)t;
    out->nkeys = 0;
    size_t i = 0;
    cJSON_ArrayForEach(it, keys)
    {
        pc_jpath ip;
        pc_jpath_idx(&ip, &kp, i++);
        if (out->nkeys == PC_ROOT_MAX_KEYS)
            return pc_jfail(e, WHAT, &kp, "more than %d keys", PC_ROOT_MAX_KEYS);
        if (!cJSON_IsString(it))
            return pc_jfail(e, WHAT, &ip, "expected a minisign public key (base64)");
        pc_err why = {0};
        if (pc_pubkey_parse(it->valuestring, strlen(it->valuestring), &out->keys[out->nkeys],
                            &why) != PC_OK)
            return pc_jfail(e, WHAT, &ip, "%s", why.msg);
        out->nkeys++;
    }
    return PC_OK;
}

pc_status pc_root_parse(const char *json, size_t len, pc_root *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    if (len > PC_ROOT_MAX_BYTES)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": %zu bytes, more than %u", len,
                       PC_ROOT_MAX_BYTES);
    cJSON *j = NULL;
    pc_status st = pc_jparse(json, len, WHAT, &j, e);
    if (st != PC_OK)
        return st;
    static const char *const known[] = {"format", "type", "version", "created", "expires",
                                        "root_keys", "repo_keys", "reset_serial", NULL};
    pc_jpath top = {""};
    uint64_t format = 0;
    char *type = NULL;
    if (!cJSON_IsObject(j)) {
        st = pc_fail(e, PC_ERR_FORMAT, WHAT ": expected a JSON object");
        goto out;
    }
    if ((st = pc_jcheck_keys(j, known, WHAT, &top, e)) ||
        (st = pc_jget_u64(j, "format", true, 0, PC_JSON_MAX_INT, &format, WHAT, &top, e)) ||
        (st = pc_jget_string(j, "type", true, 64, &type, WHAT, &top, e)))
        goto out;
    if (format != 1) {
        st = pc_fail(e, PC_ERR_UNSUPPORTED, WHAT ": format %" PRIu64 " (this client reads 1)", format);
        goto out;
    }
    if (strcmp(type, ROOT_TYPE) != 0) {
        st = pc_fail(e, PC_ERR_FORMAT, WHAT ": type: '%.64s', expected '" ROOT_TYPE "'", type);
        goto out;
    }
    if ((st = pc_jget_u64(j, "version", true, 1, PC_JSON_MAX_INT, &out->version, WHAT, &top, e)) ||
        (st = pc_jget_time(j, "created", true, &out->created, WHAT, &top, e)) ||
        (st = pc_jget_time(j, "expires", true, &out->expires, WHAT, &top, e)) ||
        (st = parse_set(j, "root_keys", &out->root, &top, e)) ||
        (st = parse_set(j, "repo_keys", &out->repo, &top, e)))
        goto out;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reset_serial");
    if (rs && !cJSON_IsBool(rs)) {
        st = pc_fail(e, PC_ERR_FORMAT, WHAT ": reset_serial: expected true or false");
        goto out;
    }
    out->reset_serial = cJSON_IsTrue(rs);
    st = pc_root_validate(out, e);
out:
    free(type);
    cJSON_Delete(j);
    return st;
}

static bool add_set(cJSON *top, const char *key, const pc_keyset *s)
{
    cJSON *o = cJSON_AddObjectToObject(top, key), *a = NULL;
    bool ok = o && cJSON_AddNumberToObject(o, "threshold", s->threshold) &&
              (a = cJSON_AddArrayToObject(o, "keys"));
    for (size_t i = 0; ok && i < s->nkeys; i++) {
        char b64[64];
        pc_pubkey_base64(&s->keys[i], b64, sizeof b64);
        ok = cJSON_AddItemToArray(a, cJSON_CreateString(b64));
    }
    return ok;
}

pc_status pc_root_write(const pc_root *r, char **out, size_t *len, pc_err *e)
{
    *out = NULL;
    pc_status st = pc_root_validate(r, e);
    if (st != PC_OK)
        return st;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddNumberToObject(j, "format", 1) &&
              cJSON_AddStringToObject(j, "type", ROOT_TYPE) &&
              pc_jadd_u64(j, "version", r->version) && pc_jadd_time(j, "created", r->created) &&
              pc_jadd_time(j, "expires", r->expires) && add_set(j, "root_keys", &r->root) &&
              add_set(j, "repo_keys", &r->repo) &&
              cJSON_AddBoolToObject(j, "reset_serial", r->reset_serial);
    return pc_jprint(j, ok, true, out, len, e);
}

pc_status pc_keyset_check(const pc_keyset *set, const char *role, const char *sig, size_t slen,
                          const char *what, const void *data, size_t len, char **tc, pc_err *e)
{
    unsigned count = 0;
    pc_err why = {0};
    pc_status st = pc_sig_signers(sig, slen, what, data, len, set->keys, set->nkeys, NULL, &count,
                                  tc, &why, e);
    if (st != PC_OK)
        return st;
    if (count >= set->threshold)
        return PC_OK;
    if (tc) {
        free(*tc);
        *tc = NULL;
    }
    if (count == 0 && why.code != PC_OK && set->threshold == 1) {
        *e = why;
        return why.code;
    }
    return pc_fail(e, PC_ERR_SIGNATURE,
                   "%s: signed by %u of the %zu %s keys, but %u must sign%s%s", what, count,
                   set->nkeys, role, set->threshold, count == 0 && why.code ? ": " : "",
                   count == 0 && why.code ? why.msg : "");
}

pc_status pc_root_accept(const pc_root *old, const char *json, size_t len, const char *sig,
                         size_t slen, pc_root *out, pc_err *e)
{
    char what[96];
    pc_status st;
    if (old) {
        snprintf(what, sizeof what, "root version %" PRIu64, old->version + 1);
        char role[64];
        snprintf(role, sizeof role, "root (of root version %" PRIu64 ")", old->version);
        if ((st = pc_keyset_check(&old->root, role, sig, slen, what, json, len, NULL, e)))
            return st;
    } else {
        snprintf(what, sizeof what, "root metadata");
    }
    if ((st = pc_root_parse(json, len, out, e)) != PC_OK)
        return st;
    if (old && out->version <= old->version)
        return pc_fail(e, PC_ERR_ROLLBACK,
                       "%s: the file says version %" PRIu64 ": an older root replayed",
                       what, out->version);
    if (old && out->version != old->version + 1)
        return pc_fail(e, PC_ERR_SIGNATURE,
                       "%s: the file says version %" PRIu64 ": versions may not be skipped",
                       what, out->version);
    snprintf(what, sizeof what, "root version %" PRIu64, out->version);
    return pc_keyset_check(&out->root, "root", sig, slen, what, json, len, NULL, e);
}
