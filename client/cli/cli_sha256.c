/* cli_sha256.c — `patchcast sha256 FILE...`: sha256sum-compatible output. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast sha256 [--json] FILE...\n"
    "Print the SHA-256 of each file, in the format of sha256sum.\n"
    "--json: one JSON document: {\"ok\": ..., \"files\": [{\"path\": ..., \"sha256\": ...}]}.\n"
    "exit codes: 0 success, 1 a file could not be read, 2 bad usage, 7 permission denied\n";

int pc_cmd_sha256(int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    pc_json_scan(argc, argv);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'h': return pc_cli_help(usage);
        default: return pc_cli_bad_option("sha256", c, argv, usage);
        }
    }
    if (optind == argc) {
        fputs(usage, stderr);
        return pc_cli_usage("sha256: expected FILE...");
    }
    if (json) {
        pc_json_object(NULL);
        pc_json_array("files");
    }
    pc_status first = PC_OK;
    const char *first_file = NULL;
    int first_errno = 0;
    for (int i = optind; i < argc; i++) {
        uint8_t d[PC_SHA256_LEN];
        char hex[PC_SHA256_HEX_LEN + 1];
        pc_status st = pc_sha256_file(argv[i], d, NULL);
        int err = errno;
        if (st != PC_OK) {
            pc_cli_error("%s: %s", argv[i], strerror(err));
            if (first == PC_OK) {
                first = st;
                first_file = argv[i];
                first_errno = err;
            }
        } else {
            pc_sha256_to_hex(d, hex);
        }
        if (json) {
            pc_json_object(NULL);
            pc_json_str("path", argv[i]);
            if (st == PC_OK)
                pc_json_str("sha256", hex);
            else
                pc_json_str("error", strerror(err));
            pc_json_end();
        } else if (st == PC_OK) {
            printf("%s  %s\n", hex, argv[i]);
        }
    }
    int rc = first == PC_OK ? PC_EXIT_OK : pc_status_exit(first);
    if (json) {
        pc_json_end();
        pc_json_bool("ok", first == PC_OK);
        if (first != PC_OK) {
            char msg[4200];
            snprintf(msg, sizeof msg, "%s: %s", first_file, strerror(first_errno));
            pc_json_object("error");
            pc_json_str("code", pc_status_code(first));
            pc_json_str("message", msg);
            pc_json_end();
            pc_json_uint("exit", (uint64_t)rc);
        }
        pc_json_end();
    }
    return rc;
}
