/* build_patch.c — the site build's patches: for each edge, which old file
 * each changed file is patched from (a job per content pair); then every
 * job's patch, reused when one on the site still produces its target, else
 * diffed, on a pool of threads under a memory budget (jobs.c). The
 * whole-release patches are build_relpatch.c's. */
#include "build_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "difffiles.h"
#include "jobs.h"
#include "patch.h"
#include "pcz.h"
#include "path.h"
#include "sufsort.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *extension(const char *p)
{
    const char *s = strrchr(base_name(p), '.');
    return s ? s : "";
}

/* The old file a new one is best patched from: the same path, else the same
 * name elsewhere (a move), else the closest size with the same extension. */
static const pc_file_entry *source_for(const rel *from, const pc_file_entry *t)
{
    const pc_file_entry *same = pc_manifest_file(&from->man, t->path);
    if (same && same->type == PC_FT_FILE)
        return same;
    const pc_file_entry *best = NULL;
    for (size_t i = 0; i < from->man.nfiles; i++) {
        const pc_file_entry *f = &from->man.files[i];
        if (f->type == PC_FT_FILE && !strcmp(base_name(f->path), base_name(t->path)))
            return f;
    }
    if (t->size < 1024)
        return NULL;
    uint64_t bestd = UINT64_MAX;
    for (size_t i = 0; i < from->man.nfiles; i++) {
        const pc_file_entry *f = &from->man.files[i];
        if (f->type != PC_FT_FILE || strcmp(extension(f->path), extension(t->path)) ||
            f->size < t->size / 2 || f->size > t->size * 2)
            continue;
        uint64_t d = f->size > t->size ? f->size - t->size : t->size - f->size;
        if (d < bestd) {
            bestd = d;
            best = f;
        }
    }
    return best;
}

/* A file of r: inside RELEASES, or "<version>/<path>" for a given release. */
static char *rel_file(const rel *r, const char *path)
{
    if (r->dir)
        return pc_path_join(r->dir, path);
    return pc_path_join(r->name, path);
}

static pc_status add_job(builder *b, const rel *from, const pc_file_entry *s, const rel *to,
                         const pc_file_entry *t, size_t edge, size_t *idx)
{
    for (size_t i = 0; i < b->njobs; i++)
        if (!memcmp(b->jobs[i].from, s->sha256, 32) && !memcmp(b->jobs[i].to, t->sha256, 32)) {
            *idx = i;
            return PC_OK;
        }
    if (b->njobs == b->capjobs) {
        size_t nc = b->capjobs ? b->capjobs * 2 : 64;
        job *p = realloc(b->jobs, nc * sizeof *p);
        if (p == NULL)
            return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        b->jobs = p;
        b->capjobs = nc;
    }
    job *j = &b->jobs[b->njobs];
    memset(j, 0, sizeof *j);
    memcpy(j->from, s->sha256, 32);
    memcpy(j->to, t->sha256, 32);
    j->from_size = s->size;
    j->to_size = t->size;
    j->edge = edge;
    j->from_v = (size_t)(from - b->v);
    j->to_v = (size_t)(to - b->v);
    j->from_path = s->path;
    j->to_path = t->path;
    j->from_file = rel_file(from, s->path);
    j->to_file = rel_file(to, t->path);
    if (!j->from_file || !j->to_file) {
        free(j->from_file);
        free(j->to_file);
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    }
    *idx = b->njobs++;
    return PC_OK;
}

pc_status build_plan_edge(builder *b, edge_plan *ep, size_t edge)
{
    const pc_manifest *tm = &ep->to->man;
    ep->jobs = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *ep->jobs);
    ep->files = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *ep->files);
    if (!ep->jobs || !ep->files)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < tm->nfiles; i++) {
        const pc_file_entry *t = &tm->files[i];
        if (t->type != PC_FT_FILE || build_has_content(ep->from, t->sha256))
            continue;
        const pc_file_entry *s = t->size > 0 ? source_for(ep->from, t) : NULL;
        if (s == NULL || s->size == 0)
            continue;
        pc_status st = add_job(b, ep->from, s, ep->to, t, edge, &ep->jobs[ep->n]);
        if (st != PC_OK)
            return st;
        ep->files[ep->n++] = i;
    }
    return PC_OK;
}

/* A diff's memory (pc_diff_compute, bsdiff.h): old and its suffix array, 4 bytes an entry
 * (and the segments' overlaps over 512 MiB), twice new, a little more. */
uint64_t build_job_mem(const job *j)
{
    int64_t stride, k = 1;
    if (j->from_size > 0)
        k = pc_sa_segments((int64_t)j->from_size, pc_sa_seg_max, pc_sa_seg_overlap, &stride);
    return j->from_size * 5 + (uint64_t)(k - 1) * (uint64_t)pc_sa_seg_overlap * 4 +
           j->to_size * 2 + (1u << 20);
}

/* A patch file's format by its magic: pcz (either version) or BSDIFF40. */
static bool format_of(const char *path, pc_patch_fmt *fmt)
{
    FILE *pf = fopen(path, "rb");
    char magic[8] = {0};
    bool ok = pf && fread(magic, 1, 8, pf) == 8;
    if (pf)
        fclose(pf);
    if (ok && (!memcmp(magic, PC_PCZ1_MAGIC, 4) || !memcmp(magic, PC_PCZ2_MAGIC, 4)))
        *fmt = PC_PF_PCZ;
    else if (ok && !memcmp(magic, "BSDIFF40", 8))
        *fmt = PC_PF_BSDIFF40;
    else
        ok = false;
    return ok;
}

/* Whether the patch at path turns j's old file into its new one (applied
 * into a file beside it, removed at once: mode 1 maps its output). */
