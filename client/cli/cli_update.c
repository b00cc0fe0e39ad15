/* cli_update.c — `patchcast init|check|update|rollback|status|repair`. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast init --root DIR --repo URL [--repo MIRROR...] (-p PUBKEY | -P KEY)\n"
    "                      [--channel C] [--ca-file PEM]\n"
    "       patchcast check    [--root DIR] [--to VERSION] [--json]\n"
    "       patchcast update   [--root DIR] [--to VERSION] [--json] [--keep N]\n"
    "                          [--restart-cmd CMD]\n"
    "       patchcast rollback [--root DIR] [--json]\n"
    "       patchcast status   [--root DIR] [--json]\n"
    "       patchcast repair   [--root DIR] [--json]\n"
    "\n"
    "The install root holds versions/<v>/, the `current` link to the version in\n"
    "use, state.json and config.json. --root defaults to $PATCHCAST_ROOT.\n"
    "A repository is an https://, http:// or file:// URL or a folder; extra\n"
    "--repo options are mirrors, tried in order.\n"
    "--restart-cmd CMD: when the update changed a critical file (the program,\n"
    "the updater), replace patchcast with `sh -c CMD` (a relaunch); the command\n"
    "sees PATCHCAST_FROM, PATCHCAST_TO and PATCHCAST_VERSION_DIR.\n"
    "exit codes: 0 success, 1 failure, 2 bad usage, 3 verification failed,\n"
    "            4 rollback or freeze attack refused\n";

typedef struct opts {
    const char *root, *to, *channel, *ca, *pubfile, *pubkey, *restart_cmd;
    const char *repos[8];
    int nrepos;
    int json;
    unsigned keep;
} opts;

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"repo", required_argument, NULL, 'R'},
                                       {"channel", required_argument, NULL, 'c'},
                                       {"to", required_argument, NULL, 't'},
                                       {"ca-file", required_argument, NULL, 'C'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"keep", required_argument, NULL, 'k'},
                                       {"restart-cmd", required_argument, NULL, 'x'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->root = getenv("PATCHCAST_ROOT");
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:P:h", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o->root = optarg; break;
        case 'R':
            if (o->nrepos == 8) {
                pc_cli_error("at most 8 --repo options");
                return PC_EXIT_USAGE;
            }
            o->repos[o->nrepos++] = optarg;
            break;
        case 'c': o->channel = optarg; break;
        case 't': o->to = optarg; break;
        case 'C': o->ca = optarg; break;
        case 'j': o->json = 1; break;
        case 'k': o->keep = (unsigned)atoi(optarg); break;
        case 'x': o->restart_cmd = optarg; break;
        case 'p': o->pubfile = optarg; break;
        case 'P': o->pubkey = optarg; break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return PC_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        pc_cli_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
        return PC_EXIT_USAGE;
    }
    if (o->root == NULL) {
        pc_cli_error("%s: --root DIR is required (or set PATCHCAST_ROOT)", argv[0]);
        return PC_EXIT_USAGE;
    }
    return 0;
}

static int fail(pc_client *c, pc_status st, int json)
{
    const char *msg = pc_client_errmsg(c);
    if (json) {
        printf("{\"ok\": false, \"error\": \"%s\", \"message\": \"", pc_strerror(st));
        for (const char *s = msg; *s; s++)
            if (*s == '"' || *s == '\\')
                printf("\\%c", *s);
            else if ((unsigned char)*s >= 0x20)
                putchar(*s);
        printf("\"}\n");
    }
    pc_cli_error("%s", msg[0] ? msg : pc_strerror(st));
    pc_client_free(c);
    if (st == PC_ERR_ROLLBACK || st == PC_ERR_EXPIRED)
        return 4;
    return pc_cli_exit_for(st);
}

static void json_str(const char *k, const char *v, int comma)
{
    if (k)
        printf("\"%s\": ", k);
    if (v == NULL)
        printf("null");
    else {
        putchar('"');
        for (const char *s = v; *s; s++)
            if (*s == '"' || *s == '\\')
                printf("\\%c", *s);
            else if (*s == '\n')
                printf("\\n");
            else if ((unsigned char)*s >= 0x20)
                putchar(*s);
        putchar('"');
    }
    if (comma)
        printf(", ");
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
    if (errno || *end || n < 0) {
        pc_cli_error("%s='%s': expected a whole number >= 0", name, v);
        return false;
    }
    *out = n;
    return true;
}

/* The slow-transfer timeout from PATCHCAST_LOW_SPEED_LIMIT (bytes/s) and
 * PATCHCAST_LOW_SPEED_TIME (seconds). */
