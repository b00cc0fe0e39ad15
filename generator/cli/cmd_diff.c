/* cmd_diff.c — `patchcast-gen diff OLD NEW PATCH`, with its progress: a
 * line redrawn on a terminal, plain lines otherwise, once a diff has run a
 * second (at once with --progress); with --release, a whole-release patch
 * between two release folders. */
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
#include "reldiff.h"
#include "tree.h"

static const char usage[] =
    "usage: patchcast-gen diff OLD NEW PATCH [--format pcz|bsdiff40] [-q|--progress]\n"
    "       patchcast-gen diff --release OLDDIR NEWDIR PATCH\n"
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
    "  --progress         progress from the start, even for quick diffs\n"
    "  --release          OLD and NEW are release folders: one pcz patch from every\n"
    "                     file of OLD (its reference, docs/format.md §5) to the\n"
    "                     contents NEW adds, as `build` makes for an edge\n";

/* The regular files of a scanned folder as a manifest (paths borrowed). */
static pc_status tree_manifest(const char *dir, pc_tree *t, pc_manifest *m, pc_err *e)
{
    memset(m, 0, sizeof *m);
    pc_status st = pc_tree_scan(dir, t, e);
    if (st != PC_OK)
        return st;
    if ((m->files = calloc(t->n ? t->n : 1, sizeof *m->files)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const pc_tree_entry *te = &t->entries[i];
        if (te->type != PC_ENTRY_FILE)
            continue;
        pc_file_entry *f = &m->files[m->nfiles++];
        f->path = te->path;
        f->type = PC_FT_FILE;
        f->size = te->size;
        f->mode = te->mode;
        memcpy(f->sha256, te->sha256, 32);
    }
    return PC_OK;
}

static int release_diff(const char *old, const char *nw, const char *patch)
{
    pc_err e = {0};
    pc_tree ot = {0}, nt = {0};
    pc_manifest om, nm;
    pc_reldiff rd;
    uint64_t size = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pc_status st = tree_manifest(old, &ot, &om, &e);
    if (st == PC_OK)
        st = tree_manifest(nw, &nt, &nm, &e);
    if (st == PC_OK && (st = pc_reldiff_plan(&om, &nm, &rd, &e)) == PC_OK) {
        if (rd.nfiles == 0)
            st = pc_fail(&e, PC_ERR_INVALID, "%s adds no content to %s", nw, old);
        else if ((st = pc_reldiff_load(&rd, old, &om, nw, &nm, &e)) == PC_OK)
            st = pc_reldiff_write(&rd, patch, &size, &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (st == PC_OK)
            fprintf(stderr, "%s: %llu bytes (%.2f s): %zu new contents of %llu bytes, from a "
                            "reference of %zu contents, %llu bytes\n",
                    patch, (unsigned long long)size,
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                    rd.nfiles, (unsigned long long)rd.to_size, rd.nref,
                    (unsigned long long)rd.ref_size);
        pc_reldiff_free(&rd);
    }
    free(om.files);
    free(nm.files);
    pc_tree_free(&ot);
    pc_tree_free(&nt);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen diff: %s\n", e.msg);
        return gen_exit_for(st);
    }
    return 0;
}

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
                                         {"release", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, shown = 1; /* 0: -q, 1: after a second, 2: --progress */
    bool release = false;
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
        case 'r': release = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 3) {
        fprintf(stderr, "patchcast-gen diff: expected OLD NEW PATCH\n%s", usage);
        return 2;
    }
    if (release)
        return release_diff(argv[optind], argv[optind + 1], argv[optind + 2]);
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
