/* meta.c — repo.json: parse, validate, write; site paths of site files. */
#include "meta.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jsonv.h"
#include "path.h"
#include "sha256.h"

#define WHAT "repo.json"

/* ---- site paths ----------------------------------------------------------- */

static void site_path(const char *dir, const uint8_t sha[32], const char *suffix, char *out)
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    snprintf(out, PC_SITE_PATH_MAX, "%s/%.2s/%s%s", dir, hex, hex, suffix);
}

void pc_site_object_path(const uint8_t sha[32], char *out)
{
    site_path("objects", sha, "", out);
}

void pc_site_patch_path(const uint8_t from[32], const uint8_t to[32], char *out)
{
    char a[65], b[65];
    pc_hex_encode(from, 32, a);
    pc_hex_encode(to, 32, b);
    snprintf(out, PC_SITE_PATH_MAX, "patches/%.2s/%s-%s", a, a, b);
}

void pc_site_manifest_path(const uint8_t sha[32], char *out)
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    snprintf(out, PC_SITE_PATH_MAX, "manifests/%s.json", hex);
}

void pc_site_delta_path(const uint8_t sha[32], char *out)
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    snprintf(out, PC_SITE_PATH_MAX, "deltas/%s.json", hex);
}

/* ---- model ---------------------------------------------------------------- */

void pc_repo_free(pc_repo *r)
{
    if (r == NULL)
        return;
    free(r->product);
    for (size_t i = 0; i < r->nchannels; i++) {
        free(r->channels[i].name);
        free(r->channels[i].version);
    }
    free(r->channels);
    for (size_t i = 0; i < r->nversions; i++) {
        free(r->versions[i].name);
        free(r->versions[i].parent);
        free(r->versions[i].notes);
        pc_release_clear(&r->versions[i].release);
    }
    free(r->versions);
    for (size_t i = 0; i < r->nedges; i++) {
        free(r->edges[i].from);
        free(r->edges[i].to);
    }
    free(r->edges);
    free(r->by_name);
    free(r);
}

const pc_version_info *pc_repo_version(const pc_repo *r, const char *name, size_t *idx)
{
    size_t at = SIZE_MAX;
    if (name && r->by_name) {
        size_t lo = 0, hi = r->nversions;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(r->versions[r->by_name[mid]].name, name);
            if (c == 0) {
                at = r->by_name[mid];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    for (size_t i = 0; name && !r->by_name && i < r->nversions; i++)
        if (r->versions[i].name && !strcmp(r->versions[i].name, name)) {
            at = i;
            break;
        }
    if (at == SIZE_MAX)
        return NULL;
    if (idx)
        *idx = at;
    return &r->versions[at];
}

const char *pc_repo_channel(const pc_repo *r, const char *channel)
{
    for (size_t i = 0; i < r->nchannels; i++)
        if (!strcmp(r->channels[i].name, channel))
            return r->channels[i].version;
    return NULL;
}

static bool product_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != ' ')))
            return false;
    }
    return true;
}

static bool channel_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                  (i > 0 && (c == '-' || c == '_'));
        if (!ok)
            return false;
    }
    return true;
}

static pc_status vfail(pc_err *e, const char *fmt, const char *a, size_t i, const char *b)
{
    char path[128];
    snprintf(path, sizeof path, fmt, i);
    return pc_fail(e, PC_ERR_FORMAT, WHAT ": %s: %s%s", path, a, b ? b : "");
}

/* ---- validation ----------------------------------------------------------- */

/* Names sorted with the index they came from: equal names end up side by
 * side, the first of them first. NULL sorts before every name. */
typedef struct named {
    const char *a, *b; /* a version's name; an edge's from and to */
    size_t idx;
} named;

static int cmp_str(const char *x, const char *y)
{
    if (x == NULL || y == NULL)
        return (x != NULL) - (y != NULL);
    return strcmp(x, y);
}

