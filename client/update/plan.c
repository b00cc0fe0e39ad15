/* plan.c — what an update has to fetch: the target's manifest, the cheapest
 * route of deltas from the installed version, and per file a local copy, a
 * patch chain from a local file, or the whole object (see plan.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checked.h"
#include "fileio.h"
#include "plan.h"
#include "route.h"

void pc_plan_drop_release(pc_plan *p)
{
    if (p->release == NULL)
        return;
    for (size_t i = 0; p->files && i < p->target->nfiles; i++)
        p->files[i].piece = SIZE_MAX;
    p->release = NULL;
    p->download = p->download_files;
    pc_relref_unmap(&p->ref);
}

void pc_plan_free(pc_plan *p)
{
    pc_relref_unmap(&p->ref);
    free(p->from);
    free(p->to);
    if (p->target && p->files)
        for (size_t i = 0; i < p->target->nfiles; i++) {
            free(p->files[i].local);
            free(p->files[i].chain);
        }
    free(p->files);
    for (size_t i = 0; i < p->nlocals; i++) {
        if (p->locals[i] != p->target) /* the target's, when it is installed */
            pc_manifest_free(p->locals[i]);
        free(p->local_names[i]);
    }
    free(p->locals);
    free(p->local_names);
    pc_manifest_free(p->target);
    free(p->target_text);
    for (unsigned i = 0; i < p->hops; i++)
        pc_delta_free(p->deltas[i]);
    free(p->deltas);
    memset(p, 0, sizeof *p);
}

/* Lookups built once per plan: every regular file of the installed
 * versions by content, and each hop's patches by the content they make. */
typedef struct local_ref {
    const pc_file_entry *f;
    size_t v; /* index into p->locals */
} local_ref;

typedef struct plan_index {
    local_ref *local; /* by (sha256, version, file): the order of a scan */
    size_t nlocal;
    int *dir;         /* per installed version: its folder, or -1 (then full paths) */
    const pc_patch_ref **patches; /* per hop: by (to, place in the delta) */
    size_t *first;                /* hop h's patches: [first[h], first[h + 1]) */
} plan_index;

static int cmp_local(const void *pa, const void *pb)
{
    const local_ref *a = pa, *b = pb;
    int c = memcmp(a->f->sha256, b->f->sha256, 32);
    if (c == 0)
        c = (a->v > b->v) - (a->v < b->v);
    return c ? c : (a->f > b->f) - (a->f < b->f); /* same version: same array */
}

static int cmp_patch(const void *pa, const void *pb)
{
    const pc_patch_ref *a = *(const pc_patch_ref *const *)pa, *b = *(const pc_patch_ref *const *)pb;
    int c = memcmp(a->to, b->to, 32);
    return c ? c : (a > b) - (a < b); /* one delta: one array */
}

static void index_free(plan_index *ix, size_t nlocals)
{
    for (size_t v = 0; ix->dir && v < nlocals; v++)
        if (ix->dir[v] >= 0)
            close(ix->dir[v]);
    free(ix->dir);
    free(ix->local);
    free(ix->patches);
    free(ix->first);
}

static pc_status index_locals(pc_op *op, pc_plan *p, plan_index *ix)
{
    size_t n = 0;
    for (size_t v = 0; v < p->nlocals; v++)
        if (!pc_add_size(n, p->locals[v]->nfiles, &n))
            return pc_fail(&op->c->err, PC_ERR_TOO_LARGE, "installed versions: too many files");
    ix->local = calloc(n ? n : 1, sizeof *ix->local);
    ix->dir = malloc((p->nlocals ? p->nlocals : 1) * sizeof *ix->dir);
    if (ix->local == NULL || ix->dir == NULL)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    /* Files are looked at from their version's folder: one short lookup
     * each, not the whole path again. */
    for (size_t v = 0; v < p->nlocals; v++) {
        char *dir = pc_layout_path(&op->lay, "versions", p->local_names[v], NULL);
        ix->dir[v] = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        free(dir);
    }
    for (size_t v = 0; v < p->nlocals; v++)
        for (size_t i = 0; i < p->locals[v]->nfiles; i++)
            if (p->locals[v]->files[i].type == PC_FT_FILE)
                ix->local[ix->nlocal++] = (local_ref){&p->locals[v]->files[i], v};
    qsort(ix->local, ix->nlocal, sizeof *ix->local, cmp_local);
    return PC_OK;
}

