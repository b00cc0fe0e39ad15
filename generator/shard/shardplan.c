/* shardplan.c — a sharded build's plan: the work of a build grouped into jobs
 * with their estimates, and jobs.json written and read back strictly. */
#include "shardplan.h"

#include <cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hex.h"
#include "jsonv.h"
#include "path.h"
#include "sha256.h"

#define WHAT "jobs.json"

/* ---- estimates -------------------------------------------------------------- */

/* Seconds on one core of the machine of docs/benchmarks.md: zstd's speed
 * falls steeply with the level (about 1.5 MB/s at 19 on binaries and
 * text); a diff sorts and scans at about 10 MB/s of old and new. */
static double object_seconds(int level, uint64_t size)
{
    double rate = level >= 17 ? 1.5e6 : level >= 13 ? 6e6 : level >= 8 ? 30e6 : 150e6;
    return 0.01 + (double)size / rate;
}

static double patch_seconds(uint64_t from, uint64_t to)
{
    return 0.01 + (double)(from + to) / 10e6;
}

/* A whole-release patch is one diff of its reference and output. */
static double task_seconds(const pc_build_task *t, int level)
{
    return t->patch || t->release ? patch_seconds(t->in.size, t->to.size)
                                  : object_seconds(level, t->in.size);
}

/* A job runs its tasks under a memory budget: its biggest task alone, or
 * more at once up to the config's memory_budget. That budget, plus what
 * the process itself takes (its code, the plan, codec contexts), is its
 * estimate. */
#define JOB_BASE (16ull << 20)
/* The patch writer's compressors (zstd 19 and xz 9 over windows of up to
 * 4 MiB, two threads), which the build's estimate of a diff leaves out:
 * they decide a small file's peak. */
#define PATCH_WRITER (128ull << 20)
static void estimate_job(pc_shard_job *j, const pc_config *cfg)
{
    uint64_t biggest = 0, sum = 0;
    j->seconds = 0;
    for (size_t i = 0; i < j->ntasks; i++) {
        biggest = j->tasks[i].memory > biggest ? j->tasks[i].memory : biggest;
        sum += j->tasks[i].memory;
        j->seconds += j->tasks[i].seconds;
    }
    uint64_t budget = cfg->memory_budget > biggest ? cfg->memory_budget : biggest;
    j->memory = (sum < budget ? sum : budget) + JOB_BASE;
}

/* ---- from the work of a build ----------------------------------------------- */

void pc_shard_result_path(const pc_shard_plan *p, size_t n, char out[PC_SITE_PATH_MAX])
{
    snprintf(out, PC_SITE_PATH_MAX, "jobs/%s/%zu.json", p->sha, n);
}

static void task_output(pc_shard_task *t)
{
    if (t->release)
        t->output[0] = '\0'; /* named by what the job reads */
    else if (t->patch)
        pc_site_patch_path(t->in.sha256, t->to.sha256, t->output);
    else
        pc_site_object_path(t->in.sha256, t->output);
}

/* The config's text as an object with its product, compact; and parsed. */
static pc_status take_config(pc_shard_plan *p, const char *text, const char *product, pc_err *e)
{
    cJSON *c = NULL;
    pc_status st = pc_jparse(text ? text : "{}", text ? strlen(text) : 2, "config", &c, e);
    if (st != PC_OK)
        return st;
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return pc_fail(e, PC_ERR_FORMAT, "config: expected a JSON object at the top level");
    }
    if (!cJSON_HasObjectItem(c, "product") && !cJSON_AddStringToObject(c, "product", product)) {
        cJSON_Delete(c);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    size_t len;
    if ((st = pc_jprint(c, true, false, &p->config_json, &len, e)) != PC_OK)
        return st;
    pc_config_defaults(&p->cfg);
    return pc_config_parse(&p->cfg, p->config_json, len, "config", e);
}

/* Group g of the work: a version's objects, an edge's patches or its
 * whole-release patch. */
enum { OBJECTS, PATCHES, RELEASE };
typedef struct group {
    int kind;
    size_t key;
    double seconds;
    size_t first, n; /* its tasks: order[first .. first + n) */
} group;

static int cmp_group_seconds(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->seconds != y->seconds)
        return x->seconds < y->seconds ? 1 : -1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static pc_status add_title(pc_shard_job *j, const pc_build_work *w, const group *g, pc_err *e)
{
    char t[300];
    if (g->kind != OBJECTS)
        snprintf(t, sizeof t, "%s of %s -> %s", g->kind == PATCHES ? "patches" : "release patch",
                 w->versions[w->edges[g->key][0]].name, w->versions[w->edges[g->key][1]].name);
    else
        snprintf(t, sizeof t, "objects of %s", w->versions[g->key].name);
    char *nt = NULL;
    if (asprintf(&nt, "%s%s%s", j->title ? j->title : "", j->title ? ", " : "", t) < 0)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(j->title);
    j->title = nt;
    return PC_OK;
}

