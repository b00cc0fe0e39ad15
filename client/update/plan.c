/* plan.c — what an update has to fetch: the target's manifest, the cheapest
 * route of deltas from the installed version, and per file a local copy, a
 * patch chain from a local file, or the whole object (see plan.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plan.h"
#include "route.h"

void pc_plan_free(pc_plan *p)
{
    free(p->from);
    free(p->to);
    if (p->target && p->files)
        for (size_t i = 0; i < p->target->nfiles; i++) {
            free(p->files[i].local);
            free(p->files[i].chain);
        }
    free(p->files);
    pc_manifest_free(p->target);
    free(p->target_text);
    for (unsigned i = 0; i < p->hops; i++)
        pc_delta_free(p->deltas[i]);
    free(p->deltas);
    for (size_t i = 0; i < p->nlocals; i++) {
        pc_manifest_free(p->locals[i]);
        free(p->local_names[i]);
    }
    free(p->locals);
    free(p->local_names);
    memset(p, 0, sizeof *p);
}

/* A local file whose content is sha: its path if present in an installed
 * version with the right size (the hash is checked when it is used). */
static char *find_local(pc_op *op, pc_plan *p, const uint8_t sha[32])
{
    for (size_t v = 0; v < p->nlocals; v++) {
        const pc_manifest *m = p->locals[v];
        for (size_t i = 0; i < m->nfiles; i++) {
            const pc_file_entry *f = &m->files[i];
            if (f->type != PC_FT_FILE || memcmp(f->sha256, sha, 32))
                continue;
            char *path = pc_layout_path(&op->lay, "versions", p->local_names[v], f->path);
            struct stat sb;
            if (path && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
                (uint64_t)sb.st_size == f->size)
                return path;
            free(path);
        }
    }
    return NULL;
}

static pc_status load_locals(pc_op *op, pc_plan *p)
{
    size_t n = op->state.ninstalled;
    p->locals = calloc(n ? n : 1, sizeof *p->locals);
    p->local_names = calloc(n ? n : 1, sizeof *p->local_names);
    if (!p->locals || !p->local_names)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    /* The current version first: it is the likeliest source. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const char *v = op->state.installed[i];
            bool is_cur = op->current && !strcmp(v, op->current);
            if ((pass == 0) != is_cur)
                continue;
            pc_manifest *m = pc_op_local_manifest(op, v);
            if (m == NULL)
                continue;
            p->locals[p->nlocals] = m;
            if ((p->local_names[p->nlocals++] = strdup(v)) == NULL)
                return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
        }
    return PC_OK;
}

static const pc_patch_ref *patch_to(const pc_delta *d, const uint8_t to[32])
{
    for (size_t i = 0; i < d->npatches; i++)
        if (!memcmp(d->patches[i].to, to, 32))
            return &d->patches[i];
    return NULL;
}

/* Walk the route backwards from the target content to something local. */
static pc_status plan_chain(pc_op *op, pc_plan *p, const pc_file_entry *t, pc_file_plan *fp)
{
    const pc_patch_ref *chain[64];
    size_t n = 0;
    uint8_t need[32];
    memcpy(need, t->sha256, 32);
    uint64_t cost = 0;
    for (unsigned h = p->hops; h-- > 0;) {
        const pc_patch_ref *pr = patch_to(p->deltas[h], need);
        if (pr == NULL)
            continue; /* unchanged across this hop (or added: then no chain) */
        chain[n++] = pr;
        cost += pr->size;
        memcpy(need, pr->from, 32);
        char *local = find_local(op, p, need);
        if (local) {
            if ((double)cost > op->repo->fallback_threshold * (double)t->object_size) {
                free(local);
                return PC_OK;
            }
            fp->how = PC_HOW_CHAIN;
            fp->local = local;
            fp->chain = malloc(n * sizeof *fp->chain);
            if (fp->chain == NULL)
                return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++)
                fp->chain[i] = chain[n - 1 - i];
            fp->nchain = n;
            return PC_OK;
        }
    }
    return PC_OK;
}

