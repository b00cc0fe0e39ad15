/* build.c — the site build pipeline: scan releases, write objects and
 * manifests, compute the edges' patches (in parallel, under a memory
 * budget), write delta documents, then repo.json and its signature last. */
#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "difffiles.h"
#include "fileio.h"
#include "hex.h"
#include "jsonv.h"
#include "meta.h"
#include "page.h"
#include "patch.h"
#include "pcz.h"
#include "path.h"
#include "semver.h"
#include "sha256.h"
#include "site.h"
#include "sufsort.h"
#include "tree.h"

typedef struct rel {
    char *name;
    char *dir;
    pc_tree tree;
    pc_manifest man;
    pc_hashref man_ref;
    uint64_t full_bytes, files;
    char *notes;
    const char *parent;
    bool prerelease;
    int64_t released;
} rel;

typedef struct job {
    uint8_t from[32], to[32];
    char *from_file, *to_file; /* on disk, inside RELEASES */
    uint64_t from_size, to_size;
    uint64_t patch_size;       /* result */
    pc_patch_fmt format;       /* of the patch file, by its magic */
    bool ok, reused;
    pc_err err;
} job;

typedef struct builder {
    const pc_build_opts *o;
    pc_err *e;
    pc_site site;
    rel *v;
    size_t nv;
    job *jobs;
    size_t njobs, capjobs;
    pc_build_result *res;
    /* worker pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_job;           /* into order[] */
    size_t done_jobs;
    size_t *order;             /* job indices, biggest first */
    uint64_t mem_in_use, mem_budget;
    unsigned running;
} builder;

static int cmp_rel(const void *a, const void *b)
{
    return pc_semver_cmp(((const rel *)a)->name, ((const rel *)b)->name);
}

/* ---- 1. versions ------------------------------------------------------------ */

static pc_status find_versions(builder *b)
{
    DIR *d = opendir(b->o->releases);
    if (d == NULL)
        return pc_fail(b->e, errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO, "releases folder %s: %s",
                       b->o->releases, strerror(errno));
    pc_status st = PC_OK;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *path = pc_path_join(b->o->releases, de->d_name);
        struct stat sb;
        if (path == NULL) {
            st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            size_t l = strlen(de->d_name);
            bool notes = l > 3 && !strcmp(de->d_name + l - 3, ".md");
            free(path);
            if (notes)
                continue;
            st = pc_fail(b->e, PC_ERR_INVALID,
                         "%s/%s: not a release folder (expected RELEASES/<version>/ folders and "
                         "optional <version>.md notes)",
                         b->o->releases, de->d_name);
            break;
        }
        if (!pc_version_name_ok(de->d_name)) {
            st = pc_fail(b->e, PC_ERR_INVALID,
                         "%s: '%s' is not a version name (letters, digits, '.', '+', '_', '-'; "
                         "starting with a letter or digit; at most 64)",
                         path, de->d_name);
            free(path);
            break;
        }
        if (b->nv == cap) {
            cap = cap ? cap * 2 : 16;
            rel *p = realloc(b->v, cap * sizeof *p);
            if (p == NULL) {
                free(path);
                st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
                break;
            }
            b->v = p;
        }
        rel *r = &b->v[b->nv++];
        memset(r, 0, sizeof *r);
        r->dir = path;
        if ((r->name = strdup(de->d_name)) == NULL) {
            st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        r->prerelease = pc_semver_is_prerelease(r->name);
    }
    closedir(d);
    if (st == PC_OK && b->nv == 0)
        st = pc_fail(b->e, PC_ERR_INVALID, "%s: no release folders found", b->o->releases);
    if (st == PC_OK)
        qsort(b->v, b->nv, sizeof *b->v, cmp_rel);
    return st;
}

static rel *find_rel(builder *b, const char *name)
{
    for (size_t i = 0; i < b->nv; i++)
        if (!strcmp(b->v[i].name, name))
            return &b->v[i];
    return NULL;
}

static pc_status read_notes(builder *b, rel *r)
{
    const pc_version_cfg *vc = pc_config_version(b->o->cfg, r->name);
    if (vc && vc->notes)
        return (r->notes = strdup(vc->notes)) ? PC_OK : pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    char *p = malloc(strlen(r->dir) + 4);
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    sprintf(p, "%s.md", r->dir);
    size_t len;
    pc_status st = pc_read_file(p, PC_NOTES_MAX, &r->notes, &len, b->e);
    free(p);
    if (st == PC_ERR_NOT_FOUND) {
        pc_err_clear(b->e);
        return PC_OK;
    }
    return st;
}

