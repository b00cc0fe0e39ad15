/* shardrel.h — a sharded build's whole-release patches: a release task's
 * plan (generator/diff/reldiff.h) from the plan's trees, which jobs.json's
 * reader checks the task by and a job makes the patch from, the same code
 * a one-machine build runs. */
#ifndef PC_SHARDREL_H
#define PC_SHARDREL_H

#include "error.h"
#include "meta.h"
#include "reldiff.h"
#include "shardplan.h"

typedef struct pc_shard_release {
    pc_manifest from, to;  /* the two versions' files, borrowed from the plan's trees */
    pc_reldiff rd;
} pc_shard_release;

/* The plan of release task t: what its patch reads and makes. Refused
 * (PC_ERR_INVALID) when a build would make none for these versions: no
 * content added, an empty reference, or more contents than clients map.
 * Free r with pc_shard_release_free, also after a failure. */
pc_status pc_shard_release_plan(const pc_shard_plan *p, const pc_shard_task *t,
                                pc_shard_release *r, pc_err *e);

/* Each file the patch reads — the reference's and the added contents', at
 * their first paths — checked by check(ud, file, e) (job.c's input check). */
pc_status pc_shard_release_inputs(const pc_shard_task *t, const pc_shard_release *r,
                                  pc_status (*check)(void *ud, const pc_build_file *f, pc_err *e),
                                  void *ud, pc_err *e);

/* Read the two versions from RELEASES here into r's memory files (each file
 * checked against the plan) and name the patch: out "patches/<aa>/<ref>-<to>". */
pc_status pc_shard_release_load(const pc_shard_plan *p, const pc_shard_task *t,
                                const char *releases, pc_shard_release *r,
                                char out[PC_SITE_PATH_MAX], pc_err *e);

void pc_shard_release_free(pc_shard_release *r);

#endif