static pc_status index_patches(pc_op *op, pc_plan *p, plan_index *ix)
{
    size_t n = 0;
    for (unsigned h = 0; h < p->hops; h++)
        if (!pc_add_size(n, p->deltas[h]->npatches, &n))
            return pc_fail(&op->c->err, PC_ERR_TOO_LARGE, "deltas: too many patches");
    ix->patches = calloc(n ? n : 1, sizeof *ix->patches);
    ix->first = calloc((size_t)p->hops + 1, sizeof *ix->first);
    if (ix->patches == NULL || ix->first == NULL)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    for (unsigned h = 0; h < p->hops; h++) {
        const pc_delta *d = p->deltas[h];
        const pc_patch_ref **at = ix->patches + ix->first[h];
        for (size_t i = 0; i < d->npatches; i++)
            at[i] = &d->patches[i];
        qsort(at, d->npatches, sizeof *at, cmp_patch);
        ix->first[h + 1] = ix->first[h] + d->npatches;
    }
    return PC_OK;
}

/* A local file whose content is sha: its path if present in an installed
 * version with the right size (the hash is checked when it is used). The
 * current version is looked at first, then the others, each in order. */
static char *find_local(pc_op *op, pc_plan *p, const plan_index *ix, const uint8_t sha[32])
{
    size_t lo = 0, hi = ix->nlocal;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ix->local[mid].f->sha256, sha, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ix->nlocal && !memcmp(ix->local[lo].f->sha256, sha, 32); lo++) {
        const pc_file_entry *f = ix->local[lo].f;
        int dir = ix->dir[ix->local[lo].v];
        char *path = pc_layout_path(&op->lay, "versions", p->local_names[ix->local[lo].v], f->path);
        struct stat sb;
        if (path &&
            (dir >= 0 ? fstatat(dir, f->path, &sb, AT_SYMLINK_NOFOLLOW) : lstat(path, &sb)) == 0 &&
            S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == f->size)
            return path;
        free(path);
    }
    return NULL;
}

/* The installed copy of version v's manifest, if it has the size and
 * SHA-256 that repo.json names: the same bytes a download would give. A new
 * string (*len bytes), or NULL. */
static char *installed_manifest(pc_op *op, const char *v, const pc_hashref *ref, size_t *len)
{
    char name[80];
    snprintf(name, sizeof name, "%s.json", v);
    char *path = pc_layout_path(&op->lay, "manifests", name, NULL), *text = NULL;
    pc_err scratch = {0};
    if (path && pc_read_file(path, (size_t)ref->size, &text, len, &scratch) == PC_OK &&
        !pc_hashref_matches(ref, text, *len)) {
        free(text);
        text = NULL;
    }
    free(path);
    return text;
}

/* The manifests of the installed versions; the target's, when its text is
 * the installed one (target_installed), is p->target itself. */
static pc_status load_locals(pc_op *op, pc_plan *p, bool target_installed)
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
            pc_manifest *m = target_installed && !strcmp(v, p->to) ? p->target
                                                                   : pc_op_local_manifest(op, v);
            if (m == NULL)
                continue;
            p->locals[p->nlocals] = m;
            if ((p->local_names[p->nlocals++] = strdup(v)) == NULL)
                return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
        }
    return PC_OK;
}

/* The first patch of hop h that makes the content `to`, or NULL. */
static const pc_patch_ref *patch_to(const plan_index *ix, unsigned h, const uint8_t to[32])
{
    size_t lo = ix->first[h], hi = ix->first[h + 1], end = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ix->patches[mid]->to, to, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && !memcmp(ix->patches[lo]->to, to, 32) ? ix->patches[lo] : NULL;
}

