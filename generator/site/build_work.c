/* build_work.c — the work of a build listed instead of done (a sharded
 * build's plan): the releases' trees, the edges, each object to compress,
 * each patch to diff and each whole-release patch to make, with what the
 * site already has marked. */
#include "build_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "objpack.h"
#include "relpatch.h"
#include "sha256.h"

void pc_build_work_free(pc_build_work *w)
{
    for (size_t i = 0; i < w->nversions; i++) {
        free(w->versions[i].name);
        free(w->versions[i].notes);
        pc_tree_free(&w->versions[i].tree);
    }
    free(w->versions);
    free(w->edges);
    free(w->tasks);
    memset(w, 0, sizeof *w);
}

/* The first file of each content, in version order: 1 in first[k] for the
 * k-th regular file of all releases (counted in order) that is. */
typedef struct content_ref {
    const uint8_t *sha;
    size_t k;
} content_ref;

static int cmp_content(const void *a, const void *b)
{
    const content_ref *x = a, *y = b;
    int c = memcmp(x->sha, y->sha, 32);
    return c ? c : x->k < y->k ? -1 : x->k > y->k;
}

static pc_status object_tasks(builder *b, pc_build_work *w, size_t cap)
{
    size_t nfiles = 0;
    for (size_t i = 0; i < b->nv; i++)
        for (size_t f = 0; f < b->v[i].man.nfiles; f++)
            nfiles += b->v[i].man.files[f].type == PC_FT_FILE;
    content_ref *refs = malloc((nfiles ? nfiles : 1) * sizeof *refs);
    bool *first = calloc(nfiles ? nfiles : 1, sizeof *first);
    if (!refs || !first) {
        free(refs);
        free(first);
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < b->nv; i++)
        for (size_t f = 0; f < b->v[i].man.nfiles; f++)
            if (b->v[i].man.files[f].type == PC_FT_FILE) {
                refs[k].sha = b->v[i].man.files[f].sha256;
                refs[k].k = k;
                k++;
            }
    qsort(refs, nfiles, sizeof *refs, cmp_content);
    for (size_t q = 0; q < nfiles; q++)
        first[refs[q].k] = q == 0 || memcmp(refs[q].sha, refs[q - 1].sha, 32) != 0;
    free(refs);
    k = 0;
    pc_status st = PC_OK;
    for (size_t i = 0; i < b->nv && st == PC_OK; i++)
        for (size_t f = 0; f < b->v[i].man.nfiles && st == PC_OK; f++) {
            const pc_file_entry *fe = &b->v[i].man.files[f];
            if (fe->type != PC_FT_FILE || !first[k++])
                continue;
            if (w->ntasks == cap) {
                st = pc_fail(b->e, PC_ERR_INTERNAL, "more objects than files");
                break;
            }
            pc_build_task *t = &w->tasks[w->ntasks++];
            t->in = (pc_build_file){.version = i, .path = fe->path, .size = fe->size};
            memcpy(t->in.sha256, fe->sha256, 32);
            t->group = i;
            t->memory = pc_object_pack_memory(b->o->cfg->object_level, fe->size);
            if (b->site.root &&
                pc_site_object_check(&b->site, fe->sha256, fe->size, &t->site_size)) {
                char rel[PC_SITE_PATH_MAX];
                pc_site_object_path(fe->sha256, rel);
                char *p = pc_site_file(&b->site, rel);
                uint64_t n = 0;
                t->in_site = p && pc_sha256_file(p, t->site_sha256, &n) == PC_OK &&
                             n == t->site_size;
                free(p);
            }
        }
    free(first);
    return st;
}

static void patch_tasks(builder *b, pc_build_work *w)
{
    for (size_t i = 0; i < b->njobs; i++) {
        job *j = &b->jobs[i];
        pc_build_task *t = &w->tasks[w->ntasks++];
        t->patch = true;
        t->in = (pc_build_file){.version = j->from_v, .path = j->from_path, .size = j->from_size};
        memcpy(t->in.sha256, j->from, 32);
        t->to = (pc_build_file){.version = j->to_v, .path = j->to_path, .size = j->to_size};
        memcpy(t->to.sha256, j->to, 32);
        t->group = j->edge;
        t->memory = build_job_mem(j);
        if (b->site.root && build_patch_in_site(b, j)) {
            t->in_site = true;
            t->site_size = j->patch_size;
            memcpy(t->site_sha256, j->patch_sha, 32);
            t->site_format = j->format;
        }
    }
}

static int cmp_task_content(const void *a, const void *b)
{
    return memcmp((*(const pc_build_task *const *)a)->in.sha256,
                  (*(const pc_build_task *const *)b)->in.sha256, 32);
}

/* The hash of each release's manifest as the build will write it, for the
 * previous delta's release patch (build_release_wanted): known when the
 * site has every object of the release (their sizes and hashes are in the
 * manifest); zeros, matching no previous manifest, otherwise. */
