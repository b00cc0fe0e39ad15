/* build_work.c — the work of a build listed instead of done (a sharded
 * build's plan): the releases' trees, the edges, each object to compress
 * and each patch to diff, with what the site already has marked. */
#include "build_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "objpack.h"
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
    w->tasks = calloc(nfiles + b.njobs + 1, sizeof *w->tasks);
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
