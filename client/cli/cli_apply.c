/* cli_apply.c — `patchcast apply OLD PATCH NEW`: apply a BSDIFF40 (or pcz)
 * patch with bounded memory. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "patch.h"

static const char usage[] =
    "usage: patchcast apply OLD PATCH NEW [--sha256 HEX] [--size N] [--no-sync] [--json]\n"
    "\n"
    "Apply a binary patch (BSDIFF40, as Debian's bsdiff writes it) to OLD and\n"
    "write NEW. NEW is written under a temporary name and only renamed into\n"
    "place once complete (and, with --sha256/--size, verified).\n"
    "  --sha256 HEX   expected SHA-256 of the result\n"
    "  --size N       expected size of the result in bytes\n"
    "  --no-sync      do not fsync NEW and its folder (as bspatch does not): faster,\n"
    "                still renamed into place whole, but not yet durable on disk\n"
    "  --json         print one JSON document on stdout, on success and on failure\n"
    "exit codes: 0 applied, 3 result differs from --sha256, 1 other error, 2 bad usage,\n"
    "            6 no space left, 7 permission denied\n";

int pc_cmd_apply(int argc, char **argv)
{
    static const struct option opts[] = {{"sha256", required_argument, NULL, 's'},
                                         {"size", required_argument, NULL, 'n'},
                                         {"no-sync", no_argument, NULL, 'S'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    pc_patch_expect ex = {0};
    bool json = false;
    int c;
    pc_json_scan(argc, argv);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (pc_sha256_from_hex(optarg, ex.new_sha256) != PC_OK)
                return pc_cli_usage("apply: --sha256: expected 64 hex digits");
            ex.has_sha = true;
            break;
        case 'n': {
            char *end;
            ex.new_size = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || *optarg == '-')
                return pc_cli_usage("apply: --size: expected a number of bytes");
            ex.has_size = true;
            break;
        }
        case 'S': ex.no_sync = true; break;
        case 'j': json = true; break;
        case 'h': return pc_cli_help(usage);
        default: return pc_cli_bad_option("apply", c, argv, usage);
        }
    }
    if (argc - optind != 3) {
        fputs(usage, stderr);
        return pc_cli_usage("apply: expected OLD PATCH NEW");
    }
    pc_err e = {0};
    pc_status st = pc_patch_apply_file(argv[optind], argv[optind + 1], argv[optind + 2],
                                       (ex.has_sha || ex.has_size || ex.no_sync) ? &ex : NULL, &e);
    if (st != PC_OK)
        return pc_cli_fail(st, "apply: %s", e.msg);
    if (json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("new", argv[optind + 2]);
        pc_json_bool("verified", ex.has_sha || ex.has_size);
        pc_json_end();
    }
    return PC_EXIT_OK;
}
