/* bsdiff.c — bsdiff's match search over a libdivsufsort suffix array, and
 * the BSDIFF40 writer. The search skips the prefix already known to be
 * shared with both ends of the binary-search interval. */
#include "bsdiff.h"

#include <bzlib.h>
#include <divsufsort.h>
#include <divsufsort64.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "patch.h"
#include "sha256.h"

/* The suffix array of the old file, and every KEY_STEP-th suffix's first
 * eight bytes (big-endian, zero-padded) in a small array, itself indexed by
 * its first two bytes: a search narrows its interval there before touching
 * the big array. */
#define KEY_STEP 32

typedef struct sa_index {
    const uint8_t *old;
    int64_t on;
    const uint8_t *sa24; /* 3 bytes an entry, for old files under 16 MiB */
    const int32_t *sa32;
    const int64_t *sa64;
    uint64_t *keys;
    int64_t nkeys;
    int64_t *bucket; /* keys[bucket[b] .. bucket[b + 1]) start with the bytes b */
} sa_index;

static inline int64_t sa_at(const sa_index *v, int64_t i)
{
    if (v->sa24) {
        const uint8_t *p = v->sa24 + 3 * i;
        return p[0] | (int64_t)p[1] << 8 | (int64_t)p[2] << 16;
    }
    return v->sa32 ? v->sa32[i] : v->sa64[i];
}

static inline void sa_prefetch(const sa_index *v, int64_t i)
{
    if (v->sa24)
        __builtin_prefetch(v->sa24 + 3 * i);
    else if (v->sa32)
        __builtin_prefetch(v->sa32 + i);
    else
        __builtin_prefetch(v->sa64 + i);
}

static inline uint64_t key_of(const uint8_t *p, int64_t n)
{
    uint64_t k = 0;
    if (n >= 8) {
        memcpy(&k, p, 8);
        return __builtin_bswap64(k);
    }
    for (int i = 0; i < 8; i++)
        k = k << 8 | (i < n ? p[i] : 0);
    return k;
}

static inline int64_t match_len(const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn)
{
    int64_t n = an < bn ? an : bn, i = 0;
    while (i + 8 <= n) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + __builtin_ctzll(x ^ y) / 8; /* little-endian */
        i += 8;
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Longest match of new[0..nn) among the suffixes of old. A sampled key below
 * new's key belongs to a suffix below new, one above to a suffix above it
 * (zero padding never reverses an order), so the sampled keys bracket the
 * interval; then a binary search over the suffix array, comparing from the
 * prefix both bounds already share. */
static int64_t search(const sa_index *v, const uint8_t *nw, int64_t nn, int64_t *pos)
{
    const uint8_t *old = v->old;
    int64_t on = v->on;
    uint64_t t = key_of(nw, nn);
    int64_t a = v->bucket[t >> 48], b = v->bucket[(t >> 48) + 1];
    while (a < b) { /* first key >= t */
        int64_t m = a + (b - a) / 2;
        if (v->keys[m] < t)
            a = m + 1;
        else
            b = m;
    }
    int64_t c = a;
    b = v->bucket[(t >> 48) + 1];
    while (c < b) { /* first key > t */
        int64_t m = c + (b - c) / 2;
        if (v->keys[m] <= t)
            c = m + 1;
        else
            b = m;
    }
    int64_t lo = a > 0 ? (a - 1) * KEY_STEP : 0;
    int64_t hi = c < v->nkeys ? c * KEY_STEP : on - 1;
    int64_t slo = sa_at(v, lo), shi = sa_at(v, hi);
    int64_t llo = match_len(old + slo, on - slo, nw, nn);
    int64_t lhi = match_len(old + shi, on - shi, nw, nn);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2, k = llo < lhi ? llo : lhi;
        /* The search is bound by memory latency: fetch ahead the entries of
         * the next two steps and the old bytes the next step compares. */
        int64_t q1 = lo + (mid - lo) / 2, q2 = mid + (hi - mid) / 2;
        sa_prefetch(v, lo + (q1 - lo) / 2);
        sa_prefetch(v, q1 + (mid - q1) / 2);
        sa_prefetch(v, mid + (q2 - mid) / 2);
        sa_prefetch(v, q2 + (hi - q2) / 2);
        __builtin_prefetch(old + sa_at(v, q1) + k);
        __builtin_prefetch(old + sa_at(v, q2) + k);
        int64_t s = sa_at(v, mid);
        int64_t l = k + match_len(old + s + k, on - s - k, nw + k, nn - k);
        /* Is the suffix at mid below new? (a suffix that ends first is) */
        bool below = (s + l == on && l < nn) || (l < nn && s + l < on && old[s + l] < nw[l]);
        if (below) {
            lo = mid;
            llo = l;
        } else {
            hi = mid;
            lhi = l;
        }
    }
    if (llo >= lhi) {
        *pos = sa_at(v, lo);
        return llo;
    }
    *pos = sa_at(v, hi);
    return lhi;
}

