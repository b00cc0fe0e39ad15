/* shardrel.c — a release task of a sharded build: the versions' trees as
 * manifests, the reldiff plan of them, their files checked and loaded. */
#include "shardrel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "relpatch.h"

pc_status pc_shard_release_plan(const pc_shard_plan *p, const pc_shard_task *t,
                                pc_shard_release *r, pc_err *e)
{
    memset(r, 0, sizeof *r);
    r->rd.ref_fd = r->rd.to_fd = -1;
    const pc_build_release *from = &p->versions[t->in.version], *to = &p->versions[t->to.version];
    r->from.product = r->to.product = p->cfg.product;
    r->from.version = from->name;
    r->to.version = to->name;
    pc_status st;
    if ((st = pc_build_tree_files(&from->tree, &r->from, e)) != PC_OK ||
        (st = pc_build_tree_files(&to->tree, &r->to, e)) != PC_OK ||
        (st = pc_reldiff_plan(&r->from, &r->to, &r->rd, e)) != PC_OK)
        return st;
    if (r->rd.nfiles == 0 || r->rd.ref_size == 0)
        return pc_fail(e, PC_ERR_INVALID, "%s -> %s: %s: no whole-release patch to make",
                       from->name, to->name,
                       r->rd.nfiles == 0 ? "the second adds no content" : "the first has no content");
    if (r->rd.nref > PC_RELEASE_MAX_REFS)
        return pc_fail(e, PC_ERR_INVALID,
                       "%s -> %s: a reference of %zu contents, more than clients map (%d)",
                       from->name, to->name, r->rd.nref, PC_RELEASE_MAX_REFS);
    return PC_OK;
}

pc_status pc_shard_release_inputs(const pc_shard_task *t, const pc_shard_release *r,
                                  pc_status (*check)(void *ud, const pc_build_file *f, pc_err *e),
                                  void *ud, pc_err *e)
{
    pc_status st = PC_OK;
    for (size_t k = 0; k < r->rd.nref + r->rd.nfiles && st == PC_OK; k++) {
        bool ref = k < r->rd.nref;
        const pc_file_entry *x = ref ? &r->from.files[r->rd.ref_idx[k]]
                                     : &r->to.files[r->rd.to_idx[k - r->rd.nref]];
        pc_build_file f = {.version = ref ? t->in.version : t->to.version, .path = x->path,
                           .size = x->size};
        memcpy(f.sha256, x->sha256, 32);
        st = check(ud, &f, e);
    }
    return st;
}

pc_status pc_shard_release_load(const pc_shard_plan *p, const pc_shard_task *t,
                                const char *releases, pc_shard_release *r,
                                char out[PC_SITE_PATH_MAX], pc_err *e)
{
    char *from = NULL, *to = NULL;
    pc_status st = PC_OK;
    if (asprintf(&from, "%s/%s", releases, p->versions[t->in.version].name) < 0)
        from = NULL;
    if (asprintf(&to, "%s/%s", releases, p->versions[t->to.version].name) < 0)
        to = NULL;
    if (!from || !to)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    else if ((st = pc_reldiff_load(&r->rd, from, &r->from, to, &r->to, e)) == PC_OK)
        pc_site_patch_path(r->rd.ref_sha, r->rd.to_sha, out);
    free(from);
    free(to);
    return st;
}

void pc_shard_release_free(pc_shard_release *r)
{
    pc_reldiff_free(&r->rd);
    free(r->from.files);
    free(r->to.files);
    memset(r, 0, sizeof *r);
    r->rd.ref_fd = r->rd.to_fd = -1;
}
