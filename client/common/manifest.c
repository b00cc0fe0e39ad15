/* manifest.c — manifests and delta documents: parse, validate, write. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "linkcheck.h"
#include "meta.h"
#include "path.h"

#define MWHAT "manifest"
#define DWHAT "delta"

void pc_file_entry_clear(pc_file_entry *f)
{
    free(f->path);
    free(f->target);
    for (size_t i = 0; i < f->ndepends; i++)
        free(f->depends[i]);
    free(f->depends);
    memset(f, 0, sizeof *f);
}

void pc_manifest_free(pc_manifest *m)
{
    if (m == NULL)
        return;
    free(m->product);
    free(m->version);
    for (size_t i = 0; i < m->nfiles; i++)
        pc_file_entry_clear(&m->files[i]);
    free(m->files);
    free(m);
}

void pc_delta_free(pc_delta *d)
{
    if (d == NULL)
        return;
    free(d->from);
    free(d->to);
    for (size_t i = 0; i < d->npatches; i++)
        free(d->patches[i].path);
    free(d->patches);
    if (d->release)
        free(d->release->files);
    free(d->release);
    free(d);
}

const pc_file_entry *pc_manifest_file(const pc_manifest *m, const char *path)
{
    size_t lo = 0, hi = m->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->files[mid].path, path);
        if (c == 0)
            return &m->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *pc_patch_fmt_name(pc_patch_fmt f)
{
    return f == PC_PF_PCZ ? "pcz" : "bsdiff40";
}

static pc_status ffail(pc_err *e, size_t i, const char *field, const char *why, const char *arg)
{
    return pc_fail(e, PC_ERR_FORMAT, MWHAT ": files[%zu]%s%s: %s%s", i, field[0] ? "." : "",
                   field, why, arg ? arg : "");
}

pc_status pc_manifest_validate(const pc_manifest *m, pc_err *e)
{
    if (m->product == NULL || m->product[0] == '\0' || strlen(m->product) > 64)
        return pc_fail(e, PC_ERR_FORMAT, MWHAT ": product: expected 1-64 characters");
    if (m->version == NULL || !pc_version_name_ok(m->version))
        return pc_fail(e, PC_ERR_FORMAT, MWHAT ": version: not a valid version name");
    if (m->nfiles > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_TOO_LARGE, MWHAT ": files: more than %d", PC_MAX_FILES);
    unsigned long link_work = PC_LINK_WORK_MAX;
    for (size_t i = 0; i < m->nfiles; i++) {
        const pc_file_entry *f = &m->files[i];
        const char *why = pc_path_problem(f->path);
        if (why)
            return ffail(e, i, "path", why, NULL);
        if (i > 0) {
            int c = strcmp(m->files[i - 1].path, f->path);
            if (c == 0)
                return ffail(e, i, "path", "duplicate path ", f->path);
            if (c > 0)
                return ffail(e, i, "path", "files are not sorted by path at ", f->path);
        }
        /* Nothing may live below a file or a symlink, at any depth. */
        const pc_file_entry *up = pc_nondir_ancestor(m, f->path);
        if (up)
            return ffail(e, i, "path", up->type == PC_FT_SYMLINK ? "lies below the symlink "
                                                                  : "lies below the file ",
                         up->path);
        if (f->type == PC_FT_SYMLINK) {
            why = pc_symlink_problem(f->path, f->target);
            if (why == NULL)
                why = pc_link_escape_problem(m, f->path, f->target, &link_work);
            if (why)
                return ffail(e, i, "target", why, NULL);
        }
        if (f->type == PC_FT_FILE) {
            if (f->mode != 0644 && f->mode != 0755)
                return ffail(e, i, "mode", "must be \"644\" or \"755\"", NULL);
            if (f->object_size == 0 || f->object_size > PC_JSON_MAX_INT)
                return ffail(e, i, "object_size", "out of range", NULL);
        }
        if (f->ndepends && !(f->flags & PC_FLAG_HOT))
            return ffail(e, i, "module", "only hot modules can declare dependencies", NULL);
        for (size_t k = 0; k < f->ndepends; k++) {
            const pc_file_entry *d = pc_manifest_file(m, f->depends[k]);
            if (d == NULL || !(d->flags & PC_FLAG_HOT))
                return ffail(e, i, "module.depends", "not a hot module of this version: ",
                             f->depends[k]);
        }
    }
    return PC_OK;
}