static int cmp_named(const void *pa, const void *pb)
{
    const named *x = pa, *y = pb;
    int c = cmp_str(x->a, y->a);
    if (c == 0)
        c = cmp_str(x->b, y->b);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The smallest index that repeats an earlier entry's key in a sorted array
 * (SIZE_MAX if none): the one an in-order scan meets first. */
static size_t first_repeat(const named *s, size_t n)
{
    size_t first = SIZE_MAX;
    for (size_t k = 1; k < n; k++)
        if (s[k].a && cmp_str(s[k].a, s[k - 1].a) == 0 && cmp_str(s[k].b, s[k - 1].b) == 0 &&
            s[k].idx < first)
            first = s[k].idx;
    return first;
}

/* The first version named `name` in the sorted versions, or SIZE_MAX. */
static size_t find_named(const named *s, size_t n, const char *name)
{
    if (name == NULL)
        return SIZE_MAX;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_str(s[mid].a, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && cmp_str(s[lo].a, name) == 0 ? s[lo].idx : SIZE_MAX;
}

/* Parents must not form a cycle: each version's chain of parents is walked
 * once, and every version on it marked with where the chain ends. */
enum { CHAIN_UNKNOWN, CHAIN_WALKING, CHAIN_ROOT, CHAIN_CYCLE };

static pc_status check_parent_cycles(const pc_repo *r, const named *s, pc_err *e)
{
    size_t n = r->nversions;
    size_t *parent = malloc(n * sizeof *parent);
    unsigned char *mark = calloc(n, 1);
    pc_status st = PC_OK;
    if (parent == NULL || mark == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        parent[i] = find_named(s, n, r->versions[i].parent);
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j != SIZE_MAX && mark[j] == CHAIN_UNKNOWN) {
            mark[j] = CHAIN_WALKING;
            j = parent[j];
        }
        /* The walk stopped at the top, at a known chain, or where it began
         * to go round. */
        unsigned char end = j == SIZE_MAX || mark[j] == CHAIN_ROOT ? CHAIN_ROOT : CHAIN_CYCLE;
        for (j = i; j != SIZE_MAX && mark[j] == CHAIN_WALKING; j = parent[j])
            mark[j] = end;
        if (mark[i] == CHAIN_CYCLE) {
            st = vfail(e, "versions[%zu].parent", "parents form a cycle", i, NULL);
            goto out;
        }
    }
out:
    free(parent);
    free(mark);
    return st;
}

static pc_status check_edges(const pc_repo *r, const named *vs, pc_err *e)
{
    named *s = malloc((r->nedges ? r->nedges : 1) * sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->nedges; i++)
        s[i] = (named){r->edges[i].from, r->edges[i].to, i};
    qsort(s, r->nedges, sizeof *s, cmp_named);
    size_t dup = first_repeat(s, r->nedges);
    free(s);
    for (size_t i = 0; i < r->nedges; i++) {
        const pc_edge *ed = &r->edges[i];
        if (find_named(vs, r->nversions, ed->from) == SIZE_MAX)
            return vfail(e, "edges[%zu].from", "no such version: ", i, ed->from);
        if (find_named(vs, r->nversions, ed->to) == SIZE_MAX)
            return vfail(e, "edges[%zu].to", "no such version: ", i, ed->to);
        if (!strcmp(ed->from, ed->to))
            return vfail(e, "edges[%zu]", "an edge from a version to itself", i, NULL);
        if (ed->delta.size == 0 || ed->delta.size > PC_DELTA_MAX_BYTES)
            return vfail(e, "edges[%zu].delta.size", "out of range", i, NULL);
        if (i == dup)
            return vfail(e, "edges[%zu]", "duplicate edge", i, NULL);
    }
    return PC_OK;
}

/* pc_repo_validate; on success *by_name (if not NULL) receives the version
 * indices sorted by name (caller frees). */
static pc_status validate(const pc_repo *r, size_t **by_name, pc_err *e)
{
    if (r->product == NULL || !product_ok(r->product))
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": product: expected 1-64 letters, digits, '.', "
                                              "'_', '-' or spaces");
    if (r->serial < 1 || r->serial > PC_JSON_MAX_INT)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": serial: must be from 1 to 2^53-1");
    if (r->expires <= r->created)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": expires: must be later than created");
    if (r->root_version > PC_JSON_MAX_INT ||
        (r->root_version && (r->root.size < 1 || r->root.size > PC_REPO_ROOT_MAX_BYTES)))
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": root: version 1 to 2^53-1, size 1 to %u",
                       PC_REPO_ROOT_MAX_BYTES);
    if (r->max_patch_chain_length < 1 || r->max_patch_chain_length > 64)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": settings.max_patch_chain_length: 1 to 64");
    if (!(r->fallback_threshold > 0 && r->fallback_threshold <= 1))
        return pc_fail(e, PC_ERR_FORMAT,
                       WHAT ": settings.fallback_threshold: must be > 0 and <= 1");
    if (r->nversions == 0)
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": versions: at least one version is needed");
    if (r->nversions > PC_MAX_VERSIONS || r->nedges > PC_MAX_EDGES)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": too many versions or edges");
    size_t n = r->nversions;
    named *s = malloc(n * sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = (named){r->versions[i].name, NULL, i};
    qsort(s, n, sizeof *s, cmp_named);
    size_t dup = first_repeat(s, n);
    pc_status st = PC_OK;
    for (size_t i = 0; i < n && st == PC_OK; i++) {
        const pc_version_info *v = &r->versions[i];
        if (v->name == NULL || !pc_version_name_ok(v->name))
            st = vfail(e, "versions[%zu].name", "not a valid version name", i, NULL);
        else if (i == dup)
            st = vfail(e, "versions[%zu].name", "duplicate version ", i, v->name);
        else if (v->parent && find_named(s, n, v->parent) == SIZE_MAX)
            st = vfail(e, "versions[%zu].parent", "no such version: ", i, v->parent);
        else if (v->notes && strlen(v->notes) > PC_NOTES_MAX)
            st = vfail(e, "versions[%zu].notes", "longer than 64 KiB", i, NULL);
        else if (v->manifest.size == 0 || v->manifest.size > PC_MANIFEST_MAX_BYTES)
            st = vfail(e, "versions[%zu].manifest.size", "out of range", i, NULL);
        else if (pc_release_problem(&v->release))
            st = vfail(e, "versions[%zu]", pc_release_problem(&v->release), i, NULL);
        else if (v->release.minimum_version &&
                 find_named(s, n, v->release.minimum_version) == SIZE_MAX)
            st = vfail(e, "versions[%zu].minimum_version", "no such version: ", i,
                       v->release.minimum_version);
    }
    if (st == PC_OK)
        st = check_parent_cycles(r, s, e);
    for (size_t i = 0; i < r->nchannels && st == PC_OK; i++) {
        const pc_channel *c = &r->channels[i];
        if (!channel_name_ok(c->name))
            st = pc_fail(e, PC_ERR_FORMAT,
                         WHAT ": channels.%.40s: channel names are 1-32 of [a-z0-9_-]", c->name);
        else if (find_named(s, n, c->version) == SIZE_MAX)
            st = pc_fail(e, PC_ERR_FORMAT, WHAT ": channels.%s: no such version: %.80s",
                         c->name, c->version);
    }
    if (st == PC_OK)
        st = check_edges(r, s, e);
    if (st == PC_OK && by_name) {
        /* Names are unique now: the order is by name alone. */
        if ((*by_name = malloc(n * sizeof **by_name)) == NULL)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < n && st == PC_OK; k++)
            (*by_name)[k] = s[k].idx;
    }
    free(s);
    return st;
}

