/* cmd_build.c — `patchcast-gen build`: options, key loading, summary table;
 * a sharded build's --job and --assemble run in cmd_shard.c. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "config.h"
#include "gen_cli.h"
#include "password.h"
#include "seckey.h"

static const char usage[] =
    "usage: patchcast-gen build RELEASES -o SITE -s SECKEY [-s SECKEY...] [--config FILE]\n"
    "                           [--trust ROOT.json] [--expires DURATION]\n"
    "                           [--password-file FILE] [-q]\n"
    "       patchcast-gen build --job N JOBS.json --store STORE [--releases DIR] [-q]\n"
    "       patchcast-gen build --assemble JOBS.json --store STORE -o SITE -s SECKEY...\n"
    "                           [--trust ROOT.json] [--expires DURATION]\n"
    "                           [--password-file FILE] [-q]\n"
    "\n"
    "Build (or update) a static update site from RELEASES/<version>/ folders.\n"
    "Existing objects and patches in SITE are verified and reused; only new\n"
    "edges are computed; repo.json and its signature are written last.\n"
    "A sharded build (JOBS.json from `patchcast-gen plan`): --job N runs job N\n"
    "and puts its results into STORE; --assemble checks every result by its\n"
    "hash and writes the site as a build would, repo.json signed last.\n"
    "  --job N               run job N of JOBS.json (numbered from 0)\n"
    "  --assemble            assemble the site from the jobs' results\n"
    "  --store STORE         the results: a folder, or s3://BUCKET[/PREFIX] through\n"
    "                        the AWS CLI (S3_ENDPOINT_URL for other S3 stores)\n"
    "  --releases DIR        the RELEASES folder on this machine (default: the\n"
    "                        plan's)\n"
    "  -o SITE               output folder (created if missing)\n"
    "  -s SECKEY             minisign secret key that signs repo.json; repeat it when\n"
    "                        the root of trust asks for several signatures\n"
    "  --trust ROOT.json     publish this root of trust (signed with patchcast-gen root\n"
    "                        sign) and name it in repo.json; without it a site that has\n"
    "                        roots keeps its newest (docs/format.md section 13)\n"
    "  --config FILE         patchcast.json settings (docs/format.md, README)\n"
    "  --expires DURATION    how long repo.json stays valid, e.g. 30d, 12h (default 30d)\n"
    "  --password-file FILE  the secret key's password (else $PATCHCAST_PASSWORD, or a prompt)\n"
    "  -q, --quiet           no progress lines\n"
    "Release notes: RELEASES/<version>.md, or \"versions\" in the config.\n";

#define MAX_SIGNING_KEYS 16

int gen_cmd_build(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"expires", required_argument, NULL, 'x'},
                                         {"password-file", required_argument, NULL, 'P'},
                                         {"trust", required_argument, NULL, 'T'},
                                         {"job", required_argument, NULL, 'J'},
                                         {"assemble", no_argument, NULL, 'A'},
                                         {"store", required_argument, NULL, 'D'},
                                         {"releases", required_argument, NULL, 'R'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *site = NULL, *config = NULL, *expires = NULL, *pwfile = NULL, *trust = NULL;
    const char *job = NULL, *store = NULL, *releases_here = NULL;
    const char *keyfiles[MAX_SIGNING_KEYS];
    size_t nkeyfiles = 0;
    bool quiet = false, assemble = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': site = optarg; break;
        case 's':
            if (nkeyfiles == MAX_SIGNING_KEYS) {
                fprintf(stderr, "patchcast-gen build: more than %d -s keys\n", MAX_SIGNING_KEYS);
                return 2;
            }
            keyfiles[nkeyfiles++] = optarg;
            break;
        case 'T': trust = optarg; break;
        case 'c': config = optarg; break;
        case 'x': expires = optarg; break;
        case 'P': pwfile = optarg; break;
        case 'J': job = optarg; break;
        case 'A': assemble = true; break;
        case 'D': store = optarg; break;
        case 'R': releases_here = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    const char *bad = NULL;
    if (argc - optind != 1)
        bad = job || assemble ? "expected one JOBS.json" : "expected one RELEASES folder";
    else if (job && assemble)
        bad = "--job and --assemble go to separate runs";
    else if ((job || assemble) && !store)
        bad = "--store STORE is required";
    else if (job && (site || nkeyfiles || config || trust || expires || pwfile))
        bad = "--job takes no -o, -s, --config, --trust, --expires or --password-file";
    else if (assemble && config)
        bad = "--assemble takes the plan's config, not --config";
    else if (!job && releases_here)
        bad = "--releases goes with --job";
    else if (!job && !assemble && store)
        bad = "--store goes with --job or --assemble";
    else if (!job && (!site || nkeyfiles == 0))
        bad = "-o SITE and -s SECKEY are required";
    if (bad) {
        fprintf(stderr, "patchcast-gen build: %s\n%s", bad, usage);
        return 2;
    }
    if (job)
        return gen_shard_job(argv[optind], job, store, releases_here, quiet);
    const char *releases = argv[optind];
    pc_err e = {0};
    pc_config cfg;
    pc_config_defaults(&cfg);
    pc_status st = config ? pc_config_load(&cfg, config, &e) : pc_config_parse(&cfg, "{}", 2, "defaults", &e);
    if (st == PC_OK && expires && !pc_parse_duration(expires, &cfg.expires_seconds))
        st = pc_fail(&e, PC_ERR_INVALID, "--expires %s: expected a duration such as 30d or 12h",
                     expires);
    if (st == PC_OK && cfg.product == NULL) {
        char *copy = strdup(releases);
        char *base = copy ? basename(copy) : NULL;
        cfg.product = base ? strdup(base) : NULL;
        free(copy);
        if (cfg.product == NULL)
            st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    }
    pc_seckey sk[MAX_SIGNING_KEYS];
    for (size_t i = 0; st == PC_OK && i < nkeyfiles; i++)
        st = pc_seckey_load_asking(keyfiles[i], pwfile, &sk[i], &e);
    if (st != PC_OK) {
        for (size_t i = 0; i < nkeyfiles; i++)
            pc_seckey_wipe(&sk[i]);
        fprintf(stderr, "patchcast-gen build: %s\n", e.msg);
        pc_config_free(&cfg);
        return gen_exit_for(st);
    }
    pc_build_opts o = {.releases = releases, .site = site, .cfg = &cfg, .keys = sk,
                       .nkeys = nkeyfiles, .trust = trust, .quiet = quiet};
    pc_build_result r;
    st = assemble ? gen_shard_assemble(argv[optind], store, site, sk, nkeyfiles, trust, expires,
                                       quiet, &r, &e)
                  : pc_build(&o, &r, &e);
    for (size_t i = 0; i < nkeyfiles; i++)
        pc_seckey_wipe(&sk[i]);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen build: %s\n(the site's previous repo.json, if any, is untouched)\n",
                e.msg);
        pc_config_free(&cfg);
        return gen_exit_for(st);
    }
    printf("%s: serial %llu, %u versions, %zu edges, %s in %.1f s\n", site,
           (unsigned long long)r.serial, r.versions, r.nedges, assemble ? "assembled" : "built",
           r.seconds);
    printf("objects: %u %s, %u reused; patches: %u %s, %u reused\n", r.objects_written,
           assemble ? "from the store" : "written", r.objects_reused, r.diffs_computed,
           assemble ? "from the store" : "computed", r.patches_reused);
    /* download: per-file patches and objects; release: the whole-release
     * patch a client with `from` installed takes instead (-: none). */
    printf("%-24s %-24s %12s %12s %8s %12s\n", "from", "to", "download", "full", "saving",
           "release");
    for (size_t i = 0; i < r.nedges; i++) {
        const pc_build_edge_stat *s = &r.edges[i];
        double save = s->full_bytes ? 100.0 * (1.0 - (double)s->bytes / (double)s->full_bytes) : 0;
        char rel[24] = "-";
        if (s->release_bytes)
            snprintf(rel, sizeof rel, "%llu", (unsigned long long)s->release_bytes);
        printf("%-24s %-24s %12llu %12llu %7.1f%% %12s\n", s->from, s->to,
               (unsigned long long)s->bytes, (unsigned long long)s->full_bytes, save, rel);
    }
    pc_build_result_free(&r);
    pc_config_free(&cfg);
    return 0;
}
