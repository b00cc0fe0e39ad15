/* cli_init.c — `patchcast init`: check what the user gave (repository URLs,
 * folders, the root), optionally the site itself, then write config.json. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast init --root DIR --repo URL [--repo MIRROR...]\n"
    "                      (-p PUBKEY | -P KEY | --trust ROOT.json)\n"
    "                      [--channel C] [--ca-file PEM] [--check] [--json]\n"
    "\n"
    "Write DIR/config.json: the repositories, the pinned public keys, the channel.\n"
    "A repository is the URL of the site's folder (https://, http:// or file://) or\n"
    "a folder, stored as an absolute path; a value without a scheme must be an\n"
    "existing folder or start with /, ./ or ../. Extra --repo options are mirrors,\n"
    "tried in order. -p and -P may both be given: both keys are pinned (a rotation).\n"
    "--trust pins a root of trust (made with patchcast-gen root; its signatures in\n"
    "ROOT.json.minisig) instead of bare keys: updates then follow its key rotations.\n"
    "--root defaults to $PATCHCAST_ROOT; DIR is created if missing.\n"
    "--check: fetch and verify the site first; if that fails nothing is saved.\n"
    "--json: print one JSON document on stdout, on success and on failure.\n" PC_CLI_EXIT_CODES;

#define MAX_REPOS 8

typedef struct init_opts {
    const char *root, *channel, *ca, *pubfile, *pubkey, *trust;
    const char *repos[MAX_REPOS];
    char *stored[MAX_REPOS]; /* what config.json gets: a URL, an absolute folder */
    int nrepos;
    bool json, check;
} init_opts;

static int parse(int argc, char **argv, init_opts *o)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"repo", required_argument, NULL, 'R'},
                                       {"channel", required_argument, NULL, 'c'},
                                       {"ca-file", required_argument, NULL, 'C'},
                                       {"check", no_argument, NULL, 'k'},
                                       {"trust", required_argument, NULL, 'T'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    pc_json_scan(argc, argv);
    o->root = getenv("PATCHCAST_ROOT");
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:P:h", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o->root = optarg; break;
        case 'R':
            if (o->nrepos == MAX_REPOS)
                return pc_cli_usage("init: at most %d --repo options", MAX_REPOS);
            o->repos[o->nrepos++] = optarg;
            break;
        case 'c': o->channel = optarg; break;
        case 'C': o->ca = optarg; break;
        case 'k': o->check = true; break;
        case 'j': o->json = true; break;
        case 'p': o->pubfile = optarg; break;
        case 'P': o->pubkey = optarg; break;
        case 'T': o->trust = optarg; break;
        case 'h': pc_cli_help(usage); return -1;
        default: return pc_cli_bad_option("init", c, argv, usage);
        }
    }
    if (optind != argc)
        return pc_cli_usage("init: unexpected argument '%s'", argv[optind]);
    if (o->root == NULL || o->root[0] == '\0')
        return pc_cli_usage("init: --root DIR is required (or set PATCHCAST_ROOT)");
    if (o->nrepos == 0 || (!o->pubfile && !o->pubkey && !o->trust))
        return pc_cli_usage("init: --repo URL and a public key (-p FILE or -P KEY) or a root of "
                            "trust (--trust ROOT.json) are required");
    return 0;
}

char *pc_cli_abspath(const char *path)
{
    char *cwd = NULL;
    if (path[0] != '/' && (cwd = getcwd(NULL, 0)) == NULL)
        return NULL;
    while (path[0] == '.' && path[1] == '/')
        for (path += 2; path[0] == '/'; path++)
            ;
    if (!strcmp(path, "."))
        path = "";
    size_t n = (cwd ? strlen(cwd) + 1 : 0) + strlen(path) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", cwd ? cwd : "", cwd && path[0] ? "/" : "", path);
    free(cwd);
    /* No trailing slashes: the root names a folder, "/" aside. */
    for (size_t len = out ? strlen(out) : 0; len > 1 && out[len - 1] == '/'; len--)
        out[len - 1] = '\0';
    return out;
}

/* Add --repo v to c: a URL as given (the library refuses another scheme
 * and repo.json), a folder as an absolute path; *stored receives which.
 * 0 or the exit code of the reported failure. */
static int add_repo(pc_client *c, const char *v, char **stored)
{
    if (strstr(v, "://")) {
        pc_status st = pc_client_add_repo(c, v);
        if (st != PC_OK)
            return pc_cli_fail(st, "init: %s", pc_client_errmsg(c));
        return (*stored = strdup(v)) ? 0 : pc_cli_fail(PC_ERR_NOMEM, "out of memory");
    }
    struct stat sb;
    bool exists = stat(v, &sb) == 0;
    bool pathlike = v[0] == '/' || !strncmp(v, "./", 2) || !strncmp(v, "../", 3) ||
                    !strcmp(v, ".") || !strcmp(v, "..");
    if (!exists && !pathlike)
        return pc_cli_usage("init: --repo '%s' is neither a URL nor an existing folder: write "
                            "http://%s (or https://) for a web server, or ./%s for a folder",
                            v, v, v);
    char *abs = exists ? realpath(v, NULL) : pc_cli_abspath(v);
    if (abs == NULL)
        return pc_cli_fail(pc_errno_status(errno), "init: --repo %s: %s", v, strerror(errno));
    pc_status st = pc_client_add_repo(c, abs);
    if (st != PC_OK) {
        free(abs);
        return pc_cli_fail(st, "init: %s", pc_client_errmsg(c));
    }
    if (exists && !S_ISDIR(sb.st_mode)) {
        free(abs);
        return pc_cli_usage("init: --repo %s is a file: give the site's folder", v);
    }
    *stored = abs;
    return 0;
}