pc_status pc_repo_validate(const pc_repo *r, pc_err *e)
{
    return validate(r, NULL, e);
}

/* ---- parsing -------------------------------------------------------------- */

static pc_status parse_hashref(const cJSON *o, const char *key, pc_hashref *out, uint64_t cap,
                               const pc_jpath *p, pc_err *e)
{
    static const char *const known[] = {"sha256", "size", NULL};
    const cJSON *h = NULL;
    pc_jpath kp;
    pc_jpath_key(&kp, p, key);
    pc_status st = pc_jget_object(o, key, true, &h, WHAT, p, e);
    if (st == PC_OK)
        st = pc_jcheck_keys(h, known, WHAT, &kp, e);
    if (st == PC_OK)
        st = pc_jget_sha256(h, "sha256", out->sha256, WHAT, &kp, e);
    if (st == PC_OK)
        st = pc_jget_u64(h, "size", true, 1, cap, &out->size, WHAT, &kp, e);
    return st;
}

static pc_status parse_versions(pc_repo *r, const cJSON *arr, pc_err *e)
{
    static const char *const known[] = {"name", "parent", "released", "manifest",
                                        "full_bytes", "files", "notes", "rollout",
                                        "withdrawn", "withdrawn_reason", "critical",
                                        "minimum_version", NULL};
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > PC_MAX_VERSIONS)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": versions: more than %d", PC_MAX_VERSIONS);
    r->versions = calloc(n ? n : 1, sizeof *r->versions);
    if (r->versions == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    pc_jpath base = {"versions"};
    cJSON_ArrayForEach(it, arr)
    {
        pc_jpath p;
        pc_jpath_idx(&p, &base, r->nversions);
        pc_version_info *v = &r->versions[r->nversions++];
        if (!cJSON_IsObject(it))
            return pc_jfail(e, WHAT, &p, "expected an object");
        pc_status st;
        uint64_t files = 0;
        if ((st = pc_jcheck_keys(it, known, WHAT, &p, e)) ||
            (st = pc_jget_string(it, "name", true, 64, &v->name, WHAT, &p, e)) ||
            (st = pc_jget_string(it, "parent", false, 64, &v->parent, WHAT, &p, e)) ||
            (st = pc_jget_time(it, "released", true, &v->released, WHAT, &p, e)) ||
            (st = parse_hashref(it, "manifest", &v->manifest, PC_MANIFEST_MAX_BYTES, &p, e)) ||
            (st = pc_jget_u64(it, "full_bytes", true, 0, PC_JSON_MAX_INT, &v->full_bytes, WHAT,
                              &p, e)) ||
            (st = pc_jget_u64(it, "files", true, 0, PC_MAX_FILES, &files, WHAT, &p, e)) ||
            (st = pc_jget_string(it, "notes", false, PC_NOTES_MAX, &v->notes, WHAT, &p, e)) ||
            (st = pc_release_parse(it, &v->release, WHAT, &p, e)))
            return st;
        v->files = files;
    }
    return PC_OK;
}

