/* cmd_plan.c — `patchcast-gen plan`: the work of a build as independent
 * jobs in jobs.json, and what a CI matrix needs to run them. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "config.h"
#include "fileio.h"
#include "gen_cli.h"
#include "shardplan.h"

static const char usage[] =
    "usage: patchcast-gen plan RELEASES -o JOBS.json [--config FILE] [--site SITE]\n"
    "                          [--max-jobs N] [--matrix github|gitlab] [-q]\n"
    "\n"
    "List the work of `patchcast-gen build RELEASES` — each version's new objects\n"
    "to compress, each edge's patches to diff and whole-release patch to make —\n"
    "as independent jobs, numbered from 0, with each job's estimated peak memory\n"
    "and time. Run each with\n"
    "`patchcast-gen build --job N JOBS.json --store STORE`, on any machines,\n"
    "then `patchcast-gen build --assemble JOBS.json --store STORE -o SITE -s KEY`.\n"
    "  -o JOBS.json          the plan to write (docs/format.md section 14)\n"
    "  --config FILE         patchcast.json settings; the plan carries them\n"
    "  --site SITE           the site the build will update: what it has (checked\n"
    "                        as build checks what it reuses) is not planned again\n"
    "  --max-jobs N          at most N jobs (work spread by estimated time)\n"
    "  --matrix github       print the job numbers as a JSON array, for\n"
    "                        strategy.matrix: ${{ fromJSON(...) }}\n"
    "  --matrix gitlab       print the number of jobs, for `parallel:` with\n"
    "                        CI_NODE_INDEX / CI_NODE_TOTAL\n"
    "  -q, --quiet           no progress lines and no table of jobs\n";

static void human(uint64_t bytes, char out[32])
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int i = 0;
    while (v >= 1024 && i < 4)
        v /= 1024, i++;
    snprintf(out, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void table(FILE *f, const char *out, const pc_shard_plan *p)
{
    size_t objects = 0, patches = 0, releases = 0;
    for (size_t j = 0; j < p->njobs; j++)
        for (size_t k = 0; k < p->jobs[j].ntasks; k++) {
            const pc_shard_task *t = &p->jobs[j].tasks[k];
            t->release ? releases++ : t->patch ? patches++ : objects++;
        }
    fprintf(f, "%s: plan %.16s…, %zu jobs: %zu objects, %zu patches and %zu whole-release "
               "patches to make; %zu files the site has\n",
            out, p->sha, p->njobs, objects, patches, releases, p->nkept);
    if (p->njobs)
        fprintf(f, "%-5s %12s %10s  %s\n", "job", "memory", "time", "work");
    for (size_t j = 0; j < p->njobs; j++) {
        char mem[32];
        human(p->jobs[j].memory, mem);
        fprintf(f, "%-5zu %12s %9.0fs  %s (%zu tasks)\n", j, mem, p->jobs[j].seconds + 0.5,
                p->jobs[j].title, p->jobs[j].ntasks);
    }
}

int gen_cmd_plan(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"site", required_argument, NULL, 'S'},
                                         {"max-jobs", required_argument, NULL, 'M'},
                                         {"matrix", required_argument, NULL, 'm'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL, *config = NULL, *site = NULL, *matrix = NULL;
    unsigned long max_jobs = 0;
    bool quiet = false;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'c': config = optarg; break;
        case 'S': site = optarg; break;
        case 'M':
            max_jobs = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end || max_jobs > 100000) {
                fprintf(stderr, "patchcast-gen plan: --max-jobs %s: expected 1 to 100000\n", optarg);
                return 2;
            }
            break;
        case 'm':
            matrix = optarg;
            if (strcmp(matrix, "github") && strcmp(matrix, "gitlab")) {
                fprintf(stderr, "patchcast-gen plan: --matrix %s: expected github or gitlab\n",
                        optarg);
                return 2;
            }
            break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || !out) {
        fprintf(stderr, "patchcast-gen plan: %s\n%s",
                argc - optind != 1 ? "expected one RELEASES folder" : "-o JOBS.json is required",
                usage);
        return 2;
    }
    const char *releases = argv[optind];
    pc_err e = {0};
    pc_config cfg;
    pc_config_defaults(&cfg);
    char *text = NULL, *json = NULL, *product = NULL;
    size_t len = 0;
    pc_build_work w = {0};
    pc_shard_plan p = {0};
    pc_status st = PC_OK;
    if (config && (st = pc_read_file(config, 1u << 20, &text, &len, &e)) != PC_OK)
        pc_fail_prefix(&e, "config: ");
    if (st == PC_OK)
        st = pc_config_parse(&cfg, text ? text : "{}", text ? len : 2, config ? config : "defaults",
                             &e);
    if (st == PC_OK && cfg.product == NULL) {
        char *copy = strdup(releases);
        char *base = copy ? basename(copy) : NULL;
        cfg.product = base ? strdup(base) : NULL;
        free(copy);
        if (cfg.product == NULL)
            st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    }
    if (st == PC_OK && (product = strdup(cfg.product)) == NULL)
        st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    pc_build_opts o = {.releases = releases, .site = site, .cfg = &cfg, .quiet = quiet};
    if (st == PC_OK)
        st = pc_build_plan(&o, &w, &e);
    if (st == PC_OK)
        st = pc_shard_plan_from_work(&w, releases, text, product, (unsigned)max_jobs, &p, &e);
    if (st == PC_OK && (st = pc_shard_plan_print(&p, &json, &len, &e)) == PC_OK)
        st = pc_write_file_atomic(out, json, len, 0644, &e);
    if (st == PC_OK) {
        uint8_t sha[32];
        pc_sha256(json, len, sha);
        pc_sha256_to_hex(sha, p.sha);
        if (!quiet)
            table(matrix ? stderr : stdout, out, &p);
        if (matrix && !strcmp(matrix, "github")) {
            putchar('[');
            for (size_t j = 0; j < p.njobs; j++)
                printf("%s%zu", j ? "," : "", j);
            puts("]");
        } else if (matrix) {
            printf("%zu\n", p.njobs);
        }
    } else {
        fprintf(stderr, "patchcast-gen plan: %s\n", e.msg);
    }
    pc_shard_plan_free(&p);
    pc_build_work_free(&w);
    pc_config_free(&cfg);
    free(text);
    free(json);
    free(product);
    return st == PC_OK ? 0 : gen_exit_for(st);
}