static pc_status env_low_speed(pc_client *c)
{
    long bytes, secs;
    if (!env_long("PATCHCAST_LOW_SPEED_LIMIT", &bytes) ||
        !env_long("PATCHCAST_LOW_SPEED_TIME", &secs))
        return PC_ERR_INVALID;
    return pc_client_set_low_speed(c, bytes, secs);
}

static pc_client *open_client(const opts *o, pc_status *st)
{
    pc_client *c = NULL;
    *st = pc_client_new(&c);
    if (*st != PC_OK)
        return NULL;
    *st = pc_client_load_config(c, o->root);
    if (*st == PC_OK && o->keep)
        *st = pc_client_set_keep_versions(c, o->keep);
    if (*st == PC_OK)
        *st = env_low_speed(c);
    if (!o->json)
        pc_client_set_progress(c, progress, NULL);
    return c;
}

int pc_cmd_init(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.nrepos == 0 || (!o.pubfile && !o.pubkey)) {
        pc_cli_error("init: --repo URL and a public key (-p FILE or -P KEY) are required");
        return PC_EXIT_USAGE;
    }
    pc_client *c;
    pc_status st = pc_client_new(&c);
    if (st != PC_OK)
        return PC_EXIT_FAIL;
    st = pc_client_set_root(c, o.root);
    for (int i = 0; st == PC_OK && i < o.nrepos; i++)
        st = pc_client_add_repo(c, o.repos[i]);
    if (st == PC_OK && o.pubfile)
        st = pc_client_add_pubkey_file(c, o.pubfile);
    if (st == PC_OK && o.pubkey)
        st = pc_client_add_pubkey(c, o.pubkey);
    if (st == PC_OK)
        st = pc_client_set_channel(c, o.channel ? o.channel : "stable");
    if (st == PC_OK && o.ca)
        st = pc_client_set_ca_file(c, o.ca);
    if (st == PC_OK) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "%s", o.root);
        if (access(o.root, F_OK) != 0 && mkdir(o.root, 0755) != 0) {
            pc_cli_error("init: cannot create %s", o.root);
            pc_client_free(c);
            return PC_EXIT_FAIL;
        }
        st = pc_client_save_config(c);
    }
    if (st != PC_OK)
        return fail(c, st, o.json);
    if (o.json)
        printf("{\"ok\": true, \"root\": \"%s\"}\n", o.root);
    else
        printf("%s: configured (channel %s). Run 'patchcast update --root %s' to install.\n",
               o.root, o.channel ? o.channel : "stable", o.root);
    pc_client_free(c);
    return 0;
}

static void print_info(const pc_update_info *i, int json, const char *verb)
{
    if (json) {
        printf("{\"ok\": true, ");
        json_str("from", i->from, 1);
        json_str("to", i->to, 1);
        printf("\"up_to_date\": %s, \"downloaded_bytes\": %llu, \"full_bytes\": %llu, "
               "\"hops\": %u, \"restart_required\": %s, ",
               i->up_to_date ? "true" : "false", (unsigned long long)i->download_bytes,
               (unsigned long long)i->full_bytes, i->hops, i->restart_required ? "true" : "false");
        printf("\"hot_modules\": [");
        for (size_t k = 0; k < i->nhot; k++) {
            json_str(NULL, i->hot_modules[k], 0);
            if (k + 1 < i->nhot)
                printf(", ");
        }
        printf("], \"changed_files\": %zu, ", i->nchanged);
        json_str("notes", i->notes, 0);
        printf("}\n");
        return;
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
}

static bool info_restart_failed;

/* Replace this process with `sh -c CMD`, telling it what changed. */
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
    info_restart_failed = true;
}

