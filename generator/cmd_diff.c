/* cmd_diff.c — `patchcast-gen diff OLD NEW PATCH`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bsdiff.h"
#include "gen_cli.h"

static const char usage[] =
    "usage: patchcast-gen diff OLD NEW PATCH [--format bsdiff40]\n"
    "\n"
    "Write a binary patch that turns OLD into NEW. The BSDIFF40 format is\n"
    "byte-compatible with Debian's bsdiff/bspatch; `patchcast apply` and\n"
    "`bspatch` both apply it.\n"
    "  --format F   bsdiff40 (default). The compact pcz container is not\n"
    "               available in this release.\n";

int gen_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "bsdiff40") != 0) {
                fprintf(stderr, "patchcast-gen diff: --format %s: %s\n", optarg,
                        !strcmp(optarg, "pcz") ? "the pcz container is not available yet"
                                               : "unknown format (expected bsdiff40)");
                return 2;
            }
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 3) {
        fprintf(stderr, "patchcast-gen diff: expected OLD NEW PATCH\n%s", usage);
        return 2;
    }
    pc_err e = {0};
    uint64_t size = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pc_status st = pc_diff_files(argv[optind], argv[optind + 1], argv[optind + 2], &size, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen diff: %s\n", e.msg);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "%s: %llu bytes (%.2f s)\n", argv[optind + 2], (unsigned long long)size, secs);
    return 0;
}
