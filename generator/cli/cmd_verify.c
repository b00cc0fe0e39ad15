/* cmd_verify.c — `patchcast-gen verify SITE -p PUB | --trust ROOT`: what
 * CI runs before uploading (the check itself is client/update/siteverify.c, shared with
 * `patchcast mirror`; the expiry against the clock is judged here). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"

#include "gen_cli.h"
#include "jsonv.h"
#include "patchcast.h"
#include "siteverify.h"
#include "trust.h"

/* A site that expires sooner than this gets a warning: a weekly re-sign
 * (ci/github-actions.yml, ci/gitlab-ci.yml) keeps a 30-day site above it. */
#define EXPIRY_WARN_SECONDS (7 * 86400)
/* Root metadata is signed by people, offline: a month's notice. */
#define ROOT_WARN_SECONDS (30 * 86400)
#define RESIGN_REPO "re-sign it (run `patchcast-gen build` again: a new serial and expiry)"
#define RESIGN_ROOT                                                                       \
    "its key holders must sign the next root version (patchcast-gen root init/sign) and " \
    "publish it with `patchcast-gen build --trust`"

static const char vusage[] =
    "usage: patchcast-gen verify SITE (-p PUBKEY | -P KEY | --trust ROOT.json)\n"
    "\n"
    "Check a built site before uploading it: the signature of repo.json, the\n"
    "hash and size of every manifest, delta, object and patch, that every patch\n"
    "applied to its source produces its target, and that repo.json has not\n"
    "expired (clients refuse it then). Problems are listed one per line\n"
    "(PROBLEM <file>: <why>); the exit code is 1 if there is any. A repo.json\n"
    "that expires within 7 days gets a WARNING line on stderr (exit code 0).\n"
    "\n"
    "A site with a root of trust (roots/) has its chain of roots checked, each\n"
    "signed by a threshold of its own and the previous root's keys, and repo.json\n"
    "checked by the newest root's repository keys; its expiry is judged too\n"
    "(WARNING within 30 days). --trust ROOT.json checks the chain holds the root\n"
    "the clients pinned, instead of or besides a bare key.\n"
    "Re-sign a site by running `patchcast-gen build` again with the same\n"
    "releases: a new serial and expiry, every object and patch reused.\n";

static void print_problem(void *ud, const char *file, const char *msg)
{
    (void)ud;
    printf("PROBLEM %s: %s\n", file, msg);
}

/* Judge FILE's expiry at now: a problem once it has expired, a warning on
 * stderr within warn seconds of it. Returns the problems added. */
static unsigned check_expiry(const char *file, int64_t expires, int64_t now, int64_t warn,
                             const char *remedy)
{
    char at[21];
    pc_format_time(expires, at);
    if (now >= expires) {
        char msg[400];
        snprintf(msg, sizeof msg, "expired at %s, and clients refuse it: %s", at, remedy);
        print_problem(NULL, file, msg);
        return 1;
    }
    int64_t left = expires - now;
    if (left <= warn)
        fprintf(stderr, "WARNING %s: expires at %s (in %lld days %lld hours), then clients "
                "refuse it: %s before then\n",
                file, at, (long long)(left / 86400), (long long)(left % 86400 / 3600), remedy);
    return 0;
}

/* The root the clients pinned (--trust) must be the site's root of its
 * version, byte for byte, and not newer than the site's newest. */
static unsigned check_pinned(const char *site, const char *trust, uint64_t site_root)
{
    char *want = NULL, *have = NULL, *path = NULL;
    size_t wlen = 0, hlen = 0;
    pc_err e = {0};
    unsigned problems = 0;
    pc_root pinned;
    if (pc_read_file(trust, PC_ROOT_MAX_BYTES, &want, &wlen, &e) != PC_OK ||
        pc_root_parse(want, wlen, &pinned, &e) != PC_OK) {
        print_problem(NULL, trust, e.msg);
        free(want);
        return 1;
    }
    char rel[64];
    pc_root_site_path(pinned.version, rel);
    if (asprintf(&path, "%s/%s", site, rel) < 0)
        path = NULL;
    if (pinned.version > site_root) {
        char msg[200];
        snprintf(msg, sizeof msg, "is root version %llu, but the site's newest valid root is "
                 "version %llu", (unsigned long long)pinned.version,
                 (unsigned long long)site_root);
        print_problem(NULL, trust, msg);
        problems = 1;
    } else if (!path || pc_read_file(path, PC_ROOT_MAX_BYTES, &have, &hlen, &e) != PC_OK ||
               hlen != wlen || memcmp(have, want, wlen) != 0) {
        print_problem(NULL, trust, "differs from the site's root of the same version: the "
                      "clients that pinned it refuse this site");
        problems = 1;
    }
    free(want);
    free(have);
    free(path);
    return problems;
}

int gen_cmd_verify(int argc, char **argv)
{
    const char *pub = NULL, *pubkey = NULL, *trust = NULL;
    int c;
    optind = 1;
    static const struct option lo[] = {{"help", no_argument, NULL, 'h'},
                                       {"trust", required_argument, NULL, 'T'},
                                       {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "p:P:h", lo, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 'P': pubkey = optarg; break;
        case 'T': trust = optarg; break;
        case 'h': fputs(vusage, stdout); return 0;
        default: fputs(vusage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || (!pub && !pubkey && !trust)) {
        fprintf(stderr, "patchcast-gen verify: expected SITE and -p PUBKEY or --trust ROOT.json\n%s",
                vusage);
        return 2;
    }
    pc_client *cl = NULL;
    if (pc_client_new(&cl) != PC_OK)
        return PC_EXIT_FAIL;
    pc_status st = pub      ? pc_client_add_pubkey_file(cl, pub)
                   : pubkey ? pc_client_add_pubkey(cl, pubkey)
                            : PC_OK;
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen verify: %s\n", pc_client_errmsg(cl));
        pc_client_free(cl);
        return gen_exit_for(st);
    }
    pc_site_verify_stats s = {0};
    st = pc_site_verify_dir(cl, argv[optind], print_problem, NULL, &s);
    int64_t now = (int64_t)time(NULL);
    if (s.expires != 0)
        s.problems += check_expiry("repo.json", s.expires, now, EXPIRY_WARN_SECONDS, RESIGN_REPO);
    if (s.root_version != 0) {
        char rel[64];
        pc_root_site_path(s.root_version, rel);
        s.problems += check_expiry(rel, s.root_expires, now, ROOT_WARN_SECONDS, RESIGN_ROOT);
    }
    if (trust)
        s.problems += check_pinned(argv[optind], trust, s.root_version);
    char rootnote[48] = "";
    if (s.root_version)
        snprintf(rootnote, sizeof rootnote, ", root version %llu",
                 (unsigned long long)s.root_version);
    printf("%s: serial %llu%s, %zu versions, %zu edges; checked %u documents, %u objects, "
           "%u patches: %u problem%s\n",
           argv[optind], (unsigned long long)s.serial, rootnote, s.versions, s.edges, s.documents,
           s.objects, s.patches, s.problems, s.problems == 1 ? "" : "s");
    pc_client_free(cl);
    return st == PC_OK && s.problems == 0 ? 0 : 1;
}
