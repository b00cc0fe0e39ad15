/* cli_run.c — `patchcast run`: the launcher. Switches to a staged version,
 * starts a program of the current version holding that version for the
 * program's life (no update prunes the files it runs from), and keeps the
 * health account of a version an update installed: marked good when the
 * program exits 0, runs --healthy-after seconds or runs `patchcast
 * mark-good`; rolled back after --attempts failed starts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "path.h"
#include "patchcast.h"

static const char usage[] =
    "usage: patchcast run [--root DIR] [--attempts N] [--healthy-after SECONDS]\n"
    "                     [--version V] [--] PROGRAM [ARG...]\n"
    "Run PROGRAM (a path inside the version, e.g. bin/app, or an absolute path)\n"
    "from ROOT/versions/<v>, where <v> is the current version, with ARGs. The\n"
    "program holds its version while it runs: updates meanwhile switch to newer\n"
    "versions but do not delete this one. It sees PATCHCAST_ROOT,\n"
    "PATCHCAST_VERSION and PATCHCAST_VERSION_DIR (its working folder is not\n"
    "changed). --root defaults to $PATCHCAST_ROOT.\n"
    "Before the start, a version staged by 'patchcast update --stage' becomes\n"
    "current. A version installed by an update is pending until the program\n"
    "exits 0, runs --healthy-after SECONDS (default: only the exit counts), or\n"
    "calls 'patchcast mark-good'. A start of a pending version that ends\n"
    "otherwise (a non-zero exit, a signal) is a failed start; after --attempts\n"
    "failed starts (default 3) the version is rolled back to the last good one\n"
    "and never installed automatically again. Signals patchcast receives are\n"
    "passed to the program (not those it was started ignoring, as by nohup); a\n"
    "start that ended after patchcast passed it SIGTERM, or by a signal passed\n"
    "on (a service stopped, ^C), is not counted as failed.\n"
    "--version V: run installed version V instead: no switch, no accounting.\n"
    "exit codes: the program's once it runs (128+N when killed by signal N);\n"
    "before, those of every command (2 bad usage, 7 permission, …) and 126\n"
    "(cannot execute) or 127 (no such program), as a shell's.\n";

/* The signals passed to the program, and those passed (a bit each). */
static const int fwd_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define NFWD (sizeof fwd_sigs / sizeof *fwd_sigs)
static volatile sig_atomic_t child_pid, passed;

static void forward(int sig)
{
    if (child_pid > 0) {
        kill((pid_t)child_pid, sig);
        for (size_t i = 0; i < NFWD; i++)
            if (fwd_sigs[i] == sig)
                passed |= 1 << i;
    }
}

/* Did the program, ended with wait status ws, stop because it was asked
 * to from outside? Asked to terminate (SIGTERM passed on), or ended by a
 * signal passed on (killed by it, or exit 128+N as shells and many
 * runtimes report it). A SIGHUP or SIGINT it handled (a reload, an
 * interrupted operation) does not make a later crash a stop. */
static bool stopped_from_outside(int ws)
{
    int sig = WIFSIGNALED(ws)                             ? WTERMSIG(ws)
              : WIFEXITED(ws) && WEXITSTATUS(ws) > 128 ? WEXITSTATUS(ws) - 128
                                                         : 0;
    for (size_t i = 0; i < NFWD; i++)
        if ((passed & (1 << i)) && (fwd_sigs[i] == SIGTERM || fwd_sigs[i] == sig))
            return true;
    return false;
}

/* Pass fwd_sigs on to the program, except those patchcast was started
 * ignoring (nohup, a background job): the program inherits that. The old
 * actions go to old[] for restore_signals. */
static void forward_signals(struct sigaction old[NFWD])
{
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NFWD; i++) {
        sigaction(fwd_sigs[i], NULL, &old[i]);
        if (old[i].sa_handler != SIG_IGN)
            sigaction(fwd_sigs[i], &sa, NULL);
    }
}

/* Once the program has ended, a signal acts on patchcast again (an
 * interrupt while it waits for the lock to record the end ends it). */
