/* cli_update.c — `patchcast check|update|rollback|status|repair|mirror`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast check    [--root DIR] [--to VERSION] [--json] [--ignore-rollout]\n"
    "                          [--allow-downgrade]\n"
    "       patchcast update   [--root DIR] [--to VERSION] [--json] [--keep N] [--stage]\n"
    "                          [--ignore-rollout] [--allow-downgrade]\n"
    "                          [--restart-cmd CMD] [--wait[=SECONDS]]\n"
    "       patchcast rollback [--root DIR] [--json] [--wait[=SECONDS]]\n"
    "       patchcast status   [--root DIR] [--json]\n"
    "       patchcast repair   [--root DIR] [--json] [--wait[=SECONDS]]\n"
    "\n"
    "The install root holds versions/<v>/, the `current` link to the version in\n"
    "use, state.json and config.json (written by 'patchcast init').\n"
    "--root defaults to $PATCHCAST_ROOT.\n"
    "--json: print one JSON document on stdout, on success and on failure\n"
    "({\"ok\": false, \"error\": {\"code\": ..., \"message\": ...}, \"exit\": N}).\n"
    "--restart-cmd CMD: when the update changed a critical file (the program,\n"
    "the updater), replace patchcast with `sh -c CMD` (a relaunch); the command\n"
    "sees PATCHCAST_FROM, PATCHCAST_TO and PATCHCAST_VERSION_DIR.\n"
    "Without --to, the newest version of the channel this install may take:\n"
    "not withdrawn, skipped or rolled back here, and rolled out to it (a critical\n"
    "version always is); a channel whose newest is older than the installed\n"
    "version does not downgrade it, unless the installed version was withdrawn.\n"
    "--ignore-rollout: also versions not yet rolled out to this install.\n"
    "--allow-downgrade: follow the channel to an older version.\n"
    "--stage: download, apply and verify the version beside the current one\n"
    "without switching; 'patchcast apply-staged' or 'patchcast run' switches.\n"
    "--wait[=SECONDS]: when another process is changing the root, wait for it\n"
    "(without limit, or up to SECONDS) instead of failing at once with exit 5.\n" PC_CLI_EXIT_CODES;

typedef struct opts {
    const char *root, *to, *restart_cmd;
    int json;
    unsigned keep, flags; /* flags: PC_UPDATE_* */
    bool stage;
    bool has_wait;
    int wait; /* seconds; -1: without limit */
} opts;

/* --wait=SECONDS: a whole number of seconds; false if it is not one. */
static bool parse_wait(const char *v, int *out)
{
    if (v == NULL) {
        *out = -1;
        return true;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > INT_MAX / 10)
        return false;
    *out = (int)n;
    return true;
}

/* The options of the command argv[0]; --wait only where it may change the
 * root (can_wait). 0, an exit code, or -1 after --help. */
static int parse(int argc, char **argv, opts *o, bool can_wait)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"to", required_argument, NULL, 't'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"keep", required_argument, NULL, 'k'},
                                       {"restart-cmd", required_argument, NULL, 'x'},
                                       {"wait", optional_argument, NULL, 'w'},
                                       {"ignore-rollout", no_argument, NULL, 'I'},
                                       {"allow-downgrade", no_argument, NULL, 'D'},
                                       {"stage", no_argument, NULL, 'S'},
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
        case 't': o->to = optarg; break;
        case 'j': o->json = 1; break;
        case 'k': {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || n < 1 || n > 1000)
                return pc_cli_usage("%s: --keep %s: expected a number of versions from 1 to 1000",
                                    argv[0], optarg);
            o->keep = (unsigned)n;
            break;
        }
        case 'x': o->restart_cmd = optarg; break;
        case 'I': o->flags |= PC_UPDATE_IGNORE_ROLLOUT; break;
        case 'D': o->flags |= PC_UPDATE_ALLOW_DOWNGRADE; break;
        case 'S':
            if (strcmp(argv[0], "update"))
                return pc_cli_usage("%s: --stage is for update", argv[0]);
            o->stage = true;
            break;
        case 'w':
            if (!can_wait)
                return pc_cli_usage("%s: --wait is for the commands that change the root "
                                    "(update, rollback, repair)",
                                    argv[0]);
            if (!parse_wait(optarg, &o->wait))
                return pc_cli_usage("%s: --wait=%s: expected a whole number of seconds", argv[0],
                                    optarg);
            o->has_wait = true;
            break;
        case 'h': pc_cli_help(usage); return -1;
        default: return pc_cli_bad_option(argv[0], c, argv, usage);
        }
    }
    if (optind != argc)
        return pc_cli_usage("%s: unexpected argument '%s'", argv[0], argv[optind]);
    if (o->root == NULL || o->root[0] == '\0')
        return pc_cli_usage("%s: --root DIR is required (or set PATCHCAST_ROOT)", argv[0]);
    return 0;
}