static pc_status parse_edges(pc_repo *r, const cJSON *arr, pc_err *e)
{
    static const char *const known[] = {"from", "to", "bytes", "delta", NULL};
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > PC_MAX_EDGES)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": edges: more than %d", PC_MAX_EDGES);
    r->edges = calloc(n ? n : 1, sizeof *r->edges);
    if (r->edges == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    pc_jpath base = {"edges"};
    cJSON_ArrayForEach(it, arr)
    {
        pc_jpath p;
        pc_jpath_idx(&p, &base, r->nedges);
        pc_edge *ed = &r->edges[r->nedges++];
        if (!cJSON_IsObject(it))
            return pc_jfail(e, WHAT, &p, "expected an object");
        pc_status st;
        if ((st = pc_jcheck_keys(it, known, WHAT, &p, e)) ||
            (st = pc_jget_string(it, "from", true, 64, &ed->from, WHAT, &p, e)) ||
            (st = pc_jget_string(it, "to", true, 64, &ed->to, WHAT, &p, e)) ||
            (st = pc_jget_u64(it, "bytes", true, 0, PC_JSON_MAX_INT, &ed->bytes, WHAT, &p, e)) ||
            (st = parse_hashref(it, "delta", &ed->delta, PC_DELTA_MAX_BYTES, &p, e)))
            return st;
    }
    return PC_OK;
}

