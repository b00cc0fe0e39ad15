/* state.c — load and save ROOT/state.json. */
#include "state.h"

#include <cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fileio.h"
#include "jsonv.h"
#include "path.h"

#define STATE_MAX_BYTES (1u << 20)

void pc_state_free(pc_state *st)
{
    if (st == NULL)
        return;
    free(st->current);
    free(st->previous);
    free(st->product);
    for (size_t i = 0; i < st->ninstalled; i++)
        free(st->installed[i]);
    free(st->installed);
    for (size_t i = 0; i < st->nhistory; i++) {
        free(st->history[i].action);
        free(st->history[i].from);
        free(st->history[i].to);
    }
    free(st->history);
    free(st->root_json);
    free(st->root_sig);
    free(st->root_pin);
    free(st->rotations);
    free(st->install_id);
    free(st->staged);
    free(st->pending);
    free(st->last_good);
    for (size_t i = 0; i < st->nbad; i++)
        free(st->bad[i]);
    free(st->bad);
    for (size_t i = 0; i < st->nskipped; i++)
        free(st->skipped[i]);
    free(st->skipped);
    memset(st, 0, sizeof *st);
}

static pc_status add_rotation(pc_state *st, const pc_rotation *r, pc_err *e)
{
    if (st->nrotations == PC_STATE_ROTATIONS_MAX) {
        memmove(&st->rotations[0], &st->rotations[1], (st->nrotations - 1) * sizeof *st->rotations);
        st->nrotations--;
    }
    pc_rotation *p = realloc(st->rotations, (st->nrotations + 1) * sizeof *p);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    st->rotations = p;
    p[st->nrotations++] = *r;
    return PC_OK;
}

pc_status pc_state_set_root(pc_state *st, uint64_t to, const char *json, const char *sig,
                            const char *pin, int reset_serial, pc_err *e)
{
    pc_status s;
    if ((s = pc_state_set(&st->root_json, json, e)) || (s = pc_state_set(&st->root_sig, sig, e)) ||
        (s = pc_state_set(&st->root_pin, pin, e)))
        return s;
    pc_rotation r = {(int64_t)time(NULL), st->root_version, to, reset_serial};
    st->root_version = to;
    return add_rotation(st, &r, e);
}

void pc_state_forget_root(pc_state *st)
{
    st->root_version = 0;
    free(st->root_json);
    free(st->root_sig);
    free(st->root_pin);
    st->root_json = st->root_sig = st->root_pin = NULL;
}

pc_status pc_state_set(char **field, const char *v, pc_err *e)
{
    char *copy = NULL;
    if (v && (copy = strdup(v)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(*field);
    *field = copy;
    return PC_OK;
}

/* Append v to a list of names unless present; at `cap` names the oldest
 * goes first (0: no cap). */
static pc_status list_add(char ***list, size_t *n, const char *v, size_t cap, pc_err *e)
{
    if (pc_state_list_has(*list, *n, v))
        return PC_OK;
    if (cap && *n >= cap) {
        free((*list)[0]);
        memmove(&(*list)[0], &(*list)[1], (*n - 1) * sizeof **list);
        (*n)--;
    }
    char **p = realloc(*list, (*n + 1) * sizeof *p);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    *list = p;
    if ((p[*n] = strdup(v)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    (*n)++;
    return PC_OK;
}

bool pc_state_list_has(char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; v && i < n; i++)
        if (!strcmp(list[i], v))
            return true;
    return false;
}

pc_status pc_state_list_add(char ***list, size_t *n, const char *v, pc_err *e)
{
    return list_add(list, n, v, PC_STATE_LIST_MAX, e);
}

void pc_state_list_remove(char **list, size_t *n, const char *v)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i], v))
            continue;
        free(list[i]);
        memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof *list);
        (*n)--;
        return;
    }
}

pc_status pc_state_add_installed(pc_state *st, const char *v, pc_err *e)
{
    return list_add(&st->installed, &st->ninstalled, v, 0, e);
}

void pc_state_remove_installed(pc_state *st, const char *v)
{
    pc_state_list_remove(st->installed, &st->ninstalled, v);
}