int64_t pc_sa_longest(const pc_sa_index *ix, const uint8_t *nw, int64_t nn, int64_t *pos)
{
    return search(ix, nw, nn, pos);
}

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
    memset(d, 0, sizeof *d);
}

void pc_drop_pages(const uint8_t *base, int64_t from, int64_t to)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)(base + from) + pg - 1) & ~(pg - 1);
    uintptr_t b = (uintptr_t)(base + to) & ~(pg - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
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
        if (match_len(old + ap + g, on - ap - g, nw + scan + g, nn - scan - g) >= RESUME_LEN)
            return true;
    return false;
}

/* bsdiff's scan over new[start, end): triples whose old cursor starts at
 * `start` (as if old and new were aligned there) and, for all but the last
 * range, ends at `next` (where the following range starts). */
typedef struct scan_job {
    const sa_index *ix;
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
    int64_t on = j->ix->on, nn = j->end, dropped = j->start;
    int64_t scan = j->start, len = 0, pos = 0;
    int64_t lastscan = j->start, lastpos = j->start, lastoffset = 0;
    pc_diff *out = &j->out;
    j->st = PC_OK;
    while (scan < nn) {
        int64_t oldscore = 0, scsc, misses = 0;
        for (scsc = scan += len; scan < nn;) {
            int64_t ap = scan + lastoffset, la = 0;
            if (ap >= 0 && ap < on)
                la = match_len(old + ap, on - ap, nw + scan, nn - scan);
            if (la >= TRUST_LEN) {
                len = la;
                pos = ap;
            } else if (ap >= 0 && resumes(old, on, nw, nn, ap, scan)) {
                len = 0;
            } else {
                len = search(j->ix, nw + scan, nn - scan, &pos);
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
    }
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

static void free_index(sa_index *v)
{
    free((void *)v->sa24);
    free((void *)v->sa32);
    free((void *)v->sa64);
    free(v->keys);
    free(v->bucket);
    memset(v, 0, sizeof *v);
}

static pc_status build_index(sa_index *v, const uint8_t *old, int64_t on, pc_err *e)
{
    memset(v, 0, sizeof *v);
    v->old = old;
    v->on = on;
    if (on < INT32_MAX) {
        int32_t *sa = malloc((size_t)on * sizeof *sa);
        if (sa && divsufsort(old, sa, (saidx_t)on) != 0) {
            free(sa);
            return pc_fail(e, PC_ERR_INTERNAL, "diff: suffix sorting failed");
        }
        v->sa32 = sa;
        if (sa && on < (1 << 24)) {
            /* Pack to 3 bytes an entry, front to back in place, and give
             * the rest back: the scan then has a quarter less to hold. */
            uint8_t *p = (uint8_t *)sa;
            for (int64_t i = 0; i < on; i++) {
                int32_t x = sa[i];
                p[3 * i] = (uint8_t)x;
                p[3 * i + 1] = (uint8_t)(x >> 8);
                p[3 * i + 2] = (uint8_t)(x >> 16);
            }
            uint8_t *q = realloc(p, (size_t)on * 3);
            v->sa24 = q ? q : p;
            v->sa32 = NULL;
        }
    } else {
        int64_t *sa = malloc((size_t)on * sizeof *sa);
        if (sa && divsufsort64(old, sa, (saidx64_t)on) != 0) {
            free(sa);
            return pc_fail(e, PC_ERR_INTERNAL, "diff: suffix sorting failed");
        }
        v->sa64 = sa;
    }
    if (v->sa24 == NULL && v->sa32 == NULL && v->sa64 == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "diff: no memory for the suffix array (%lld entries)",
                       (long long)on);
    v->nkeys = (on + KEY_STEP - 1) / KEY_STEP;
    v->keys = malloc((size_t)v->nkeys * sizeof *v->keys);
    if (v->keys == NULL) {
        free_index(v);
        return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
    }
    for (int64_t j = 0; j < v->nkeys; j++) {
        int64_t s = sa_at(v, j * KEY_STEP);
        v->keys[j] = key_of(old + s, on - s);
    }
    v->bucket = malloc(65537 * sizeof *v->bucket);
    if (v->bucket == NULL) {
        free_index(v);
        return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
    }
    int64_t j = 0;
    for (uint64_t b = 0; b <= 65536; b++) {
        while (j < v->nkeys && (v->keys[j] >> 48) < b)
            j++;
        v->bucket[b] = j;
    }
    return PC_OK;
}

/* Bytes of the add runs that differ from old: few in text, many in code. */
static uint64_t differing(const pc_diff *d, const uint8_t *old, int64_t on, const uint8_t *nw)
{
    uint64_t n = 0, newpos = 0;
    int64_t oldpos = 0;
    for (size_t i = 0; i < d->n; i++) {
        for (uint64_t k = 0; k < d->ctrl[i].add; k++) {
            int64_t q = oldpos + (int64_t)k;
            n += !(q >= 0 && q < on && old[q] == nw[newpos + k]);
        }
        newpos += d->ctrl[i].add + d->ctrl[i].copy;
        oldpos += (int64_t)d->ctrl[i].add + d->ctrl[i].seek;
    }
    return n;
}

pc_status pc_diff_compute(const uint8_t *old, size_t oldsize_, const uint8_t *nw,
                          size_t newsize_, bool want_frame, pc_diff *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    int64_t on = (int64_t)oldsize_, nn = (int64_t)newsize_;
    if (nn == 0)
        return PC_OK;
    if (on == 0)
        return push(out, 0, (uint64_t)nn, 0, e);
    sa_index ix;
    pc_status st = build_index(&ix, old, on, e);
    if (st != PC_OK)
        return st;

    int nt = nn / SCAN_MIN_PIECE >= SCAN_THREADS ? SCAN_THREADS : 1;
    scan_job jobs[SCAN_THREADS];
    pthread_t tid[SCAN_THREADS];
    bool started[SCAN_THREADS] = {0};
    for (int i = 0; i < nt; i++) {
        jobs[i] = (scan_job){.ix = &ix, .nw = nw, .start = nn / nt * i,
                             .end = i + 1 < nt ? nn / nt * (i + 1) : nn, .last = i + 1 == nt,
                             .drop = nn >= SCAN_MIN_PIECE};
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
    /* Text: at most one differing byte in 64 of the new file. */
    if (st == PC_OK && want_frame) {
        bool text = differing(out, old, on, nw) <= (uint64_t)nn / 64;
        pc_drop_pages(nw, 0, nn);
        if (text)
            st = pc_lz_frame(&ix, old, oldsize_, nw, newsize_, &out->zframe, &out->zlen, e);
        pc_drop_pages(nw, 0, nn);
    }
    free_index(&ix);
    if (st != PC_OK)
        pc_diff_free(out);
    return st;
}

/* ---- BSDIFF40 writer ------------------------------------------------------ */

typedef struct bzbuf {
    bz_stream bz;
    char *data;
    size_t len, cap;
} bzbuf;

static pc_status bz_begin(bzbuf *b, pc_err *e)
{
    memset(b, 0, sizeof *b);
    if (BZ2_bzCompressInit(&b->bz, 9, 0, 0) != BZ_OK)
        return pc_fail(e, PC_ERR_NOMEM, "bzip2: cannot start the compressor");
    return PC_OK;
}

static pc_status bz_run(bzbuf *b, const void *data, size_t n, int action, pc_err *e)
{
    b->bz.next_in = (char *)data;
    b->bz.avail_in = (unsigned)n;
    for (;;) {
        if (b->cap - b->len < 65536) {
            size_t nc = b->cap ? b->cap * 2 : 1 << 20;
            char *p = realloc(b->data, nc);
            if (p == NULL)
                return pc_fail(e, PC_ERR_NOMEM, "bzip2: out of memory");
            b->data = p;
            b->cap = nc;
        }
        b->bz.next_out = b->data + b->len;
        b->bz.avail_out = (unsigned)(b->cap - b->len);
        int rc = BZ2_bzCompress(&b->bz, action);
        b->len = b->cap - b->bz.avail_out;
        if (action == BZ_RUN) {
            if (rc != BZ_RUN_OK)
                return pc_fail(e, PC_ERR_INTERNAL, "bzip2: compression failed (%d)", rc);
            if (b->bz.avail_in == 0)
                return PC_OK;
        } else {
            if (rc == BZ_STREAM_END)
                return PC_OK;
            if (rc != BZ_FINISH_OK)
                return pc_fail(e, PC_ERR_INTERNAL, "bzip2: compression failed (%d)", rc);
        }
    }
}

/* Feed large inputs in pieces (bz_stream counts in unsigned int). */
static pc_status bz_write(bzbuf *b, const uint8_t *data, size_t n, pc_err *e)
{
    while (n > 0) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        pc_status st = bz_run(b, data, k, BZ_RUN, e);
        if (st != PC_OK)
            return st;
        data += k;
        n -= k;
    }
    return PC_OK;
}

static void bz_end(bzbuf *b)
{
    BZ2_bzCompressEnd(&b->bz);
    free(b->data);
}

pc_status pc_bsdiff40_write(const pc_diff *d, const uint8_t *old, size_t oldsize,
                            const uint8_t *nw, size_t newsize, const char *path,
                            uint64_t *patch_size, pc_err *e)
{
    bzbuf b[3];
    int started = 0;
    pc_status st = PC_OK;
    uint8_t tmp[65536];
    for (; started < 3 && st == PC_OK; started++)
        st = bz_begin(&b[started], e);
    if (st != PC_OK) {
        started--;
        goto out;
    }
    uint64_t newpos = 0;
    int64_t oldpos = 0;
    for (size_t i = 0; i < d->n && st == PC_OK; i++) {
        const pc_ctrl *c = &d->ctrl[i];
        uint8_t t[24];
        pc_offtout((int64_t)c->add, t);
        pc_offtout((int64_t)c->copy, t + 8);
        pc_offtout(c->seek, t + 16);
        st = bz_write(&b[0], t, 24, e);
        for (uint64_t k = 0; k < c->add && st == PC_OK;) {
            size_t n = c->add - k < sizeof tmp ? (size_t)(c->add - k) : sizeof tmp;
            for (size_t j = 0; j < n; j++) {
                int64_t op = oldpos + (int64_t)(k + j);
                uint8_t ob = (op >= 0 && (uint64_t)op < oldsize) ? old[op] : 0;
                tmp[j] = (uint8_t)(nw[newpos + k + j] - ob);
            }
            st = bz_write(&b[1], tmp, n, e);
            k += n;
        }
        if (st == PC_OK)
            st = bz_write(&b[2], nw + newpos + c->add, (size_t)c->copy, e);
        newpos += c->add + c->copy;
        oldpos += (int64_t)c->add + c->seek;
    }
    if (st == PC_OK && newpos != newsize)
        st = pc_fail(e, PC_ERR_INTERNAL, "diff: control covers %llu of %zu bytes",
                     (unsigned long long)newpos, newsize);
    for (int i = 0; i < 3 && st == PC_OK; i++)
        st = bz_run(&b[i], NULL, 0, BZ_FINISH, e);
    if (st != PC_OK)
        goto out;
    uint8_t hdr[32];
    memcpy(hdr, "BSDIFF40", 8);
    pc_offtout((int64_t)b[0].len, hdr + 8);
    pc_offtout((int64_t)b[1].len, hdr + 16);
    pc_offtout((int64_t)newsize, hdr + 24);
    pc_tmpfile t;
    if ((st = pc_tmpfile_open(&t, path, e)) != PC_OK)
        goto out;
    if (pc_write_all(t.fd, hdr, 32) || pc_write_all(t.fd, b[0].data, b[0].len) ||
        pc_write_all(t.fd, b[1].data, b[1].len) || pc_write_all(t.fd, b[2].data, b[2].len))
        st = pc_fail(e, PC_ERR_IO, "%s: write: %s", path, strerror(errno));
    st = pc_tmpfile_finish(&t, st, 0644, e);
    if (st == PC_OK)
        *patch_size = 32 + b[0].len + b[1].len + b[2].len;
out:
    for (int i = 0; i < started; i++)
        bz_end(&b[i]);
    return st;
}

/* Map a whole file read-only (empty files give NULL with size 0). */
static pc_status map_file(const char *path, const uint8_t **data, size_t *size, pc_err *e)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO, "%s: %s", path,
                       strerror(errno));
    struct stat sb;
    pc_status st = PC_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = pc_fail(e, PC_ERR_IO, "%s: not a regular file", path);
    } else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            st = pc_fail(e, PC_ERR_IO, "%s: mmap: %s", path, strerror(errno));
        else {
            *data = m;
            *size = (size_t)sb.st_size;
        }
    }
    close(fd);
    return st;
}

