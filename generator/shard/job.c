/* job.c — running one job of a sharded build: inputs checked against the
 * plan, its tasks on the pool of jobs.h under the job's memory estimate
 * (a whole-release patch made by generator/diff/reldiff.c, as a build
 * makes it: shardrel.c), each output checked as a build checks what it
 * reuses, and the result file written last. */
#include "job.h"

#include <cJSON.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "difffiles.h"
#include "fileio.h"
#include "hex.h"
#include "jobs.h"
#include "jsonv.h"
#include "object.h"
#include "objpack.h"
#include "patch.h"
#include "pcz.h"
#include "sha256.h"
#include "shardrel.h"

/* ---- result files ------------------------------------------------------------ */

static pc_status result_write(const pc_shard_plan *p, size_t n, const pc_job_output *outs,
                              size_t nouts, char **json, size_t *len, pc_err *e)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    bool ok = root && cJSON_AddNumberToObject(root, "format", 1) &&
              cJSON_AddStringToObject(root, "plan", p->sha) && pc_jadd_u64(root, "job", n) &&
              (arr = cJSON_AddArrayToObject(root, "outputs"));
    for (size_t i = 0; ok && i < nouts; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o) &&
             cJSON_AddStringToObject(o, "path", outs[i].path) && pc_jadd_u64(o, "size", outs[i].size) &&
             pc_jadd_sha256(o, "sha256", outs[i].sha256) &&
             (!outs[i].patch || cJSON_AddStringToObject(o, "format", pc_patch_fmt_name(outs[i].format)));
    }
    return pc_jprint(root, ok, false, json, len, e);
}

