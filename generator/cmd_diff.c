/* cmd_diff.c — `patchcast-gen diff OLD NEW PATCH`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bsdiff.h"
#include "gen_cli.h"

static const char usage[] =
    "usage: patchcast-gen diff OLD NEW PATCH [--format pcz|bsdiff40]\n"
    "\n"
    "Write a binary patch that turns OLD into NEW; `patchcast apply` applies both\n"
    "formats. Uses two threads; memory about 5 to 6 times the size of OLD, from\n"
    "2 GiB on too (its suffix array is then sorted in segments).\n"
    "  --format pcz       patchcast's compact container (default): bsdiff's control\n"
    "                     and data in five streams compressed with xz or zstd, or\n"
    "                     (text, when smaller) one zstd frame over OLD; sizes and\n"
    "                     SHA-256s in the header\n"
    "  --format bsdiff40  byte-compatible with Debian's bsdiff/bspatch\n";

int gen_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    pc_diff_format fmt = PC_DIFF_PCZ;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "bsdiff40"))
                fmt = PC_DIFF_BSDIFF40;
            else if (!strcmp(optarg, "pcz"))
                fmt = PC_DIFF_PCZ;
            else {
                fprintf(stderr, "patchcast-gen diff: --format %s: expected pcz or bsdiff40\n",
                        optarg);
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
    pc_status st = pc_diff_files(argv[optind], argv[optind + 1], argv[optind + 2], fmt, &size, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen diff: %s\n", e.msg);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "%s: %llu bytes (%.2f s)\n", argv[optind + 2], (unsigned long long)size, secs);
    return 0;
}
