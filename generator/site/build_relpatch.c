/* build_relpatch.c — the site build's whole-release patches
 * (generator/diff/reldiff.c): which edges get one, made on a pool of
 * threads under the memory budget, reused from the previous delta, or
 * taken from a sharded build's store; then named in the delta or not. */
#include "build_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"
#include "relpatch.h"

typedef struct rels {
    builder *b;
    edge_plan **todo;
    size_t n;
    pc_err *errs;
} rels;

static uint64_t rel_need(void *ud, size_t i)
{
    const rels *r = ud;
    return pc_reldiff_memory(r->todo[i]->rd);
}

static void rel_run(void *ud, size_t i)
{
    rels *r = ud;
    edge_plan *ep = r->todo[i];
    if (pc_reldiff_make(ep->rd, r->b->site.root, ep->from->dir, &ep->from->man, ep->to->dir,
                        &ep->to->man, &ep->release, &ep->release_new, &r->errs[i]) != PC_OK) {
        free(ep->release.files);
        memset(&ep->release, 0, sizeof ep->release);
    }
    pc_reldiff_free(ep->rd); /* the memory files go at once */
    free(ep->rd);
    ep->rd = NULL;
}

static void rel_done(void *ud, size_t i, size_t ndone)
{
    const rels *r = ud;
    const edge_plan *ep = r->todo[i];
    if (r->b->o->quiet)
        return;
    if (r->errs[i].code != PC_OK)
        fprintf(stderr, "warning: release patch %s -> %s not made: %s\n", ep->from->name,
                ep->to->name, r->errs[i].msg);
    else
        fprintf(stderr, "[%zu/%zu release patches] %s -> %s: %llu bytes%s\n", ndone, r->n,
                ep->from->name, ep->to->name, (unsigned long long)ep->release.size,
                ep->release_new ? "" : " (reused)");
}

uint64_t build_release_budget(const builder *b)
{
    if (b->o->cfg->memory_budget)
        return b->o->cfg->memory_budget;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / 2 : 1ull << 30;
}

/* Is the release patch of rd a per-file patch in all but name: its
 * reference one file's bytes exactly (one content, a whole number of
 * pages), its output one content? Then it is the patch between those two
 * contents, and its site path is that per-file patch's: writing it there
 * would replace a per-file patch of another format (bsdiff40), and
 * leaving it out would delete the per-file patch. */
static bool release_is_file_patch(const pc_reldiff *rd, const pc_manifest *from)
{
    const pc_file_entry *only = NULL;
    for (size_t k = 0; k < rd->nref; k++) {
        const pc_file_entry *f = &from->files[rd->ref_idx[k]];
        if (f->size == 0)
            continue;
        if (only)
            return false;
        only = f;
    }
    return rd->nfiles == 1 && only && only->size % PC_RELEASE_ALIGN == 0;
}

