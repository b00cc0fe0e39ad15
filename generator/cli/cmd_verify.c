/* cmd_verify.c — `patchcast-gen verify SITE -p PUB`: what CI runs before
 * uploading (the check itself is client/update/siteverify.c, shared with
 * `patchcast mirror`). */
#include <getopt.h>
#include <stdio.h>

#include "gen_cli.h"
#include "patchcast.h"
#include "siteverify.h"

static const char vusage[] =
    "usage: patchcast-gen verify SITE (-p PUBKEY | -P KEY)\n"
    "\n"
    "Check a built site before uploading it: the signature of repo.json, the\n"
    "hash and size of every manifest, delta, object and patch, and that every\n"
    "patch applied to its source produces its target. Problems are listed one\n"
    "per line (PROBLEM <file>: <why>); the exit code is 1 if there is any.\n";

static void print_problem(void *ud, const char *file, const char *msg)
{
    (void)ud;
    printf("PROBLEM %s: %s\n", file, msg);
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
    printf("%s: serial %llu, %zu versions, %zu edges; checked %u documents, %u objects, "
           "%u patches: %u problem%s\n",
           argv[optind], (unsigned long long)s.serial, s.versions, s.edges, s.documents,
           s.objects, s.patches, s.problems, s.problems == 1 ? "" : "s");
    pc_client_free(cl);
    return st == PC_OK ? 0 : 1;
}