/* Sites made before every downloaded file was named by its hash lack these
 * members: say so rather than only "missing". */
static pc_status older_site(const cJSON *it, const char *key, const char *what, const pc_jpath *p,
                            pc_err *e)
{
    if (cJSON_GetObjectItemCaseSensitive(it, key))
        return PC_OK;
    pc_jpath kp;
    pc_jpath_key(&kp, p, key);
    return pc_jfail(e, what, &kp, "missing: the site was made by a patchcast-gen from before "
                                  "2026-12-03, which did not name this file's hash; rebuild it");
}

static pc_status parse_file(pc_file_entry *f, const cJSON *it, const pc_jpath *p, pc_err *e)
{
    static const char *const known[] = {"path", "type", "size", "mode", "sha256",
                                        "object_size", "object_sha256", "flags", "target",
                                        "module", NULL};
    static const char *const known_module[] = {"depends", NULL};
    if (!cJSON_IsObject(it))
        return pc_jfail(e, MWHAT, p, "expected an object");
    char *type = NULL;
    pc_status st;
    if ((st = pc_jcheck_keys(it, known, MWHAT, p, e)) ||
        (st = pc_jget_string(it, "path", true, PC_PATH_MAX, &f->path, MWHAT, p, e)) ||
        (st = pc_jget_string(it, "type", true, 16, &type, MWHAT, p, e)))
        goto out;
    pc_jpath kp;
    pc_jpath_key(&kp, p, "type");
    if (!strcmp(type, "file"))
        f->type = PC_FT_FILE;
    else if (!strcmp(type, "dir"))
        f->type = PC_FT_DIR;
    else if (!strcmp(type, "symlink"))
        f->type = PC_FT_SYMLINK;
    else {
        st = pc_jfail(e, MWHAT, &kp, "expected \"file\", \"dir\" or \"symlink\"");
        goto out;
    }
    /* Members that belong to another type are errors, not ignored. */
    static const char *const file_only[] = {"size", "mode", "sha256", "object_size",
                                            "object_sha256", NULL};
    for (size_t i = 0; file_only[i]; i++)
        if (f->type != PC_FT_FILE && cJSON_GetObjectItemCaseSensitive(it, file_only[i])) {
            pc_jpath_key(&kp, p, file_only[i]);
            st = pc_jfail(e, MWHAT, &kp, "only files have this member");
            goto out;
        }
    if (f->type != PC_FT_SYMLINK && cJSON_GetObjectItemCaseSensitive(it, "target")) {
        pc_jpath_key(&kp, p, "target");
        st = pc_jfail(e, MWHAT, &kp, "only symlinks have a target");
        goto out;
    }
    if (f->type == PC_FT_FILE) {
        char *mode = NULL;
        if ((st = pc_jget_u64(it, "size", true, 0, PC_JSON_MAX_INT, &f->size, MWHAT, p, e)) ||
            (st = pc_jget_sha256(it, "sha256", f->sha256, MWHAT, p, e)) ||
            (st = pc_jget_u64(it, "object_size", true, 1, PC_JSON_MAX_INT, &f->object_size,
                              MWHAT, p, e)) ||
            (st = older_site(it, "object_sha256", MWHAT, p, e)) ||
            (st = pc_jget_sha256(it, "object_sha256", f->object_sha256, MWHAT, p, e)) ||
            (st = pc_jget_string(it, "mode", true, 8, &mode, MWHAT, p, e)))
            goto out;
        f->mode = !strcmp(mode, "644") ? 0644 : !strcmp(mode, "755") ? 0755 : 0;
        free(mode);
        if (f->mode == 0) {
            pc_jpath_key(&kp, p, "mode");
            st = pc_jfail(e, MWHAT, &kp, "must be \"644\" or \"755\"");
            goto out;
        }
    } else if (f->type == PC_FT_SYMLINK) {
        if ((st = pc_jget_string(it, "target", true, PC_PATH_MAX, &f->target, MWHAT, p, e)))
            goto out;
    }
    const cJSON *flags = NULL;
    if ((st = pc_jget_array(it, "flags", false, &flags, MWHAT, p, e)))
        goto out;
    pc_jpath_key(&kp, p, "flags");
    const cJSON *fl;
    cJSON_ArrayForEach(fl, flags)
    {
        unsigned bit = 0;
        if (cJSON_IsString(fl) && !strcmp(fl->valuestring, "critical"))
            bit = PC_FLAG_CRITICAL;
        else if (cJSON_IsString(fl) && !strcmp(fl->valuestring, "hot"))
            bit = PC_FLAG_HOT;
        if (bit == 0 || (f->flags & bit)) {
            st = pc_jfail(e, MWHAT, &kp, "expected distinct \"critical\" or \"hot\" entries");
            goto out;
        }
        f->flags |= bit;
    }
    if ((f->flags) && f->type != PC_FT_FILE) {
        st = pc_jfail(e, MWHAT, &kp, "only files can be flagged");
        goto out;
    }
    const cJSON *mod = NULL, *deps = NULL;
    pc_jpath mp;
    pc_jpath_key(&mp, p, "module");
    if ((st = pc_jget_object(it, "module", false, &mod, MWHAT, p, e)))
        goto out;
    if (mod) {
        if ((st = pc_jcheck_keys(mod, known_module, MWHAT, &mp, e)) ||
            (st = pc_jget_array(mod, "depends", true, &deps, MWHAT, &mp, e)))
            goto out;
        size_t n = (size_t)cJSON_GetArraySize(deps);
        f->depends = calloc(n ? n : 1, sizeof *f->depends);
        if (f->depends == NULL) {
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            goto out;
        }
        const cJSON *d;
        pc_jpath dp;
        pc_jpath_key(&dp, &mp, "depends");
        cJSON_ArrayForEach(d, deps)
        {
            if (!cJSON_IsString(d)) {
                st = pc_jfail(e, MWHAT, &dp, "expected paths of modules");
                goto out;
            }
            if ((f->depends[f->ndepends] = strdup(d->valuestring)) == NULL) {
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
                goto out;
            }
            f->ndepends++;
        }
    }
out:
    free(type);
    return st;
}