/* Walk the route backwards from the target content to something local. */
static pc_status plan_chain(pc_op *op, pc_plan *p, const plan_index *ix, const pc_file_entry *t,
                            pc_file_plan *fp)
{
    const pc_patch_ref *chain[64];
    size_t n = 0;
    uint8_t need[32];
    memcpy(need, t->sha256, 32);
    uint64_t cost = 0;
    for (unsigned h = p->hops; h-- > 0;) {
        const pc_patch_ref *pr = patch_to(ix, h, need);
        if (pr == NULL)
            continue; /* unchanged across this hop (or added: then no chain) */
        chain[n++] = pr;
        cost += pr->size;
        memcpy(need, pr->from, 32);
        char *local = find_local(op, p, ix, need);
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

/* A file's download in the per-file plan. */
static uint64_t file_cost(const pc_file_entry *t, const pc_file_plan *fp)
{
    uint64_t c = fp->how == PC_HOW_OBJECT ? t->object_size : 0;
    for (size_t k = 0; k < fp->nchain; k++)
        c += fp->chain[k]->size;
    return c;
}

static int cmp_piece(const void *pa, const void *pb, void *files)
{
    const pc_release_file *f = files;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = memcmp(f[a].sha256, f[b].sha256, 32);
    return c ? c : (a > b) - (a < b);
}

/* The whole-release patch against the per-file plan: on a route of one
 * hop from the installed version (whose files make the reference), the
 * patch's bytes and those of what it does not make that is not local,
 * against the per-file download. The cheaper is taken. */
static pc_status price_release(pc_op *op, pc_plan *p)
{
    const pc_release_ref *rel = p->hops == 1 ? p->deltas[0]->release : NULL;
    if (rel == NULL || op->current == NULL || p->nlocals == 0 ||
        strcmp(p->local_names[0], op->current) || strcmp(p->deltas[0]->from, op->current) ||
        sysconf(_SC_PAGESIZE) != PC_RELEASE_ALIGN)
        return PC_OK;
    size_t *by = malloc(rel->nfiles * sizeof *by);
    size_t *piece = malloc((p->target->nfiles ? p->target->nfiles : 1) * sizeof *piece);
    if (by == NULL || piece == NULL) {
        free(by);
        free(piece);
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < rel->nfiles; i++)
        by[i] = i;
    qsort_r(by, rel->nfiles, sizeof *by, cmp_piece, rel->files);
    uint64_t cost = rel->size;
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_entry *t = &p->target->files[i];
        piece[i] = SIZE_MAX;
        if (t->type != PC_FT_FILE || p->files[i].how == PC_HOW_LOCAL)
            continue;
        size_t lo = 0, hi = rel->nfiles;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (memcmp(rel->files[by[mid]].sha256, t->sha256, 32) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < rel->nfiles && !memcmp(rel->files[by[lo]].sha256, t->sha256, 32) &&
            rel->files[by[lo]].size == t->size)
            piece[i] = by[lo];
        else
            cost += file_cost(t, &p->files[i]);
    }
    if (cost < p->download) {
        for (size_t i = 0; i < p->target->nfiles; i++)
            p->files[i].piece = piece[i];
        p->release = rel;
        p->download_files = p->download;
        p->download = cost;
    }
    free(by);
    free(piece);
    return PC_OK;
}

/* Build the plan for an update from op->current to `version`. */
static pc_status make(pc_op *op, const char *version, pc_plan *p, plan_index *ix)
{
    pc_client *c = op->c;
    pc_err *e = &c->err;
    const pc_repo *r = op->repo;
    pc_status st = pc_choose(r, &op->state, op->current, c->channel, version, c->update_flags,
                             (int64_t)time(NULL), &p->choice, e);
    if (st != PC_OK)
        return st;
    const char *target = p->choice.target;
    size_t ti;
    p->tv = pc_repo_version(r, target, &ti);
    if (p->tv == NULL)
        return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no version '%s'", target);
    if ((p->to = strdup(target)) == NULL ||
        (op->current && (p->from = strdup(op->current)) == NULL))
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    char rel[PC_SITE_PATH_MAX];
    pc_site_manifest_path(p->tv->manifest.sha256, rel);
    /* Installed already (an up-to-date check, a rollback's way back): the
     * copy on disk, when it is the document repo.json names. */
    p->target_text = installed_manifest(op, target, &p->tv->manifest, &p->target_len);
    bool installed = p->target_installed = p->target_text != NULL;
    if ((!installed &&
         (st = pc_op_fetch_doc(op, rel, &p->tv->manifest, &p->target_text, &p->target_len))) ||
        (st = pc_manifest_parse(p->target_text, p->target_len, &p->target, e)))
        return pc_fail_prefix(e, "version %s: ", target);
    if (strcmp(p->target->version, target) != 0 || strcmp(p->target->product, r->product) != 0)
        return pc_fail(e, PC_ERR_FORMAT, "manifest of %s names %s %s", target,
                       p->target->product, p->target->version);
    if ((st = load_locals(op, p, installed)) != PC_OK || (st = index_locals(op, p, ix)) != PC_OK)
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
    if ((st = index_patches(op, p, ix)) != PC_OK)
        return st;
    /* Per file: local copy, patch chain, or whole object. */
    p->files = calloc(p->target->nfiles ? p->target->nfiles : 1, sizeof *p->files);
    if (p->files == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const pc_manifest *cur = p->nlocals && op->current ? p->locals[0] : NULL;
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_entry *t = &p->target->files[i];
        pc_file_plan *fp = &p->files[i];
        fp->piece = SIZE_MAX;
        if (t->type != PC_FT_FILE)
            continue;
        /* Changed or new: a critical file means a restart, even when its new
         * content is already on disk (another installed version, a rollback). */
        const pc_file_entry *old = cur ? pc_manifest_file(cur, t->path) : NULL;
        if ((t->flags & PC_FLAG_CRITICAL) && cur && (!old || memcmp(old->sha256, t->sha256, 32)))
            p->restart = true;
        if ((fp->local = find_local(op, p, ix, t->sha256)) != NULL) {
            fp->how = PC_HOW_LOCAL;
            continue;
        }
        fp->how = PC_HOW_OBJECT;
        if ((st = plan_chain(op, p, ix, t, fp)) != PC_OK)
            return st;
        if (fp->how == PC_HOW_OBJECT)
            p->download += t->object_size;
        for (size_t k = 0; k < fp->nchain; k++)
            p->download += fp->chain[k]->size;
    }
    return price_release(op, p);
}

pc_status pc_plan_make(pc_op *op, const char *version, pc_plan *p)
{
    plan_index ix = {0};
    pc_status st = make(op, version, p, &ix);
    index_free(&ix, p->nlocals);
    return st;
}

/* Copy of s into *dst (NULL stays NULL); false on no memory. */
static bool copy_opt(char **dst, const char *s)
{
    *dst = s ? strdup(s) : NULL;
    return !s || *dst;
}

/* The release notes of every version after `from` up to `to` along to's
 * parents (to's alone when from is not among them), newest first; withdrawn
 * versions are left out. */
static bool add_notes(const pc_repo *r, const char *from, const char *to, pc_update_info *info)
{
    bool line = from && pc_choose_is_ancestor(r, from, to);
    info->release_notes = calloc(r->nversions, sizeof *info->release_notes);
    if (info->release_notes == NULL)
        return false;
    const pc_version_info *v = pc_repo_version(r, to, NULL);
    for (size_t n = 0; v && n < r->nversions; n++) {
        if (from && !strcmp(v->name, from))
            break;
        if (v->notes && !v->release.withdrawn) {
            pc_release_note *rn = &info->release_notes[info->nrelease_notes];
            if (!(rn->version = strdup(v->name)) || !(rn->notes = strdup(v->notes))) {
                free(rn->version);
                return false;
            }
            info->nrelease_notes++;
        }
        if (!line || !v->parent)
            break;
        v = pc_repo_version(r, v->parent, NULL);
    }
    return true;
}

static bool add_choice(const pc_op *op, const pc_plan *p, pc_update_info *info)
{
    const pc_choice *ch = &p->choice;
    info->critical = ch->critical;
    info->manual_update_required = ch->manual_version != NULL;
    info->downgrade = ch->downgrade;
    info->from_withdrawn = ch->from_withdrawn;
    info->rollout_bucket = ch->bucket;
    bool ok = copy_opt(&info->manual_version, ch->manual_version) &&
              copy_opt(&info->minimum_version, ch->minimum_version) &&
              copy_opt(&info->withdrawn_reason, ch->withdrawn_reason) &&
              copy_opt(&info->held_back, ch->held_back) &&
              copy_opt(&info->downgrade_refused, ch->downgrade_refused);
    size_t n = op->state.nskipped;
    ok = ok && (info->skipped = calloc(n ? n : 1, sizeof *info->skipped)) != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (info->skipped[info->nskipped++] = strdup(op->state.skipped[i])) != NULL;
    if (ok && !info->up_to_date)
        ok = add_notes(op->repo, p->from, p->to, info);
    return ok;
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
    info->release_patch = !info->up_to_date && p->release != NULL;
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
    if (!ok || !add_choice(op, p, info)) {
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
    free(info->manual_version);
    free(info->minimum_version);
    free(info->withdrawn_reason);
    free(info->held_back);
    free(info->downgrade_refused);
    for (size_t i = 0; i < info->nrelease_notes; i++) {
        free(info->release_notes[i].version);
        free(info->release_notes[i].notes);
    }
    free(info->release_notes);
    for (size_t i = 0; i < info->nskipped; i++)
        free(info->skipped[i]);
    free(info->skipped);
    free(info);
}