pc_status pc_state_make_install_id(pc_state *st, pc_err *e)
{
    if (st->install_id)
        return PC_OK;
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return pc_fail(e, PC_ERR_IO, "cannot make an install id: no random bytes");
    char hex[33];
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    return pc_state_set(&st->install_id, hex, e);
}

pc_status pc_state_log(pc_state *st, const char *action, const char *from, const char *to,
                       uint64_t downloaded, pc_err *e)
{
    if (st->nhistory == PC_STATE_HISTORY_MAX) {
        pc_history_entry *old = &st->history[0];
        free(old->action);
        free(old->from);
        free(old->to);
        memmove(&st->history[0], &st->history[1], (st->nhistory - 1) * sizeof *st->history);
        st->nhistory--;
    }
    pc_history_entry *p = realloc(st->history, (st->nhistory + 1) * sizeof *p);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    st->history = p;
    pc_history_entry *h = &p[st->nhistory];
    memset(h, 0, sizeof *h);
    h->time = (int64_t)time(NULL);
    h->downloaded = downloaded;
    if (pc_state_set(&h->action, action, e) || pc_state_set(&h->from, from, e) ||
        pc_state_set(&h->to, to, e)) {
        free(h->action);
        free(h->from);
        free(h->to);
        return PC_ERR_NOMEM;
    }
    st->nhistory++;
    return PC_OK;
}

/* ---- parsing ------------------------------------------------------------- */

static pc_status bad(pc_err *e, const char *path, const char *field, const char *what)
{
    return pc_fail(e, PC_ERR_STATE, "%s: %s: %s", path, field, what);
}

static pc_status opt_string(const cJSON *o, const char *key, char **out, const char *path,
                            pc_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL || cJSON_IsNull(v))
        return PC_OK;
    if (!cJSON_IsString(v))
        return bad(e, path, key, "expected a string");
    return pc_state_set(out, v->valuestring, e);
}

static pc_status get_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740991.0 ||
        v->valuedouble != floor(v->valuedouble))
        return PC_ERR_STATE;
    *out = (uint64_t)v->valuedouble;
    return PC_OK;
}

/* "root": {"version", "json", "signatures", "pin"} and "rotations": [...]. */
static pc_status parse_root(pc_state *st, const cJSON *top, const char *path, pc_err *e)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(top, "root");
    pc_status s;
    if (r && !cJSON_IsNull(r)) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "version");
        if (!cJSON_IsObject(r) || get_u64(v, &st->root_version) || st->root_version == 0)
            return bad(e, path, "root", "expected {version, json, signatures}");
        if ((s = opt_string(r, "json", &st->root_json, path, e)) ||
            (s = opt_string(r, "signatures", &st->root_sig, path, e)) ||
            (s = opt_string(r, "pin", &st->root_pin, path, e)))
            return s;
    }
    const cJSON *rot = cJSON_GetObjectItemCaseSensitive(top, "rotations"), *it;
    if (rot && !cJSON_IsArray(rot))
        return bad(e, path, "rotations", "expected an array");
    cJSON_ArrayForEach(it, rot)
    {
        uint64_t t = 0;
        pc_rotation x = {0};
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(it, "reset_serial");
        if (!cJSON_IsObject(it) || get_u64(cJSON_GetObjectItemCaseSensitive(it, "time"), &t) ||
            get_u64(cJSON_GetObjectItemCaseSensitive(it, "from"), &x.from) ||
            get_u64(cJSON_GetObjectItemCaseSensitive(it, "to"), &x.to) ||
            (rs && !cJSON_IsBool(rs)))
            return bad(e, path, "rotations", "expected {time, from, to, reset_serial}");
        x.time = (int64_t)t;
        x.reset_serial = cJSON_IsTrue(rs);
        if ((s = add_rotation(st, &x, e)))
            return s;
    }
    return PC_OK;
}

/* An optional array of version names into a list. */
static pc_status parse_list(const cJSON *top, const char *key, char ***list, size_t *n,
                            size_t cap, const char *path, pc_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(top, key), *it;
    if (v && !cJSON_IsArray(v))
        return bad(e, path, key, "expected an array of version names");
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || !pc_version_name_ok(it->valuestring))
            return bad(e, path, key, "expected an array of version names");
        pc_status s = list_add(list, n, it->valuestring, cap, e);
        if (s)
            return s;
    }
    return PC_OK;
}