static void restore_signals(const struct sigaction old[NFWD])
{
    for (size_t i = 0; i < NFWD; i++)
        sigaction(fwd_sigs[i], &old[i], NULL);
}

/* A whole number from lo to hi; false if s is not one. */
static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

/* Start path with argv in a child; its pid (in child_pid too), or -1 with
 * errno of the exec (sent back through a close-on-exec pipe). The signals
 * passed on are blocked meanwhile: one that comes before child_pid is set
 * is passed on then, not lost. */
static pid_t start(const char *path, char **argv)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    sigset_t block, was;
    sigemptyset(&block);
    for (size_t i = 0; i < NFWD; i++)
        sigaddset(&block, fwd_sigs[i]);
    sigprocmask(SIG_BLOCK, &block, &was);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &was, NULL);
        execv(path, argv);
        int err = errno;
        (void)!write(p[1], &err, sizeof err);
        _exit(127);
    }
    int fork_err = errno;
    close(p[1]);
    int err = 0;
    ssize_t n = 0;
    if (pid > 0)
        while ((n = read(p[0], &err, sizeof err)) < 0 && errno == EINTR)
            ;
    close(p[0]);
    if (pid > 0 && n == (ssize_t)sizeof err) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        pid = -1;
    } else if (pid < 0) {
        err = fork_err;
    } else {
        child_pid = pid;
    }
    sigprocmask(SIG_SETMASK, &was, NULL);
    errno = err;
    return pid;
}

/* Wait for pid; at healthy_after seconds (0: never) the version is
 * healthy (*due) and marked good (*marked) — again and again while an
 * update holds the lock. The wait status, or -1. */
static int wait_child(pid_t pid, unsigned long healthy_after, pc_client *c, const char *version,
                      bool *due, bool *marked)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool gave_up = false;
    int ws;
    for (;;) {
        pid_t r = waitpid(pid, &ws, healthy_after && !*marked && !gave_up ? WNOHANG : 0);
        if (r == pid)
            return ws;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r != 0)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((unsigned long)(now.tv_sec - t0.tv_sec) >= healthy_after) {
            *due = true;
            pc_status st = pc_client_mark_good(c, version);
            if (st == PC_OK) {
                *marked = true;
                continue;
            }
            if (st != PC_ERR_BUSY) {
                /* Marked at the end instead (a root this user cannot
                 * write: not at all, as every account here). */
                if (st != PC_ERR_PERMISSION)
                    pc_cli_error("run: cannot mark %s good: %s", version, pc_client_errmsg(c));
                gave_up = true;
                continue;
            }
        }
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
}

/* The program's folder and path: PROGRAM inside the version, or absolute. */
static char *program_path(const char *dir, const char *prog)
{
    size_t n = strlen(dir) + strlen(prog) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", prog[0] == '/' ? "" : dir, prog[0] == '/' ? prog + 1 : prog);
    return path;
}

