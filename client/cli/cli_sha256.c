/* cli_sha256.c — `patchcast sha256 FILE...`: sha256sum-compatible output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "patchcast.h"

int pc_cmd_sha256(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: patchcast sha256 FILE...\n"
                "Print the SHA-256 of each file, in the format of sha256sum.\n");
        return argc < 2 ? PC_EXIT_USAGE : PC_EXIT_OK;
    }
    int rc = PC_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        uint8_t d[PC_SHA256_LEN];
        char hex[PC_SHA256_HEX_LEN + 1];
        pc_status st = pc_sha256_file(argv[i], d, NULL);
        if (st != PC_OK) {
            pc_cli_error("%s: %s", argv[i], strerror(errno));
            rc = PC_EXIT_FAIL;
            continue;
        }
        pc_sha256_to_hex(d, hex);
        printf("%s  %s\n", hex, argv[i]);
    }
    return rc;
}
