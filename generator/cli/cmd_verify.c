/* cmd_verify.c — `patchcast-gen verify SITE -p PUB`: what CI runs before
 * uploading (the check itself is client/update/siteverify.c, shared with
 * `patchcast mirror`; the expiry against the clock is judged here). */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "gen_cli.h"
#include "jsonv.h"
#include "patchcast.h"
#include "siteverify.h"

/* A site that expires sooner than this gets a warning: a weekly re-sign
 * (ci/github-actions.yml, ci/gitlab-ci.yml) keeps a 30-day site above it. */
#define EXPIRY_WARN_SECONDS (7 * 86400)

static const char vusage[] =
    "usage: patchcast-gen verify SITE (-p PUBKEY | -P KEY)\n"
    "\n"
    "Check a built site before uploading it: the signature of repo.json, the\n"
    "hash and size of every manifest, delta, object and patch, that every patch\n"
    "applied to its source produces its target, and that repo.json has not\n"
    "expired (clients refuse it then). Problems are listed one per line\n"
    "(PROBLEM <file>: <why>); the exit code is 1 if there is any. A repo.json\n"
    "that expires within 7 days gets a WARNING line on stderr (exit code 0).\n"
    "Re-sign a site by running `patchcast-gen build` again with the same\n"
    "releases: a new serial and expiry, every object and patch reused.\n";

static void print_problem(void *ud, const char *file, const char *msg)
{
    (void)ud;
    printf("PROBLEM %s: %s\n", file, msg);
}

/* Judge repo.json's expiry at now: a problem once it has expired, a warning
 * on stderr within EXPIRY_WARN_SECONDS of it. Returns the problems added. */
static unsigned check_expiry(int64_t expires, int64_t now)
{
    char at[21];
    pc_format_time(expires, at);
    if (now >= expires) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "expired at %s, and clients refuse it: re-sign it (run `patchcast-gen build` "
                 "again: a new serial and expiry) and schedule that, e.g. weekly",
                 at);
        print_problem(NULL, "repo.json", msg);
        return 1;
    }
    int64_t left = expires - now;
    if (left <= EXPIRY_WARN_SECONDS)
        fprintf(stderr,
                "WARNING repo.json: expires at %s (in %lld days %lld hours), then clients "
                "refuse it: re-sign it before then (run `patchcast-gen build` again; a weekly "
                "scheduled job keeps it valid)\n",
                at, (long long)(left / 86400), (long long)(left % 86400 / 3600));
    return 0;
}

int gen_cmd_verify(int argc, char **argv)
{
    const char *pub = NULL, *pubkey = NULL;
    int c;
    optind = 1;
    static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "p:P:h", lo, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 'P': pubkey = optarg; break;
        case 'h': fputs(vusage, stdout); return 0;
        default: fputs(vusage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || (!pub && !pubkey)) {
        fprintf(stderr, "patchcast-gen verify: expected SITE and -p PUBKEY\n%s", vusage);
        return 2;
    }
    pc_client *cl = NULL;
    if (pc_client_new(&cl) != PC_OK)
        return PC_EXIT_FAIL;
    pc_status st = pub ? pc_client_add_pubkey_file(cl, pub) : pc_client_add_pubkey(cl, pubkey);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen verify: %s\n", pc_client_errmsg(cl));
        pc_client_free(cl);
        return gen_exit_for(st);
    }
    pc_site_verify_stats s = {0};
    st = pc_site_verify_dir(cl, argv[optind], print_problem, NULL, &s);
    if (s.expires != 0)
        s.problems += check_expiry(s.expires, (int64_t)time(NULL));
    printf("%s: serial %llu, %zu versions, %zu edges; checked %u documents, %u objects, "
           "%u patches: %u problem%s\n",
           argv[optind], (unsigned long long)s.serial, s.versions, s.edges, s.documents,
           s.objects, s.patches, s.problems, s.problems == 1 ? "" : "s");
    pc_client_free(cl);
    return st == PC_OK && s.problems == 0 ? 0 : 1;
}