pc_status build_release_wanted(builder *b, edge_plan *ep, const pc_repo *prev, uint64_t budget,
                               bool *make)
{
    *make = false;
    if (b->o->cfg->no_release_patches)
        return PC_OK;
    pc_status st = PC_OK;
    if ((ep->rd = calloc(1, sizeof *ep->rd)) == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    if ((st = pc_reldiff_plan(&ep->from->man, &ep->to->man, ep->rd, b->e)) != PC_OK)
        goto out;
    /* Worth making: the edge changes something, there is a reference
     * to match against, clients can map it, and it fits the budget. */
    uint64_t need = pc_reldiff_memory(ep->rd);
    bool one_file = release_is_file_patch(ep->rd, &ep->from->man);
    *make = ep->rd->nfiles > 0 && ep->rd->ref_size > 0 && !one_file &&
            ep->rd->nref <= PC_RELEASE_MAX_REFS && need <= budget;
    if (one_file && ep->rd->nfiles > 0 && !b->o->quiet)
        fprintf(stderr, "note: no release patch %s -> %s (one file's patch)\n", ep->from->name,
                ep->to->name);
    else if (!*make && ep->rd->nfiles > 0 && !b->o->quiet)
        fprintf(stderr, "note: no release patch %s -> %s (%zu contents, %llu MiB needed)\n",
                ep->from->name, ep->to->name, ep->rd->nref, (unsigned long long)(need >> 20));
    pc_delta *pd = *make ? pc_reldiff_previous(b->site.root, prev, &ep->from->man,
                                               &ep->from->man_ref, &ep->to->man, &ep->to->man_ref)
                         : NULL;
    if (pd && pd->release && pc_reldiff_reuse(ep->rd, b->site.root, pd->release, &ep->release)) {
        *make = false; /* as it was: no need to read the releases again */
        if (!b->o->quiet)
            fprintf(stderr, "release patch %s -> %s: %llu bytes (reused)\n", ep->from->name,
                    ep->to->name, (unsigned long long)ep->release.size);
    } else if (pd && !pd->release && pd->release_left_out) {
        *make = false;
        ep->release_left_out = pd->release_left_out;
    }
    pc_delta_free(pd);
out:
    if (!*make || st != PC_OK) {
        pc_reldiff_free(ep->rd);
        free(ep->rd);
        ep->rd = NULL;
    }
    return st;
}

/* A sharded build's assembly: the edge's release patch from the source
 * (its job made it), when the plan had one made. */
static pc_status sourced_release(builder *b, edge_plan *ep)
{
    const pc_build_source *src = b->o->source;
    pc_reldiff *rd = ep->rd;
    char rel[PC_SITE_PATH_MAX], *path = NULL;
    pc_status st = src->release ? src->release(src->ud, ep->from->name, ep->to->name,
                                               rd->ref_sha, rd->to_sha, b->e)
                                : PC_ERR_NOT_FOUND;
    if (st == PC_ERR_NOT_FOUND) {
        st = PC_OK; /* its plan did not make one (over the planning machine's budget) */
        build_progress(b, "note: no release patch %s -> %s in the plan\n", ep->from->name,
                       ep->to->name);
        goto out;
    }
    pc_site_patch_path(rd->ref_sha, rd->to_sha, rel);
    if (st != PC_OK || (st = pc_site_mkdirs(&b->site, rel, b->e)) != PC_OK)
        goto out;
    if ((path = pc_site_file(&b->site, rel)) == NULL) {
        st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* New unless the site had it, the same bytes (then it is left alone). */
    struct stat before, after;
    bool had = stat(path, &before) == 0;
    if ((st = src->patch(src->ud, rd->ref_sha, rd->to_sha, path, b->e)) != PC_OK ||
        (st = pc_reldiff_describe(rd, path, &ep->release, b->e)) != PC_OK)
        goto out;
    ep->release_new = !had || stat(path, &after) != 0 || after.st_ino != before.st_ino;
    build_progress(b, "release patch %s -> %s: %llu bytes (from the store)\n", ep->from->name,
                   ep->to->name, (unsigned long long)ep->release.size);
out:
    if (st != PC_OK)
        pc_fail_prefix(b->e, "release patch %s -> %s: ", ep->from->name, ep->to->name);
    free(path);
    pc_reldiff_free(rd);
    free(rd);
    ep->rd = NULL;
    return st;
}

pc_status build_run_releases(builder *b, edge_plan *eps, size_t neps, const pc_repo *prev)
{
    const pc_config *cfg = b->o->cfg;
    /* A sharded build's plan weighed the memory: the assembly takes what it has. */
    uint64_t budget = b->o->source ? UINT64_MAX : build_release_budget(b);
    rels r = {.b = b, .todo = calloc(neps ? neps : 1, sizeof *r.todo),
              .errs = calloc(neps ? neps : 1, sizeof *r.errs)};
    size_t n = 0;
    pc_status st = r.todo && r.errs ? PC_OK : pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < neps && st == PC_OK; i++) {
        bool make = false;
        if ((st = build_release_wanted(b, &eps[i], prev, budget, &make)) != PC_OK || !make)
            continue;
        if (b->o->source)
            st = sourced_release(b, &eps[i]);
        else
            r.todo[n++] = &eps[i];
    }
    r.n = n;
    if (st == PC_OK && n > 0)
        pc_jobs_run(&(pc_jobs){.n = n, .workers = cfg->workers, .budget = budget,
                               .need = rel_need, .run = rel_run, .done = rel_done, .ud = &r});
    free(r.todo);
    free(r.errs);
    return st;
}

void build_choose_release(builder *b, edge_plan *ep)
{
    if (ep->release.size > 0 && ep->release.size < ep->bytes) {
        ep->delta.release = &ep->release;
        return;
    }
    if (ep->release.size > 0)
        ep->release_left_out = ep->release.size;
    ep->delta.release_left_out = ep->release_left_out;
    if (ep->release.size > 0 && ep->release_new) {
        char rel[PC_SITE_PATH_MAX];
        pc_site_patch_path(ep->release.from, ep->release.to, rel);
        char *path = pc_site_file(&b->site, rel);
        if (path && unlink(path) == 0) {
            *strrchr(path, '/') = '\0';
            (void)rmdir(path); /* patches/<aa>/, unless other patches are there */
        }
        free(path);
    }
    build_free_release(ep);
}

void build_free_release(edge_plan *ep)
{
    if (ep->rd) {
        pc_reldiff_free(ep->rd);
        free(ep->rd);
        ep->rd = NULL;
    }
    free(ep->release.files);
    memset(&ep->release, 0, sizeof ep->release);
    ep->delta.release = NULL;
}