/* A failure of the library call on c: its message, the exit code for st. */
static int fail(pc_client *c, pc_status st)
{
    const char *msg = pc_client_errmsg(c);
    int rc = pc_cli_fail(st, "%s", msg[0] ? msg : pc_strerror(st));
    pc_client_free(c);
    return rc;
}

static void progress(void *ud, const pc_progress *p)
{
    (void)ud;
    static char last_step[16];
    bool tty = isatty(STDERR_FILENO);
    if (tty && p->total) {
        int width = 30, fill = (int)((double)p->done / (double)p->total * width);
        fprintf(stderr, "\r[%u/%u] %-9s [%.*s%*s] %5.1f%% %-30.30s", p->step, p->nsteps,
                p->step_name, fill, "##############################", width - fill, "",
                100.0 * (double)p->done / (double)p->total, p->detail);
        if (p->done == p->total)
            fputc('\n', stderr);
    } else if (strcmp(last_step, p->step_name) != 0) {
        fprintf(stderr, "[%u/%u] %s\n", p->step, p->nsteps, p->step_name);
    }
    snprintf(last_step, sizeof last_step, "%s", p->step_name);
}

/* A whole number >= 0 from the environment variable name; 0 when unset.
 * false (and a message) when set to anything else. */
static bool env_long(const char *name, long *out)
{
    const char *v = getenv(name);
    *out = 0;
    if (v == NULL || v[0] == '\0')
        return true;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0)
        return false;
    *out = n;
    return true;
}

int pc_cli_env_net(pc_client *c)
{
    long bytes, secs;
    if (!env_long("PATCHCAST_LOW_SPEED_LIMIT", &bytes))
        return pc_cli_usage("PATCHCAST_LOW_SPEED_LIMIT='%s': expected a whole number >= 0",
                            getenv("PATCHCAST_LOW_SPEED_LIMIT"));
    if (!env_long("PATCHCAST_LOW_SPEED_TIME", &secs))
        return pc_cli_usage("PATCHCAST_LOW_SPEED_TIME='%s': expected a whole number >= 0",
                            getenv("PATCHCAST_LOW_SPEED_TIME"));
    long transfers;
    if (!env_long("PATCHCAST_TRANSFERS", &transfers) || transfers > 16)
        return pc_cli_usage("PATCHCAST_TRANSFERS='%s': expected a whole number from 1 to 16",
                            getenv("PATCHCAST_TRANSFERS"));
    pc_status st = pc_client_set_low_speed(c, bytes, secs);
    if (st == PC_OK)
        st = pc_client_set_transfers(c, (unsigned)transfers);
    return st == PC_OK ? 0 : pc_cli_fail(st, "%s", pc_client_errmsg(c));
}

/* The client of the root o->root from its config.json, set up by the
 * options; NULL after a failure was reported (*rc is its exit code). */
static pc_client *open_client(const opts *o, int *rc)
{
    pc_client *c = NULL;
    pc_status st = pc_client_new(&c);
    if (st != PC_OK) {
        *rc = pc_cli_fail(st, "out of memory");
        return NULL;
    }
    st = pc_client_load_config(c, o->root);
    if (st == PC_OK && o->keep)
        st = pc_client_set_keep_versions(c, o->keep);
    if (st == PC_OK && o->has_wait)
        st = pc_client_set_wait(c, o->wait);
    if (st == PC_OK && o->flags)
        st = pc_client_set_update_flags(c, o->flags);
    if (st != PC_OK) {
        *rc = fail(c, st);
        return NULL;
    }
    if ((*rc = pc_cli_env_net(c)) != 0) {
        pc_client_free(c);
        return NULL;
    }
    if (!o->json)
        pc_client_set_progress(c, progress, NULL);
    return c;
}

static void json_list(const char *key, char *const *v, size_t n)
{
    pc_json_array(key);
    for (size_t k = 0; k < n; k++)
        pc_json_str(NULL, v[k]);
    pc_json_end();
}

