/* shardplan.h — the plan of a sharded build, jobs.json (docs/format.md §14):
 * everything a build does, as independent jobs that other machines run
 * (job.h) and one assemble puts together (assemble.h). It pins what a job
 * needs — the config, the release trees with every file's size and
 * SHA-256 — so that a job refuses inputs other than the plan's. */
#ifndef PC_SHARDPLAN_H
#define PC_SHARDPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "config.h"
#include "error.h"
#include "meta.h"

#define PC_SHARD_PLAN_MAX_BYTES (1ull << 30)

/* One piece of a job: an object to compress (in), a patch (in -> to), or
 * an edge's whole-release patch (release: from version in.version to
 * to.version, in.size the reference's bytes and to.size the output's; no
 * paths, and no output name: the reference's hash names it, which the job
 * learns as it reads the trees). */
typedef struct pc_shard_task {
    bool patch, release;
    pc_build_file in, to;          /* paths borrowed from the plan's trees */
    char output[PC_SITE_PATH_MAX]; /* "objects/ab/…" or "patches/ab/…-…"; "" (release) */
    uint64_t memory;               /* estimated peak bytes */
    double seconds;                /* estimated, on one core */
} pc_shard_task;

typedef struct pc_shard_job {
    char *title;                   /* "patches of 1.0.0 -> 1.1.0" */
    pc_shard_task *tasks;
    size_t ntasks;
    uint64_t memory;               /* estimated peak bytes: the job's memory budget */
    double seconds;
} pc_shard_job;

/* A file the site already had when planned (plan --site): assemble takes
 * it from there, checked by this size and SHA-256. */
typedef struct pc_shard_kept {
    char path[PC_SITE_PATH_MAX];
    uint64_t size;
    uint8_t sha256[32];
    bool patch;
    pc_patch_fmt format;
} pc_shard_kept;

typedef struct pc_shard_plan {
    char sha[65];                  /* SHA-256 of the jobs.json bytes, hex */
    char *releases;                /* the RELEASES folder as given to plan */
    char *config_json;             /* the config, with its product, compact */
    pc_config cfg;                 /* parsed from config_json */
    pc_build_release *versions;    /* in version order */
    size_t nversions;
    pc_shard_kept *kept;
    size_t nkept;
    pc_shard_job *jobs;
    size_t njobs;
} pc_shard_plan;

/* A plan from the work of a build (pc_build_plan): tasks grouped into jobs
 * — each version's new objects, each edge's new patches, each edge's
 * whole-release patch — and, with
 * max_jobs > 0, merged into at most that many jobs of about equal time.
 * What the site had (in_site) is kept, not a task. config_text: the
 * config file's text, or NULL; product: the product name the build uses.
 * The work's releases move into the plan (w keeps none). */
pc_status pc_shard_plan_from_work(pc_build_work *w, const char *releases, const char *config_text,
                            const char *product, unsigned max_jobs, pc_shard_plan *p, pc_err *e);

/* jobs.json's text for p (formatted JSON, a final newline; caller frees). */
pc_status pc_shard_plan_print(const pc_shard_plan *p, char **json, size_t *len, pc_err *e);

/* Read and check jobs.json at path: made by this patchcast-gen version,
 * every name, path and hash well-formed, every task's inputs files of the
 * plan's trees and its output the name they give. p->sha is its hash. */
pc_status pc_shard_plan_load(const char *path, pc_shard_plan *p, pc_err *e);

void pc_shard_plan_free(pc_shard_plan *p);

/* Whether p is "objects/aa/<sha>" or "patches/aa/<from>-<to>" (lowercase
 * hex, aa its first two digits); *patch says which. */
bool pc_shard_site_name_ok(const char *p, bool *patch);

/* The store file where job n records its results: "jobs/<plan sha>/<n>.json". */
void pc_shard_result_path(const pc_shard_plan *p, size_t n, char out[PC_SITE_PATH_MAX]);

#endif
