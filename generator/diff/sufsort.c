/* sufsort.c — the old file's suffix array and the longest-match search:
 * sampled keys bracket the interval in a small, cached array, then a binary
 * search over the suffix array skips the prefix both bounds already share
 * and fetches the next steps' entries ahead. Old files over 512 MiB are
 * sorted in overlapping segments, on as many threads as there are cores
 * (at most 4), and searched segment by segment. */
#include "sufsort.h"

#include <divsufsort.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static inline int64_t sa_at(const pc_sa_seg *v, int64_t i)
{
    if (v->sa24) {
        const uint8_t *p = v->sa24 + 3 * i;
        return p[0] | (int64_t)p[1] << 8 | (int64_t)p[2] << 16;
    }
    return v->sa32[i];
}

static inline void sa_prefetch(const pc_sa_seg *v, int64_t i)
{
    if (v->sa24)
        __builtin_prefetch(v->sa24 + 3 * i);
    else
        __builtin_prefetch(v->sa32 + i);
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

/* Longest match of new[0..nn) among the suffixes of old. A sampled key below
 * new's key belongs to a suffix below new, one above to a suffix above it
 * (zero padding never reverses an order), so the sampled keys bracket the
 * interval; then a binary search over the suffix array, comparing from the
 * prefix both bounds already share. */
static int64_t seg_longest(const pc_sa_seg *v, const uint8_t *old, const uint8_t *nw, int64_t nn,
                           int64_t *pos)
{
    int64_t on = v->len;
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
    int64_t llo = pc_match_len(old + slo, on - slo, nw, nn);
    int64_t lhi = pc_match_len(old + shi, on - shi, nw, nn);
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
        int64_t l = k + pc_match_len(old + s + k, on - s - k, nw + k, nn - k);
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

int64_t pc_sa_longest(const pc_sa_index *v, const uint8_t *nw, int64_t nn, int64_t *pos)
{
    int64_t best = -1;
    for (int i = 0; i < v->nseg; i++) {
        const pc_sa_seg *g = &v->seg[i];
        int64_t p, l = seg_longest(g, v->old + g->base, nw, nn, &p);
        p += g->base;
        if (p + l == g->base + g->len && l < nn) /* cut by the segment's end */
            l += pc_match_len(v->old + p + l, v->on - p - l, nw + l, nn - l);
        if (l > best) {
            best = l;
            *pos = p;
        }
    }
    return best;
}

static void seg_free(pc_sa_seg *g)
{
    free((void *)g->sa24);
    free((void *)g->sa32);
    free(g->keys);
    free(g->bucket);
}

void pc_sa_free(pc_sa_index *v)
{
    for (int i = 0; i < v->nseg; i++)
        seg_free(&v->seg[i]);
    free(v->seg);
    memset(v, 0, sizeof *v);
}

/* An array of n bytes for random access: on huge pages from 64 MiB on
 * (their TLB reach keeps a sort of hundreds of MiB from waiting on page
 * walks: ~2x faster random reads over GiBs here). free() releases it. */
static void *big_alloc(size_t n)
{
    if (n < ((size_t)64 << 20))
        return malloc(n);
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, n) != 0)
        return NULL;
    madvise(p, n, MADV_HUGEPAGE); /* a hint: without it, plain pages */
    return p;
}

/* Sort one segment and index its keys: PC_OK, PC_ERR_NOMEM or
 * PC_ERR_INTERNAL (divsufsort refused). */
