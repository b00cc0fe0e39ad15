/* cli_run.c — `patchcast run`: start a program of the installed version,
 * holding that version for the program's life so that no update prunes
 * the files it runs from. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "path.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast run [--root DIR] [--version V] [--] PROGRAM [ARG...]\n"
    "Run PROGRAM (a path inside the version, e.g. bin/app) from ROOT/versions/<v>,\n"
    "where <v> is the current version (or V), with ARGs. The program holds its\n"
    "version while it runs: updates meanwhile switch to newer versions but do\n"
    "not delete this one. The program sees PATCHCAST_ROOT, PATCHCAST_VERSION and\n"
    "PATCHCAST_VERSION_DIR. --root defaults to $PATCHCAST_ROOT.\n"
    "exit codes: the program's once it runs; before, those of every command\n"
    "(2 bad usage, 7 permission, …) and 126 (cannot execute) or 127 (no such\n"
    "program), as a shell's.\n";

int pc_cmd_run(int argc, char **argv)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"version", required_argument, NULL, 'v'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *root = getenv("PATCHCAST_ROOT"), *version = NULL;
    int ch;
    optind = 1;
    /* "+": options end at PROGRAM, whose own options are left alone. */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'r': root = optarg; break;
        case 'v': version = optarg; break;
        case 'h': return pc_cli_help(usage);
        default: return pc_cli_bad_option("run", ch, argv, usage);
        }
    }
    if (optind >= argc)
        return pc_cli_usage("run: PROGRAM is required (see 'patchcast run --help')");
    if (root == NULL || root[0] == '\0')
        return pc_cli_usage("run: --root DIR is required (or set PATCHCAST_ROOT)");
    const char *prog = argv[optind];
    const char *why = pc_path_problem(prog);
    if (why)
        return pc_cli_usage("run: '%s' is not a path inside the version, like bin/app: %s", prog,
                            why);
    pc_client *c;
    if (pc_client_new(&c) != PC_OK)
        return PC_EXIT_FAIL;
    pc_hold *h = NULL;
    pc_status st = pc_client_set_root(c, root);
    if (st == PC_OK)
        st = pc_client_hold_version(c, version, PC_HOLD_INHERIT, &h);
    if (st != PC_OK) {
        const char *m = pc_client_errmsg(c);
        int rc = pc_cli_fail(st, "run: %s", m[0] ? m : pc_strerror(st));
        pc_client_free(c);
        return rc;
    }
    size_t n = strlen(pc_hold_dir(h)) + strlen(prog) + 2;
    char *path = malloc(n);
    if (path == NULL) {
        pc_hold_release(h);
        pc_client_free(c);
        return PC_EXIT_FAIL;
    }
    snprintf(path, n, "%s/%s", pc_hold_dir(h), prog);
    setenv("PATCHCAST_ROOT", root, 1);
    setenv("PATCHCAST_VERSION", pc_hold_version(h), 1);
    setenv("PATCHCAST_VERSION_DIR", pc_hold_dir(h), 1);
    fflush(stdout);
    /* The hold's descriptor is inherited: the program holds the version. */
    execv(path, argv + optind);
    int err = errno;
    pc_cli_error("run: %s: %s", path, strerror(err));
    free(path);
    pc_hold_release(h);
    pc_client_free(c);
    return err == ENOENT ? 127 : 126;
}
