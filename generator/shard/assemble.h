/* assemble.h — the end of a sharded build: every job's result read from
 * the store, then the site built from the plan's trees as `build` would,
 * each object and patch taken from the site (what the plan found there) or
 * from the store (what a job made), checked by the size and SHA-256 its
 * job or the plan recorded; repo.json signed last. */
#ifndef PC_ASSEMBLE_H
#define PC_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build.h"
#include "seckey.h"
#include "shardplan.h"
#include "store.h"

typedef struct pc_assemble_opts {
    const pc_shard_plan *plan;  /* its cfg is the build's (expires may be changed) */
    pc_store *store;
    const char *site;           /* output folder */
    const pc_seckey *keys;
    size_t nkeys;
    const char *trust;          /* as pc_build_opts */
    bool quiet;
} pc_assemble_opts;

/* Refused, before the site is touched, when a job has no result in the
 * store (naming the jobs); during the build, when a file is not what was
 * recorded (naming the file). */
pc_status pc_assemble(const pc_assemble_opts *o, pc_build_result *res, pc_err *e);

#endif
