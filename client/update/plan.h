/* plan.h — what an update has to fetch: the route from the installed version
 * to the target and, for each file, where its content will come from. */
#ifndef PC_PLAN_H
#define PC_PLAN_H

#include "choose.h"
#include "op.h"
#include "relpatch.h"

typedef enum { PC_HOW_LOCAL, PC_HOW_CHAIN, PC_HOW_OBJECT } pc_how;

typedef struct pc_file_plan {
    pc_how how;
    char *local;                /* PC_HOW_LOCAL, and the base of PC_HOW_CHAIN:
                                   a verified-by-hash path */
    const pc_patch_ref **chain; /* PC_HOW_CHAIN: patches in order */
    size_t nchain;
    /* With plan->release: the content is the release patch's output file
     * `piece` (an index into release->files); how and chain stay the
     * per-file plan, the fallback. SIZE_MAX: not from the release. */
    size_t piece;
} pc_file_plan;

typedef struct pc_plan {
    char *from, *to;
    pc_manifest *target;
    char *target_text;
    size_t target_len;
    bool target_installed;    /* target_text is the install root's copy */
    const pc_version_info *tv;
    pc_delta **deltas;        /* one per hop */
    unsigned hops;
    pc_file_plan *files;      /* one per target entry */
    pc_manifest **locals;     /* manifests of installed versions */
    char **local_names;
    size_t nlocals;
    uint64_t download;
    /* The whole-release patch the update takes instead of per-file patches
     * (a route of one hop; points into deltas[0]), or NULL; then
     * download_files is what the per-file plan would download, and ref the
     * installed version's files mapped as its reference (stage.c). */
    const pc_release_ref *release;
    uint64_t download_files;
    pc_relref ref;
    bool restart;
    pc_choice choice;         /* why `to` (points into op->repo) */
} pc_plan;

/* Build in *p (zeroed by the caller) the plan for an update from op->current
 * to version (NULL: the head of the client's channel): fetch the target's
 * manifest and the deltas of the cheapest route, then choose for each file a
 * local copy, a patch chain from a local file, or the whole object; on a
 * route of one hop whose delta has a whole-release patch, take that patch
 * for every content it makes when it costs less in all. Errors
 * (in op->c->err): PC_ERR_NOT_FOUND for an unknown channel or version,
 * PC_ERR_FORMAT for metadata that contradicts repo.json, and those of the
 * downloads. Free *p with pc_plan_free, also after a failure. */
pc_status pc_plan_make(pc_op *op, const char *version, pc_plan *p);

/* Release what *p holds and zero it. */
void pc_plan_free(pc_plan *p);

/* Give up the whole-release patch (a damaged installed file, a patch that
 * does not apply): every file back to its per-file plan. */
void pc_plan_drop_release(pc_plan *p);

/* What the plan means to the caller: a new *out (free it with
 * pc_update_info_free). PC_ERR_NOMEM only. */
pc_status pc_plan_info(pc_op *op, const pc_plan *p, pc_update_info **out);

#endif