/* ---- 2. objects and manifests ----------------------------------------------- */

static pc_status build_manifest(builder *b, rel *r)
{
    const pc_config *cfg = b->o->cfg;
    pc_status st = pc_tree_scan(r->dir, &r->tree, b->e);
    if (st != PC_OK)
        return st;
    r->man.product = cfg->product;
    r->man.version = r->name;
    r->man.files = calloc(r->tree.n ? r->tree.n : 1, sizeof *r->man.files);
    if (r->man.files == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->tree.n; i++) {
        const pc_tree_entry *t = &r->tree.entries[i];
        pc_file_entry *f = &r->man.files[r->man.nfiles++];
        f->path = t->path; /* borrowed from the tree */
        f->type = t->type == PC_ENTRY_FILE ? PC_FT_FILE
                  : t->type == PC_ENTRY_DIR ? PC_FT_DIR
                                            : PC_FT_SYMLINK;
        f->target = t->target;
        if (f->type != PC_FT_FILE)
            continue;
        f->size = t->size;
        f->mode = t->mode;
        memcpy(f->sha256, t->sha256, 32);
        if (pc_config_match(cfg->critical_files, cfg->ncritical, f->path))
            f->flags |= PC_FLAG_CRITICAL;
        if (pc_config_match(cfg->hot_swap_modules, cfg->nhot, f->path))
            f->flags |= PC_FLAG_HOT;
        for (size_t m = 0; m < cfg->nmodules && (f->flags & PC_FLAG_HOT); m++)
            if (!strcmp(cfg->modules[m].name, f->path)) {
                f->depends = cfg->modules[m].depends; /* borrowed */
                f->ndepends = cfg->modules[m].ndepends;
            }
        char *src = pc_path_join(r->dir, f->path);
        bool reused;
        if (src == NULL)
            return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        st = pc_site_object(&b->site, src, f->sha256, f->size, cfg->object_level,
                            &f->object_size, &reused, b->e);
        free(src);
        if (st != PC_OK)
            return st;
        if (reused)
            b->res->objects_reused++;
        else
            b->res->objects_written++;
        r->full_bytes += f->object_size;
        r->files++;
    }
    char *text;
    size_t len;
    st = pc_manifest_write(&r->man, &text, &len, b->e);
    if (st != PC_OK)
        return pc_fail_prefix(b->e, "version %s: ", r->name);
    pc_sha256(text, len, r->man_ref.sha256);
    r->man_ref.size = len;
    char relp[PC_SITE_PATH_MAX];
    pc_site_manifest_path(r->man_ref.sha256, relp);
    bool written;
    st = pc_site_put(&b->site, relp, text, len, &written, b->e);
    free(text);
    return st;
}

/* ---- 3. edges and patches ----------------------------------------------------- */

typedef struct edge_plan {
    rel *from, *to;
    size_t *jobs;          /* job index per planned patch */
    size_t *files;         /* target file index per planned patch */
    size_t n;
    pc_delta delta;
    pc_hashref ref;
    uint64_t bytes;
    unsigned objects;
} edge_plan;

static bool has_content(const rel *r, const uint8_t sha[32])
{
    for (size_t i = 0; i < r->man.nfiles; i++)
        if (r->man.files[i].type == PC_FT_FILE && !memcmp(r->man.files[i].sha256, sha, 32))
            return true;
    return false;
}

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

static pc_status add_job(builder *b, const rel *from, const pc_file_entry *s, const rel *to,
                         const pc_file_entry *t, size_t *idx)
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
    j->from_file = pc_path_join(from->dir, s->path);
    j->to_file = pc_path_join(to->dir, t->path);
    if (!j->from_file || !j->to_file) {
        free(j->from_file);
        free(j->to_file);
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    }
    *idx = b->njobs++;
    return PC_OK;
}

static pc_status plan_edge(builder *b, edge_plan *ep)
{
    const pc_manifest *tm = &ep->to->man;
    ep->jobs = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *ep->jobs);
    ep->files = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *ep->files);
    if (!ep->jobs || !ep->files)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < tm->nfiles; i++) {
        const pc_file_entry *t = &tm->files[i];
        if (t->type != PC_FT_FILE || has_content(ep->from, t->sha256))
            continue;
        const pc_file_entry *s = t->size > 0 ? source_for(ep->from, t) : NULL;
        if (s == NULL || s->size == 0)
            continue;
        pc_status st = add_job(b, ep->from, s, ep->to, t, &ep->jobs[ep->n]);
        if (st != PC_OK)
            return st;
        ep->files[ep->n++] = i;
    }
    return PC_OK;
}

