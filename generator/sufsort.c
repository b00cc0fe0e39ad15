/* sufsort.c — the old file's suffix array and the longest-match search:
 * sampled keys bracket the interval in a small, cached array, then a binary
 * search over the suffix array skips the prefix both bounds already share
 * and fetches the next steps' entries ahead. */
#include "sufsort.h"

#include <divsufsort.h>
#include <divsufsort64.h>
#include <stdbool.h>
#include <stdlib.h>

static inline int64_t sa_at(const pc_sa_index *v, int64_t i)
{
    if (v->sa24) {
        const uint8_t *p = v->sa24 + 3 * i;
        return p[0] | (int64_t)p[1] << 8 | (int64_t)p[2] << 16;
    }
    return v->sa32 ? v->sa32[i] : v->sa64[i];
}

static inline void sa_prefetch(const pc_sa_index *v, int64_t i)
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

/* Longest match of new[0..nn) among the suffixes of old. A sampled key below
 * new's key belongs to a suffix below new, one above to a suffix above it
 * (zero padding never reverses an order), so the sampled keys bracket the
 * interval; then a binary search over the suffix array, comparing from the
 * prefix both bounds already share. */
int64_t pc_sa_longest(const pc_sa_index *v, const uint8_t *nw, int64_t nn, int64_t *pos)
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

void pc_sa_free(pc_sa_index *v)
{
    free((void *)v->sa24);
    free((void *)v->sa32);
    free((void *)v->sa64);
    free(v->keys);
    free(v->bucket);
    memset(v, 0, sizeof *v);
}

pc_status pc_sa_build(pc_sa_index *v, const uint8_t *old, int64_t on, pc_err *e)
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
        pc_sa_free(v);
        return pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
    }
    for (int64_t j = 0; j < v->nkeys; j++) {
        int64_t s = sa_at(v, j * KEY_STEP);
        v->keys[j] = key_of(old + s, on - s);
    }
    v->bucket = malloc(65537 * sizeof *v->bucket);
    if (v->bucket == NULL) {
        pc_sa_free(v);
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

