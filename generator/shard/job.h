/* job.h — one job of a sharded build's plan, run on this machine: its
 * inputs checked against the plan, each object compressed and each patch
 * diffed (or, when the store has it already and it is right, kept), put
 * into the store, and last the job's result file, which names every
 * output with its size and SHA-256. Running a job again, or twice at once,
 * is safe: outputs are named by content, never half-written, and a second
 * copy keeps what the first put. */
#ifndef PC_JOB_H
#define PC_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meta.h"
#include "shardplan.h"
#include "store.h"

typedef struct pc_job_opts {
    const pc_shard_plan *plan;
    size_t n;              /* the job's index in plan->jobs */
    const char *releases;  /* the RELEASES folder here; NULL: the plan's */
    pc_store *store;
    bool quiet;            /* no progress lines */
} pc_job_opts;

typedef struct pc_job_stats {
    unsigned made;         /* outputs computed */
    unsigned kept;         /* found in the store and checked */
    bool done_before;      /* its result file was there and every output
                              matched it: nothing was done */
} pc_job_stats;

/* Run job o->n. Refuses (PC_ERR_HASH, naming the file) when an input is
 * not the file the plan hashed. */
pc_status pc_shard_run_job(const pc_job_opts *o, pc_job_stats *s, pc_err *e);

/* An output as a job's result file records it. */
typedef struct pc_job_output {
    char path[PC_SITE_PATH_MAX];
    uint64_t size;
    uint8_t sha256[32];
    bool patch;
    pc_patch_fmt format;
} pc_job_output;

/* Read job n's result file (its text, named what in messages): of this
 * plan and job, listing exactly the job's outputs in task order.
 * *outs: one per task, caller frees. */
pc_status pc_shard_result_parse(const pc_shard_plan *p, size_t n, const char *json, size_t len,
                                const char *what, pc_job_output **outs, pc_err *e);

#endif