static pc_status parse_manifest(pc_manifest *m, const cJSON *root, pc_err *e)
{
    static const char *const known[] = {"format", "product", "version", "files", NULL};
    if (!cJSON_IsObject(root))
        return pc_fail(e, PC_ERR_FORMAT, MWHAT ": expected a JSON object");
    pc_jpath top = {""};
    uint64_t format = 0;
    const cJSON *files = NULL;
    pc_status st = pc_jget_u64(root, "format", true, 0, PC_JSON_MAX_INT, &format, MWHAT, &top, e);
    if (st != PC_OK)
        return st;
    if (format != PC_FORMAT_VERSION)
        return pc_fail(e, PC_ERR_UNSUPPORTED, MWHAT ": format %llu is not supported",
                       (unsigned long long)format);
    if ((st = pc_jcheck_keys(root, known, MWHAT, &top, e)) ||
        (st = pc_jget_string(root, "product", true, 64, &m->product, MWHAT, &top, e)) ||
        (st = pc_jget_string(root, "version", true, 64, &m->version, MWHAT, &top, e)) ||
        (st = pc_jget_array(root, "files", true, &files, MWHAT, &top, e)))
        return st;
    size_t n = (size_t)cJSON_GetArraySize(files);
    if (n > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_TOO_LARGE, MWHAT ": files: more than %d", PC_MAX_FILES);
    m->files = calloc(n ? n : 1, sizeof *m->files);
    if (m->files == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    pc_jpath base = {"files"};
    cJSON_ArrayForEach(it, files)
    {
        pc_jpath p;
        pc_jpath_idx(&p, &base, m->nfiles);
        st = parse_file(&m->files[m->nfiles++], it, &p, e);
        if (st != PC_OK)
            return st;
    }
    return pc_manifest_validate(m, e);
}

pc_status pc_manifest_parse(const char *json, size_t len, pc_manifest **out, pc_err *e)
{
    *out = NULL;
    if (len > PC_MANIFEST_MAX_BYTES)
        return pc_fail(e, PC_ERR_TOO_LARGE, MWHAT ": larger than %u bytes",
                       PC_MANIFEST_MAX_BYTES);
    cJSON *root;
    pc_status pst = pc_jparse(json, len, MWHAT, &root, e);
    if (pst != PC_OK)
        return pst;
    pc_manifest *m = calloc(1, sizeof *m);
    pc_status st = m ? parse_manifest(m, root, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (st != PC_OK) {
        pc_manifest_free(m);
        return st;
    }
    *out = m;
    return PC_OK;
}

pc_status pc_manifest_write(const pc_manifest *m, char **out, size_t *len, pc_err *e)
{
    pc_status st = pc_manifest_validate(m, e);
    if (st != PC_OK)
        return st;
    cJSON *root = cJSON_CreateObject(), *files = NULL;
    bool ok = root && cJSON_AddNumberToObject(root, "format", PC_FORMAT_VERSION) &&
              cJSON_AddStringToObject(root, "product", m->product) &&
              cJSON_AddStringToObject(root, "version", m->version) &&
              (files = cJSON_AddArrayToObject(root, "files"));
    static const char *const types[] = {"file", "dir", "symlink"};
    for (size_t i = 0; ok && i < m->nfiles; i++) {
        const pc_file_entry *f = &m->files[i];
        cJSON *o = cJSON_CreateObject(), *a;
        ok = o && cJSON_AddItemToArray(files, o) && cJSON_AddStringToObject(o, "path", f->path) &&
             cJSON_AddStringToObject(o, "type", types[f->type]);
        if (ok && f->type == PC_FT_FILE)
            ok = pc_jadd_u64(o, "size", f->size) &&
                 cJSON_AddStringToObject(o, "mode", f->mode == 0755 ? "755" : "644") &&
                 pc_jadd_sha256(o, "sha256", f->sha256) &&
                 pc_jadd_u64(o, "object_size", f->object_size) &&
                 pc_jadd_sha256(o, "object_sha256", f->object_sha256);
        if (ok && f->type == PC_FT_SYMLINK)
            ok = cJSON_AddStringToObject(o, "target", f->target) != NULL;
        if (ok && f->flags) {
            ok = (a = cJSON_AddArrayToObject(o, "flags")) &&
                 (!(f->flags & PC_FLAG_CRITICAL) ||
                  cJSON_AddItemToArray(a, cJSON_CreateString("critical"))) &&
                 (!(f->flags & PC_FLAG_HOT) || cJSON_AddItemToArray(a, cJSON_CreateString("hot")));
        }
        if (ok && f->ndepends) {
            cJSON *mod = cJSON_AddObjectToObject(o, "module");
            ok = mod && (a = cJSON_AddArrayToObject(mod, "depends"));
            for (size_t k = 0; ok && k < f->ndepends; k++)
                ok = cJSON_AddItemToArray(a, cJSON_CreateString(f->depends[k]));
        }
    }
    return pc_jprint(root, ok, false, out, len, e);
}

/* ---- delta documents -------------------------------------------------------- */

static int cmp_patch_ends(const void *pa, const void *pb)
{
    const pc_patch_ref *a = *(const pc_patch_ref *const *)pa, *b = *(const pc_patch_ref *const *)pb;
    int c = memcmp(a->from, b->from, 32);
    if (c == 0)
        c = memcmp(a->to, b->to, 32);
    return c ? c : (a > b) - (a < b); /* one array: its order */
}

/* The smallest index of a patch with the same from and to as an earlier one
 * (SIZE_MAX if none) in *dup. */
static pc_status first_duplicate_patch(const pc_delta *d, size_t *dup, pc_err *e)
{
    *dup = SIZE_MAX;
    if (d->npatches < 2)
        return PC_OK;
    const pc_patch_ref **s = malloc(d->npatches * sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->npatches; i++)
        s[i] = &d->patches[i];
    qsort(s, d->npatches, sizeof *s, cmp_patch_ends);
    for (size_t k = 1; k < d->npatches; k++)
        if (!memcmp(s[k]->from, s[k - 1]->from, 32) && !memcmp(s[k]->to, s[k - 1]->to, 32) &&
            (size_t)(s[k] - d->patches) < *dup)
            *dup = (size_t)(s[k] - d->patches);
    free(s);
    return PC_OK;
}

static int cmp_release_file(const void *a, const void *b)
{
    const pc_release_file *x = *(const pc_release_file *const *)a,
                          *y = *(const pc_release_file *const *)b;
    int c = memcmp(x->sha256, y->sha256, 32);
    return c ? c : (x > y) - (x < y); /* one array: its order */
}

/* The whole-release patch: sizes in range and adding up, each content
 * once, the reference a whole number of aligned slots. */
static pc_status release_validate(const pc_release_ref *r, pc_err *e)
{
    if (r->nfiles == 0 || r->nfiles > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.files: 1 to %d entries", PC_MAX_FILES);
    if (r->size == 0 || r->size > PC_JSON_MAX_INT)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.size: out of range");
    if (r->reference_size > PC_JSON_MAX_INT || r->reference_size % PC_RELEASE_ALIGN)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.reference_size: not a multiple of %d",
                       PC_RELEASE_ALIGN);
    uint64_t sum = 0;
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].size > PC_JSON_MAX_INT || (sum += r->files[i].size) > PC_JSON_MAX_INT)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.files[%zu].size: out of range", i);
    if (sum != r->to_size)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.to_size: not the sum of the files' sizes");
    const pc_release_file **s = malloc(r->nfiles * sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->nfiles; i++)
        s[i] = &r->files[i];
    qsort(s, r->nfiles, sizeof *s, cmp_release_file);
    size_t dup = SIZE_MAX;
    for (size_t k = 1; k < r->nfiles; k++)
        if (!memcmp(s[k]->sha256, s[k - 1]->sha256, 32) && (size_t)(s[k] - r->files) < dup)
            dup = (size_t)(s[k] - r->files);
    free(s);
    if (dup != SIZE_MAX)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": release.files[%zu]: duplicate content", dup);
    return PC_OK;
}