/* A diff's memory (pc_diff_compute, bsdiff.h): old and its suffix array, 4 bytes an entry
 * (and the segments' overlaps over 512 MiB), twice new, a little more. */
static uint64_t job_mem(const job *j)
{
    int64_t stride, k = 1;
    if (j->from_size > 0)
        k = pc_sa_segments((int64_t)j->from_size, pc_sa_seg_max, pc_sa_seg_overlap, &stride);
    return j->from_size * 5 + (uint64_t)(k - 1) * (uint64_t)pc_sa_seg_overlap * 4 +
           j->to_size * 2 + (1u << 20);
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
    /* Reuse an existing patch only if it really produces the target. */
    struct stat sb;
    if (stat(path, &sb) == 0) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.verify", path);
        pc_patch_expect ex = {.has_size = true, .new_size = j->to_size, .has_sha = true,
                              .no_sync = true}; /* a check, unlinked at once */ 
        memcpy(ex.new_sha256, j->to, 32);
        pc_err scratch = {0};
        if (pc_patch_apply_file(j->from_file, path, tmp, &ex, &scratch) == PC_OK) {
            unlink(tmp);
            j->patch_size = (uint64_t)sb.st_size;
            j->ok = j->reused = true;
            FILE *pf = fopen(path, "rb");
            char magic[4] = {0};
            if (pf) {
                if (fread(magic, 1, 4, pf) != 4)
                    magic[0] = 0;
                fclose(pf);
            }
            /* pcz of either version; the rest applied, so it is BSDIFF40 */
            j->format = memcmp(magic, PC_PCZ1_MAGIC, 4) == 0 || memcmp(magic, PC_PCZ2_MAGIC, 4) == 0
                            ? PC_PF_PCZ
                            : PC_PF_BSDIFF40;
            goto out;
        }
    }
    pc_diff_format fmt = b->o->cfg->patch_format == PC_PATCH_PCZ ? PC_DIFF_PCZ : PC_DIFF_BSDIFF40;
    if (pc_diff_files(j->from_file, j->to_file, path, fmt, NULL,
                      &j->patch_size, &j->err) == PC_OK) {
        j->ok = true;
        j->format = fmt == PC_DIFF_PCZ ? PC_PF_PCZ : PC_PF_BSDIFF40;
    }
out:
    free(path);
}