/* SHA-256s of both files for the pcz header, on another thread while the
 * suffix array is sorted; the new file's pages are dropped once hashed. */
typedef struct hash_job {
    const uint8_t *old, *nw;
    size_t os, ns;
    uint8_t osha[32], nsha[32];
} hash_job;

static void *hash_thread(void *arg)
{
    hash_job *h = arg;
    pc_sha256(h->old ? h->old : (const uint8_t *)"", h->os, h->osha);
    pc_sha256_ctx c;
    pc_sha256_init(&c);
    for (size_t off = 0; off < h->ns; off += 1 << 20) {
        size_t n = h->ns - off < (1 << 20) ? h->ns - off : (1 << 20);
        pc_sha256_update(&c, h->nw + off, n);
        pc_drop_pages(h->nw, (int64_t)off, (int64_t)(off + n));
    }
    pc_sha256_final(&c, h->nsha);
    return NULL;
}

pc_status pc_diff_files(const char *old, const char *nw, const char *patch,
                        pc_diff_format format, uint64_t *patch_size, pc_err *e)
{
    const uint8_t *o = NULL, *n = NULL;
    size_t os = 0, ns = 0;
    pc_diff d = {0};
    hash_job h = {0};
    pthread_t tid;
    bool hashing = false;
    pc_status st = map_file(old, &o, &os, e);
    if (st == PC_OK)
        st = map_file(nw, &n, &ns, e);
    if (st == PC_OK && format == PC_DIFF_PCZ) {
        h = (hash_job){.old = o, .nw = n, .os = os, .ns = ns};
        hashing = pthread_create(&tid, NULL, hash_thread, &h) == 0;
        if (!hashing)
            hash_thread(&h);
    }
    if (st == PC_OK)
        st = pc_diff_compute(o, os, n, ns, format == PC_DIFF_PCZ, &d, e);
    if (hashing)
        pthread_join(tid, NULL);
    if (st == PC_OK)
        st = format == PC_DIFF_PCZ
                 ? pc_pcz_write(&d, o, os, n, ns, h.osha, h.nsha, patch, patch_size, e)
                 : pc_bsdiff40_write(&d, o, os, n, ns, patch, patch_size, e);
    pc_diff_free(&d);
    if (o)
        munmap((void *)o, os);
    if (n)
        munmap((void *)n, ns);
    return st;
}
