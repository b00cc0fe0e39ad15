/* build.c — the site build pipeline: scan releases and write objects and
 * manifests (build_release.c), choose the edges, compute their patches
 * (build_patch.c), write delta documents, then repo.json and its signature
 * last (build_docs.c). */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_int.h"

/* ---- edges --------------------------------------------------------------- */

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
    build_free_release(ep);
}

/* ---- the config's versions ------------------------------------------------ */

/* An entry of the config's "versions" with release settings names a
 * release, and so does its minimum_version: a typo would otherwise leave a
 * version silently not withdrawn. (Entries with only parent, notes or
 * channels for a release no longer there are ignored, as they always were.)
 * Before any work is done. */
pc_status build_check_version_cfgs(builder *b)
{
    const pc_config *cfg = b->o->cfg;
    for (size_t i = 0; i < cfg->nversions; i++) {
        const pc_version_cfg *vc = &cfg->versions[i];
        const pc_release_policy *r = &vc->release;
        bool settings = r->has_rollout || r->withdrawn || r->withdrawn_reason || r->critical ||
                        r->minimum_version;
        if (settings && build_find_rel(b, vc->name) == NULL)
            return pc_fail(b->e, PC_ERR_INVALID,
                           "config: versions.%s: no release %s in %s for its release settings",
                           vc->name, vc->name, b->o->releases ? b->o->releases : "the plan");
        const char *min = r->minimum_version;
        if (min && build_find_rel(b, min) == NULL)
            return pc_fail(b->e, PC_ERR_INVALID,
                           "config: versions.%s.minimum_version: no release %s", vc->name, min);
    }
    return PC_OK;
}

static bool withdrawn(const builder *b, const rel *r)
{
    const pc_version_cfg *vc = pc_config_version(b->o->cfg, r->name);
    return vc && vc->release.withdrawn;
}

/* A channel still names its newest version when that is withdrawn; clients
 * then fall back along the parents to the newest one not withdrawn. Legal,
 * but worth a warning: the publisher may have meant to withdraw an older one. */
static void warn_withdrawn_heads(builder *b)
{
    const pc_config *cfg = b->o->cfg;
    for (size_t c = 0; c < cfg->nchannels && !b->o->quiet; c++) {
        const rel *head = NULL;
        for (size_t i = 0; i < b->nv; i++)
            if (build_in_channel(b, &b->v[i], &cfg->channels[c]))
                head = &b->v[i];
        if (head == NULL || !withdrawn(b, head))
            continue;
        const rel *to = head;
        for (size_t hops = 0; to && withdrawn(b, to) && hops <= b->nv; hops++)
            to = to->parent ? build_find_rel(b, to->parent) : NULL;
        if (to && !withdrawn(b, to))
            fprintf(stderr,
                    "warning: channel %s: its newest version %s is withdrawn; clients fall back "
                    "to %s, its newest ancestor that is not\n",
                    cfg->channels[c].name, head->name, to->name);
        else
            fprintf(stderr,
                    "warning: channel %s: its newest version %s is withdrawn and so are all its "
                    "ancestors; clients have no version to fall back to\n",
                    cfg->channels[c].name, head->name);
    }
}

/* ---- the pipeline -------------------------------------------------------- */