pc_status pc_delta_validate(const pc_delta *d, pc_err *e)
{
    if (d->from == NULL || !pc_version_name_ok(d->from))
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": from: not a valid version name");
    if (d->to == NULL || !pc_version_name_ok(d->to))
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": to: not a valid version name");
    if (d->npatches > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_TOO_LARGE, DWHAT ": patches: more than %d", PC_MAX_FILES);
    size_t dup;
    pc_status st = first_duplicate_patch(d, &dup, e);
    if (st != PC_OK)
        return st;
    for (size_t i = 0; i < d->npatches; i++) {
        const pc_patch_ref *p = &d->patches[i];
        const char *why = pc_path_problem(p->path);
        if (why)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": patches[%zu].path: %s", i, why);
        if (memcmp(p->from, p->to, 32) == 0)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": patches[%zu]: from and to are the same", i);
        if (p->size == 0 || p->size > PC_JSON_MAX_INT)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": patches[%zu].size: out of range", i);
        if (p->to_size > PC_JSON_MAX_INT)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": patches[%zu].to_size: out of range", i);
        if (i == dup)
            return pc_fail(e, PC_ERR_FORMAT, DWHAT ": patches[%zu]: duplicate patch", i);
    }
    if (d->release_left_out > PC_JSON_MAX_INT)
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": x-release-size: out of range");
    return d->release ? release_validate(d->release, e) : PC_OK;
}