int pc_cmd_run(int argc, char **argv)
{
    static const struct option lo[] = {{"root", required_argument, NULL, 'r'},
                                       {"version", required_argument, NULL, 'v'},
                                       {"attempts", required_argument, NULL, 'a'},
                                       {"healthy-after", required_argument, NULL, 'H'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *root = getenv("PATCHCAST_ROOT"), *version = NULL;
    unsigned long attempts = 3, healthy_after = 0;
    int ch;
    optind = 1;
    /* "+": options end at PROGRAM, whose own options are left alone. */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'r': root = optarg; break;
        case 'v': version = optarg; break;
        case 'a':
            if (!parse_uint(optarg, 1, 1000, &attempts))
                return pc_cli_usage("run: --attempts %s: expected a number from 1 to 1000",
                                    optarg);
            break;
        case 'H':
            if (!parse_uint(optarg, 1, 86400 * 365, &healthy_after))
                return pc_cli_usage("run: --healthy-after %s: expected a whole number of "
                                    "seconds, at least 1", optarg);
            break;
        case 'h': return pc_cli_help(usage);
        default: return pc_cli_bad_option("run", ch, argv, usage);
        }
    }
    if (optind >= argc)
        return pc_cli_usage("run: PROGRAM is required (see 'patchcast run --help')");
    if (root == NULL || root[0] == '\0')
        return pc_cli_usage("run: --root DIR is required (or set PATCHCAST_ROOT)");
    const char *prog = argv[optind];
    const char *why = prog[0] == '/' ? NULL : pc_path_problem(prog);
    if (why)
        return pc_cli_usage("run: '%s' is not a path inside the version, like bin/app: %s", prog,
                            why);
    pc_client *c;
    if (pc_client_new(&c) != PC_OK)
        return PC_EXIT_FAIL;
    pc_hold *h = NULL;
    char *rolled = NULL;
    /* The configuration, when there is one: repairing a staged version
     * before the switch downloads from the repositories. */
    pc_status st = pc_client_load_config(c, root);
    if (st != PC_OK)
        st = pc_client_set_root(c, root);
    if (st == PC_OK && version)
        st = pc_client_hold_version(c, version, PC_HOLD_INHERIT, &h);
    else if (st == PC_OK)
        st = pc_client_start_run(c, (unsigned)attempts, PC_HOLD_INHERIT, &rolled, &h);
    if (st != PC_OK) {
        const char *m = pc_client_errmsg(c);
        int rc = pc_cli_fail(st, "run: %s", m[0] ? m : pc_strerror(st));
        pc_client_free(c);
        return rc;
    }
    if (rolled)
        pc_cli_error("run: %s failed %lu starts: rolled back to %s, which is not updated to %s "
                     "again automatically", rolled, attempts, pc_hold_version(h), rolled);
    free(rolled);
    rolled = NULL;
    char *path = program_path(pc_hold_dir(h), prog);
    char *ver = strdup(pc_hold_version(h));
    if (path == NULL || ver == NULL) {
        free(path);
        free(ver);
        pc_hold_release(h);
        pc_client_free(c);
        return PC_EXIT_FAIL;
    }
    setenv("PATCHCAST_ROOT", root, 1);
    setenv("PATCHCAST_VERSION", ver, 1);
    setenv("PATCHCAST_VERSION_DIR", pc_hold_dir(h), 1);
    int rc;
    if (version) {
        /* A named version: the program replaces patchcast; the hold's
         * descriptor is inherited, so the program holds the version. */
        fflush(stdout);
        execv(path, argv + optind);
        int err = errno;
        pc_cli_error("run: %s: %s", path, strerror(err));
        rc = err == ENOENT ? 127 : 126;
    } else {
        struct sigaction old[NFWD];
        forward_signals(old);
        pid_t pid = start(path, argv + optind);
        bool marked = false, due = false;
        int healthy = 0;
        if (pid < 0) {
            int err = errno;
            pc_cli_error("run: %s: %s", path, strerror(err));
            rc = err == ENOENT ? 127 : 126;
        } else {
            int ws = wait_child(pid, healthy_after, c, ver, &due, &marked);
            child_pid = 0;
            rc = ws < 0 ? PC_EXIT_FAIL : WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            /* Healthy: exit 0 or ran --healthy-after seconds. Otherwise a
             * failed start, unless it was stopped from outside (a service
             * stopped, ^C): that start does not count. */
            healthy = (ws >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) || due ? 1
                      : ws >= 0 && stopped_from_outside(ws)                  ? -1
                                                                             : 0;
        }
        restore_signals(old);
        if (!marked) {
            pc_client_set_wait(c, 600);
            st = pc_client_end_run(c, ver, healthy, (unsigned)attempts, &rolled);
            if (st != PC_OK && st != PC_ERR_PERMISSION)
                pc_cli_error("run: %s", pc_client_errmsg(c));
            else if (rolled)
                pc_cli_error("run: %s failed %lu starts: rolled back; the next start runs the "
                             "last good version", rolled, attempts);
            free(rolled);
        }
    }
    free(path);
    free(ver);
    pc_hold_release(h);
    pc_client_free(c);
    return rc;
}