/* What the release settings mean for this install, on stderr. */
static void print_lifecycle(const pc_update_info *i)
{
    if (i->from_withdrawn)
        fprintf(stderr, "patchcast: the installed version %s was withdrawn%s%s\n", i->from,
                i->withdrawn_reason ? ": " : "", i->withdrawn_reason ? i->withdrawn_reason : "");
    if (i->critical && !i->up_to_date)
        fprintf(stderr, "patchcast: %s is a critical update: install it now\n", i->to);
    if (i->manual_update_required)
        fprintf(stderr, "patchcast: %s needs a manual update: install at least %s first (it is "
                        "not installed automatically)\n", i->manual_version, i->minimum_version);
    if (i->held_back)
        fprintf(stderr, "patchcast: %s is being rolled out and has not reached this install "
                        "yet (--ignore-rollout takes it now)\n", i->held_back);
    if (i->downgrade_refused)
        fprintf(stderr, "patchcast: the channel's newest version %s is older than the installed "
                        "%s: not downgrading (--allow-downgrade does)\n", i->downgrade_refused,
                i->from);
    if (i->nskipped) {
        fprintf(stderr, "patchcast: skipped here:");
        for (size_t k = 0; k < i->nskipped; k++)
            fprintf(stderr, " %s", i->skipped[k]);
        fputc('\n', stderr);
    }
}

static void print_info(const pc_update_info *i, int json, const char *verb)
{
    if (json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("from", i->from);
        pc_json_str("to", i->to);
        pc_json_bool("up_to_date", i->up_to_date);
        pc_json_uint("downloaded_bytes", i->download_bytes);
        pc_json_uint("full_bytes", i->full_bytes);
        pc_json_uint("hops", i->hops);
        pc_json_bool("release_patch", i->release_patch);
        pc_json_bool("restart_required", i->restart_required);
        json_list("hot_modules", i->hot_modules, i->nhot);
        pc_json_uint("changed_files", i->nchanged);
        json_list("refetched", i->refetched, i->nrefetched);
        pc_json_array("notes");
        for (size_t k = 0; k < i->nrelease_notes; k++) {
            pc_json_object(NULL);
            pc_json_str("version", i->release_notes[k].version);
            pc_json_str("notes", i->release_notes[k].notes);
            pc_json_end();
        }
        pc_json_end();
        pc_json_bool("critical", i->critical);
        pc_json_bool("manual_update_required", i->manual_update_required);
        pc_json_str("manual_version", i->manual_version);
        pc_json_str("minimum_version", i->minimum_version);
        pc_json_bool("downgrade", i->downgrade);
        pc_json_bool("withdrawn", i->from_withdrawn);
        pc_json_str("withdrawn_reason", i->withdrawn_reason);
        pc_json_str("held_back", i->held_back);
        pc_json_str("downgrade_refused", i->downgrade_refused);
        json_list("skipped", i->skipped, i->nskipped);
        if (i->rollout_bucket >= 0)
            pc_json_num("rollout_bucket", i->rollout_bucket);
        else
            pc_json_str("rollout_bucket", NULL);
        pc_json_end();
        return;
    }
    print_lifecycle(i);
    /* Damage of the installed version is the user's to know, not an error. */
    if (i->nrefetched) {
        fprintf(stderr, "patchcast: %zu file%s of the installed version differed from %s "
                        "manifest (edited or damaged) and %s downloaded whole:",
                i->nrefetched, i->nrefetched == 1 ? "" : "s", i->nrefetched == 1 ? "its" : "their",
                i->nrefetched == 1 ? "was" : "were");
        for (size_t k = 0; k < i->nrefetched && k < 10; k++)
            fprintf(stderr, " %s", i->refetched[k]);
        fprintf(stderr, "%s\n", i->nrefetched > 10 ? " …" : "");
    }
    if (i->up_to_date) {
        printf("%s is up to date\n", i->to);
        return;
    }
    double pct = i->full_bytes ? 100.0 * (double)i->download_bytes / (double)i->full_bytes : 0;
    printf("%s %s -> %s: %llu bytes %s (%.1f%% of the full %llu), %u hop%s%s\n", verb,
           i->from ? i->from : "(nothing)", i->to, (unsigned long long)i->download_bytes,
           strcmp(verb, "check") ? "downloaded" : "to download", pct,
           (unsigned long long)i->full_bytes, i->hops, i->hops == 1 ? "" : "s",
           i->restart_required ? "; restart required" : "");
    for (size_t k = 0; k < i->nrelease_notes && strcmp(verb, "stage"); k++)
        printf("\n## %s\n%s%s", i->release_notes[k].version, i->release_notes[k].notes,
               i->release_notes[k].notes[0] &&
                       i->release_notes[k].notes[strlen(i->release_notes[k].notes) - 1] == '\n'
                   ? "" : "\n");
}