/* Best effort, and on: the failure being reported is what matters. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* What init made, to be removed again when it fails: the root if it
 * created it, else the files of the root that --check wrote. */
typedef struct made {
    bool root, state, lock;
} made;

static bool exists_in(const char *root, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, name);
    return access(p, F_OK) == 0;
}

static void undo(const char *root, const made *m)
{
    char p[PATH_MAX];
    if (m->root) {
        nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return;
    }
    if (m->state && snprintf(p, sizeof p, "%s/state.json", root) < (int)sizeof p)
        unlink(p);
    if (m->lock && snprintf(p, sizeof p, "%s/.lock", root) < (int)sizeof p)
        unlink(p);
}

/* The root folder, created if missing (m->root says so). 0 or the exit
 * code of the reported failure. */
static int make_root(const char *root, made *m)
{
    struct stat sb;
    if (stat(root, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return pc_cli_usage("init: --root %s is not a folder", root);
    } else if (errno != ENOENT || mkdir(root, 0755) != 0) {
        return pc_cli_fail(pc_errno_status(errno), "init: cannot create %s: %s", root,
                           strerror(errno));
    } else {
        m->root = true;
    }
    m->state = !exists_in(root, "state.json");
    m->lock = !exists_in(root, ".lock");
    return 0;
}

/* The client init saves: every value checked, paths made absolute. NULL
 * after a reported failure (*rc). */
static pc_client *configure(init_opts *o, const char *root, int *rc)
{
    pc_client *c = NULL;
    pc_status st = pc_client_new(&c);
    if (st != PC_OK) {
        *rc = pc_cli_fail(st, "out of memory");
        return NULL;
    }
    *rc = 0;
    st = pc_client_set_root(c, root);
    for (int i = 0; st == PC_OK && *rc == 0 && i < o->nrepos; i++)
        *rc = add_repo(c, o->repos[i], &o->stored[i]);
    if (st == PC_OK && *rc == 0 && o->pubfile)
        st = pc_client_add_pubkey_file(c, o->pubfile);
    if (st == PC_OK && *rc == 0 && o->pubkey)
        st = pc_client_add_pubkey(c, o->pubkey);
    if (st == PC_OK && *rc == 0 && o->trust)
        st = pc_client_set_trust_root(c, o->trust);
    if (st == PC_OK && *rc == 0)
        st = pc_client_set_channel(c, o->channel ? o->channel : "stable");
    if (st == PC_OK && *rc == 0 && o->ca) {
        char *ca = pc_cli_abspath(o->ca);
        st = ca ? pc_client_set_ca_file(c, ca) : PC_ERR_NOMEM;
        free(ca);
    }
    if (st != PC_OK && *rc == 0) {
        const char *msg = pc_client_errmsg(c);
        *rc = pc_cli_fail(st, "init: %s", msg[0] ? msg : pc_strerror(st));
    }
    if (*rc == 0)
        *rc = pc_cli_env_net(c);
    if (*rc != 0) {
        pc_client_free(c);
        return NULL;
    }
    return c;
}

int pc_cmd_init(int argc, char **argv)
{
    init_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *root = pc_cli_abspath(o.root);
    if (root == NULL)
        return pc_cli_fail(pc_errno_status(errno), "init: --root %s: %s", o.root, strerror(errno));
    made m = {0};
    pc_update_info *info = NULL;
    pc_client *c = configure(&o, root, &rc);
    if (c && (rc = make_root(root, &m)) != 0) {
        pc_client_free(c);
        c = NULL;
    }
    pc_status st = PC_OK;
    if (c && o.check && (st = pc_client_check(c, NULL, &info)) != PC_OK)
        rc = pc_cli_fail(st, "init --check: %s (nothing saved)", pc_client_errmsg(c));
    if (c && rc == 0 && (st = pc_client_save_config(c)) != PC_OK)
        rc = pc_cli_fail(st, "init: %s", pc_client_errmsg(c));
    if (c && rc != 0)
        undo(root, &m);
    if (c && rc == 0 && o.json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("root", root);
        pc_json_array("repos");
        for (int i = 0; i < o.nrepos; i++)
            pc_json_str(NULL, o.stored[i]);
        pc_json_end();
        pc_json_str("channel", o.channel ? o.channel : "stable");
        pc_json_bool("checked", info != NULL);
        pc_json_str("newest", info ? info->to : NULL);
        pc_json_end();
    } else if (c && rc == 0) {
        if (info)
            printf("%s: the site verifies; its newest version on channel %s is %s\n", root,
                   o.channel ? o.channel : "stable", info->to);
        printf("%s: configured (channel %s). Run 'patchcast update --root %s' to install.\n", root,
               o.channel ? o.channel : "stable", root);
    }
    pc_update_info_free(info);
    pc_client_free(c);
    for (int i = 0; i < o.nrepos; i++)
        free(o.stored[i]);
    free(root);
    return rc;
}
