/* planfile.c — jobs.json (docs/format.md §14) written from a plan and read
 * back into one, checked as strictly as signed metadata: another machine
 * runs what it says. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hex.h"
#include "jsonv.h"
#include "path.h"
#include "shardplan.h"
#include "shardrel.h"
#include "sha256.h"


/* ---- writing ----------------------------------------------------------------- */

static cJSON *file_ref(const pc_shard_plan *p, const pc_build_file *f)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "version", p->versions[f->version].name) &&
              cJSON_AddStringToObject(o, "path", f->path) && pc_jadd_u64(o, "size", f->size) &&
              pc_jadd_sha256(o, "sha256", f->sha256);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_tree(cJSON *files, const pc_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const pc_tree_entry *x = &t->entries[i];
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cJSON_AddItemToArray(files, o) && cJSON_AddStringToObject(o, "path", x->path);
        if (!ok)
            return false;
        if (x->type == PC_ENTRY_FILE)
            ok = cJSON_AddStringToObject(o, "type", "file") && pc_jadd_u64(o, "size", x->size) &&
                 cJSON_AddStringToObject(o, "mode", x->mode == 0755 ? "755" : "644") &&
                 pc_jadd_sha256(o, "sha256", x->sha256);
        else if (x->type == PC_ENTRY_DIR)
            ok = cJSON_AddStringToObject(o, "type", "dir");
        else
            ok = cJSON_AddStringToObject(o, "type", "symlink") &&
                 cJSON_AddStringToObject(o, "target", x->target);
        if (!ok)
            return false;
    }
    return true;
}

