/* cmd_shard.c — the sharded side of `patchcast-gen build`: --job N runs one
 * job of a plan into a store, --assemble builds the site from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "assemble.h"
#include "config.h"
#include "gen_cli.h"
#include "job.h"
#include "shardplan.h"
#include "store.h"

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int gen_shard_job(const char *plan, const char *job, const char *store, const char *releases,
                  bool quiet)
{
    char *end;
    unsigned long long n = strtoull(job, &end, 10);
    if (*job < '0' || *job > '9' || *end) {
        fprintf(stderr, "patchcast-gen build: --job %s: expected a job number (0, 1, …)\n", job);
        return 2;
    }
    double t0 = now_seconds();
    pc_err e = {0};
    pc_shard_plan p;
    pc_store *s = NULL;
    pc_job_stats js = {0};
    pc_status st = pc_shard_plan_load(plan, &p, &e);
    if (st == PC_OK && (st = pc_store_open(store, &s, &e)) == PC_OK) {
        pc_job_opts o = {.plan = &p, .n = (size_t)n, .releases = releases, .store = s,
                         .quiet = quiet};
        st = pc_shard_run_job(&o, &js, &e);
    }
    if (st == PC_OK) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        char res[PC_SITE_PATH_MAX];
        pc_shard_result_path(&p, (size_t)n, res);
        const pc_shard_job *j = &p.jobs[n];
        if (js.done_before)
            printf("job %llu (%s): done already (%s in %s), nothing to do\n", n, j->title, res,
                   pc_store_name(s));
        else
            printf("job %llu (%s): %u made, %u in the store already, %.1f s (estimate %.0f s); "
                   "peak memory %.1f MiB (estimate %.1f MiB); %s\n",
                   n, j->title, js.made, js.kept, now_seconds() - t0, j->seconds,
                   (double)ru.ru_maxrss / 1024, (double)j->memory / (1024.0 * 1024), res);
    } else {
        fprintf(stderr, "patchcast-gen build: %s\n", e.msg);
    }
    pc_store_free(s);
    pc_shard_plan_free(&p);
    return st == PC_OK ? 0 : gen_exit_for(st);
}

pc_status gen_shard_assemble(const char *plan, const char *store, const char *site,
                             const pc_seckey *keys, size_t nkeys, const char *trust,
                             const char *expires, bool quiet, pc_build_result *r, pc_err *e)
{
    pc_shard_plan p;
    pc_store *s = NULL;
    memset(r, 0, sizeof *r);
    pc_status st = pc_shard_plan_load(plan, &p, e);
    if (st != PC_OK)
        return st;
    if (expires && !pc_parse_duration(expires, &p.cfg.expires_seconds))
        st = pc_fail(e, PC_ERR_INVALID, "--expires %s: expected a duration such as 30d or 12h",
                     expires);
    if (st == PC_OK && (st = pc_store_open(store, &s, e)) == PC_OK) {
        pc_assemble_opts o = {.plan = &p, .store = s, .site = site, .keys = keys, .nkeys = nkeys,
                              .trust = trust, .quiet = quiet};
        st = pc_assemble(&o, r, e);
    }
    pc_store_free(s);
    pc_shard_plan_free(&p);
    return st;
}