/* Build the plan for an update from op->current to `version`. */
pc_status pc_plan_make(pc_op *op, const char *version, pc_plan *p)
{
    pc_client *c = op->c;
    pc_err *e = &c->err;
    const pc_repo *r = op->repo;
    const char *target = version;
    if (target == NULL) {
        const char *ch = c->channel ? c->channel : "stable";
        target = pc_repo_channel(r, ch);
        if (target == NULL)
            return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no channel '%s'", ch);
    }
    size_t ti;
    p->tv = pc_repo_version(r, target, &ti);
    if (p->tv == NULL)
        return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no version '%s'", target);
    if ((p->to = strdup(target)) == NULL ||
        (op->current && (p->from = strdup(op->current)) == NULL))
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st;
    char rel[PC_SITE_PATH_MAX];
    pc_site_manifest_path(p->tv->manifest.sha256, rel);
    if ((st = pc_op_fetch_doc(op, rel, &p->tv->manifest, &p->target_text, &p->target_len)) ||
        (st = pc_manifest_parse(p->target_text, p->target_len, &p->target, e)))
        return pc_fail_prefix(e, "version %s: ", target);
    if (strcmp(p->target->version, target) != 0 || strcmp(p->target->product, r->product) != 0)
        return pc_fail(e, PC_ERR_FORMAT, "manifest of %s names %s %s", target,
                       p->target->product, p->target->version);
    if ((st = load_locals(op, p)) != PC_OK)
        return st;
    /* The route: cheapest chain of edges from the installed version. */
    size_t fi;
    if (op->current && strcmp(op->current, target) && pc_repo_version(r, op->current, &fi)) {
        pc_route_edge *ed = calloc(r->nedges ? r->nedges : 1, sizeof *ed);
        size_t path[64];
        uint64_t cost;
        if (ed == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < r->nedges; i++)
            ed[i] = (pc_route_edge){r->edges[i].from_idx, r->edges[i].to_idx, r->edges[i].bytes};
        pc_err scratch = {0};
        unsigned maxh = r->max_patch_chain_length < 64 ? r->max_patch_chain_length : 64;
        if (pc_route_find(r->nversions, ed, r->nedges, fi, ti, maxh, path, &p->hops, &cost,
                          &scratch) != PC_OK)
            p->hops = 0;
        free(ed);
        p->deltas = calloc(p->hops ? p->hops : 1, sizeof *p->deltas);
        if (p->deltas == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        for (unsigned h = 0; h < p->hops; h++) {
            const pc_edge *edge = &r->edges[path[h]];
            char *text;
            size_t len;
            pc_site_delta_path(edge->delta.sha256, rel);
            if ((st = pc_op_fetch_doc(op, rel, &edge->delta, &text, &len)) != PC_OK)
                return st;
            st = pc_delta_parse(text, len, &p->deltas[h], e);
            free(text);
            if (st != PC_OK)
                return st;
            if (strcmp(p->deltas[h]->from, edge->from) || strcmp(p->deltas[h]->to, edge->to))
                return pc_fail(e, PC_ERR_FORMAT, "delta of edge %s -> %s names %s -> %s",
                               edge->from, edge->to, p->deltas[h]->from, p->deltas[h]->to);
        }
    }
    /* Per file: local copy, patch chain, or whole object. */
    p->files = calloc(p->target->nfiles ? p->target->nfiles : 1, sizeof *p->files);
    if (p->files == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const pc_manifest *cur = p->nlocals && op->current ? p->locals[0] : NULL;
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_entry *t = &p->target->files[i];
        pc_file_plan *fp = &p->files[i];
        if (t->type != PC_FT_FILE)
            continue;
        /* Changed or new: a critical file means a restart, even when its new
         * content is already on disk (another installed version, a rollback). */
        const pc_file_entry *old = cur ? pc_manifest_file(cur, t->path) : NULL;
        if ((t->flags & PC_FLAG_CRITICAL) && cur && (!old || memcmp(old->sha256, t->sha256, 32)))
            p->restart = true;
        if ((fp->local = find_local(op, p, t->sha256)) != NULL) {
            fp->how = PC_HOW_LOCAL;
            continue;
        }
        fp->how = PC_HOW_OBJECT;
        if ((st = plan_chain(op, p, t, fp)) != PC_OK)
            return st;
        if (fp->how == PC_HOW_OBJECT)
            p->download += t->object_size;
        for (size_t k = 0; k < fp->nchain; k++)
            p->download += fp->chain[k]->size;
    }
    return PC_OK;
}

pc_status pc_plan_info(pc_op *op, const pc_plan *p, pc_update_info **out)
{
    pc_update_info *info = calloc(1, sizeof *info);
    if (info == NULL)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    info->from = p->from ? strdup(p->from) : NULL;
    info->to = strdup(p->to);
    info->up_to_date = p->from && !strcmp(p->from, p->to);
    info->download_bytes = info->up_to_date ? 0 : p->download;
    info->full_bytes = p->tv->full_bytes;
    info->hops = p->hops;
    info->restart_required = p->restart;
    info->notes = p->tv->notes ? strdup(p->tv->notes) : NULL;
    const pc_manifest *cur = p->nlocals && op->current ? p->locals[0] : NULL;
    size_t n = p->target->nfiles;
    info->changed_files = calloc(n ? n : 1, sizeof *info->changed_files);
    info->hot_modules = calloc(n ? n : 1, sizeof *info->hot_modules);
    bool ok = info->to && (info->from || !p->from) && (info->notes || !p->tv->notes) &&
              info->changed_files && info->hot_modules;
    for (size_t i = 0; ok && i < n && !info->up_to_date; i++) {
        const pc_file_entry *t = &p->target->files[i];
        if (t->type != PC_FT_FILE)
            continue;
        const pc_file_entry *old = cur ? pc_manifest_file(cur, t->path) : NULL;
        if (old && old->type == PC_FT_FILE && !memcmp(old->sha256, t->sha256, 32))
            continue;
        ok = (info->changed_files[info->nchanged++] = strdup(t->path)) != NULL;
        if (ok && (t->flags & PC_FLAG_HOT) && cur)
            ok = (info->hot_modules[info->nhot++] = strdup(t->path)) != NULL;
    }
    if (!ok) {
        pc_update_info_free(info);
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    }
    *out = info;
    return PC_OK;
}

void pc_update_info_free(pc_update_info *info)
{
    if (info == NULL)
        return;
    free(info->from);
    free(info->to);
    free(info->notes);
    for (size_t i = 0; i < info->nchanged; i++)
        free(info->changed_files[i]);
    free(info->changed_files);
    for (size_t i = 0; i < info->nhot; i++)
        free(info->hot_modules[i]);
    free(info->hot_modules);
    for (size_t i = 0; i < info->nrefetched; i++)
        free(info->refetched[i]);
    free(info->refetched);
    free(info);
}