static void *worker(void *arg)
{
    builder *b = arg;
    pthread_mutex_lock(&b->mu);
    while (b->next_job < b->njobs) {
        size_t mine = b->next_job;
        job *j = &b->jobs[b->order[mine]];
        uint64_t need = job_mem(j);
        /* Wait for room in the budget; a job bigger than the budget runs alone. */
        while (b->running > 0 && b->mem_in_use + need > b->mem_budget)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->next_job != mine)
            continue; /* another worker took it meanwhile */
        b->next_job++;
        b->running++;
        b->mem_in_use += need;
        pthread_mutex_unlock(&b->mu);
        run_job(b, j);
        pthread_mutex_lock(&b->mu);
        b->done_jobs++;
        if (!b->o->quiet) {
            const char *name = strrchr(j->to_file, '/');
            fprintf(stderr, "[%zu/%zu patches] %s: %llu -> %llu bytes%s\n", b->done_jobs, b->njobs,
                    name ? name + 1 : j->to_file, (unsigned long long)j->to_size,
                    (unsigned long long)j->patch_size, j->reused ? " (reused)" : "");
        }
        b->running--;
        b->mem_in_use -= need;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static int cmp_job_size(const void *a, const void *c, void *ctx)
{
    const job *jobs = ctx;
    const job *x = &jobs[*(const size_t *)a], *y = &jobs[*(const size_t *)c];
    uint64_t sx = x->from_size + x->to_size, sy = y->from_size + y->to_size;
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

static pc_status run_jobs(builder *b)
{
    if (b->njobs == 0)
        return PC_OK;
    const pc_config *cfg = b->o->cfg;
    unsigned workers = cfg->workers ? cfg->workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    b->mem_budget = cfg->memory_budget;
    if (b->mem_budget == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        b->mem_budget = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / 2 : 1ull << 30;
    }
    b->order = malloc(b->njobs * sizeof *b->order);
    if (b->order == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < b->njobs; i++)
        b->order[i] = i;
    qsort_r(b->order, b->njobs, sizeof *b->order, cmp_job_size, b->jobs);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    pthread_t *th = calloc(workers, sizeof *th);
    unsigned started = 0;
    if (th)
        for (; started < workers; started++)
            if (pthread_create(&th[started], NULL, worker, b) != 0)
                break;
    if (started == 0)
        worker(b);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    free(b->order);
    b->order = NULL;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
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

/* Choose per file: the patch if it pays off, else the object. */
static pc_status finish_edge(builder *b, edge_plan *ep)
{
    const pc_config *cfg = b->o->cfg;
    const pc_manifest *tm = &ep->to->man;
    ep->delta.from = ep->from->name;
    ep->delta.to = ep->to->name;
    ep->delta.patches = calloc(ep->n ? ep->n : 1, sizeof *ep->delta.patches);
    if (ep->delta.patches == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    bool *patched = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *patched);
    if (patched == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < ep->n; k++) {
        const job *j = &b->jobs[ep->jobs[k]];
        const pc_file_entry *t = &tm->files[ep->files[k]];
        if ((double)j->patch_size > cfg->fallback_threshold * (double)t->object_size ||
            j->patch_size > cfg->max_patch_size)
            continue;
        bool dup = false;
        for (size_t q = 0; q < ep->delta.npatches && !dup; q++)
            dup = !memcmp(ep->delta.patches[q].from, j->from, 32) &&
                  !memcmp(ep->delta.patches[q].to, j->to, 32);
        patched[ep->files[k]] = true;
        if (dup)
            continue;
        pc_patch_ref *p = &ep->delta.patches[ep->delta.npatches++];
        p->path = t->path;
        memcpy(p->from, j->from, 32);
        memcpy(p->to, j->to, 32);
        p->size = j->patch_size;
        p->format = j->format;
        ep->bytes += j->patch_size;
    }
    /* Objects for what has neither a local copy nor a patch (each content once). */
    for (size_t i = 0; i < tm->nfiles; i++) {
        const pc_file_entry *t = &tm->files[i];
        if (t->type != PC_FT_FILE || patched[i] || has_content(ep->from, t->sha256))
            continue;
        bool seen = false;
        for (size_t q = 0; q < i && !seen; q++)
            seen = tm->files[q].type == PC_FT_FILE && !patched[q] &&
                   !memcmp(tm->files[q].sha256, t->sha256, 32);
        if (seen)
            continue;
        ep->bytes += t->object_size;
        ep->objects++;
    }
    free(patched);
    char *text;
    size_t len;
    pc_status st = pc_delta_write(&ep->delta, &text, &len, b->e);
    if (st != PC_OK)
        return st;
    pc_sha256(text, len, ep->ref.sha256);
    ep->ref.size = len;
    char relp[PC_SITE_PATH_MAX];
    pc_site_delta_path(ep->ref.sha256, relp);
    bool written;
    st = pc_site_put(&b->site, relp, text, len, &written, b->e);
    free(text);
    return st;
}

/* ---- 4. channels, edges list ----------------------------------------------- */

static bool in_channel(const builder *b, const rel *r, const pc_channel_cfg *c)
{
    const pc_version_cfg *vc = pc_config_version(b->o->cfg, r->name);
    if (vc && vc->channels) {
        for (size_t i = 0; i < vc->nchannels; i++)
            if (!strcmp(vc->channels[i], c->name))
                return true;
        return false;
    }
    return !r->prerelease || c->prereleases;
}

static pc_status add_edge(builder *b, edge_plan **eps, size_t *n, rel *from, rel *to)
{
    for (size_t i = 0; i < *n; i++)
        if ((*eps)[i].from == from && (*eps)[i].to == to)
            return PC_OK;
    edge_plan *p = realloc(*eps, (*n + 1) * sizeof *p);
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    *eps = p;
    memset(&p[*n], 0, sizeof *p);
    p[*n].from = from;
    p[*n].to = to;
    (*n)++;
    return PC_OK;
}

static void free_edge(edge_plan *ep)
{
    free(ep->jobs);
    free(ep->files);
    free(ep->delta.patches);
}

/* ---- 5. repo.json ---------------------------------------------------------- */

static pc_status load_previous(builder *b, pc_repo **prev)
{
    *prev = NULL;
    char *p = pc_site_file(&b->site, "repo.json");
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    char *text;
    size_t len;
    pc_err scratch = {0};
    if (pc_read_file(p, PC_REPO_MAX_BYTES, &text, &len, &scratch) == PC_OK) {
        if (pc_repo_parse(text, len, prev, &scratch) != PC_OK && !b->o->quiet)
            fprintf(stderr, "warning: %s is not a valid repo.json (%s); starting at serial 1\n", p,
                    scratch.msg);
        free(text);
    }
    free(p);
    return PC_OK;
}

static pc_status write_repo(builder *b, edge_plan *eps, size_t neps, const pc_repo *prev)
{
    const pc_config *cfg = b->o->cfg;
    int64_t now = b->o->now ? b->o->now : (int64_t)time(NULL);
    pc_repo r = {0};
    r.product = cfg->product;
    r.serial = prev ? prev->serial + 1 : 1;
    r.created = now;
    r.expires = now + (int64_t)cfg->expires_seconds;
    r.max_patch_chain_length = cfg->max_patch_chain_length;
    r.fallback_threshold = cfg->fallback_threshold;
    r.versions = calloc(b->nv, sizeof *r.versions);
    r.channels = calloc(cfg->nchannels ? cfg->nchannels : 1, sizeof *r.channels);
    r.edges = calloc(neps ? neps : 1, sizeof *r.edges);
    pc_status st = PC_OK;
    if (!r.versions || !r.channels || !r.edges) {
        st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->nv; i++) {
        rel *v = &b->v[i];
        pc_version_info *vi = &r.versions[r.nversions++];
        vi->name = v->name;
        vi->parent = (char *)v->parent;
        const pc_version_info *old = prev ? pc_repo_version(prev, v->name, NULL) : NULL;
        vi->released = old ? old->released : now;
        vi->manifest = v->man_ref;
        vi->full_bytes = v->full_bytes;
        vi->files = v->files;
        vi->notes = v->notes;
    }
    for (size_t c = 0; c < cfg->nchannels; c++) {
        const rel *newest = NULL;
        for (size_t i = 0; i < b->nv; i++)
            if (in_channel(b, &b->v[i], &cfg->channels[c]))
                newest = &b->v[i];
        if (newest) {
            r.channels[r.nchannels].name = cfg->channels[c].name;
            r.channels[r.nchannels++].version = newest->name;
        }
    }
    for (size_t i = 0; i < neps; i++) {
        pc_edge *ed = &r.edges[r.nedges++];
        ed->from = eps[i].from->name;
        ed->to = eps[i].to->name;
        ed->bytes = eps[i].bytes;
        ed->delta = eps[i].ref;
    }
    char *text = NULL, *sig = NULL;
    size_t len;
    if ((st = pc_repo_write(&r, &text, &len, b->e)) != PC_OK)
        goto out;
    char tc[300], exp[21];
    pc_format_time(r.expires, exp);
    snprintf(tc, sizeof tc, "patchcast-repo serial:%llu product:%s expires:%s",
             (unsigned long long)r.serial, r.product, exp);
    if ((st = pc_sign_buffer(b->o->key, text, len, tc, "signature from patchcast-gen", &sig,
                             b->e)) != PC_OK)
        goto out_text;
    char *rp = pc_site_file(&b->site, "repo.json");
    char *sp = pc_site_file(&b->site, "repo.json.minisig");
    if (!rp || !sp)
        st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    /* The signature first: a client that reads the pair in between sees a
     * mismatch and retries, never an unsigned document. */
    if (st == PC_OK)
        st = pc_write_file_atomic(sp, sig, strlen(sig), 0644, b->e);
    if (st == PC_OK)
        st = pc_write_file_atomic(rp, text, len, 0644, b->e);
    free(rp);
    free(sp);
    b->res->serial = r.serial;
    if (st == PC_OK)
        st = pc_page_write(b->site.root, &r, b->o->key, tc, b->e);
out_text:
    free(text);
    free(sig);
out:
    free(r.versions);
    free(r.channels);
    free(r.edges);
    return st;
}

/* ---- the pipeline --------------------------------------------------------- */

static void progress(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(builder *b, const char *fmt, ...)
{
    if (b->o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

pc_status pc_build(const pc_build_opts *o, pc_build_result *res, pc_err *e)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(res, 0, sizeof *res);
    builder b = {.o = o, .e = e, .res = res};
    edge_plan *eps = NULL;
    size_t neps = 0;
    pc_repo *prev = NULL;
    pc_status st;
    if (o->cfg->product == NULL)
        return pc_fail(e, PC_ERR_INVALID, "no product name (set \"product\" in the config)");
    if ((st = find_versions(&b)) != PC_OK || (st = pc_site_open(&b.site, o->site, e)) != PC_OK)
        goto out;
    if ((st = load_previous(&b, &prev)) != PC_OK)
        goto out;
    for (size_t i = 0; i < b.nv; i++) {
        rel *r = &b.v[i];
        progress(&b, "scanning %s\n", r->dir);
        if ((st = read_notes(&b, r)) != PC_OK || (st = build_manifest(&b, r)) != PC_OK)
            goto out;
        const pc_version_cfg *vc = pc_config_version(o->cfg, r->name);
        if (vc && vc->parent) {
            if (find_rel(&b, vc->parent) == NULL) {
                st = pc_fail(e, PC_ERR_INVALID, "config: versions.%s.parent: no release %s",
                             r->name, vc->parent);
                goto out;
            }
            r->parent = vc->parent;
        } else if (i > 0) {
            r->parent = b.v[i - 1].name;
        }
    }
    /* Edges: parent -> version, and skip edges to each channel's newest. */
    for (size_t i = 0; i < b.nv; i++)
        if (b.v[i].parent && (st = add_edge(&b, &eps, &neps, find_rel(&b, b.v[i].parent),
                                            &b.v[i])) != PC_OK)
            goto out;
    for (size_t c = 0; c < o->cfg->nchannels; c++) {
        const pc_channel_cfg *ch = &o->cfg->channels[c];
        size_t members[256], nm = 0;
        for (size_t i = 0; i < b.nv; i++)
            if (in_channel(&b, &b.v[i], ch)) {
                if (nm == 256)
                    memmove(members, members + 1, sizeof members - sizeof members[0]), nm--;
                members[nm++] = i;
            }
        if (nm < 2)
            continue;
        rel *newest = &b.v[members[nm - 1]];
        for (size_t k = 1; k <= o->cfg->skip_edges && k < nm; k++)
            if ((st = add_edge(&b, &eps, &neps, &b.v[members[nm - 1 - k]], newest)) != PC_OK)
                goto out;
    }
    for (size_t i = 0; i < neps; i++)
        if ((st = plan_edge(&b, &eps[i])) != PC_OK)
            goto out;
    progress(&b, "computing %zu patches for %zu edges\n", b.njobs, neps);
    if ((st = run_jobs(&b)) != PC_OK)
        goto out;
    res->edges = calloc(neps ? neps : 1, sizeof *res->edges);
    if (res->edges == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < neps; i++) {
        if ((st = finish_edge(&b, &eps[i])) != PC_OK)
            goto out;
        pc_build_edge_stat *s = &res->edges[res->nedges++];
        snprintf(s->from, sizeof s->from, "%s", eps[i].from->name);
        snprintf(s->to, sizeof s->to, "%s", eps[i].to->name);
        s->bytes = eps[i].bytes;
        s->full_bytes = eps[i].to->full_bytes;
        s->patches = (unsigned)eps[i].delta.npatches;
        s->objects = eps[i].objects;
        progress(&b, "edge %s -> %s: %u patches, %u whole files, %llu bytes (full %llu)\n",
                 s->from, s->to, s->patches, s->objects, (unsigned long long)s->bytes,
                 (unsigned long long)s->full_bytes);
    }
    if ((st = write_repo(&b, eps, neps, prev)) != PC_OK)
        goto out;
    res->versions = (unsigned)b.nv;
out:
    for (size_t i = 0; i < neps; i++)
        free_edge(&eps[i]);
    free(eps);
    for (size_t i = 0; i < b.njobs; i++) {
        free(b.jobs[i].from_file);
        free(b.jobs[i].to_file);
    }
    free(b.jobs);
    for (size_t i = 0; i < b.nv; i++) {
        free(b.v[i].man.files); /* entries borrow from the tree and config */
        pc_tree_free(&b.v[i].tree);
        free(b.v[i].name);
        free(b.v[i].dir);
        free(b.v[i].notes);
    }
    free(b.v);
    pc_repo_free(prev);
    pc_site_close(&b.site);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (st != PC_OK) {
        free(res->edges);
        res->edges = NULL;
        res->nedges = 0;
    }
    return st;
}

void pc_build_result_free(pc_build_result *r)
{
    free(r->edges);
    r->edges = NULL;
}