pc_status pc_shard_plan_from_work(pc_build_work *w, const char *releases, const char *config_text,
                            const char *product, unsigned max_jobs, pc_shard_plan *p, pc_err *e)
{
    memset(p, 0, sizeof *p);
    pc_status st = take_config(p, config_text, product, e);
    if (st != PC_OK)
        goto fail;
    if ((p->releases = strdup(releases)) == NULL)
        goto nomem;
    /* Groups in order: objects by version, patches by edge, then release
     * patches by edge. */
    group *g = calloc(w->nversions + 2 * w->nedges + 1, sizeof *g);
    size_t *order = calloc(w->ntasks + 1, sizeof *order), ng = 0, no = 0;
    p->kept = calloc(w->ntasks + 1, sizeof *p->kept);
    if (!g || !order || !p->kept) {
        free(g);
        free(order);
        goto nomem;
    }
    for (int kind = OBJECTS; kind <= RELEASE; kind++) {
        size_t nkeys = kind == OBJECTS ? w->nversions : w->nedges;
        for (size_t k = 0; k < nkeys; k++) {
            group *cur = &g[ng];
            *cur = (group){.kind = kind, .key = k, .first = no};
            for (size_t i = 0; i < w->ntasks; i++) {
                const pc_build_task *t = &w->tasks[i];
                int tk = t->release ? RELEASE : t->patch ? PATCHES : OBJECTS;
                if (tk != kind || t->group != k || t->in_site)
                    continue;
                order[no++] = i;
                cur->n++;
                cur->seconds += task_seconds(t, p->cfg.object_level);
            }
            ng += cur->n > 0;
        }
    }
    for (size_t i = 0; i < w->ntasks; i++) {
        const pc_build_task *t = &w->tasks[i];
        if (!t->in_site)
            continue;
        pc_shard_kept *k = &p->kept[p->nkept++];
        pc_shard_task tmp = {.patch = t->patch, .in = t->in, .to = t->to};
        task_output(&tmp);
        memcpy(k->path, tmp.output, sizeof k->path);
        k->size = t->site_size;
        memcpy(k->sha256, t->site_sha256, 32);
        k->patch = t->patch;
        k->format = t->site_format;
    }
    /* Jobs: one per group, or groups spread over max_jobs bins, the longest
     * first into the least loaded (each bin's groups kept in plan order). */
    size_t nj = max_jobs && ng > max_jobs ? max_jobs : ng;
    size_t *bin = calloc(ng + 1, sizeof *bin);
    double *load = calloc(nj + 1, sizeof *load);
    p->jobs = calloc(nj + 1, sizeof *p->jobs);
    if (!bin || !load || !p->jobs) {
        free(g), free(order), free(bin), free(load);
        goto nomem;
    }
    if (nj < ng) {
        group *byt = malloc(ng * sizeof *byt);
        if (byt == NULL) {
            free(g), free(order), free(bin), free(load);
            goto nomem;
        }
        memcpy(byt, g, ng * sizeof *byt);
        qsort(byt, ng, sizeof *byt, cmp_group_seconds);
        for (size_t i = 0; i < ng; i++) {
            size_t best = 0;
            for (size_t b = 1; b < nj; b++)
                best = load[b] < load[best] ? b : best;
            load[best] += byt[i].seconds;
            for (size_t q = 0; q < ng; q++)
                if (g[q].first == byt[i].first)
                    bin[q] = best;
        }
        free(byt);
    } else {
        for (size_t i = 0; i < ng; i++)
            bin[i] = i;
    }
    /* Bins numbered by their first group, so that job order follows the plan. */
    size_t *renum = malloc((nj + 1) * sizeof *renum), next = 0;
    for (size_t b = 0; renum && b < nj; b++)
        renum[b] = SIZE_MAX;
    for (size_t i = 0; renum && i < ng; i++)
        if (renum[bin[i]] == SIZE_MAX)
            renum[bin[i]] = next++;
    for (size_t i = 0; renum && st == PC_OK && i < ng; i++) {
        pc_shard_job *j = &p->jobs[renum[bin[i]]];
        pc_shard_task *nt = realloc(j->tasks, (j->ntasks + g[i].n) * sizeof *nt);
        if (nt == NULL) {
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        j->tasks = nt;
        for (size_t q = 0; q < g[i].n; q++) {
            const pc_build_task *t = &w->tasks[order[g[i].first + q]];
            pc_shard_task *pt = &j->tasks[j->ntasks++];
            *pt = (pc_shard_task){.patch = t->patch, .release = t->release, .in = t->in,
                                  .to = t->to, .memory = t->memory};
            if (t->patch || t->release)
                pt->memory += PATCH_WRITER;
            pt->seconds = task_seconds(t, p->cfg.object_level);
            task_output(pt);
        }
        st = add_title(j, w, &g[i], e);
    }
    p->njobs = nj;
    if (renum == NULL && st == PC_OK)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(renum), free(g), free(order), free(bin), free(load);
    for (size_t i = 0; i < p->njobs; i++)
        estimate_job(&p->jobs[i], &p->cfg);
    /* The releases move in last: the tasks' paths point into their trees. */
    p->versions = w->versions;
    p->nversions = w->nversions;
    w->versions = NULL;
    w->nversions = 0;
    if (st != PC_OK)
        goto fail;
    return PC_OK;
nomem:
    st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
fail:
    pc_shard_plan_free(p);
    return st;
}

void pc_shard_plan_free(pc_shard_plan *p)
{
    if (p == NULL)
        return;
    free(p->releases);
    free(p->config_json);
    pc_config_free(&p->cfg);
    for (size_t i = 0; i < p->nversions; i++) {
        free(p->versions[i].name);
        free(p->versions[i].notes);
        pc_tree_free(&p->versions[i].tree);
    }
    free(p->versions);
    free(p->kept);
    for (size_t i = 0; i < p->njobs; i++) {
        free(p->jobs[i].title);
        free(p->jobs[i].tasks);
    }
    free(p->jobs);
    memset(p, 0, sizeof *p);
}
