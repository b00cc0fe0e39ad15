/* build_int.h — what the stages of the site build share (build.c, the
 * pipeline; build_release.c, build_patch.c, build_relpatch.c,
 * build_docs.c): a release, a patch job, an edge and the builder's state.
 * Private to generator/site. */
#ifndef PC_BUILD_INT_H
#define PC_BUILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "config.h"
#include "error.h"
#include "meta.h"
#include "reldiff.h"
#include "site.h"
#include "tree.h"
#include "trust.h"

typedef struct rel {
    char *name;
    char *dir;             /* NULL: a given release (opts.given) */
    pc_tree tree;          /* borrowed from opts.given when dir is NULL */
    pc_manifest man;
    pc_hashref man_ref;
    uint64_t full_bytes, files;
    char *notes;
    const char *parent;
    bool prerelease;
} rel;

typedef struct job {
    uint8_t from[32], to[32];
    char *from_file, *to_file; /* on disk, inside RELEASES ("<version>/<path>"
                                  for given releases: names only) */
    size_t edge;               /* the first edge that needs it */
    size_t from_v, to_v;       /* their releases' indices in builder.v */
    const char *from_path, *to_path; /* in those trees (borrowed) */
    uint64_t from_size, to_size;
    uint64_t patch_size;       /* result */
    uint8_t patch_sha[32];     /* of the patch file's bytes */
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
    /* The root of trust repo.json names (build_root.c), when root_json: */
    pc_root root;
    char *root_json, *root_sig;
    bool root_publish;     /* not yet in the site (or other signatures) */
} builder;

typedef struct edge_plan {
    rel *from, *to;
    size_t *jobs;          /* job index per planned patch */
    size_t *files;         /* target file index per planned patch */
    size_t n;
    pc_delta delta;
    pc_hashref ref;
    uint64_t bytes;
    unsigned objects;
    /* The whole-release patch (build_patch.c): size 0 when there is none. */
    pc_reldiff *rd;        /* while it is made */
    pc_release_ref release;
    bool release_new;      /* written by this build */
    uint64_t release_left_out; /* its size when it is not the smaller */
} edge_plan;

/* build.c: what building and planning share. */

/* A progress line on stderr, unless quiet. */
void build_progress(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The config's version settings name releases that exist. */
pc_status build_check_version_cfgs(builder *b);

/* Everything before the patches: the releases scanned (and, with objects,
 * their objects and manifests written, each release in turn), their
 * parents, the edges (*eps) and their patches as jobs (b->jobs, not run). */
pc_status build_prepare(builder *b, edge_plan **eps, size_t *neps, bool objects);
/* Release what build_prepare made. */
void build_release_all(builder *b, edge_plan *eps, size_t neps);

/* build_release.c: the releases, their objects and manifests. */

/* RELEASES/<version>/ folders (or opts.given) into b->v, sorted by version. */
pc_status build_find_versions(builder *b);
/* The release of that name, or NULL. */
rel *build_find_rel(builder *b, const char *name);
/* r's notes: from the config, else RELEASES/<version>.md if there is one
 * (a given release's own). */
pc_status build_read_notes(builder *b, rel *r);
/* Scan r's tree (a given one is taken as it is) into its manifest's files,
 * without objects. */
pc_status build_scan(builder *b, rel *r);
/* Write r's objects (from opts.source when set) and its manifest. */
pc_status build_objects(builder *b, rel *r);
/* Whether r has a file of this content. */
bool build_has_content(const rel *r, const uint8_t sha[32]);
/* Whether r is in channel c (the config's list for r, else by prerelease). */
bool build_in_channel(const builder *b, const rel *r, const pc_channel_cfg *c);

/* build_patch.c: the edges' patches. */

/* The patches an edge needs, as jobs in b->jobs (one job per content pair);
 * ep is edge number edge. */
pc_status build_plan_edge(builder *b, edge_plan *ep, size_t edge);
/* Estimated peak memory of diffing j. */
uint64_t build_job_mem(const job *j);
/* Whether the site's patch for j is there and turns j's old file into its
 * new one; if so j's patch_size, patch_sha and format are set. */
bool build_patch_in_site(builder *b, job *j);
/* Compute or reuse every job's patch, in parallel under the memory budget. */
pc_status build_run_jobs(builder *b);

/* build_relpatch.c: the edges' whole-release patches. */

/* The memory budget of making them: the config's, else half the memory. */
uint64_t build_release_budget(const builder *b);
/* Whether ep gets a whole-release patch made (*make, ep->rd its plan), by
 * the rules every build follows: not disabled, the edge adds a content,
 * the reference is not empty, clients can map it, pc_reldiff_memory fits
 * budget; and the previous delta (prev, may be NULL: see below) gives it
 * no patch again (then in ep->release) nor its note that it was left out
 * (then ep->release_left_out). Errors: PC_ERR_NOMEM, PC_ERR_TOO_LARGE. */
pc_status build_release_wanted(builder *b, edge_plan *ep, const pc_repo *prev, uint64_t budget,
                               bool *make);
/* Each edge's whole-release patch, made or reused, in parallel under the
 * memory budget (opts.source: taken from there, as its plan decided); an
 * edge whose patch cannot be made keeps its per-file patches alone (a
 * warning). An edge whose two manifests are those of the previous build
 * (prev, may be NULL) takes its previous delta's release patch, checked by
 * its SHA-256, or its note that one was left out. */
pc_status build_run_releases(builder *b, edge_plan *eps, size_t neps, const pc_repo *prev);
/* Name the release patch in the delta when it is smaller than the per-file
 * download (ep->bytes); otherwise forget it (removed if this build wrote it). */
void build_choose_release(builder *b, edge_plan *ep);
/* Release what build_run_releases kept for the edge. */
void build_free_release(edge_plan *ep);

/* build_root.c: the root of trust. */

/* Choose the root repo.json will name (the --trust one, checked against
 * the site's newest, or that newest) and check that the signing keys are
 * enough of its repository keys. Early: before any work is done. */
pc_status build_check_trust(builder *b);
/* Write the chosen root into SITE/roots/ if it is new (before repo.json). */
pc_status build_write_root(builder *b);
void build_free_trust(builder *b);

/* build_docs.c: the documents. */

/* Choose per file between patch and object; write the edge's delta document. */
pc_status build_finish_edge(builder *b, edge_plan *ep);
/* The site's repo.json as it is, for its serial and release dates (*prev
 * stays NULL when there is none or it is not valid). */
pc_status build_load_previous(builder *b, pc_repo **prev);
/* repo.json, its signature, then the human page. */
pc_status build_write_repo(builder *b, edge_plan *eps, size_t neps, const pc_repo *prev);

#endif
