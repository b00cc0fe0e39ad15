/* cli_verify.c — `patchcast verify`: check a minisign signature, with
 * minisign's flag names and messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast verify (-p PUBKEY | -P BASE64KEY) -m FILE [-x SIGFILE] [-q | -Q]\n"
    "                        [--allow-legacy] [--json]\n"
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
    "  --json          print one JSON document on stdout: {\"ok\": true,\n"
    "                  \"trusted_comment\": ...}, or the failure\n"
    "exit codes: 0 verified, 3 verification failed, 1 other error, 2 bad usage,\n"
    "            7 permission denied\n";

int pc_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"allow-legacy", no_argument, NULL, 'L'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *pubfile = NULL, *pubkey = NULL, *file = NULL, *sig = NULL;
    int quiet = 0;
    unsigned flags = 0;
    bool json = false;
    int c;
    pc_json_scan(argc, argv);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:P:m:x:qQh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pubfile = optarg; break;
        case 'P': pubkey = optarg; break;
        case 'm': file = optarg; break;
        case 'x': sig = optarg; break;
        case 'q': quiet = 2; break;
        case 'Q': quiet = 1; break;
        case 'L': flags |= PC_VERIFY_ALLOW_LEGACY; break;
        case 'j': json = true; break;
        case 'h': return pc_cli_help(usage);
        default: return pc_cli_bad_option("verify", c, argv, usage);
        }
    }
    if (!file || (!pubfile && !pubkey) || optind != argc) {
        fputs(usage, stderr);
        return pc_cli_usage("verify: %s", !file            ? "-m FILE is required"
                                          : optind != argc ? "unexpected argument"
                                                           : "a public key (-p or -P) is required");
    }
    pc_client *cl;
    if (pc_client_new(&cl) != PC_OK)
        return pc_cli_fail(PC_ERR_NOMEM, "out of memory");
    pc_status st = pubfile ? pc_client_add_pubkey_file(cl, pubfile) : PC_OK;
    if (st == PC_OK && pubkey)
        st = pc_client_add_pubkey(cl, pubkey);
    char *tc = NULL;
    if (st == PC_OK)
        st = pc_client_verify_file(cl, file, sig, flags, &tc);
    int rc;
    if (st != PC_OK) {
        rc = pc_cli_fail(st, "%s", pc_client_errmsg(cl));
    } else if (json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("file", file);
        pc_json_str("trusted_comment", tc);
        pc_json_end();
        rc = PC_EXIT_OK;
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