static pc_status site_manifest_refs(builder *b, pc_build_work *w)
{
    size_t nobj = 0;
    while (nobj < w->ntasks && !w->tasks[nobj].patch)
        nobj++;
    const pc_build_task **idx = malloc((nobj ? nobj : 1) * sizeof *idx);
    if (idx == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nobj; i++)
        idx[i] = &w->tasks[i];
    qsort(idx, nobj, sizeof *idx, cmp_task_content);
    pc_status st = PC_OK;
    for (size_t v = 0; v < b->nv && st == PC_OK; v++) {
        rel *r = &b->v[v];
        bool all = true;
        for (size_t f = 0; f < r->man.nfiles && all; f++) {
            pc_file_entry *fe = &r->man.files[f];
            if (fe->type != PC_FT_FILE)
                continue;
            pc_build_task key = {0}, *kp = &key;
            memcpy(key.in.sha256, fe->sha256, 32);
            const pc_build_task **t = bsearch(&kp, idx, nobj, sizeof *idx, cmp_task_content);
            all = t && (*t)->in_site;
            if (all) {
                fe->object_size = (*t)->site_size;
                memcpy(fe->object_sha256, (*t)->site_sha256, 32);
            }
        }
        char *text = NULL;
        size_t len = 0;
        if (all && (st = pc_manifest_write(&r->man, &text, &len, b->e)) == PC_OK) {
            pc_sha256(text, len, r->man_ref.sha256);
            r->man_ref.size = len;
        }
        free(text);
    }
    free(idx);
    return st;
}

/* A task for each edge's whole-release patch a build would make. */
static pc_status release_tasks(builder *b, pc_build_work *w, edge_plan *eps, size_t neps)
{
    pc_repo *prev = NULL;
    pc_status st = PC_OK;
    if (b->o->cfg->no_release_patches)
        return PC_OK;
    if (b->site.root && ((st = site_manifest_refs(b, w)) != PC_OK ||
                         (st = build_load_previous(b, &prev)) != PC_OK))
        return st;
    uint64_t budget = build_release_budget(b);
    for (size_t i = 0; i < neps && st == PC_OK; i++) {
        edge_plan *ep = &eps[i];
        bool make = false;
        if ((st = build_release_wanted(b, ep, prev, budget, &make)) != PC_OK || !make)
            continue;
        pc_build_task *t = &w->tasks[w->ntasks++];
        t->release = true;
        t->in = (pc_build_file){.version = (size_t)(ep->from - b->v), .size = ep->rd->ref_size};
        t->to = (pc_build_file){.version = (size_t)(ep->to - b->v), .size = ep->rd->to_size};
        t->group = i;
        t->memory = pc_reldiff_memory(ep->rd);
    }
    pc_repo_free(prev);
    return st;
}

pc_status pc_build_plan(const pc_build_opts *o, pc_build_work *w, pc_err *e)
{
    memset(w, 0, sizeof *w);
    pc_build_result res = {0};
    builder b = {.o = o, .e = e, .res = &res};
    edge_plan *eps = NULL;
    size_t neps = 0;
    pc_status st;
    struct stat sb;
    if (o->cfg->product == NULL)
        return pc_fail(e, PC_ERR_INVALID, "no product name (set \"product\" in the config)");
    if (o->site && (stat(o->site, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_INVALID,
                       "site %s: not a folder", o->site);
    if (o->site && (b.site.root = strdup(o->site)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if ((st = build_find_versions(&b)) != PC_OK || (st = build_check_version_cfgs(&b)) != PC_OK ||
        (st = build_prepare(&b, &eps, &neps, false)) != PC_OK)
        goto out;
    size_t nfiles = 0;
    for (size_t i = 0; i < b.nv; i++)
        nfiles += b.v[i].man.nfiles;
    w->tasks = calloc(nfiles + b.njobs + neps + 1, sizeof *w->tasks);
    w->versions = calloc(b.nv, sizeof *w->versions);
    w->edges = calloc(neps ? neps : 1, sizeof *w->edges);
    if (!w->tasks || !w->versions || !w->edges) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < neps; i++) {
        w->edges[i][0] = (size_t)(eps[i].from - b.v);
        w->edges[i][1] = (size_t)(eps[i].to - b.v);
    }
    w->nedges = neps;
    if ((st = object_tasks(&b, w, nfiles)) != PC_OK)
        goto out;
    if (b.site.root && !o->quiet && b.njobs)
        build_progress(&b, "checking the site's %zu patches\n", b.njobs);
    patch_tasks(&b, w);
    if ((st = release_tasks(&b, w, eps, neps)) != PC_OK)
        goto out;
    /* The releases last: the tasks' paths borrow from their trees, which move. */
    for (size_t i = 0; i < b.nv; i++) {
        pc_build_release *r = &w->versions[w->nversions++];
        r->name = b.v[i].name;
        r->notes = b.v[i].notes;
        r->tree = b.v[i].tree;
        b.v[i].name = b.v[i].notes = NULL;
        memset(&b.v[i].tree, 0, sizeof b.v[i].tree);
    }
out:
    build_release_all(&b, eps, neps);
    if (st != PC_OK)
        pc_build_work_free(w);
    return st;
}
