/* main.c — the `patchcast-gen` command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "gen_cli.h"
#include "patchcast.h"

static const gen_cmd commands[] = {
    {"build", "build or update a signed static update site from release folders", gen_cmd_build},
    {"plan", "list a build's work as jobs for other machines (a sharded build)", gen_cmd_plan},
    {"verify", "check a built site: signature, hashes, every patch applied once", gen_cmd_verify},
    {"gc", "remove site files no longer referenced (after the retention period)", gen_cmd_gc},
    {"root", "root of trust: init, sign and verify root metadata (key rotation)", gen_cmd_root},
    {"keygen", "create a signing key pair (minisign format)", gen_cmd_keygen},
    {"sign", "sign files (prehashed minisign signatures)", gen_cmd_sign},
    {"diff", "write a binary patch (BSDIFF40) from OLD to NEW", gen_cmd_diff},
    {NULL, NULL, NULL},
};

static size_t ncommands(void)
{
    size_t n = 0;
    while (commands[n].name)
        n++;
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: patchcast-gen <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < ncommands(); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'patchcast-gen <command> --help' describes a command.\n"
               "\nexit codes: 0 success, 1 failure, 2 bad usage, 3 verification failed,\n"
               "            6 no space left, 7 permission denied\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("patchcast-gen %s\n", pc_version());
        return 0;
    }
    for (size_t i = 0; i < ncommands(); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "patchcast-gen: unknown command '%s' (see 'patchcast-gen --help')\n", argv[1]);
    return 2;
}