void build_progress(builder *b, const char *fmt, ...)
{
    if (b->o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

pc_status build_prepare(builder *b, edge_plan **eps, size_t *neps, bool objects)
{
    const pc_build_opts *o = b->o;
    pc_status st;
    for (size_t i = 0; i < b->nv; i++) {
        rel *r = &b->v[i];
        if (r->dir)
            build_progress(b, "scanning %s\n", r->dir);
        if ((st = build_read_notes(b, r)) != PC_OK || (st = build_scan(b, r)) != PC_OK ||
            (objects && (st = build_objects(b, r)) != PC_OK))
            return st;
        const pc_version_cfg *vc = pc_config_version(o->cfg, r->name);
        if (vc && vc->parent) {
            if (build_find_rel(b, vc->parent) == NULL)
                return pc_fail(b->e, PC_ERR_INVALID, "config: versions.%s.parent: no release %s",
                               r->name, vc->parent);
            r->parent = vc->parent;
        } else if (i > 0) {
            r->parent = b->v[i - 1].name;
        }
    }
    warn_withdrawn_heads(b);
    /* Edges: parent -> version, and skip edges to each channel's newest. */
    for (size_t i = 0; i < b->nv; i++)
        if (b->v[i].parent && (st = add_edge(b, eps, neps, build_find_rel(b, b->v[i].parent),
                                             &b->v[i])) != PC_OK)
            return st;
    for (size_t c = 0; c < o->cfg->nchannels; c++) {
        const pc_channel_cfg *ch = &o->cfg->channels[c];
        size_t members[256], nm = 0;
        for (size_t i = 0; i < b->nv; i++)
            if (build_in_channel(b, &b->v[i], ch)) {
                if (nm == 256)
                    memmove(members, members + 1, sizeof members - sizeof members[0]), nm--;
                members[nm++] = i;
            }
        if (nm < 2)
            continue;
        rel *newest = &b->v[members[nm - 1]];
        for (size_t k = 1; k <= o->cfg->skip_edges && k < nm; k++)
            if ((st = add_edge(b, eps, neps, &b->v[members[nm - 1 - k]], newest)) != PC_OK)
                return st;
    }
    for (size_t i = 0; i < *neps; i++)
        if ((st = build_plan_edge(b, &(*eps)[i], i)) != PC_OK)
            return st;
    return PC_OK;
}

void build_release_all(builder *b, edge_plan *eps, size_t neps)
{
    for (size_t i = 0; i < neps; i++)
        free_edge(&eps[i]);
    free(eps);
    for (size_t i = 0; i < b->njobs; i++) {
        free(b->jobs[i].from_file);
        free(b->jobs[i].to_file);
    }
    free(b->jobs);
    for (size_t i = 0; i < b->nv; i++) {
        free(b->v[i].man.files); /* entries borrow from the tree and config */
        if (b->v[i].dir)
            pc_tree_free(&b->v[i].tree);
        free(b->v[i].name);
        free(b->v[i].dir);
        free(b->v[i].notes);
    }
    free(b->v);
    build_free_trust(b);
    pc_site_close(&b->site);
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
    if ((st = build_find_versions(&b)) != PC_OK || (st = build_check_version_cfgs(&b)) != PC_OK ||
        (st = pc_site_open(&b.site, o->site, e)) != PC_OK)
        goto out;
    if ((st = build_load_previous(&b, &prev)) != PC_OK || (st = build_check_trust(&b)) != PC_OK ||
        (st = build_prepare(&b, &eps, &neps, true)) != PC_OK)
        goto out;
    build_progress(&b, "%s %zu patches for %zu edges\n", o->source ? "taking" : "computing", b.njobs,
             neps);
    if ((st = build_run_jobs(&b)) != PC_OK || (st = build_run_releases(&b, eps, neps, prev)) != PC_OK)
        goto out;
    res->edges = calloc(neps ? neps : 1, sizeof *res->edges);
    if (res->edges == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < neps; i++) {
        if ((st = build_finish_edge(&b, &eps[i])) != PC_OK)
            goto out;
        pc_build_edge_stat *s = &res->edges[res->nedges++];
        snprintf(s->from, sizeof s->from, "%s", eps[i].from->name);
        snprintf(s->to, sizeof s->to, "%s", eps[i].to->name);
        s->bytes = eps[i].bytes;
        s->full_bytes = eps[i].to->full_bytes;
        s->patches = (unsigned)eps[i].delta.npatches;
        s->objects = eps[i].objects;
        s->release_bytes = eps[i].delta.release ? eps[i].delta.release->size : 0;
        build_progress(&b, "edge %s -> %s: %u patches, %u whole files, %llu bytes (full %llu)\n",
                 s->from, s->to, s->patches, s->objects, (unsigned long long)s->bytes,
                 (unsigned long long)s->full_bytes);
    }
    if ((st = build_write_repo(&b, eps, neps, prev)) != PC_OK)
        goto out;
    res->versions = (unsigned)b.nv;
out:
    build_release_all(&b, eps, neps);
    pc_repo_free(prev);
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