/* Replace this process with `sh -c CMD`, telling it what changed. Returns
 * only on failure. */
static void relaunch(const opts *o, const pc_update_info *i)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/versions/%s", o->root, i->to);
    setenv("PATCHCAST_FROM", i->from ? i->from : "", 1);
    setenv("PATCHCAST_TO", i->to, 1);
    setenv("PATCHCAST_VERSION_DIR", dir, 1);
    if (!o->json)
        printf("restart required: running %s\n", o->restart_cmd);
    fflush(stdout);
    fflush(stderr);
    execl("/bin/sh", "sh", "-c", o->restart_cmd, (char *)NULL);
    pc_cli_error("update: --restart-cmd: cannot run /bin/sh: %s", strerror(errno));
}

static int check_or_update(int argc, char **argv, bool apply)
{
    opts o;
    int rc = parse(argc, argv, &o, apply);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_client(&o, &rc);
    if (c == NULL)
        return rc;
    pc_update_info *info = NULL;
    pc_status st = !apply     ? pc_client_check(c, o.to, &info)
                   : o.stage ? pc_client_stage(c, o.to, &info)
                             : pc_client_update(c, o.to, &info);
    if (st != PC_OK)
        return fail(c, st);
    print_info(info, o.json, !apply ? "check" : o.stage ? "stage" : info->from ? "update"
                                                                                : "install");
    if (apply && o.restart_cmd && info->restart_required && !info->up_to_date) {
        relaunch(&o, info);
        rc = PC_EXIT_FAIL;
    }
    pc_update_info_free(info);
    pc_client_free(c);
    return rc;
}

int pc_cmd_check(int argc, char **argv)
{
    return check_or_update(argc, argv, false);
}

int pc_cmd_update(int argc, char **argv)
{
    return check_or_update(argc, argv, true);
}

int pc_cmd_rollback(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_client(&o, &rc);
    if (c == NULL)
        return rc;
    pc_update_info *info = NULL;
    pc_status st = pc_client_rollback(c, &info);
    if (st != PC_OK)
        return fail(c, st);
    if (o.json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("from", info->from);
        pc_json_str("to", info->to);
        pc_json_end();
    } else {
        printf("rolled back from %s to %s\n", info->from, info->to);
    }
    pc_update_info_free(info);
    pc_client_free(c);
    return 0;
}

int pc_cmd_status(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o, false);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_client(&o, &rc);
    if (c == NULL)
        return rc;
    pc_install_state *s = NULL;
    pc_status st = pc_client_status(c, &s);
    if (st != PC_OK)
        return fail(c, st);
    if (o.json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("current", s->current);
        pc_json_str("previous", s->previous);
        pc_json_uint("last_serial", s->last_serial);
        pc_json_uint("root_version", s->root_version);
        json_list("installed", s->installed, s->ninstalled);
        json_list("held", s->held, s->nheld);
        pc_json_bool("busy", s->busy);
        pc_json_str("staged", s->staged);
        pc_json_str("pending", s->pending);
        pc_json_uint("failed_starts", s->attempts);
        pc_json_str("last_good", s->last_good);
        json_list("bad", s->bad, s->nbad);
        json_list("skipped", s->skipped, s->nskipped);
        if (s->rollout_bucket >= 0)
            pc_json_num("rollout_bucket", s->rollout_bucket);
        else
            pc_json_str("rollout_bucket", NULL);
        pc_json_end();
    } else {
        printf("current:  %s\nprevious: %s\ninstalled:", s->current ? s->current : "(none)",
               s->previous ? s->previous : "(none)");
        for (size_t i = 0; i < s->ninstalled; i++)
            printf(" %s", s->installed[i]);
        if (s->nheld) {
            printf("\nin use:  ");
            for (size_t i = 0; i < s->nheld; i++)
                printf(" %s", s->held[i]);
        }
        printf("\nlast repo serial: %llu\n", (unsigned long long)s->last_serial);
        if (s->root_version)
            printf("root of trust: version %llu\n", (unsigned long long)s->root_version);
        if (s->staged)
            printf("staged:   %s (switched to at the next 'patchcast run' or apply-staged)\n",
                   s->staged);
        if (s->pending)
            printf("pending:  %s, not yet marked good (%u start%s did not end well)\n",
                   s->pending, s->attempts, s->attempts == 1 ? "" : "s");
        for (size_t i = 0; i < s->nbad; i++)
            printf("rolled back after failed starts: %s\n", s->bad[i]);
        for (size_t i = 0; i < s->nskipped; i++)
            printf("skipped: %s\n", s->skipped[i]);
        if (s->busy)
            printf("an update (or another change) is under way: this is the state before it\n");
    }
    pc_client_status_free(s);
    pc_client_free(c);
    return 0;
}

