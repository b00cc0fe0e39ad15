/* bsdiff.c — bsdiff's scan of the new file against the old one's suffix
 * array (sufsort.c), producing the control triples: shortcuts that spare
 * most searches, two threads over halves of the new file, pages of the new
 * file dropped behind the scan; and, for text, pcz mode 1's frame. */
#include "bsdiff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lzparse.h"
#include "pages.h"
#include "sufsort.h"
#include "x86rel.h"

static pc_status push(pc_diff *d, uint64_t add, uint64_t copy, int64_t seek, pc_err *e)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        pc_ctrl *p = realloc(d->ctrl, nc * sizeof *p);
        if (p == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        d->ctrl = p;
        d->cap = nc;
    }
    d->ctrl[d->n++] = (pc_ctrl){add, copy, seek};
    return PC_OK;
}

void pc_diff_free(pc_diff *d)
{
    free(d->ctrl);
    free(d->zframe);
    free(d->xold);
    free(d->xnew);
    memset(d, 0, sizeof *d);
}

/* Shortcuts that spare most searches (each costs a few cache misses) and
 * leave the patches as small: where the current alignment matches at least
 * TRUST_LEN bytes it is taken as the match; a mismatch of at most
 * RESUME_GAP bytes after which the alignment matches RESUME_LEN bytes again
 * (a changed pointer or field) is not searched; and through a stretch where
 * searches keep finding less than MISS_LEN bytes (new content) the scan
 * moves faster, one more byte per MISS_ACCEL misses, at most MAX_STEP. The
 * backward extension later recovers the start of a match stepped over. */
#define TRUST_LEN 4
#define RESUME_GAP 4
#define RESUME_LEN 16
#define MISS_LEN 8
#define MISS_ACCEL 4
#define MAX_STEP 8

static bool resumes(const uint8_t *old, int64_t on, const uint8_t *nw, int64_t nn, int64_t ap,
                    int64_t scan)
{
    for (int64_t g = 1; g <= RESUME_GAP && ap + g < on && scan + g < nn; g++)
        if (pc_match_len(old + ap + g, on - ap - g, nw + scan + g, nn - scan - g) >= RESUME_LEN)
            return true;
    return false;
}

/* bsdiff's scan over new[start, end): triples whose old cursor starts at
 * `start` (as if old and new were aligned there) and, for all but the last
 * range, ends at `next` (where the following range starts). */
typedef struct scan_job {
    const pc_sa_index *ix;
    pc_diff_progress *prog;
    const uint8_t *nw;
    int64_t start, end, next;
    bool last, drop;
    pc_diff out;
    pc_status st;
    pc_err err;
} scan_job;

