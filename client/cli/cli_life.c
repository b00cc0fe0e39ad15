/* cli_life.c — `patchcast apply-staged|mark-good|skip`: the release
 * lifecycle after the download (docs/guide.md, "Releasing safely"). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast apply-staged [--root DIR] [--json]\n"
    "       patchcast mark-good    [--root DIR] [--json] [VERSION]\n"
    "       patchcast skip         [--root DIR] [--json] [--undo] VERSION\n"
    "\n"
    "apply-staged: switch to the version 'patchcast update --stage' prepared\n"
    "(its files are checked first); exit 1 if nothing is staged.\n"
    "mark-good: the running version works (VERSION defaults to\n"
    "$PATCHCAST_VERSION, which 'patchcast run' sets, else the current one): a\n"
    "version installed by an update is pending until then, and 'patchcast run\n"
    "--attempts N' rolls a pending version back after N failed starts.\n"
    "skip: hide VERSION from automatic updates here (--undo: show it again);\n"
    "a critical version is offered all the same. 'patchcast check' lists the\n"
    "skipped versions.\n"
    "--root defaults to $PATCHCAST_ROOT. These wait up to 60 s for an update\n"
    "that is running.\n" PC_CLI_EXIT_CODES;

typedef struct life_opts {
    const char *root, *version;
    bool json, undo;
} life_opts;

/* 0, an exit code, or -1 after --help. */
static int parse(int argc, char **argv, life_opts *o, int nargs)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"undo", no_argument, NULL, 'u'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    pc_json_scan(argc, argv);
    o->root = getenv("PATCHCAST_ROOT");
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o->root = optarg; break;
        case 'j': o->json = true; break;
        case 'u':
            if (strcmp(argv[0], "skip"))
                return pc_cli_usage("%s: --undo is for skip", argv[0]);
            o->undo = true;
            break;
        case 'h': pc_cli_help(usage); return -1;
        default: return pc_cli_bad_option(argv[0], c, argv, usage);
        }
    }
    if (argc - optind > (nargs < 0 ? -nargs : nargs))
        return pc_cli_usage("%s: unexpected argument '%s'", argv[0], argv[argc - 1]);
    if (nargs > 0 && optind == argc)
        return pc_cli_usage("%s: VERSION is required", argv[0]);
    o->version = optind < argc ? argv[optind] : NULL;
    if (o->root == NULL || o->root[0] == '\0')
        return pc_cli_usage("%s: --root DIR is required (or set PATCHCAST_ROOT)", argv[0]);
    return 0;
}

/* The client of o->root, waiting up to 60 s for the lock; NULL after a
 * reported failure (*rc). */
static pc_client *open_root(const life_opts *o, int *rc)
{
    pc_client *c = NULL;
    pc_status st = pc_client_new(&c);
    if (st == PC_OK)
        st = pc_client_load_config(c, o->root);
    if (st == PC_OK)
        st = pc_client_set_wait(c, 60);
    if (st != PC_OK) {
        *rc = pc_cli_fail(st, "%s", c && pc_client_errmsg(c)[0] ? pc_client_errmsg(c)
                                                                 : pc_strerror(st));
        pc_client_free(c);
        return NULL;
    }
    return c;
}

static int done(pc_client *c, pc_status st, const life_opts *o, const char *text)
{
    int rc = 0;
    if (st != PC_OK) {
        const char *m = pc_client_errmsg(c);
        rc = pc_cli_fail(st, "%s", m[0] ? m : pc_strerror(st));
    } else if (o->json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("message", text);
        pc_json_end();
    } else {
        printf("%s\n", text);
    }
    pc_client_free(c);
    return rc;
}

int pc_cmd_apply_staged(int argc, char **argv)
{
    life_opts o;
    int rc = parse(argc, argv, &o, 0);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_root(&o, &rc);
    if (c == NULL)
        return rc;
    pc_update_info *info = NULL;
    pc_status st = pc_client_apply_staged(c, &info);
    char text[300] = "";
    if (st == PC_OK)
        snprintf(text, sizeof text, "switched from %s to the staged %s",
                 info->from ? info->from : "(nothing)", info->to);
    pc_update_info_free(info);
    return done(c, st, &o, text);
}

int pc_cmd_mark_good(int argc, char **argv)
{
    life_opts o;
    int rc = parse(argc, argv, &o, -1);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *v = o.version ? o.version : getenv("PATCHCAST_VERSION");
    if (v && v[0] == '\0')
        v = NULL;
    pc_client *c = open_root(&o, &rc);
    if (c == NULL)
        return rc;
    pc_status st = pc_client_mark_good(c, v);
    char text[200];
    snprintf(text, sizeof text, "%s marked good", v ? v : "the current version");
    return done(c, st, &o, text);
}

int pc_cmd_skip(int argc, char **argv)
{
    life_opts o;
    int rc = parse(argc, argv, &o, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_root(&o, &rc);
    if (c == NULL)
        return rc;
    pc_status st = pc_client_skip_version(c, o.version, !o.undo);
    char text[200];
    snprintf(text, sizeof text, o.undo ? "%s is offered again" : "%s skipped: not installed "
                                                                 "automatically here",
             o.version);
    return done(c, st, &o, text);
}