static bool patch_applies(const job *j, const char *path)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.verify", path) >= sizeof tmp)
        return false;
    pc_patch_expect ex = {.has_size = true, .new_size = j->to_size, .has_sha = true,
                          .no_sync = true}; /* a check, unlinked at once */
    memcpy(ex.new_sha256, j->to, 32);
    pc_err scratch = {0};
    bool ok = pc_patch_apply_file(j->from_file, path, tmp, &ex, &scratch) == PC_OK;
    if (ok)
        unlink(tmp);
    return ok;
}

bool build_patch_in_site(builder *b, job *j)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(j->from, j->to, rel);
    char *path = pc_site_file(&b->site, rel);
    uint64_t n = 0;
    bool ok = path && patch_applies(j, path) && format_of(path, &j->format) &&
              pc_sha256_file(path, j->patch_sha, &n) == PC_OK;
    if (ok)
        j->patch_size = n;
    free(path);
    return ok;
}

static void run_job(builder *b, job *j)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(j->from, j->to, rel);
    char *path = pc_site_file(&b->site, rel);
    if (path == NULL) {
        pc_fail(&j->err, PC_ERR_NOMEM, "out of memory");
        return;
    }
    if (pc_site_mkdirs(&b->site, rel, &j->err) != PC_OK)
        goto out;
    struct stat sb;
    if (b->o->source) {
        const pc_build_source *src = b->o->source;
        if (src->patch(src->ud, j->from, j->to, path, &j->err) != PC_OK)
            goto out;
        if (stat(path, &sb) != 0 || !format_of(path, &j->format)) {
            pc_fail(&j->err, PC_ERR_FORMAT, "%s: not a patch (no pcz or BSDIFF40 magic)", path);
            goto out;
        }
        j->patch_size = (uint64_t)sb.st_size;
        j->ok = true;
        goto out;
    }
    /* Reuse an existing patch only if it really produces the target. */
    if (stat(path, &sb) == 0 && patch_applies(j, path)) {
        j->patch_size = (uint64_t)sb.st_size;
        j->ok = j->reused = true;
        /* pcz of either version; the rest applied, so it is BSDIFF40 */
        if (!format_of(path, &j->format))
            j->format = PC_PF_BSDIFF40;
        goto out;
    }
    pc_diff_format fmt = b->o->cfg->patch_format == PC_PATCH_PCZ ? PC_DIFF_PCZ : PC_DIFF_BSDIFF40;
    if (pc_diff_files(j->from_file, j->to_file, path, fmt, NULL,
                      &j->patch_size, &j->err) == PC_OK) {
        j->ok = true;
        j->format = fmt == PC_DIFF_PCZ ? PC_PF_PCZ : PC_PF_BSDIFF40;
    }
out:
    /* The hash clients check the patch file by before they read it. */
    if (j->ok) {
        uint64_t n = 0;
        if (pc_sha256_file(path, j->patch_sha, &n) != PC_OK || n != j->patch_size) {
            j->ok = false;
            pc_fail(&j->err, PC_ERR_IO, "%s: could not hash the patch", path);
        }
    }
    free(path);
}

/* The pool runs the jobs biggest first: order[] holds their indices. */
typedef struct diffs {
    builder *b;
    const size_t *order;
} diffs;

static uint64_t diff_need(void *ud, size_t i)
{
    const diffs *d = ud;
    return d->b->o->source ? 1u << 20 : build_job_mem(&d->b->jobs[d->order[i]]);
}

static void diff_run(void *ud, size_t i)
{
    const diffs *d = ud;
    run_job(d->b, &d->b->jobs[d->order[i]]);
}

static void diff_done(void *ud, size_t i, size_t ndone)
{
    const diffs *d = ud;
    builder *b = d->b;
    const job *j = &b->jobs[d->order[i]];
    if (!b->o->quiet) {
        const char *name = strrchr(j->to_file, '/');
        fprintf(stderr, "[%zu/%zu patches] %s: %llu -> %llu bytes%s\n", ndone, b->njobs,
                name ? name + 1 : j->to_file, (unsigned long long)j->to_size,
                (unsigned long long)j->patch_size,
                j->reused ? " (reused)" : b->o->source ? " (from the store)" : "");
    }
}

static int cmp_job_size(const void *a, const void *c, void *ctx)
{
    const job *jobs = ctx;
    const job *x = &jobs[*(const size_t *)a], *y = &jobs[*(const size_t *)c];
    uint64_t sx = x->from_size + x->to_size, sy = y->from_size + y->to_size;
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

pc_status build_run_jobs(builder *b)
{
    if (b->njobs == 0)
        return PC_OK;
    const pc_config *cfg = b->o->cfg;
    size_t *order = malloc(b->njobs * sizeof *order);
    if (order == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < b->njobs; i++)
        order[i] = i;
    qsort_r(order, b->njobs, sizeof *order, cmp_job_size, b->jobs);
    diffs d = {.b = b, .order = order};
    pc_jobs_run(&(pc_jobs){.n = b->njobs, .workers = cfg->workers, .budget = cfg->memory_budget,
                           .need = diff_need, .run = diff_run, .done = diff_done, .ud = &d});
    free(order);
    for (size_t i = 0; i < b->njobs; i++) {
        if (!b->jobs[i].ok)
            return pc_fail(b->e, b->jobs[i].err.code ? b->jobs[i].err.code : PC_ERR_INTERNAL,
                           "diff %s -> %s: %s", b->jobs[i].from_file, b->jobs[i].to_file,
                           b->jobs[i].err.msg);
        if (b->jobs[i].reused)
            b->res->patches_reused++;
        else
            b->res->diffs_computed++;
    }
    return PC_OK;
}