/* The lifecycle keys: install_id, staged, pending {version, attempts},
 * last_good, bad, skipped. */
static pc_status parse_lifecycle(pc_state *st, const cJSON *top, const char *path, pc_err *e)
{
    pc_status s;
    if ((s = opt_string(top, "install_id", &st->install_id, path, e)) ||
        (s = opt_string(top, "staged", &st->staged, path, e)) ||
        (s = opt_string(top, "last_good", &st->last_good, path, e)) ||
        (s = parse_list(top, "bad", &st->bad, &st->nbad, PC_STATE_LIST_MAX, path, e)) ||
        (s = parse_list(top, "skipped", &st->skipped, &st->nskipped, PC_STATE_LIST_MAX, path, e)))
        return s;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(top, "pending");
    if (p == NULL || cJSON_IsNull(p))
        return PC_OK;
    uint64_t n = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "attempts");
    if (!cJSON_IsObject(p) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "version")) ||
        get_u64(a, &n) || n > PC_STATE_ATTEMPTS_MAX)
        return bad(e, path, "pending", "expected {version, attempts}");
    st->attempts = (unsigned)n;
    return opt_string(p, "version", &st->pending, path, e);
}

/* Names used as paths under ROOT/versions: version names only. */
static pc_status check_names(const pc_state *st, const char *path, pc_err *e)
{
    const char *const one[] = {st->current, st->previous, st->staged, st->pending, st->last_good};
    static const char *const keys[] = {"current", "previous", "staged", "pending", "last_good"};
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        if (one[i] && !pc_version_name_ok(one[i]))
            return bad(e, path, keys[i], "not a version name");
    for (size_t i = 0; i < st->ninstalled; i++)
        if (!pc_version_name_ok(st->installed[i]))
            return bad(e, path, "installed", "not a version name");
    return PC_OK;
}

static pc_status parse(pc_state *st, const cJSON *root, const char *path, pc_err *e)
{
    if (!cJSON_IsObject(root))
        return pc_fail(e, PC_ERR_STATE, "%s: expected a JSON object", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1)
        return bad(e, path, "format", "expected 1");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "last_serial");
    if (v && get_u64(v, &st->last_serial) != PC_OK)
        return bad(e, path, "last_serial", "expected a non-negative integer");
    pc_status s;
    if ((s = opt_string(root, "current", &st->current, path, e)) ||
        (s = opt_string(root, "previous", &st->previous, path, e)) ||
        (s = opt_string(root, "product", &st->product, path, e)))
        return s;
    v = cJSON_GetObjectItemCaseSensitive(root, "installed");
    if (v) {
        if (!cJSON_IsArray(v))
            return bad(e, path, "installed", "expected an array of version names");
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it))
                return bad(e, path, "installed", "expected an array of version names");
            if ((s = pc_state_add_installed(st, it->valuestring, e)))
                return s;
        }
    }
    if ((s = parse_root(st, root, path, e)) || (s = parse_lifecycle(st, root, path, e)) ||
        (s = check_names(st, path, e)))
        return s;
    v = cJSON_GetObjectItemCaseSensitive(root, "history");
    if (v) {
        if (!cJSON_IsArray(v))
            return bad(e, path, "history", "expected an array");
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, v)
        {
            char field[64];
            snprintf(field, sizeof field, "history[%zu]", i++);
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "action");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "time");
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "downloaded");
            uint64_t tv = 0, dv = 0;
            if (!cJSON_IsObject(it) || !cJSON_IsString(a) || get_u64(t, &tv) ||
                (d && get_u64(d, &dv)))
                return bad(e, path, field, "expected {time, action, from, to, downloaded}");
            char *from = NULL, *to = NULL;
            if ((s = opt_string(it, "from", &from, path, e)) ||
                (s = opt_string(it, "to", &to, path, e)) ||
                (s = pc_state_log(st, a->valuestring, from, to, dv, e))) {
                free(from);
                free(to);
                return s;
            }
            st->history[st->nhistory - 1].time = (int64_t)tv;
            free(from);
            free(to);
        }
    }
    return PC_OK;
}

