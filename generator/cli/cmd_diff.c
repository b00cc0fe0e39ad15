/* cmd_diff.c — `patchcast-gen diff OLD NEW PATCH`, with its progress: a
 * line redrawn on a terminal, plain lines otherwise, once a diff has run a
 * second (at once with --progress). */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "difffiles.h"
#include "gen_cli.h"
#include "progress.h"

static const char usage[] =
    "usage: patchcast-gen diff OLD NEW PATCH [--format pcz|bsdiff40] [-q|--progress]\n"
    "\n"
    "Write a binary patch that turns OLD into NEW; `patchcast apply` applies both\n"
    "formats. Uses two threads or more; memory about 5 to 6 times the size of OLD,\n"
    "for files of several GiB too (over 512 MiB, its suffix array is sorted in\n"
    "segments, in parallel).\n"
    "  --format pcz       patchcast's compact container (default): bsdiff's control\n"
    "                     and data in five streams compressed with xz or zstd, or\n"
    "                     (text, when smaller) one zstd frame over OLD; sizes and\n"
    "                     SHA-256s in the header\n"
    "  --format bsdiff40  byte-compatible with Debian's bsdiff/bspatch\n"
    "  -q, --quiet        no progress (by default shown once a diff has run a\n"
    "                     second: a line redrawn on a terminal, plain lines\n"
    "                     otherwise: each phase as it starts, the scan every 10 %;\n"
    "                     a terminal whose TERM is unset or dumb gets plain lines)\n"
    "  --progress         progress from the start, even for quick diffs\n";

/* The display's state, shared by the diff (phase starts) and its thread. */
typedef struct display {
    pc_diff_progress prog;
    bool tty, stop, drawn;
    double after; /* seconds before anything is shown */
    int shown;    /* plain lines: the phase last shown (-1: none) */
    int tenth;    /* and the last tenth of its count shown */
    struct timespec t0;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} display;

static double elapsed(const display *d)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - d->t0.tv_sec) + (double)(t.tv_nsec - d->t0.tv_nsec) / 1e9;
}

static int percent(uint64_t done, uint64_t total)
{
    return done >= total ? 100 : (int)(done * 100 / total);
}

/* A phase, the percentage of its count (if counted) and the time: the
 * line redrawn on a terminal, else a plain line. */
static void say(display *d, int ph, uint64_t done, uint64_t total, double t)
{
    char pct[16] = "";
    if (total)
        snprintf(pct, sizeof pct, " %d%%", percent(done, total));
    if (d->tty) {
        fprintf(stderr, "\r\033[Kdiff: %s%s (%.0f s)", pc_diff_phase_name(ph), pct, t);
        d->drawn = true;
    } else {
        fprintf(stderr, "diff: %s%s (%.1f s)\n", pc_diff_phase_name(ph), pct, t);
    }
    fflush(stderr);
}

/* Show where the diff is (the caller holds mu): redrawn on a terminal;
 * as a plain line when the phase is new or its count passed a tenth. */
static void show(display *d)
{
    double t = elapsed(d);
    if (t < d->after)
        return;
    int ph = atomic_load_explicit(&d->prog.phase, memory_order_relaxed);
    uint64_t done = atomic_load_explicit(&d->prog.done, memory_order_relaxed);
    uint64_t total = atomic_load_explicit(&d->prog.total, memory_order_relaxed);
    int tenth = total ? percent(done, total) / 10 : 0;
    if (d->tty || ph != d->shown || tenth > d->tenth)
        say(d, ph, done, total, t);
    d->shown = ph;
    d->tenth = tenth;
}

/* A phase starts: plain lines say where a counted one ended (if they
 * showed it), then the new one. */
static void on_phase(void *ud, int prev, uint64_t done, uint64_t total)
{
    display *d = ud;
    pthread_mutex_lock(&d->mu);
    if (!d->tty && total && prev == d->shown && percent(done, total) / 10 > d->tenth)
        say(d, prev, done, total, elapsed(d));
    show(d);
    pthread_mutex_unlock(&d->mu);
}

static void *display_thread(void *arg)
{
    display *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cv, &d->mu, &until);
        if (!d->stop)
            show(d);
    }
    if (d->drawn)
        fputs("\r\033[K", stderr);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* A terminal that understands "\r\033[K". */
static bool smart_tty(void)
{
    const char *term = getenv("TERM");
    return isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

int gen_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"progress", no_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, shown = 1; /* 0: -q, 1: after a second, 2: --progress */
    pc_diff_format fmt = PC_DIFF_PCZ;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
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
        case 'q': shown = 0; break;
        case 'P': shown = 2; break;
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
    display d = {.tty = smart_tty(), .after = shown == 2 ? 0 : 1, .shown = -1};
    clock_gettime(CLOCK_MONOTONIC, &d.t0);
    pthread_mutex_init(&d.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* waits unmoved by clock changes */
    pthread_cond_init(&d.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_t tid;
    bool running = false;
    if (shown) {
        d.prog.on_phase = on_phase;
        d.prog.ud = &d;
        running = pthread_create(&tid, NULL, display_thread, &d) == 0;
    }
    pc_status st = pc_diff_files(argv[optind], argv[optind + 1], argv[optind + 2], fmt,
                                 shown ? &d.prog : NULL, &size, &e);
    double secs = elapsed(&d);
    if (running) {
        pthread_mutex_lock(&d.mu);
        d.stop = true;
        pthread_cond_signal(&d.cv);
        pthread_mutex_unlock(&d.mu);
        pthread_join(tid, NULL);
    }
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen diff: %s\n", e.msg);
        return gen_exit_for(st);
    }
    fprintf(stderr, "%s: %llu bytes (%.2f s)\n", argv[optind + 2], (unsigned long long)size, secs);
    return 0;
}