static pc_status seg_build(pc_sa_seg *g, const uint8_t *old)
{
    int64_t on = g->len;
    int32_t *sa = big_alloc((size_t)on * sizeof *sa);
    if (sa == NULL)
        return PC_ERR_NOMEM;
    if (divsufsort(old, sa, (saidx_t)on) != 0) {
        free(sa);
        return PC_ERR_INTERNAL;
    }
    g->sa32 = sa;
    if (on < (1 << 24)) {
        /* Pack to 3 bytes an entry, front to back in place, and give the
         * rest back: the scan then has a quarter less to hold. */
        uint8_t *p = (uint8_t *)sa;
        for (int64_t i = 0; i < on; i++) {
            int32_t x = sa[i];
            p[3 * i] = (uint8_t)x;
            p[3 * i + 1] = (uint8_t)(x >> 8);
            p[3 * i + 2] = (uint8_t)(x >> 16);
        }
        uint8_t *q = realloc(p, (size_t)on * 3);
        g->sa24 = q ? q : p;
        g->sa32 = NULL;
    }
    g->nkeys = (on + KEY_STEP - 1) / KEY_STEP;
    g->keys = big_alloc((size_t)g->nkeys * sizeof *g->keys);
    g->bucket = malloc(65537 * sizeof *g->bucket);
    if (g->keys == NULL || g->bucket == NULL)
        return PC_ERR_NOMEM;
    for (int64_t j = 0; j < g->nkeys; j++) {
        int64_t s = sa_at(g, j * KEY_STEP);
        g->keys[j] = key_of(old + s, on - s);
    }
    int64_t j = 0;
    for (uint64_t b = 0; b <= 65536; b++) {
        while (j < g->nkeys && (g->keys[j] >> 48) < b)
            j++;
        g->bucket[b] = j;
    }
    return PC_OK;
}

typedef struct sort_job {
    pc_sa_index *v;
    atomic_int next;
    atomic_int st; /* the first failure */
} sort_job;

static void *sort_thread(void *arg)
{
    sort_job *j = arg;
    /* After a failure the rest is not worth sorting. */
    while (atomic_load(&j->st) == PC_OK) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->v->nseg)
            break;
        pc_sa_seg *g = &j->v->seg[i];
        pc_status st = seg_build(g, j->v->old + g->base);
        int ok = PC_OK;
        if (st != PC_OK)
            atomic_compare_exchange_strong(&j->st, &ok, (int)st);
    }
    return NULL;
}

int64_t pc_sa_seg_max = PC_SA_SEG_MAX, pc_sa_seg_overlap = PC_SA_SEG_OVERLAP;

/* k segments of stride s, each reaching overlap bytes into the next:
 * s + overlap <= seg_max, and k * s + overlap >= on (the last one is cut
 * at on). */
int64_t pc_sa_segments(int64_t on, int64_t seg_max, int64_t overlap, int64_t *stride)
{
    if (on <= seg_max) {
        *stride = on;
        return 1;
    }
    int64_t k = (on - overlap + (seg_max - overlap) - 1) / (seg_max - overlap);
    *stride = (on - overlap + k - 1) / k;
    return k;
}

pc_status pc_sa_build(pc_sa_index *v, const uint8_t *old, int64_t on, pc_err *e)
{
    memset(v, 0, sizeof *v);
    v->old = old;
    v->on = on;
    int64_t s, k = pc_sa_segments(on, pc_sa_seg_max, pc_sa_seg_overlap, &s);
    if ((v->seg = calloc((size_t)k, sizeof *v->seg)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
    v->nseg = (int)k;
    for (int64_t i = 0; i < k; i++) {
        v->seg[i].base = i * s;
        v->seg[i].len = i + 1 < k ? s + pc_sa_seg_overlap : on - i * s;
    }
    sort_job job = {.v = v};
    atomic_init(&job.next, 0);
    atomic_init(&job.st, PC_OK);
    /* One thread a segment, as many as there are cores, at most 4. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t nt = k < 4 ? k : 4;
    if (cores < nt)
        nt = cores > 1 ? cores : 1;
    pthread_t tid[4];
    bool started[4] = {0};
    for (int i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, sort_thread, &job) == 0;
    sort_thread(&job);
    for (int i = 1; i < nt; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
    pc_status st = (pc_status)atomic_load(&job.st);
    if (st != PC_OK) {
        pc_sa_free(v);
        if (st == PC_ERR_NOMEM)
            return pc_fail(e, st, "diff: no memory for the suffix array (%lld entries)",
                           (long long)on);
        return pc_fail(e, st, "diff: suffix sorting failed");
    }
    return PC_OK;
}