static void scan_range(scan_job *j)
{
    const uint8_t *old = j->ix->old, *nw = j->nw;
    int64_t on = j->ix->on, nn = j->end;
    /* Where the scan is, what it has reported and dropped: all from start. */
    int64_t scan = j->start, told = scan, dropped = scan, len = 0, pos = 0;
    int64_t lastscan = scan, lastpos = scan, lastoffset = 0;
    pc_diff *out = &j->out;
    j->st = PC_OK;
    while (scan < nn) {
        int64_t oldscore = 0, scsc, misses = 0;
        for (scsc = scan += len; scan < nn;) {
            int64_t ap = scan + lastoffset, la = 0;
            if (ap >= 0 && ap < on)
                la = pc_match_len(old + ap, on - ap, nw + scan, nn - scan);
            if (la >= TRUST_LEN) {
                len = la;
                pos = ap;
            } else if (ap >= 0 && resumes(old, on, nw, nn, ap, scan)) {
                len = 0;
            } else {
                len = pc_sa_longest(j->ix, nw + scan, nn - scan, &pos);
                misses = len < MISS_LEN ? misses + 1 : 0;
            }
            for (; scsc < scan + len; scsc++)
                if (scsc + lastoffset >= 0 && scsc + lastoffset < on &&
                    old[scsc + lastoffset] == nw[scsc])
                    oldscore++;
            if ((len == oldscore && len != 0) || len > oldscore + 8)
                break;
            int64_t step = 1 + misses / MISS_ACCEL;
            for (int64_t k = 0; k < step && k < MAX_STEP && scan < nn; k++, scan++)
                if (scan + lastoffset >= 0 && scan + lastoffset < on &&
                    old[scan + lastoffset] == nw[scan])
                    oldscore--;
        }
        if (len == oldscore && scan != nn)
            continue;
        /* Extend the previous match forwards and this one backwards. */
        int64_t s = 0, sf = 0, lenf = 0;
        for (int64_t i = 0; lastscan + i < scan && lastpos + i < on;) {
            if (lastpos + i >= 0 && old[lastpos + i] == nw[lastscan + i])
                s++;
            i++;
            if (s * 2 - i > sf * 2 - lenf) {
                sf = s;
                lenf = i;
            }
        }
        int64_t lenb = 0;
        if (scan < nn) {
            int64_t sb = 0;
            s = 0;
            for (int64_t i = 1; scan >= lastscan + i && pos >= i; i++) {
                if (old[pos - i] == nw[scan - i])
                    s++;
                if (s * 2 - i > sb * 2 - lenb) {
                    sb = s;
                    lenb = i;
                }
            }
        }
        if (lastscan + lenf > scan - lenb) {
            int64_t overlap = (lastscan + lenf) - (scan - lenb), ss = 0, lens = 0;
            s = 0;
            for (int64_t i = 0; i < overlap; i++) {
                if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i])
                    s++;
                if (nw[scan - lenb + i] == old[pos - lenb + i])
                    s--;
                if (s > ss) {
                    ss = s;
                    lens = i + 1;
                }
            }
            lenf += lens - overlap;
            lenb -= lens;
        }
        int64_t to = scan < nn || j->last ? pos - lenb : j->next;
        j->st = push(out, (uint64_t)lenf, (uint64_t)((scan - lenb) - (lastscan + lenf)),
                     to - (lastpos + lenf), &j->err);
        if (j->st != PC_OK)
            break;
        lastscan = scan - lenb;
        lastpos = pos - lenb;
        lastoffset = pos - scan;
        if (j->drop && lastscan - dropped >= (1 << 20)) {
            pc_drop_pages(nw, dropped, lastscan);
            dropped = lastscan;
        }
        if (j->prog && lastscan - told >= (1 << 20)) {
            atomic_fetch_add_explicit(&j->prog->done, (uint64_t)(lastscan - told),
                                      memory_order_relaxed);
            told = lastscan;
        }
    }
    if (j->prog && j->st == PC_OK)
        atomic_fetch_add_explicit(&j->prog->done, (uint64_t)(j->end - told),
                                  memory_order_relaxed);
    if (j->st != PC_OK)
        pc_diff_free(out);
}

static void *scan_thread(void *arg)
{
    scan_range(arg);
    return NULL;
}

/* Work is split over the new file only when each piece is worth a thread. */
#define SCAN_THREADS 2
#define SCAN_MIN_PIECE (1 << 20)

/* Bytes of the add runs that differ from old: few in text, many in code.
 * New's pages are dropped behind the count, as the scan drops them: the
 * suffix array is still held. */
static uint64_t differing(const pc_diff *d, const uint8_t *old, int64_t on, const uint8_t *nw)
{
    uint64_t n = 0, newpos = 0, dropped = 0;
    int64_t oldpos = 0;
    for (size_t i = 0; i < d->n; i++) {
        for (uint64_t k = 0; k < d->ctrl[i].add; k++) {
            int64_t q = oldpos + (int64_t)k;
            n += !(q >= 0 && q < on && old[q] == nw[newpos + k]);
        }
        newpos += d->ctrl[i].add + d->ctrl[i].copy;
        oldpos += (int64_t)d->ctrl[i].add + d->ctrl[i].seek;
        if (newpos - dropped >= (1 << 20)) {
            pc_drop_pages(nw, (int64_t)dropped, (int64_t)newpos);
            dropped = newpos;
        }
    }
    return n;
}

/* A filtered heap copy of a mapped file (pcz mode 2), the mapping's pages
 * dropped as they are copied; NULL when out of memory. */
static uint8_t *filtered(const uint8_t *m, size_t n, unsigned k)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c == NULL)
        return NULL;
    for (size_t off = 0; off < n; off += 1 << 20) {
        size_t len = n - off < (1 << 20) ? n - off : (1 << 20);
        memcpy(c + off, m + off, len);
        pc_drop_pages(m, (int64_t)off, (int64_t)(off + len));
    }
    pc_x86_filter(c, n, 0, k, true, true);
    return c;
}

