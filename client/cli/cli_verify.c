/* cli_verify.c — `patchcast verify`: check a minisign signature, with
 * minisign's flag names and messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast verify (-p PUBKEY | -P BASE64KEY) -m FILE [-x SIGFILE] [-q | -Q]\n"
    "                        [--allow-legacy]\n"
    "\n"
    "Verify a minisign signature: the key id, the signature of the file and the\n"
    "signature of the trusted comment.\n"
    "  -p FILE         public key file (minisign format)\n"
    "  -P KEY          public key as a base64 string\n"
    "  -m FILE         the signed file\n"
    "  -x FILE         signature file (default: FILE.minisig)\n"
    "  -q              quiet: print nothing on success\n"
    "  -Q              print only the trusted comment\n"
    "  --allow-legacy  accept legacy non-prehashed (Ed) signatures\n"
    "exit codes: 0 verified, 3 verification failed, 1 other error, 2 bad usage\n";

int pc_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"allow-legacy", no_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *pubfile = NULL, *pubkey = NULL, *file = NULL, *sig = NULL;
    int quiet = 0;
    unsigned flags = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:P:m:x:qQh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pubfile = optarg; break;
        case 'P': pubkey = optarg; break;
        case 'm': file = optarg; break;
        case 'x': sig = optarg; break;
        case 'q': quiet = 2; break;
        case 'Q': quiet = 1; break;
        case 'L': flags |= PC_VERIFY_ALLOW_LEGACY; break;
        case 'h': fputs(usage, stdout); return PC_EXIT_OK;
        default: fputs(usage, stderr); return PC_EXIT_USAGE;
        }
    }
    if (!file || (!pubfile && !pubkey) || optind != argc) {
        pc_cli_error("verify: %s", !file ? "-m FILE is required"
                                   : optind != argc ? "unexpected argument"
                                                    : "a public key (-p or -P) is required");
        fputs(usage, stderr);
        return PC_EXIT_USAGE;
    }
    pc_client *cl;
    if (pc_client_new(&cl) != PC_OK) {
        pc_cli_error("out of memory");
        return PC_EXIT_FAIL;
    }
    pc_status st = pubfile ? pc_client_add_pubkey_file(cl, pubfile) : PC_OK;
    if (st == PC_OK && pubkey)
        st = pc_client_add_pubkey(cl, pubkey);
    char *tc = NULL;
    if (st == PC_OK)
        st = pc_client_verify_file(cl, file, sig, flags, &tc);
    int rc;
    if (st != PC_OK) {
        pc_cli_error("%s", pc_client_errmsg(cl));
        rc = pc_cli_exit_for(st);
    } else {
        if (quiet == 0)
            printf("Signature and comment signature verified\nTrusted comment: %s\n", tc);
        else if (quiet == 1)
            printf("%s\n", tc);
        rc = PC_EXIT_OK;
    }
    free(tc);
    pc_client_free(cl);
    return rc;
}