static pc_status parse_channels(pc_repo *r, const cJSON *obj, pc_err *e)
{
    size_t n = (size_t)cJSON_GetArraySize(obj);
    if (n > 64)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": channels: more than 64");
    r->channels = calloc(n ? n : 1, sizeof *r->channels);
    if (r->channels == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        pc_channel *c = &r->channels[r->nchannels++];
        if ((c->name = strdup(it->string)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        if (!cJSON_IsString(it))
            return pc_fail(e, PC_ERR_FORMAT, WHAT ": channels.%.40s: expected a version name",
                           it->string);
        if ((c->version = strdup(it->valuestring)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    return PC_OK;
}

/* "root": {"version", "sha256", "size"}, optional. */
static pc_status parse_root_ref(pc_repo *r, const cJSON *top, pc_err *e)
{
    static const char *const known[] = {"version", "sha256", "size", NULL};
    pc_jpath tp = {""}, p = {"root"};
    const cJSON *o = NULL;
    pc_status st = pc_jget_object(top, "root", false, &o, WHAT, &tp, e);
    if (st != PC_OK || o == NULL)
        return st;
    if ((st = pc_jcheck_keys(o, known, WHAT, &p, e)) ||
        (st = pc_jget_u64(o, "version", true, 1, PC_JSON_MAX_INT, &r->root_version, WHAT, &p, e)) ||
        (st = pc_jget_sha256(o, "sha256", r->root.sha256, WHAT, &p, e)) ||
        (st = pc_jget_u64(o, "size", true, 1, PC_REPO_ROOT_MAX_BYTES, &r->root.size, WHAT, &p, e)))
        return st;
    return PC_OK;
}

static pc_status parse_repo(pc_repo *r, const cJSON *root, pc_err *e)
{
    static const char *const known[] = {"format", "product", "serial", "created", "expires",
                                        "root", "settings", "channels", "versions", "edges", NULL};
    static const char *const known_settings[] = {"max_patch_chain_length",
                                                 "fallback_threshold", NULL};
    if (!cJSON_IsObject(root))
        return pc_fail(e, PC_ERR_FORMAT, WHAT ": expected a JSON object");
    pc_jpath top = {""};
    uint64_t format = 0, chain = 0;
    pc_status st = pc_jget_u64(root, "format", true, 0, PC_JSON_MAX_INT, &format, WHAT, &top, e);
    if (st != PC_OK)
        return st;
    if (format != PC_FORMAT_VERSION)
        return pc_fail(e, PC_ERR_UNSUPPORTED,
                       WHAT ": format %llu is not supported by this client (it reads format %d)",
                       (unsigned long long)format, PC_FORMAT_VERSION);
    const cJSON *settings = NULL, *channels = NULL, *versions = NULL, *edges = NULL;
    pc_jpath sp = {"settings"};
    if ((st = pc_jcheck_keys(root, known, WHAT, &top, e)) ||
        (st = pc_jget_string(root, "product", true, 64, &r->product, WHAT, &top, e)) ||
        (st = pc_jget_u64(root, "serial", true, 1, PC_JSON_MAX_INT, &r->serial, WHAT, &top, e)) ||
        (st = pc_jget_time(root, "created", true, &r->created, WHAT, &top, e)) ||
        (st = pc_jget_time(root, "expires", true, &r->expires, WHAT, &top, e)) ||
        (st = parse_root_ref(r, root, e)) ||
        (st = pc_jget_object(root, "settings", true, &settings, WHAT, &top, e)) ||
        (st = pc_jcheck_keys(settings, known_settings, WHAT, &sp, e)) ||
        (st = pc_jget_u64(settings, "max_patch_chain_length", true, 1, 64, &chain, WHAT, &sp,
                          e)))
        return st;
    r->max_patch_chain_length = (unsigned)chain;
    const cJSON *ft = cJSON_GetObjectItemCaseSensitive(settings, "fallback_threshold");
    if (!cJSON_IsNumber(ft) || !(ft->valuedouble > 0) || ft->valuedouble > 1)
        return pc_fail(e, PC_ERR_FORMAT,
                       WHAT ": settings.fallback_threshold: %s",
                       ft ? "expected a number > 0 and <= 1" : "missing");
    r->fallback_threshold = ft->valuedouble;
    if ((st = pc_jget_object(root, "channels", true, &channels, WHAT, &top, e)) ||
        (st = parse_channels(r, channels, e)) ||
        (st = pc_jget_array(root, "versions", true, &versions, WHAT, &top, e)) ||
        (st = parse_versions(r, versions, e)) ||
        (st = pc_jget_array(root, "edges", true, &edges, WHAT, &top, e)) ||
        (st = parse_edges(r, edges, e)))
        return st;
    return validate(r, &r->by_name, e);
}

pc_status pc_repo_parse(const char *json, size_t len, pc_repo **out, pc_err *e)
{
    *out = NULL;
    if (len > PC_REPO_MAX_BYTES)
        return pc_fail(e, PC_ERR_TOO_LARGE, WHAT ": larger than %u bytes", PC_REPO_MAX_BYTES);
    cJSON *root;
    pc_status pst = pc_jparse(json, len, WHAT, &root, e);
    if (pst != PC_OK)
        return pst;
    pc_repo *r = calloc(1, sizeof *r);
    pc_status st = r ? parse_repo(r, root, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (st != PC_OK) {
        pc_repo_free(r);
        return st;
    }
    for (size_t i = 0; i < r->nedges; i++) {
        pc_repo_version(r, r->edges[i].from, &r->edges[i].from_idx);
        pc_repo_version(r, r->edges[i].to, &r->edges[i].to_idx);
    }
    *out = r;
    return PC_OK;
}

/* ---- writing -------------------------------------------------------------- */

static bool add_hashref(cJSON *o, const char *key, const pc_hashref *h)
{
    cJSON *x = cJSON_AddObjectToObject(o, key);
    return x && pc_jadd_sha256(x, "sha256", h->sha256) && pc_jadd_u64(x, "size", h->size);
}

pc_status pc_repo_write(const pc_repo *r, char **out, size_t *len, pc_err *e)
{
    pc_status st = pc_repo_validate(r, e);
    if (st != PC_OK)
        return st;
    cJSON *root = cJSON_CreateObject(), *x;
    bool ok = root && cJSON_AddNumberToObject(root, "format", PC_FORMAT_VERSION) &&
              cJSON_AddStringToObject(root, "product", r->product) &&
              pc_jadd_u64(root, "serial", r->serial) && pc_jadd_time(root, "created", r->created) &&
              pc_jadd_time(root, "expires", r->expires) &&
              (r->root_version == 0 ||
               ((x = cJSON_AddObjectToObject(root, "root")) &&
                pc_jadd_u64(x, "version", r->root_version) &&
                pc_jadd_sha256(x, "sha256", r->root.sha256) && pc_jadd_u64(x, "size", r->root.size))) &&
              (x = cJSON_AddObjectToObject(root, "settings")) &&
              cJSON_AddNumberToObject(x, "max_patch_chain_length", r->max_patch_chain_length) &&
              cJSON_AddNumberToObject(x, "fallback_threshold", r->fallback_threshold) &&
              (x = cJSON_AddObjectToObject(root, "channels"));
    for (size_t i = 0; ok && i < r->nchannels; i++)
        ok = cJSON_AddStringToObject(x, r->channels[i].name, r->channels[i].version) != NULL;
    ok = ok && (x = cJSON_AddArrayToObject(root, "versions"));
    for (size_t i = 0; ok && i < r->nversions; i++) {
        const pc_version_info *v = &r->versions[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(x, o) && cJSON_AddStringToObject(o, "name", v->name) &&
             (v->parent ? cJSON_AddStringToObject(o, "parent", v->parent)
                        : cJSON_AddNullToObject(o, "parent")) &&
             pc_jadd_time(o, "released", v->released) && add_hashref(o, "manifest", &v->manifest) &&
             pc_jadd_u64(o, "full_bytes", v->full_bytes) && pc_jadd_u64(o, "files", v->files) &&
             (!v->notes || cJSON_AddStringToObject(o, "notes", v->notes)) &&
             pc_release_write(o, &v->release);
    }
    ok = ok && (x = cJSON_AddArrayToObject(root, "edges"));
    for (size_t i = 0; ok && i < r->nedges; i++) {
        const pc_edge *ed = &r->edges[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(x, o) && cJSON_AddStringToObject(o, "from", ed->from) &&
             cJSON_AddStringToObject(o, "to", ed->to) && pc_jadd_u64(o, "bytes", ed->bytes) &&
             add_hashref(o, "delta", &ed->delta);
    }
    return pc_jprint(root, ok, true, out, len, e);
}

bool pc_hashref_matches(const pc_hashref *ref, const void *data, size_t len)
{
    if (len != ref->size)
        return false;
    uint8_t got[32];
    pc_sha256(data, len, got);
    return memcmp(got, ref->sha256, 32) == 0;
}