static int check_or_update(int argc, char **argv, bool apply)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_status st;
    pc_client *c = open_client(&o, &st);
    if (st != PC_OK)
        return c ? fail(c, st, o.json) : PC_EXIT_FAIL;
    pc_update_info *info = NULL;
    st = apply ? pc_client_update(c, o.to, &info) : pc_client_check(c, o.to, &info);
    if (st != PC_OK)
        return fail(c, st, o.json);
    print_info(info, o.json, apply ? (info->from ? "update" : "install") : "check");
    if (apply && o.restart_cmd && info->restart_required && !info->up_to_date)
        relaunch(&o, info); /* returns only on failure */
    pc_update_info_free(info);
    pc_client_free(c);
    return o.restart_cmd && apply && info_restart_failed ? PC_EXIT_FAIL : 0;
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
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_status st;
    pc_client *c = open_client(&o, &st);
    if (st != PC_OK)
        return c ? fail(c, st, o.json) : PC_EXIT_FAIL;
    pc_update_info *info = NULL;
    if ((st = pc_client_rollback(c, &info)) != PC_OK)
        return fail(c, st, o.json);
    if (o.json) {
        printf("{\"ok\": true, ");
        json_str("from", info->from, 1);
        json_str("to", info->to, 0);
        printf("}\n");
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
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_status st;
    pc_client *c = open_client(&o, &st);
    if (st != PC_OK)
        return c ? fail(c, st, o.json) : PC_EXIT_FAIL;
    pc_install_state *s = NULL;
    if ((st = pc_client_status(c, &s)) != PC_OK)
        return fail(c, st, o.json);
    if (o.json) {
        printf("{\"ok\": true, ");
        json_str("current", s->current, 1);
        json_str("previous", s->previous, 1);
        printf("\"last_serial\": %llu, \"installed\": [", (unsigned long long)s->last_serial);
        for (size_t i = 0; i < s->ninstalled; i++) {
            json_str(NULL, s->installed[i], 0);
            if (i + 1 < s->ninstalled)
                printf(", ");
        }
        printf("]}\n");
    } else {
        printf("current:  %s\nprevious: %s\ninstalled:", s->current ? s->current : "(none)",
               s->previous ? s->previous : "(none)");
        for (size_t i = 0; i < s->ninstalled; i++)
            printf(" %s", s->installed[i]);
        printf("\nlast repo serial: %llu\n", (unsigned long long)s->last_serial);
    }
    pc_client_status_free(s);
    pc_client_free(c);
    return 0;
}

int pc_cmd_repair(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    pc_status st;
    pc_client *c = open_client(&o, &st);
    if (st != PC_OK)
        return c ? fail(c, st, o.json) : PC_EXIT_FAIL;
    unsigned fixed = 0;
    if ((st = pc_client_repair(c, &fixed)) != PC_OK)
        return fail(c, st, o.json);
    if (o.json)
        printf("{\"ok\": true, \"repaired_files\": %u}\n", fixed);
    else
        printf("%u file%s repaired\n", fixed, fixed == 1 ? "" : "s");
    pc_client_free(c);
    return 0;
}

int pc_cmd_mirror(int argc, char **argv)
{
    static const char musage[] =
        "usage: patchcast mirror URL DIR (-p PUBKEY | -P KEY) [--ca-file PEM] [--force]\n"
        "Copy the site at URL into DIR and verify every file, for an offline mirror\n"
        "(a USB stick). Clients then use DIR as a repository: patchcast init --repo DIR.\n"
        "DIR's repo.json is replaced only once the copy verifies. --force replaces a\n"
        "newer site in DIR, or copies an expired one.\n";
    static const struct option lo[] = {{"ca-file", required_argument, NULL, 'C'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *pub = NULL, *key = NULL, *ca = NULL;
    unsigned flags = 0;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "p:P:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': pub = optarg; break;
        case 'P': key = optarg; break;
        case 'C': ca = optarg; break;
        case 'f': flags |= PC_MIRROR_FORCE; break;
        case 'h': fputs(musage, stdout); return 0;
        default: fputs(musage, stderr); return PC_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || (!pub && !key)) {
        pc_cli_error("mirror: expected URL DIR and a public key");
        fputs(musage, stderr);
        return PC_EXIT_USAGE;
    }
    pc_client *c;
    if (pc_client_new(&c) != PC_OK)
        return PC_EXIT_FAIL;
    pc_status st = pub ? pc_client_add_pubkey_file(c, pub) : pc_client_add_pubkey(c, key);
    if (st == PC_OK && ca)
        st = pc_client_set_ca_file(c, ca);
    if (st == PC_OK)
        st = env_low_speed(c);
    unsigned problems = 0;
    if (st == PC_OK)
        st = pc_client_mirror(c, argv[optind], argv[optind + 1], flags, &problems);
    if (st != PC_OK)
        return fail(c, st, 0);
    printf("%s: mirrored and verified (0 problems)\n", argv[optind + 1]);
    pc_client_free(c);
    return 0;
}