pc_status pc_diff_compute(const uint8_t *old, size_t oldsize_, const uint8_t *nw,
                          size_t newsize_, bool want_frame, unsigned x86k, pc_diff *out,
                          pc_diff_progress *prog, pc_err *e)
{
    memset(out, 0, sizeof *out);
    int64_t on = (int64_t)oldsize_, nn = (int64_t)newsize_;
    out->x86k = x86k;
    if (x86k) {
        if ((out->xold = filtered(old, oldsize_, x86k)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        old = out->xold;
    }
    if (nn == 0)
        return PC_OK;
    if (on == 0) {
        if (x86k && (out->xnew = filtered(nw, newsize_, x86k)) == NULL) {
            pc_diff_free(out);
            return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        }
        pc_status st = push(out, 0, (uint64_t)nn, 0, e);
        if (st != PC_OK)
            pc_diff_free(out);
        return st;
    }
    uint8_t *xold = out->xold, *xnew = NULL; /* owned here until the end */
    out->xold = NULL;
    pc_sa_index ix;
    pc_diff_phase_set(prog, PC_DIFF_SORT, 0);
    pc_status st = pc_sa_build(&ix, old, on, e);
    if (st != PC_OK) {
        free(xold);
        return st;
    }
    /* The filtered new now that the sort's memory is down to its index. */
    if (x86k) {
        if ((xnew = filtered(nw, newsize_, x86k)) == NULL) {
            pc_sa_free(&ix);
            free(xold);
            return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        }
        nw = xnew;
    }

    pc_diff_phase_set(prog, PC_DIFF_SCAN, (uint64_t)nn);
    int nt = nn / SCAN_MIN_PIECE >= SCAN_THREADS ? SCAN_THREADS : 1;
    scan_job jobs[SCAN_THREADS];
    pthread_t tid[SCAN_THREADS];
    bool started[SCAN_THREADS] = {0};
    for (int i = 0; i < nt; i++) {
        jobs[i] = (scan_job){.ix = &ix, .prog = prog, .nw = nw, .start = nn / nt * i,
                             .end = i + 1 < nt ? nn / nt * (i + 1) : nn, .last = i + 1 == nt,
                             .drop = nn >= SCAN_MIN_PIECE && !x86k};
        jobs[i].next = jobs[i].end;
    }
    for (int i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, scan_thread, &jobs[i]) == 0;
    scan_range(&jobs[0]);
    for (int i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            scan_range(&jobs[i]); /* no thread: do it here */
    }
    for (int i = 0; i < nt && st == PC_OK; i++)
        if (jobs[i].st != PC_OK)
            st = pc_fail(e, jobs[i].st, "%s", jobs[i].err.msg);
    /* Concatenate the pieces' triples. */
    size_t total = 0;
    for (int i = 0; i < nt; i++)
        total += jobs[i].out.n;
    if (st == PC_OK) {
        *out = jobs[0].out;
        jobs[0].out = (pc_diff){0};
        out->x86k = x86k;
        out->xold = xold;
        out->xnew = xnew;
        xold = xnew = NULL;
        if (nt > 1) {
            pc_ctrl *p = realloc(out->ctrl, total * sizeof *p);
            if (p == NULL)
                st = pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
            else {
                out->ctrl = p;
                out->cap = total;
                for (int i = 1; i < nt; i++) {
                    memcpy(out->ctrl + out->n, jobs[i].out.ctrl, jobs[i].out.n * sizeof *p);
                    out->n += jobs[i].out.n;
                }
            }
        }
    }
    for (int i = 0; i < nt; i++)
        pc_diff_free(&jobs[i].out);
    /* Text: at most one differing byte in 64 of the new file (and both
     * small enough for mode 1's window: else new is not read again). */
    if (st == PC_OK && want_frame && !x86k && oldsize_ + newsize_ <= PC_LZ_MAX_TOTAL) {
        bool text = differing(out, old, on, nw) <= (uint64_t)nn / 64;
        pc_drop_pages(nw, 0, nn);
        if (text) {
            pc_diff_phase_set(prog, PC_DIFF_PARSE, 0);
            st = pc_lz_frame(&ix, old, oldsize_, nw, newsize_, &out->zframe, &out->zlen, e);
        }
        pc_drop_pages(nw, 0, nn);
    }
    pc_sa_free(&ix);
    free(xold);
    free(xnew);
    if (st != PC_OK)
        pc_diff_free(out);
    return st;
}