int pc_cmd_repair(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o, true);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_client *c = open_client(&o, &rc);
    if (c == NULL)
        return rc;
    unsigned fixed = 0;
    pc_status st = pc_client_repair(c, &fixed);
    if (st != PC_OK)
        return fail(c, st);
    if (o.json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_uint("repaired_files", fixed);
        pc_json_end();
    } else {
        printf("%u file%s repaired\n", fixed, fixed == 1 ? "" : "s");
    }
    pc_client_free(c);
    return 0;
}

int pc_cmd_mirror(int argc, char **argv)
{
    static const char musage[] =
        "usage: patchcast mirror URL DIR (-p PUBKEY | -P KEY | --trust ROOT.json)\n"
        "                        [--ca-file PEM] [--force] [--json]\n"
        "Copy the site at URL into DIR and verify every file, for an offline mirror\n"
        "(a USB stick). Clients then use DIR as a repository: patchcast init --repo DIR.\n"
        "--trust: the root of trust the clients pin; the site's roots are walked from\n"
        "it and copied, and repo.json is checked by the newest root's repository keys.\n"
        "DIR's repo.json is replaced only once the copy verifies. --force replaces a\n"
        "newer site in DIR, or copies an expired one.\n"
        "--json: print one JSON document on stdout, on success and on failure.\n"
        PC_CLI_EXIT_CODES;
    static const struct option lo[] = {{"ca-file", required_argument, NULL, 'C'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"trust", required_argument, NULL, 'T'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *pub = NULL, *key = NULL, *ca = NULL, *trust = NULL;
    unsigned flags = 0;
    bool json = false;
    int ch;
    pc_json_scan(argc, argv);
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":p:P:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': pub = optarg; break;
        case 'P': key = optarg; break;
        case 'C': ca = optarg; break;
        case 'T': trust = optarg; break;
        case 'f': flags |= PC_MIRROR_FORCE; break;
        case 'j': json = true; break;
        case 'h': return pc_cli_help(musage);
        default: return pc_cli_bad_option("mirror", ch, argv, musage);
        }
    }
    if (argc - optind != 2 || (!pub && !key && !trust)) {
        fputs(musage, stderr);
        return pc_cli_usage("mirror: expected URL DIR and a public key or --trust ROOT.json");
    }
    const char *url = argv[optind], *dir = argv[optind + 1];
    pc_client *c;
    pc_status st = pc_client_new(&c);
    if (st != PC_OK)
        return pc_cli_fail(st, "out of memory");
    st = pub ? pc_client_add_pubkey_file(c, pub) : key ? pc_client_add_pubkey(c, key) : PC_OK;
    if (st == PC_OK && trust)
        st = pc_client_set_trust_root(c, trust);
    if (st == PC_OK && ca)
        st = pc_client_set_ca_file(c, ca);
    if (st != PC_OK)
        return fail(c, st);
    int rc = pc_cli_env_net(c);
    if (rc) {
        pc_client_free(c);
        return rc;
    }
    unsigned problems = 0;
    st = pc_client_mirror(c, url, dir, flags, &problems);
    if (st != PC_OK)
        return fail(c, st);
    if (json) {
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_str("url", url);
        pc_json_str("dir", dir);
        pc_json_uint("problems", problems);
        pc_json_end();
    } else {
        printf("%s: mirrored and verified (0 problems)\n", dir);
    }
    pc_client_free(c);
    return 0;
}