static pc_status parse_release(pc_delta *d, const cJSON *o, pc_err *e)
{
    static const char *const known[] = {"from_sha256", "reference_size", "to_sha256", "to_size",
                                        "size", "sha256", "files", NULL};
    static const char *const known_file[] = {"sha256", "size", NULL};
    pc_jpath p = {"release"};
    pc_release_ref *r = d->release = calloc(1, sizeof *r);
    const cJSON *arr = NULL, *it;
    pc_status st;
    if (r == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if (!cJSON_IsObject(o))
        return pc_jfail(e, DWHAT, &p, "expected an object");
    if ((st = pc_jcheck_keys(o, known, DWHAT, &p, e)) ||
        (st = pc_jget_sha256(o, "from_sha256", r->from, DWHAT, &p, e)) ||
        (st = pc_jget_u64(o, "reference_size", true, 0, PC_JSON_MAX_INT, &r->reference_size,
                          DWHAT, &p, e)) ||
        (st = pc_jget_sha256(o, "to_sha256", r->to, DWHAT, &p, e)) ||
        (st = pc_jget_u64(o, "to_size", true, 0, PC_JSON_MAX_INT, &r->to_size, DWHAT, &p, e)) ||
        (st = pc_jget_u64(o, "size", true, 1, PC_JSON_MAX_INT, &r->size, DWHAT, &p, e)) ||
        (st = pc_jget_sha256(o, "sha256", r->sha256, DWHAT, &p, e)) ||
        (st = pc_jget_array(o, "files", true, &arr, DWHAT, &p, e)))
        return st;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_TOO_LARGE, DWHAT ": release.files: more than %d", PC_MAX_FILES);
    if ((r->files = calloc(n ? n : 1, sizeof *r->files)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_jpath base = {"release.files"};
    cJSON_ArrayForEach(it, arr)
    {
        pc_jpath fp;
        pc_jpath_idx(&fp, &base, r->nfiles);
        pc_release_file *f = &r->files[r->nfiles++];
        if (!cJSON_IsObject(it))
            return pc_jfail(e, DWHAT, &fp, "expected an object");
        if ((st = pc_jcheck_keys(it, known_file, DWHAT, &fp, e)) ||
            (st = pc_jget_sha256(it, "sha256", f->sha256, DWHAT, &fp, e)) ||
            (st = pc_jget_u64(it, "size", true, 0, PC_JSON_MAX_INT, &f->size, DWHAT, &fp, e)))
            return st;
    }
    return PC_OK;
}

static pc_status parse_delta(pc_delta *d, const cJSON *root, pc_err *e)
{
    static const char *const known[] = {"format", "from", "to", "patches", "release", NULL};
    static const char *const known_patch[] = {"path", "from_sha256", "to_sha256", "to_size",
                                              "size", "sha256", "format", NULL};
    if (!cJSON_IsObject(root))
        return pc_fail(e, PC_ERR_FORMAT, DWHAT ": expected a JSON object");
    pc_jpath top = {""};
    uint64_t format = 0;
    const cJSON *arr = NULL;
    pc_status st = pc_jget_u64(root, "format", true, 0, PC_JSON_MAX_INT, &format, DWHAT, &top, e);
    if (st != PC_OK)
        return st;
    if (format != PC_FORMAT_VERSION)
        return pc_fail(e, PC_ERR_UNSUPPORTED, DWHAT ": format %llu is not supported",
                       (unsigned long long)format);
    if ((st = pc_jcheck_keys(root, known, DWHAT, &top, e)) ||
        (st = pc_jget_string(root, "from", true, 64, &d->from, DWHAT, &top, e)) ||
        (st = pc_jget_string(root, "to", true, 64, &d->to, DWHAT, &top, e)) ||
        (st = pc_jget_array(root, "patches", true, &arr, DWHAT, &top, e)))
        return st;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > PC_MAX_FILES)
        return pc_fail(e, PC_ERR_TOO_LARGE, DWHAT ": patches: more than %d", PC_MAX_FILES);
    d->patches = calloc(n ? n : 1, sizeof *d->patches);
    if (d->patches == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    pc_jpath base = {"patches"};
    cJSON_ArrayForEach(it, arr)
    {
        pc_jpath p;
        pc_jpath_idx(&p, &base, d->npatches);
        pc_patch_ref *pr = &d->patches[d->npatches++];
        char *fmt = NULL;
        if (!cJSON_IsObject(it))
            return pc_jfail(e, DWHAT, &p, "expected an object");
        if ((st = pc_jcheck_keys(it, known_patch, DWHAT, &p, e)) ||
            (st = pc_jget_string(it, "path", true, PC_PATH_MAX, &pr->path, DWHAT, &p, e)) ||
            (st = pc_jget_sha256(it, "from_sha256", pr->from, DWHAT, &p, e)) ||
            (st = pc_jget_sha256(it, "to_sha256", pr->to, DWHAT, &p, e)) ||
            (st = older_site(it, "to_size", DWHAT, &p, e)) ||
            (st = pc_jget_u64(it, "to_size", true, 0, PC_JSON_MAX_INT, &pr->to_size, DWHAT, &p,
                              e)) ||
            (st = pc_jget_u64(it, "size", true, 1, PC_JSON_MAX_INT, &pr->size, DWHAT, &p, e)) ||
            (st = older_site(it, "sha256", DWHAT, &p, e)) ||
            (st = pc_jget_sha256(it, "sha256", pr->sha256, DWHAT, &p, e)) ||
            (st = pc_jget_string(it, "format", true, 16, &fmt, DWHAT, &p, e)))
            return st;
        if (!strcmp(fmt, "pcz"))
            pr->format = PC_PF_PCZ;
        else if (!strcmp(fmt, "bsdiff40"))
            pr->format = PC_PF_BSDIFF40;
        else {
            free(fmt);
            pc_jpath fp;
            pc_jpath_key(&fp, &p, "format");
            return pc_jfail(e, DWHAT, &fp, "expected \"pcz\" or \"bsdiff40\"");
        }
        free(fmt);
    }
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(root, "release");
    if (rel && (st = parse_release(d, rel, e)) != PC_OK)
        return st;
    /* An x- key: taken when it is what the writer writes, else ignored. */
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "x-release-size");
    if (cJSON_IsNumber(x) && x->valuedouble >= 1 && x->valuedouble <= (double)PC_JSON_MAX_INT &&
        x->valuedouble == (double)(uint64_t)x->valuedouble)
        d->release_left_out = (uint64_t)x->valuedouble;
    return pc_delta_validate(d, e);
}

pc_status pc_delta_parse(const char *json, size_t len, pc_delta **out, pc_err *e)
{
    *out = NULL;
    if (len > PC_DELTA_MAX_BYTES)
        return pc_fail(e, PC_ERR_TOO_LARGE, DWHAT ": larger than %u bytes", PC_DELTA_MAX_BYTES);
    cJSON *root;
    pc_status pst = pc_jparse(json, len, DWHAT, &root, e);
    if (pst != PC_OK)
        return pst;
    pc_delta *d = calloc(1, sizeof *d);
    pc_status st = d ? parse_delta(d, root, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (st != PC_OK) {
        pc_delta_free(d);
        return st;
    }
    *out = d;
    return PC_OK;
}

pc_status pc_delta_write(const pc_delta *d, char **out, size_t *len, pc_err *e)
{
    pc_status st = pc_delta_validate(d, e);
    if (st != PC_OK)
        return st;
    cJSON *root = cJSON_CreateObject(), *arr = NULL;
    bool ok = root && cJSON_AddNumberToObject(root, "format", PC_FORMAT_VERSION) &&
              cJSON_AddStringToObject(root, "from", d->from) &&
              cJSON_AddStringToObject(root, "to", d->to) &&
              (arr = cJSON_AddArrayToObject(root, "patches"));
    for (size_t i = 0; ok && i < d->npatches; i++) {
        const pc_patch_ref *p = &d->patches[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "path", p->path) &&
             pc_jadd_sha256(o, "from_sha256", p->from) && pc_jadd_sha256(o, "to_sha256", p->to) &&
             pc_jadd_u64(o, "to_size", p->to_size) && pc_jadd_u64(o, "size", p->size) &&
             pc_jadd_sha256(o, "sha256", p->sha256) &&
             cJSON_AddStringToObject(o, "format", pc_patch_fmt_name(p->format));
    }
    const pc_release_ref *r = d->release;
    cJSON *ro = NULL, *files = NULL;
    if (ok && r)
        ok = (ro = cJSON_AddObjectToObject(root, "release")) &&
             pc_jadd_sha256(ro, "from_sha256", r->from) &&
             pc_jadd_u64(ro, "reference_size", r->reference_size) &&
             pc_jadd_sha256(ro, "to_sha256", r->to) && pc_jadd_u64(ro, "to_size", r->to_size) &&
             pc_jadd_u64(ro, "size", r->size) && pc_jadd_sha256(ro, "sha256", r->sha256) &&
             (files = cJSON_AddArrayToObject(ro, "files"));
    for (size_t i = 0; ok && r && i < r->nfiles; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(files, o) &&
             pc_jadd_sha256(o, "sha256", r->files[i].sha256) &&
             pc_jadd_u64(o, "size", r->files[i].size);
    }
    if (ok && d->release_left_out)
        ok = pc_jadd_u64(root, "x-release-size", d->release_left_out);
    return pc_jprint(root, ok, false, out, len, e);
}