pc_status pc_shard_plan_print(const pc_shard_plan *p, char **json, size_t *len, pc_err *e)
{
    cJSON *root = cJSON_CreateObject(), *config = NULL;
    char gen[64];
    snprintf(gen, sizeof gen, "patchcast-gen %s", pc_version());
    bool ok = root && cJSON_AddNumberToObject(root, "format", 1) &&
              cJSON_AddStringToObject(root, "generator", gen) &&
              cJSON_AddStringToObject(root, "releases", p->releases) &&
              (config = cJSON_Parse(p->config_json)) && cJSON_AddItemToObject(root, "config", config);
    if (root && !ok && config && !cJSON_GetObjectItem(root, "config"))
        cJSON_Delete(config);
    cJSON *vs = ok ? cJSON_AddArrayToObject(root, "versions") : NULL;
    for (size_t i = 0; ok && vs && i < p->nversions; i++) {
        const pc_build_release *r = &p->versions[i];
        cJSON *o = cJSON_CreateObject(), *files;
        ok = o && cJSON_AddItemToArray(vs, o) && cJSON_AddStringToObject(o, "name", r->name) &&
             (!r->notes || cJSON_AddStringToObject(o, "notes", r->notes)) &&
             (files = cJSON_AddArrayToObject(o, "files")) && add_tree(files, &r->tree);
    }
    cJSON *kept = ok && vs ? cJSON_AddArrayToObject(root, "in_site") : NULL;
    for (size_t i = 0; ok && kept && i < p->nkept; i++) {
        const pc_shard_kept *k = &p->kept[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(kept, o) && cJSON_AddStringToObject(o, "path", k->path) &&
             pc_jadd_u64(o, "size", k->size) && pc_jadd_sha256(o, "sha256", k->sha256) &&
             (!k->patch || cJSON_AddStringToObject(o, "format", pc_patch_fmt_name(k->format)));
    }
    cJSON *jobs = ok && kept ? cJSON_AddArrayToObject(root, "jobs") : NULL;
    for (size_t i = 0; ok && jobs && i < p->njobs; i++) {
        const pc_shard_job *j = &p->jobs[i];
        cJSON *o = cJSON_CreateObject(), *tasks;
        ok = o && cJSON_AddItemToArray(jobs, o) && cJSON_AddStringToObject(o, "title", j->title) &&
             pc_jadd_u64(o, "memory", j->memory) &&
             pc_jadd_u64(o, "seconds", (uint64_t)(j->seconds + 0.999)) &&
             (tasks = cJSON_AddArrayToObject(o, "tasks"));
        for (size_t k = 0; ok && k < j->ntasks; k++) {
            const pc_shard_task *t = &j->tasks[k];
            cJSON *to = cJSON_CreateObject(), *a, *b = NULL;
            if (t->release) {
                ok = to && cJSON_AddItemToArray(tasks, to) &&
                     (a = cJSON_AddObjectToObject(to, "release")) &&
                     cJSON_AddStringToObject(a, "from", p->versions[t->in.version].name) &&
                     cJSON_AddStringToObject(a, "to", p->versions[t->to.version].name) &&
                     pc_jadd_u64(a, "reference_size", t->in.size) &&
                     pc_jadd_u64(a, "to_size", t->to.size);
                continue;
            }
            ok = to && cJSON_AddItemToArray(tasks, to) &&
                 cJSON_AddStringToObject(to, "output", t->output) &&
                 (a = file_ref(p, &t->in)) &&
                 cJSON_AddItemToObject(to, t->patch ? "from" : "input", a) &&
                 (!t->patch || ((b = file_ref(p, &t->to)) && cJSON_AddItemToObject(to, "to", b)));
        }
    }
    return pc_jprint(root, ok && jobs, true, json, len, e);
}

/* ---- reading ----------------------------------------------------------------- */

typedef struct reader {
    pc_shard_plan *p;
    const char *what; /* the file's path, first in every message */
    pc_err *e;
} reader;

static pc_status read_entry(reader *rd, const cJSON *o, const pc_jpath *jp, pc_tree_entry *x)
{
    static const char *const keys[] = {"path", "type", "size", "mode", "sha256", "target", NULL};
    char *type = NULL, *mode = NULL;
    pc_status st = PC_OK;
    if (!cJSON_IsObject(o))
        return pc_jfail(rd->e, rd->what, jp, "expected an object");
    if ((st = pc_jcheck_keys(o, keys, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "path", true, PC_PATH_MAX, &x->path, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "type", true, 16, &type, rd->what, jp, rd->e)) != PC_OK)
        goto out;
    const char *why = pc_path_problem(x->path);
    if (why) {
        st = pc_jfail(rd->e, rd->what, jp, "path '%s': %s", x->path, why);
    } else if (!strcmp(type, "file")) {
        x->type = PC_ENTRY_FILE;
        if ((st = pc_jget_u64(o, "size", true, 0, PC_JSON_MAX_INT, &x->size, rd->what, jp, rd->e)) ==
                PC_OK &&
            (st = pc_jget_string(o, "mode", true, 3, &mode, rd->what, jp, rd->e)) == PC_OK &&
            (st = pc_jget_sha256(o, "sha256", x->sha256, rd->what, jp, rd->e)) == PC_OK) {
            if (strcmp(mode, "644") && strcmp(mode, "755"))
                st = pc_jfail(rd->e, rd->what, jp, "mode: expected \"644\" or \"755\"");
            x->mode = strcmp(mode, "755") ? 0644 : 0755;
        }
    } else if (!strcmp(type, "dir")) {
        x->type = PC_ENTRY_DIR;
    } else if (!strcmp(type, "symlink")) {
        x->type = PC_ENTRY_SYMLINK;
        if ((st = pc_jget_string(o, "target", true, PC_PATH_MAX, &x->target, rd->what, jp, rd->e)) ==
                PC_OK &&
            (why = pc_symlink_problem(x->path, x->target)) != NULL)
            st = pc_jfail(rd->e, rd->what, jp, "target '%s': %s", x->target, why);
    } else {
        st = pc_jfail(rd->e, rd->what, jp, "type: expected \"file\", \"dir\" or \"symlink\"");
    }
out:
    free(type);
    free(mode);
    return st;
}

static pc_status read_version(reader *rd, const cJSON *o, const pc_jpath *jp, pc_build_release *r)
{
    static const char *const keys[] = {"name", "notes", "files", NULL};
    const cJSON *files = NULL;
    pc_status st;
    if (!cJSON_IsObject(o))
        return pc_jfail(rd->e, rd->what, jp, "expected an object");
    if ((st = pc_jcheck_keys(o, keys, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "name", true, 64, &r->name, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "notes", false, PC_NOTES_MAX, &r->notes, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_array(o, "files", true, &files, rd->what, jp, rd->e)) != PC_OK)
        return st;
    if (!pc_version_name_ok(r->name))
        return pc_jfail(rd->e, rd->what, jp, "name '%s': not a version name", r->name);
    size_t n = (size_t)cJSON_GetArraySize(files);
    if ((r->tree.entries = calloc(n ? n : 1, sizeof *r->tree.entries)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, files)
    {
        pc_jpath fp, ip;
        pc_jpath_key(&fp, jp, "files");
        pc_jpath_idx(&ip, &fp, r->tree.n);
        pc_tree_entry *x = &r->tree.entries[r->tree.n++];
        if ((st = read_entry(rd, it, &ip, x)) != PC_OK)
            return st;
        if (r->tree.n > 1 && strcmp(r->tree.entries[r->tree.n - 2].path, x->path) >= 0)
            return pc_jfail(rd->e, rd->what, &ip, "not sorted by path, or a path twice");
        r->tree.total_bytes += x->size;
    }
    return PC_OK;
}

/* A task's input: a file of one of the plan's trees, as that tree has it. */
static pc_status read_ref(reader *rd, const cJSON *t, const char *key, const pc_jpath *jp,
                          pc_build_file *f)
{
    static const char *const keys[] = {"version", "path", "size", "sha256", NULL};
    const cJSON *o = NULL;
    char *version = NULL, *path = NULL;
    pc_jpath kp;
    pc_jpath_key(&kp, jp, key);
    pc_status st = pc_jget_object(t, key, true, &o, rd->what, jp, rd->e);
    if (st == PC_OK && (st = pc_jcheck_keys(o, keys, rd->what, &kp, rd->e)) == PC_OK &&
        (st = pc_jget_string(o, "version", true, 64, &version, rd->what, &kp, rd->e)) == PC_OK &&
        (st = pc_jget_string(o, "path", true, PC_PATH_MAX, &path, rd->what, &kp, rd->e)) == PC_OK &&
        (st = pc_jget_u64(o, "size", true, 0, PC_JSON_MAX_INT, &f->size, rd->what, &kp, rd->e)) ==
            PC_OK &&
        (st = pc_jget_sha256(o, "sha256", f->sha256, rd->what, &kp, rd->e)) == PC_OK) {
        const pc_shard_plan *p = rd->p;
        size_t v = 0;
        while (v < p->nversions && strcmp(p->versions[v].name, version))
            v++;
        const pc_tree_entry *x = v < p->nversions ? pc_tree_find(&p->versions[v].tree, path) : NULL;
        if (v == p->nversions)
            st = pc_jfail(rd->e, rd->what, &kp, "version %s is not in versions", version);
        else if (x == NULL || x->type != PC_ENTRY_FILE || x->size != f->size ||
                 memcmp(x->sha256, f->sha256, 32))
            st = pc_jfail(rd->e, rd->what, &kp, "%s/%s: not a file of that version's tree, of "
                                            "this size and SHA-256",
                          version, path);
        else {
            f->version = v;
            f->path = x->path;
        }
    }
    free(version);
    free(path);
    return st;
}

/* A version of the plan by name, or SIZE_MAX. */
static size_t version_index(const pc_shard_plan *p, const char *name)
{
    for (size_t v = 0; v < p->nversions; v++)
        if (!strcmp(p->versions[v].name, name))
            return v;
    return SIZE_MAX;
}

/* A release task: {"release": {"from", "to", "reference_size", "to_size"}}
 * and nothing else, of two versions of the plan, with the sizes their
 * trees give (the job learns the patch's name as it reads them). */
static pc_status read_release(reader *rd, const cJSON *t, const pc_jpath *jp, pc_shard_task *pt)
{
    static const char *const only[] = {"release", NULL};
    static const char *const keys[] = {"from", "to", "reference_size", "to_size", NULL};
    const cJSON *o = NULL;
    char *from = NULL, *to = NULL;
    pc_jpath kp;
    pc_jpath_key(&kp, jp, "release");
    pc_status st;
    if ((st = pc_jcheck_keys(t, only, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_object(t, "release", true, &o, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jcheck_keys(o, keys, rd->what, &kp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "from", true, 64, &from, rd->what, &kp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "to", true, 64, &to, rd->what, &kp, rd->e)) != PC_OK ||
        (st = pc_jget_u64(o, "reference_size", true, 1, PC_JSON_MAX_INT, &pt->in.size, rd->what,
                          &kp, rd->e)) != PC_OK ||
        (st = pc_jget_u64(o, "to_size", true, 1, PC_JSON_MAX_INT, &pt->to.size, rd->what, &kp,
                          rd->e)) != PC_OK)
        goto out;
    pt->release = true;
    pt->in.version = version_index(rd->p, from);
    pt->to.version = version_index(rd->p, to);
    if (pt->in.version == SIZE_MAX || pt->to.version == SIZE_MAX) {
        st = pc_jfail(rd->e, rd->what, &kp, "version %s is not in versions",
                      pt->in.version == SIZE_MAX ? from : to);
        goto out;
    }
    if (pt->in.version == pt->to.version) {
        st = pc_jfail(rd->e, rd->what, &kp, "from and to: the same version %s", from);
        goto out;
    }
    pc_shard_release r;
    pc_err why = {0};
    if (pc_shard_release_plan(rd->p, pt, &r, &why) != PC_OK)
        st = pc_jfail(rd->e, rd->what, &kp, "%s", why.msg);
    else if (r.rd.ref_size != pt->in.size)
        st = pc_jfail(rd->e, rd->what, &kp,
                      "reference_size: %llu, but the files of %s make a reference of %llu bytes",
                      (unsigned long long)pt->in.size, from, (unsigned long long)r.rd.ref_size);
    else if (r.rd.to_size != pt->to.size)
        st = pc_jfail(rd->e, rd->what, &kp,
                      "to_size: %llu, but the contents %s adds to %s are %llu bytes",
                      (unsigned long long)pt->to.size, to, from, (unsigned long long)r.rd.to_size);
    pc_shard_release_free(&r);
out:
    free(from);
    free(to);
    return st;
}

static pc_status read_job(reader *rd, const cJSON *o, const pc_jpath *jp, pc_shard_job *j)
{
    static const char *const keys[] = {"title", "memory", "seconds", "tasks", NULL};
    static const char *const tkeys[] = {"output", "input", "from", "to", "release", NULL};
    const cJSON *tasks = NULL;
    uint64_t secs = 0;
    pc_status st;
    if (!cJSON_IsObject(o))
        return pc_jfail(rd->e, rd->what, jp, "expected an object");
    if ((st = pc_jcheck_keys(o, keys, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_string(o, "title", true, 1 << 16, &j->title, rd->what, jp, rd->e)) != PC_OK ||
        (st = pc_jget_u64(o, "memory", true, 1, PC_JSON_MAX_INT, &j->memory, rd->what, jp, rd->e)) !=
            PC_OK ||
        (st = pc_jget_u64(o, "seconds", true, 0, PC_JSON_MAX_INT, &secs, rd->what, jp, rd->e)) !=
            PC_OK ||
        (st = pc_jget_array(o, "tasks", true, &tasks, rd->what, jp, rd->e)) != PC_OK)
        return st;
    j->seconds = (double)secs;
    size_t n = (size_t)cJSON_GetArraySize(tasks);
    if (n == 0)
        return pc_jfail(rd->e, rd->what, jp, "tasks: empty");
    if ((j->tasks = calloc(n, sizeof *j->tasks)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    const cJSON *t;
    cJSON_ArrayForEach(t, tasks)
    {
        pc_jpath tp, kp;
        pc_jpath_key(&kp, jp, "tasks");
        pc_jpath_idx(&tp, &kp, j->ntasks);
        pc_shard_task *pt = &j->tasks[j->ntasks++];
        char *output = NULL;
        if (!cJSON_IsObject(t))
            return pc_jfail(rd->e, rd->what, &tp, "expected an object");
        if (cJSON_HasObjectItem(t, "release")) {
            if ((st = read_release(rd, t, &tp, pt)) != PC_OK)
                return st;
            continue;
        }
        pt->patch = cJSON_HasObjectItem(t, "from");
        if ((st = pc_jcheck_keys(t, tkeys, rd->what, &tp, rd->e)) != PC_OK ||
            (st = pc_jget_string(t, "output", true, PC_SITE_PATH_MAX - 1, &output, rd->what, &tp,
                                 rd->e)) != PC_OK ||
            (st = read_ref(rd, t, pt->patch ? "from" : "input", &tp, &pt->in)) != PC_OK ||
            (pt->patch && (st = read_ref(rd, t, "to", &tp, &pt->to)) != PC_OK)) {
            free(output);
            return st;
        }
        if (pt->patch)
            pc_site_patch_path(pt->in.sha256, pt->to.sha256, pt->output);
        else
            pc_site_object_path(pt->in.sha256, pt->output);
        bool same = !strcmp(output, pt->output);
        free(output);
        if (!same || (!pt->patch && cJSON_HasObjectItem(t, "to")))
            return pc_jfail(rd->e, rd->what, &tp, "output: expected %s for its input%s", pt->output,
                            pt->patch ? "s" : "");
    }
    return PC_OK;
}

static bool hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool pc_shard_site_name_ok(const char *p, bool *patch)
{
    size_t n = strlen(p);
    *patch = !strncmp(p, "patches/", 8);
    if (strncmp(p, "objects/", 8) && !*patch)
        return false;
    if (n != (*patch ? 11 + 129 : 11 + 64) || p[10] != '/' || memcmp(p + 8, p + 11, 2))
        return false;
    return hex_run(p + 11, 64) && (!*patch || (p[75] == '-' && hex_run(p + 76, 64)));
}

static pc_status read_kept(reader *rd, const cJSON *o, const pc_jpath *jp, pc_shard_kept *k)
{
    static const char *const keys[] = {"path", "size", "sha256", "format", NULL};
    char *path = NULL, *fmt = NULL;
    pc_status st;
    if (!cJSON_IsObject(o))
        return pc_jfail(rd->e, rd->what, jp, "expected an object");
    if ((st = pc_jcheck_keys(o, keys, rd->what, jp, rd->e)) == PC_OK &&
        (st = pc_jget_string(o, "path", true, PC_SITE_PATH_MAX - 1, &path, rd->what, jp, rd->e)) ==
            PC_OK &&
        (st = pc_jget_u64(o, "size", true, 1, PC_JSON_MAX_INT, &k->size, rd->what, jp, rd->e)) ==
            PC_OK &&
        (st = pc_jget_sha256(o, "sha256", k->sha256, rd->what, jp, rd->e)) == PC_OK &&
        (st = pc_jget_string(o, "format", false, 16, &fmt, rd->what, jp, rd->e)) == PC_OK) {
        if (!pc_shard_site_name_ok(path, &k->patch))
            st = pc_jfail(rd->e, rd->what, jp, "path '%s': not an object or patch name", path);
        else if (k->patch != (fmt != NULL))
            st = pc_jfail(rd->e, rd->what, jp, "format: %s", k->patch ? "missing" : "only for patches");
        else if (fmt && !strcmp(fmt, "pcz"))
            k->format = PC_PF_PCZ;
        else if (fmt && !strcmp(fmt, "bsdiff40"))
            k->format = PC_PF_BSDIFF40;
        else if (fmt)
            st = pc_jfail(rd->e, rd->what, jp, "format: expected \"pcz\" or \"bsdiff40\"");
        if (st == PC_OK)
            snprintf(k->path, sizeof k->path, "%s", path);
    }
    free(path);
    free(fmt);
    return st;
}

/* Each edge's release patch in one task of one job (as every output). */
static pc_status releases_once(reader *rd)
{
    const pc_shard_plan *p = rd->p;
    for (size_t j = 0; j < p->njobs; j++)
        for (size_t k = 0; k < p->jobs[j].ntasks; k++) {
            const pc_shard_task *t = &p->jobs[j].tasks[k];
            for (size_t q = 0; t->release && q <= j; q++)
                for (size_t m = 0; m < (q < j ? p->jobs[q].ntasks : k); m++) {
                    const pc_shard_task *u = &p->jobs[q].tasks[m];
                    if (!u->release || u->in.version != t->in.version ||
                        u->to.version != t->to.version)
                        continue;
                    pc_jpath a, b, c, d;
                    pc_jpath_key(&a, &(pc_jpath){{0}}, "jobs");
                    pc_jpath_idx(&b, &a, j);
                    pc_jpath_key(&c, &b, "tasks");
                    pc_jpath_idx(&d, &c, k);
                    return pc_jfail(rd->e, rd->what, &d,
                                    "release: %s -> %s again (jobs[%zu].tasks[%zu] has it)",
                                    p->versions[t->in.version].name,
                                    p->versions[t->to.version].name, q, m);
                }
        }
    return PC_OK;
}

static pc_status read_plan(reader *rd, const cJSON *root)
{
    static const char *const keys[] = {"format", "generator", "releases", "config",
                                       "versions", "in_site", "jobs", NULL};
    pc_shard_plan *p = rd->p;
    pc_jpath top = {{0}};
    const cJSON *config = NULL, *vs = NULL, *kept = NULL, *jobs = NULL;
    char *gen = NULL, want[64];
    uint64_t format = 0;
    pc_status st;
    if (!cJSON_IsObject(root))
        return pc_fail(rd->e, PC_ERR_FORMAT, "%s: expected a JSON object at the top level",
                       rd->what);
    snprintf(want, sizeof want, "patchcast-gen %s", pc_version());
    if ((st = pc_jcheck_keys(root, keys, rd->what, &top, rd->e)) != PC_OK ||
        (st = pc_jget_u64(root, "format", true, 1, 1, &format, rd->what, &top, rd->e)) != PC_OK ||
        (st = pc_jget_string(root, "generator", true, 64, &gen, rd->what, &top, rd->e)) != PC_OK)
        return st;
    bool same = !strcmp(gen, want);
    if (!same)
        st = pc_fail(rd->e, PC_ERR_INVALID,
                     "%s: made by %s, this is %s: plan, run the jobs and assemble with one "
                     "version (their results are the same bytes only then)",
                     rd->what, gen, want);
    free(gen);
    if (st != PC_OK ||
        (st = pc_jget_string(root, "releases", true, 4096, &p->releases, rd->what, &top, rd->e)) ||
        (st = pc_jget_object(root, "config", true, &config, rd->what, &top, rd->e)) != PC_OK ||
        (st = pc_jget_array(root, "versions", true, &vs, rd->what, &top, rd->e)) != PC_OK ||
        (st = pc_jget_array(root, "in_site", true, &kept, rd->what, &top, rd->e)) != PC_OK ||
        (st = pc_jget_array(root, "jobs", true, &jobs, rd->what, &top, rd->e)) != PC_OK)
        return st;
    if ((p->config_json = cJSON_PrintUnformatted(config)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    pc_config_defaults(&p->cfg);
    char what[300];
    snprintf(what, sizeof what, "%.280s: config", rd->what);
    if ((st = pc_config_parse(&p->cfg, p->config_json, strlen(p->config_json), what, rd->e)) !=
        PC_OK)
        return st;
    if (p->cfg.product == NULL)
        return pc_fail(rd->e, PC_ERR_FORMAT, "%s: product: missing", what);
    size_t n = (size_t)cJSON_GetArraySize(vs);
    if (n == 0)
        return pc_fail(rd->e, PC_ERR_FORMAT, "%s: versions: empty", rd->what);
    if ((p->versions = calloc(n, sizeof *p->versions)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, vs)
    {
        pc_jpath kp, ip;
        pc_jpath_key(&kp, &top, "versions");
        pc_jpath_idx(&ip, &kp, p->nversions);
        pc_build_release *r = &p->versions[p->nversions++];
        if ((st = read_version(rd, it, &ip, r)) != PC_OK)
            return st;
        for (size_t q = 0; q + 1 < p->nversions; q++)
            if (!strcmp(p->versions[q].name, r->name))
                return pc_jfail(rd->e, rd->what, &ip, "version %s twice", r->name);
    }
    n = (size_t)cJSON_GetArraySize(kept);
    if ((p->kept = calloc(n ? n : 1, sizeof *p->kept)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    cJSON_ArrayForEach(it, kept)
    {
        pc_jpath kp, ip;
        pc_jpath_key(&kp, &top, "in_site");
        pc_jpath_idx(&ip, &kp, p->nkept);
        if ((st = read_kept(rd, it, &ip, &p->kept[p->nkept++])) != PC_OK)
            return st;
    }
    n = (size_t)cJSON_GetArraySize(jobs);
    if ((p->jobs = calloc(n ? n : 1, sizeof *p->jobs)) == NULL)
        return pc_fail(rd->e, PC_ERR_NOMEM, "out of memory");
    cJSON_ArrayForEach(it, jobs)
    {
        pc_jpath kp, ip;
        pc_jpath_key(&kp, &top, "jobs");
        pc_jpath_idx(&ip, &kp, p->njobs);
        if ((st = read_job(rd, it, &ip, &p->jobs[p->njobs++])) != PC_OK)
            return st;
    }
    return releases_once(rd);
}

pc_status pc_shard_plan_load(const char *path, pc_shard_plan *p, pc_err *e)
{
    memset(p, 0, sizeof *p);
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    pc_status st = pc_read_file(path, PC_SHARD_PLAN_MAX_BYTES, &text, &len, e);
    if (st == PC_OK) {
        uint8_t sha[32];
        pc_sha256(text, len, sha);
        pc_hex_encode(sha, 32, p->sha);
        st = pc_jparse(text, len, path, &root, e);
    }
    if (st == PC_OK)
        st = read_plan(&(reader){.p = p, .what = path, .e = e}, root);
    cJSON_Delete(root);
    free(text);
    if (st != PC_OK)
        pc_shard_plan_free(p);
    return st;
}