pc_status pc_state_load(pc_state *st, const char *path, pc_err *e)
{
    memset(st, 0, sizeof *st);
    char *buf;
    size_t len;
    pc_status s = pc_read_file(path, STATE_MAX_BYTES, &buf, &len, e);
    if (s == PC_ERR_NOT_FOUND)
        return PC_OK;
    if (s != PC_OK)
        return s;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (root == NULL)
        return pc_fail(e, PC_ERR_STATE, "%s: not valid JSON", path);
    s = parse(st, root, path, e);
    cJSON_Delete(root);
    if (s != PC_OK)
        pc_state_free(st);
    return s;
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static bool add_list(cJSON *o, const char *key, char *const *list, size_t n)
{
    cJSON *a = n ? cJSON_AddArrayToObject(o, key) : NULL;
    bool ok = n == 0 || a != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
    return ok;
}

static bool add_lifecycle(cJSON *root, const pc_state *st)
{
    cJSON *p = NULL;
    bool ok = (!st->install_id || cJSON_AddStringToObject(root, "install_id", st->install_id)) &&
              (!st->staged || cJSON_AddStringToObject(root, "staged", st->staged)) &&
              (!st->last_good || cJSON_AddStringToObject(root, "last_good", st->last_good)) &&
              add_list(root, "bad", st->bad, st->nbad) &&
              add_list(root, "skipped", st->skipped, st->nskipped);
    if (ok && st->pending)
        ok = (p = cJSON_AddObjectToObject(root, "pending")) &&
             cJSON_AddStringToObject(p, "version", st->pending) &&
             cJSON_AddNumberToObject(p, "attempts", st->attempts);
    return ok;
}

pc_status pc_state_save(const pc_state *st, const char *path, pc_err *e)
{
    cJSON *root = cJSON_CreateObject(), *inst = NULL, *hist = NULL;
    if (root == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status s = PC_OK;
    bool ok = cJSON_AddNumberToObject(root, "format", 1) &&
              pc_jadd_u64(root, "last_serial", st->last_serial) &&
              cJSON_AddItemToObject(root, "product", str_or_null(st->product)) &&
              cJSON_AddItemToObject(root, "current", str_or_null(st->current)) &&
              cJSON_AddItemToObject(root, "previous", str_or_null(st->previous)) &&
              (inst = cJSON_AddArrayToObject(root, "installed")) != NULL &&
              (hist = cJSON_AddArrayToObject(root, "history")) != NULL;
    for (size_t i = 0; ok && i < st->ninstalled; i++)
        ok = cJSON_AddItemToArray(inst, cJSON_CreateString(st->installed[i]));
    cJSON *r = NULL, *rot = NULL;
    if (ok && st->root_version)
        ok = (r = cJSON_AddObjectToObject(root, "root")) &&
             pc_jadd_u64(r, "version", st->root_version) &&
             cJSON_AddItemToObject(r, "json", str_or_null(st->root_json)) &&
             cJSON_AddItemToObject(r, "signatures", str_or_null(st->root_sig)) &&
             cJSON_AddItemToObject(r, "pin", str_or_null(st->root_pin));
    if (ok && st->nrotations)
        ok = (rot = cJSON_AddArrayToObject(root, "rotations")) != NULL;
    ok = ok && add_lifecycle(root, st);
    for (size_t i = 0; ok && i < st->nrotations; i++) {
        const pc_rotation *x = &st->rotations[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(rot, o) &&
             cJSON_AddNumberToObject(o, "time", (double)x->time) &&
             pc_jadd_u64(o, "from", x->from) &&
             pc_jadd_u64(o, "to", x->to) &&
             cJSON_AddBoolToObject(o, "reset_serial", x->reset_serial);
    }
    for (size_t i = 0; ok && i < st->nhistory; i++) {
        const pc_history_entry *h = &st->history[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(hist, o) &&
             cJSON_AddNumberToObject(o, "time", (double)h->time) &&
             cJSON_AddStringToObject(o, "action", h->action) &&
             cJSON_AddItemToObject(o, "from", str_or_null(h->from)) &&
             cJSON_AddItemToObject(o, "to", str_or_null(h->to)) &&
             cJSON_AddNumberToObject(o, "downloaded", (double)h->downloaded);
    }
    char *text;
    size_t len;
    if ((s = pc_jprint(root, ok, true, &text, &len, e)) != PC_OK)
        return s;
    s = pc_write_file_atomic(path, text, len, 0644, e);
    free(text);
    return s;
}