pc_status pc_shard_result_parse(const pc_shard_plan *p, size_t n, const char *json, size_t len,
                                const char *what, pc_job_output **outs, pc_err *e)
{
    static const char *const keys[] = {"format", "plan", "job", "outputs", NULL};
    static const char *const okeys[] = {"path", "size", "sha256", "format", NULL};
    const pc_shard_job *job = &p->jobs[n];
    cJSON *root = NULL;
    const cJSON *arr = NULL;
    char *plan = NULL;
    uint64_t format = 0, jn = 0;
    pc_jpath top = {{0}};
    *outs = NULL;
    pc_status st = pc_jparse(json, len, what, &root, e);
    if (st == PC_OK && !cJSON_IsObject(root))
        st = pc_fail(e, PC_ERR_FORMAT, "%s: expected a JSON object", what);
    if (st != PC_OK || (st = pc_jcheck_keys(root, keys, what, &top, e)) != PC_OK ||
        (st = pc_jget_u64(root, "format", true, 1, 1, &format, what, &top, e)) != PC_OK ||
        (st = pc_jget_string(root, "plan", true, 64, &plan, what, &top, e)) != PC_OK ||
        (st = pc_jget_u64(root, "job", true, 0, PC_JSON_MAX_INT, &jn, what, &top, e)) != PC_OK ||
        (st = pc_jget_array(root, "outputs", true, &arr, what, &top, e)) != PC_OK)
        goto out;
    if (strcmp(plan, p->sha) || jn != n) {
        st = pc_fail(e, PC_ERR_FORMAT, "%s: the result of job %llu of plan %.16s…, not of job %zu of "
                                       "plan %.16s…",
                     what, (unsigned long long)jn, plan, n, p->sha);
        goto out;
    }
    if ((size_t)cJSON_GetArraySize(arr) != job->ntasks) {
        st = pc_fail(e, PC_ERR_FORMAT, "%s: %d outputs, but the job has %zu tasks", what,
                     cJSON_GetArraySize(arr), job->ntasks);
        goto out;
    }
    if ((*outs = calloc(job->ntasks, sizeof **outs)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        pc_jpath ap, ip;
        pc_jpath_key(&ap, &top, "outputs");
        pc_jpath_idx(&ip, &ap, i);
        pc_job_output *x = &(*outs)[i];
        const pc_shard_task *t = &job->tasks[i++];
        char *path = NULL, *fmt = NULL;
        if (!cJSON_IsObject(o))
            st = pc_jfail(e, what, &ip, "expected an object");
        else if ((st = pc_jcheck_keys(o, okeys, what, &ip, e)) == PC_OK &&
                 (st = pc_jget_string(o, "path", true, PC_SITE_PATH_MAX - 1, &path, what, &ip, e)) ==
                     PC_OK &&
                 (st = pc_jget_u64(o, "size", true, 1, PC_JSON_MAX_INT, &x->size, what, &ip, e)) ==
                     PC_OK &&
                 (st = pc_jget_sha256(o, "sha256", x->sha256, what, &ip, e)) == PC_OK &&
                 (st = pc_jget_string(o, "format", false, 16, &fmt, what, &ip, e)) == PC_OK) {
            bool patch = false;
            x->patch = t->patch || t->release;
            snprintf(x->path, sizeof x->path, "%s", path);
            if (t->release && (!pc_shard_site_name_ok(path, &patch) || !patch))
                st = pc_jfail(e, what, &ip, "path: expected a patch name (the job's task %zu, "
                                            "a whole-release patch)",
                              i - 1);
            else if (t->release)
                st = fmt && !strcmp(fmt, "pcz")
                         ? PC_OK
                         : pc_jfail(e, what, &ip, "format: expected \"pcz\" (a whole-release patch)");
            else if (strcmp(path, t->output))
                st = pc_jfail(e, what, &ip, "path: expected %s (the job's task %zu)", t->output,
                              i - 1);
            else if (t->patch && fmt && !strcmp(fmt, "pcz"))
                x->format = PC_PF_PCZ;
            else if (t->patch && fmt && !strcmp(fmt, "bsdiff40"))
                x->format = PC_PF_BSDIFF40;
            else if (t->patch || fmt)
                st = pc_jfail(e, what, &ip, "format: %s",
                              t->patch ? "expected \"pcz\" or \"bsdiff40\"" : "only for patches");
        }
        free(path);
        free(fmt);
        if (st != PC_OK)
            break;
    }
out:
    if (st != PC_OK) {
        free(*outs);
        *outs = NULL;
    }
    free(plan);
    cJSON_Delete(root);
    return st;
}

/* ---- checks -------------------------------------------------------------------- */

/* Size and SHA-256 of the file at path. */
static pc_status hash_file(const char *path, uint64_t *size, uint8_t sha[32], pc_err *e)
{
    if (pc_sha256_file(path, sha, size) != PC_OK)
        return pc_fail(e, PC_ERR_IO, "%s: cannot read it", path);
    return PC_OK;
}

/* Size and SHA-256 of the release file at path: PC_ERR_INVALID when it is
 * not a regular file (a FIFO or a device would block or never end). */
static pc_status hash_input(const char *path, uint8_t sha[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return pc_errno_status(errno);
    struct stat sb;
    pc_status st = fstat(fd, &sb) != 0 ? pc_errno_status(errno)
                   : !S_ISREG(sb.st_mode) ? PC_ERR_INVALID
                                          : pc_sha256_fd(fd, sha, size);
    close(fd);
    return st;
}

typedef struct runner {
    const pc_job_opts *o;
    const pc_shard_job *job;
    const char *releases;  /* RELEASES here */
    char **in, **to;       /* per task: its files on disk */
    pc_shard_release **rel; /* per release task: its plan, then its memory files */
    pc_job_output *outs;
    pc_err *errs;
    bool *ok, *made;
} runner;

/* Whether the store's file at path is task i's output, as a build checks
 * what it reuses: an object unpacks to the content, a patch applied to the
 * old file gives the new one. Its size, hash and format go into outs[i]. */
static pc_status check_output(runner *r, size_t i, const char *path, pc_err *e)
{
    const pc_shard_task *t = &r->job->tasks[i];
    pc_job_output *x = &r->outs[i];
    pc_status st;
    if (t->release) {
        st = pc_reldiff_check(&r->rel[i]->rd, path)
                 ? PC_OK
                 : pc_fail(e, PC_ERR_FORMAT, "%s: does not turn the reference into the output",
                           path);
        x->format = PC_PF_PCZ;
    } else if (!t->patch) {
        int fd = open(path, O_RDONLY | O_CLOEXEC), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        st = fd < 0 || null < 0 ? pc_fail(e, PC_ERR_IO, "%s: cannot open it", path)
                                : pc_object_unpack_fd(fd, null, t->in.size, t->in.sha256, e);
        if (fd >= 0)
            close(fd);
        if (null >= 0)
            close(null);
    } else {
        char *tmp = pc_store_scratch(r->o->store, t->output);
        pc_patch_expect ex = {.has_size = true, .new_size = t->to.size, .has_sha = true,
                              .no_sync = true};
        memcpy(ex.new_sha256, t->to.sha256, 32);
        st = tmp ? pc_patch_apply_file(r->in[i], path, tmp, &ex, e)
                 : pc_fail(e, PC_ERR_NOMEM, "out of memory");
        if (tmp)
            unlink(tmp);
        free(tmp);
        /* it applied to the old file as it is now: that must be the plan's */
        uint8_t sha[32];
        uint64_t size = 0;
        if (st == PC_OK && (hash_input(r->in[i], sha, &size) != PC_OK || size != t->in.size ||
                            memcmp(sha, t->in.sha256, 32)))
            st = pc_fail(e, PC_ERR_HASH, "%s: changed since the job checked it", r->in[i]);
        char magic[4] = {0};
        FILE *f = st == PC_OK ? fopen(path, "rb") : NULL;
        if (f && fread(magic, 1, 4, f) == 4)
            x->format = !memcmp(magic, PC_PCZ1_MAGIC, 4) || !memcmp(magic, PC_PCZ2_MAGIC, 4)
                            ? PC_PF_PCZ
                            : PC_PF_BSDIFF40; /* it applied: the other format there is */
        if (f)
            fclose(f);
    }
    if (st == PC_OK)
        st = hash_file(path, &x->size, x->sha256, e);
    return st;
}

/* ---- tasks ---------------------------------------------------------------------- */

static void run_task(runner *r, size_t i)
{
    const pc_shard_task *t = &r->job->tasks[i];
    const pc_config *cfg = &r->o->plan->cfg;
    pc_store *store = r->o->store;
    pc_err *e = &r->errs[i];
    pc_job_output *x = &r->outs[i];
    char *have = NULL;
    x->patch = t->patch || t->release;
    snprintf(x->path, sizeof x->path, "%s", t->output);
    /* A whole-release patch is named by the trees' bytes: read them first. */
    if (t->release &&
        pc_shard_release_load(r->o->plan, t, r->releases, r->rel[i], x->path, e) != PC_OK) {
        pc_fail_prefix(e, "release patch %s -> %s: ", r->o->plan->versions[t->in.version].name,
                       r->o->plan->versions[t->to.version].name);
        return;
    }
    const char *output = x->path;
    pc_status st = pc_store_get(store, output, &have, e);
    bool had = st == PC_OK;
    if (had) {
        pc_err why = {0};
        st = check_output(r, i, have, &why);
        pc_store_done(store, have);
        if (st == PC_OK) {
            r->ok[i] = true;
            return;
        }
        if (!r->o->quiet)
            fprintf(stderr, "%s in the store is not right, made again: %s\n", output, why.msg);
    } else if (st != PC_ERR_NOT_FOUND) {
        return;
    }
    pc_err_clear(e);
    char *tmp = pc_store_scratch(store, output);
    if (tmp == NULL) {
        pc_fail(e, pc_errno_status(errno), "%s: no temporary file in store %s: %s", output,
                pc_store_name(store), strerror(errno));
        return;
    }
    uint64_t n = 0;
    if (t->release) {
        st = pc_reldiff_write(&r->rel[i]->rd, tmp, &n, e);
        x->format = PC_PF_PCZ;
    } else if (t->patch) {
        pc_diff_format fmt = cfg->patch_format == PC_PATCH_PCZ ? PC_DIFF_PCZ : PC_DIFF_BSDIFF40;
        st = pc_diff_files(r->in[i], r->to[i], tmp, fmt, NULL, &n, e);
        r->outs[i].format = fmt == PC_DIFF_PCZ ? PC_PF_PCZ : PC_PF_BSDIFF40;
    } else {
        st = pc_object_pack_file(r->in[i], tmp, cfg->object_level, &n, e);
    }
    /* Checked as one found in the store: an input changed since
     * check_inputs would give an output that is not the plan's. */
    if (st == PC_OK && (st = check_output(r, i, tmp, e)) != PC_OK)
        pc_fail_prefix(e, "made, but it does not check (did a release file change while the "
                          "job ran?): ");
    bool existed = false;
    if (st == PC_OK)
        st = pc_store_put(store, tmp, output, !had, &existed, e);
    else
        unlink(tmp);
    free(tmp);
    /* Another copy of this job put it first: that one stands, if right. */
    if (st == PC_OK && existed && (st = pc_store_get(store, output, &have, e)) == PC_OK) {
        st = check_output(r, i, have, e);
        pc_store_done(store, have);
    }
    if (st != PC_OK)
        pc_fail_prefix(e, "%s: ", output);
    r->ok[i] = st == PC_OK;
    r->made[i] = st == PC_OK && !existed;
}

static uint64_t task_need(void *ud, size_t i)
{
    const runner *r = ud;
    return r->rel[i] ? pc_reldiff_memory(&r->rel[i]->rd) : r->job->tasks[i].memory;
}

static void task_run(void *ud, size_t i)
{
    runner *r = ud;
    run_task(r, i);
    if (r->rel[i]) /* its memory files go at once */
        pc_reldiff_free(&r->rel[i]->rd);
}

static void task_done(void *ud, size_t i, size_t ndone)
{
    const runner *r = ud;
    if (r->o->quiet)
        return;
    const pc_shard_task *t = &r->job->tasks[i];
    const pc_shard_plan *p = r->o->plan;
    char what[PC_SITE_PATH_MAX + 300];
    if (t->release)
        snprintf(what, sizeof what, "release patch %s -> %s (%s)", p->versions[t->in.version].name,
                 p->versions[t->to.version].name, r->outs[i].path[0] ? r->outs[i].path : "unnamed");
    else
        snprintf(what, sizeof what, "%s", t->output);
    fprintf(stderr, "[%zu/%zu] %s: %s\n", ndone, r->job->ntasks, what,
            !r->ok[i] ? "failed" : r->made[i] ? "made" : "in the store already");
}

/* ---- the job ---------------------------------------------------------------------- */

/* The file at path is f, the file the plan hashed. */
static pc_status check_file(const runner *r, const char *path, const pc_build_file *f, pc_err *e)
{
    uint8_t sha[32];
    uint64_t size = 0;
    pc_status hs = hash_input(path, sha, &size);
    if (hs == PC_ERR_INVALID)
        return pc_fail(e, PC_ERR_INVALID, "job %zu: %s: not a regular file", r->o->n, path);
    if (hs != PC_OK)
        return pc_fail(e, PC_ERR_NOT_FOUND,
                       "job %zu: %s: cannot read it (is RELEASES here %s? --releases "
                       "names another folder)",
                       r->o->n, path, r->releases);
    if (size != f->size || memcmp(sha, f->sha256, 32)) {
        char got[65], want[65];
        pc_hex_encode(sha, 32, got);
        pc_hex_encode(f->sha256, 32, want);
        return pc_fail(e, PC_ERR_HASH,
                       "job %zu: %s: SHA-256 %.16s… (%llu bytes), but the plan has "
                       "%.16s… (%llu bytes): not the release trees the plan was made "
                       "from",
                       r->o->n, path, got, (unsigned long long)size, want,
                       (unsigned long long)f->size);
    }
    return PC_OK;
}

/* A file a whole-release patch reads (pc_shard_release_inputs). */
static pc_status check_release_file(void *ud, const pc_build_file *f, pc_err *e)
{
    const runner *r = ud;
    char *path = NULL;
    if (asprintf(&path, "%s/%s/%s", r->releases, r->o->plan->versions[f->version].name,
                 f->path) < 0)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = check_file(r, path, f, e);
    free(path);
    return st;
}

/* Every input is the file the plan hashed (each file of an object or patch
 * once; a whole-release patch's files too, its plan made here). */
static pc_status check_inputs(runner *r, pc_err *e)
{
    const pc_shard_plan *p = r->o->plan;
    pc_status st;
    for (size_t i = 0; i < r->job->ntasks; i++) {
        const pc_shard_task *t = &r->job->tasks[i];
        if (t->release) {
            if ((r->rel[i] = calloc(1, sizeof *r->rel[i])) == NULL)
                return pc_fail(e, PC_ERR_NOMEM, "out of memory");
            if ((st = pc_shard_release_plan(p, t, r->rel[i], e)) != PC_OK ||
                (st = pc_shard_release_inputs(t, r->rel[i], check_release_file, r, e)) != PC_OK)
                return st;
            continue;
        }
        for (int w = 0; w < 2; w++) {
            if (w == 1 && !t->patch)
                continue;
            const pc_build_file *f = w ? &t->to : &t->in;
            char **slot = w ? &r->to[i] : &r->in[i];
            if (asprintf(slot, "%s/%s/%s", r->releases, p->versions[f->version].name, f->path) < 0) {
                *slot = NULL;
                return pc_fail(e, PC_ERR_NOMEM, "out of memory");
            }
            bool seen = false;
            for (size_t q = 0; q <= i && !seen; q++)
                seen = (q < i || w == 1) && r->in[q] && !strcmp(r->in[q], *slot);
            for (size_t q = 0; q < i && !seen; q++)
                seen = r->to[q] && !strcmp(r->to[q], *slot);
            if (!seen && (st = check_file(r, *slot, f, e)) != PC_OK)
                return st;
        }
    }
    return PC_OK;
}

/* Whether the job's result file is in the store and every output it lists
 * is there with its size and SHA-256. */
static bool done_before(runner *r)
{
    const pc_shard_plan *p = r->o->plan;
    char rel[PC_SITE_PATH_MAX], *path = NULL, *text = NULL;
    pc_err scratch = {0};
    pc_job_output *outs = NULL;
    size_t len = 0;
    pc_shard_result_path(p, r->o->n, rel);
    bool ok = pc_store_get(r->o->store, rel, &path, &scratch) == PC_OK &&
              pc_read_file(path, 1u << 26, &text, &len, &scratch) == PC_OK &&
              pc_shard_result_parse(p, r->o->n, text, len, rel, &outs, &scratch) == PC_OK;
    pc_store_done(r->o->store, path);
    for (size_t i = 0; ok && i < r->job->ntasks; i++) {
        uint64_t size = 0;
        uint8_t sha[32];
        path = NULL;
        ok = pc_store_get(r->o->store, outs[i].path, &path, &scratch) == PC_OK &&
             pc_sha256_file(path, sha, &size) == PC_OK && size == outs[i].size &&
             !memcmp(sha, outs[i].sha256, 32);
        pc_store_done(r->o->store, path);
    }
    free(text);
    free(outs);
    return ok;
}

pc_status pc_shard_run_job(const pc_job_opts *o, pc_job_stats *s, pc_err *e)
{
    memset(s, 0, sizeof *s);
    const pc_shard_plan *p = o->plan;
    if (o->n >= p->njobs)
        return pc_fail(e, PC_ERR_INVALID, "job %zu: the plan has %zu jobs (0 to %zu)", o->n,
                       p->njobs, p->njobs ? p->njobs - 1 : 0);
    const pc_shard_job *job = &p->jobs[o->n];
    size_t n = job->ntasks;
    runner r = {.o = o, .job = job, .releases = o->releases ? o->releases : p->releases};
    r.in = calloc(n, sizeof *r.in);
    r.rel = calloc(n, sizeof *r.rel);
    r.to = calloc(n, sizeof *r.to);
    r.outs = calloc(n, sizeof *r.outs);
    r.errs = calloc(n, sizeof *r.errs);
    r.ok = calloc(n, sizeof *r.ok);
    r.made = calloc(n, sizeof *r.made);
    char *json = NULL, *tmp = NULL;
    pc_status st = PC_OK;
    if (!r.in || !r.to || !r.rel || !r.outs || !r.errs || !r.ok || !r.made) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = check_inputs(&r, e)) != PC_OK)
        goto out;
    if (done_before(&r)) {
        s->done_before = true;
        goto out;
    }
    pc_jobs_run(&(pc_jobs){.n = n, .workers = p->cfg.workers, .budget = job->memory,
                           .need = task_need, .run = task_run, .done = task_done, .ud = &r});
    for (size_t i = 0; i < n && st == PC_OK; i++) {
        if (!r.ok[i])
            st = pc_fail(e, r.errs[i].code ? r.errs[i].code : PC_ERR_INTERNAL, "job %zu: %s",
                         o->n, r.errs[i].msg);
        else if (r.made[i])
            s->made++;
        else
            s->kept++;
    }
    /* The result last: its presence says the job is done. */
    char rel[PC_SITE_PATH_MAX];
    size_t len = 0;
    bool existed;
    pc_shard_result_path(p, o->n, rel);
    if (st == PC_OK && (st = result_write(p, o->n, r.outs, n, &json, &len, e)) == PC_OK) {
        if ((tmp = pc_store_scratch(o->store, rel)) == NULL)
            st = pc_fail(e, pc_errno_status(errno), "%s: no temporary file in store %s: %s", rel,
                         pc_store_name(o->store), strerror(errno));
        else if ((st = pc_write_file_atomic(tmp, json, len, 0644, e)) == PC_OK)
            st = pc_store_put(o->store, tmp, rel, false, &existed, e);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(r.in ? r.in[i] : NULL);
        free(r.to ? r.to[i] : NULL);
        if (r.rel && r.rel[i]) {
            pc_shard_release_free(r.rel[i]);
            free(r.rel[i]);
        }
    }
    free(r.in);
    free(r.to);
    free(r.rel);
    free(r.outs);
    free(r.errs);
    free(r.ok);
    free(r.made);
    free(json);
    if (tmp && st != PC_OK)
        unlink(tmp);
    free(tmp);
    return st;
}
