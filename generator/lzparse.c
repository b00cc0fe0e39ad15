/* lzparse.c — pcz mode 1 (docs/format.md §7): an LZ77 parse of the new file
 * (matches into the old file through the suffix array, into the new file's
 * past through a hash table, and at repeat offsets, chosen by an estimate of
 * their cost), entropy-coded by zstd as one frame that uses the old file as
 * its prefix. On text, where bsdiff's control triples are most of a patch,
 * this is the smaller form. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_compressSequences */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bsdiff.h"
#include "sufsort.h"

#define MIN_MATCH 5      /* shortest match taken from the suffix array or the hash */
#define MIN_REP 3        /* shortest match at a repeat offset */
#define MAX_MATCH 65536  /* longer matches continue at the same (repeat) offset */
#define LIT_BITS 4.0     /* what a literal costs, about, once entropy-coded */
#define REP_BITS 3.0     /* a match at a repeat offset */
#define OFF_BITS 4.0     /* a new offset, on top of its log2 */

typedef struct parser {
    const pc_sa_index *ix;
    const uint8_t *old, *nw;
    int64_t on, nn;
    uint32_t *head; /* hash of 8 bytes -> last new position + 1 */
    int hbits;
    int64_t hashed; /* positions below this are in the table */
    int64_t rep[3];
} parser;

static inline uint32_t hash8(const parser *p, int64_t at)
{
    uint64_t v;
    memcpy(&v, p->nw + at, 8);
    return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> (64 - p->hbits));
}

static void hash_to(parser *p, int64_t upto)
{
    for (; p->hashed < upto && p->hashed + 8 <= p->nn; p->hashed++)
        p->head[hash8(p, p->hashed)] = (uint32_t)p->hashed + 1;
    if (p->hashed < upto)
        p->hashed = upto;
}

static double log2i(uint64_t x)
{
    return 63 - __builtin_clzll(x | 1);
}

/* Length of the match at distance d back from new position at (into the
 * old file, which precedes the new one, when d > at). */
static int64_t match_at(const parser *p, int64_t at, int64_t d)
{
    int64_t left = p->nn - at;
    if (d <= at)
        return pc_match_len(p->nw + at - d, left, p->nw + at, left);
    int64_t q = p->on + at - d;
    if (q < 0)
        return 0;
    int64_t l = pc_match_len(p->old + q, p->on - q, p->nw + at, left);
    if (q + l == p->on) /* continues from the old file's end into the new one */
        l += pc_match_len(p->nw, p->nn, p->nw + at + l, left - l);
    return l;
}

/* The most valuable match at `at`: *value is its estimated saving in bits. */
static int64_t best(parser *p, int64_t at, int64_t *dist, double *value)
{
    int64_t len = 0;
    *value = 0;
    for (int r = 0; r < 3; r++) {
        int64_t l = match_at(p, at, p->rep[r]);
        double v = (double)l * LIT_BITS - REP_BITS - r;
        if (l >= MIN_REP && v > *value) {
            *value = v;
            len = l;
            *dist = p->rep[r];
        }
    }
    int64_t pos, l = pc_sa_longest(p->ix, p->nw + at, p->nn - at, &pos);
    if (l >= MIN_MATCH) {
        int64_t d = p->on - pos + at;
        double v = (double)l * LIT_BITS - OFF_BITS - log2i((uint64_t)d);
        if (v > *value) {
            *value = v;
            len = l;
            *dist = d;
        }
    }
    if (at + 8 <= p->nn) {
        uint32_t c = p->head[hash8(p, at)];
        if (c) {
            int64_t s = c - 1;
            l = pc_match_len(p->nw + s, p->nn - s, p->nw + at, p->nn - at);
            double v = (double)l * LIT_BITS - OFF_BITS - log2i((uint64_t)(at - s));
            if (l >= MIN_MATCH && v > *value) {
                *value = v;
                len = l;
                *dist = at - s;
            }
        }
    }
    return len > MAX_MATCH ? MAX_MATCH : len;
}

pc_status pc_lz_frame(const pc_sa_index *ix, const uint8_t *old, size_t on, const uint8_t *nw,
                      size_t nn, uint8_t **frame, size_t *frame_len, pc_err *e)
{
    *frame = NULL;
    *frame_len = 0;
    if (on + nn > PC_LZ_MAX_TOTAL || nn < 16)
        return PC_OK;
    parser p = {.ix = ix, .old = old, .nw = nw, .on = (int64_t)on, .nn = (int64_t)nn,
                .rep = {1, 4, 8}};
    p.hbits = 12;
    while (p.hbits < 20 && ((size_t)1 << (p.hbits + 3)) < nn)
        p.hbits++;
    p.head = calloc((size_t)1 << p.hbits, sizeof *p.head);
    /* A parse this fragmented is no text: give up rather than hold it. */
    size_t cap = nn / 256 + 1024, ns = 0;
    ZSTD_Sequence *seq = malloc(cap * sizeof *seq);
    pc_status st = PC_OK;
    if (!p.head || !seq) {
        st = pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        goto out;
    }
    uint32_t lit = 0;
    int64_t dropped = 0;
    for (int64_t at = 0; at < p.nn;) {
        if (at - dropped >= (1 << 20)) { /* keep little of the new file resident */
            pc_drop_pages(nw, 0, at - (256 << 10));
            dropped = at;
        }
        hash_to(&p, at);
        int64_t d = 0, d2 = 0;
        double v, v2;
        int64_t len = best(&p, at, &d, &v);
        if (len == 0) {
            lit++;
            at++;
            continue;
        }
        /* One step of lazy matching: a better match one byte later wins. */
        if (at + 1 < p.nn) {
            hash_to(&p, at + 1);
            int64_t len2 = best(&p, at + 1, &d2, &v2);
            if (len2 && v2 - LIT_BITS > v) {
                lit++;
                at++;
                len = len2;
                d = d2;
            }
        }
        if (ns == cap) {
            st = PC_OK; /* not worth it: the caller keeps the bsdiff form */
            goto out;
        }
        seq[ns++] = (ZSTD_Sequence){.offset = (unsigned)d, .litLength = lit,
                                    .matchLength = (unsigned)len};
        lit = 0;
        at += len;
        if (d != p.rep[0]) {
            if (d != p.rep[1])
                p.rep[2] = p.rep[1];
            p.rep[1] = p.rep[0];
            p.rep[0] = d;
        }
    }
    free(p.head);
    p.head = NULL;

    unsigned wlog = 10;
    while (((size_t)1 << wlog) < on + nn)
        wlog++;
    size_t bound = ZSTD_compressBound(nn);
    uint8_t *out = malloc(bound);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!out || !c) {
        free(out);
        ZSTD_freeCCtx(c);
        st = pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        goto out;
    }
    /* zstd only entropy-codes the given sequences: its own match finder
     * gets the smallest tables, the window spans old and new. The strategy
     * still steers the entropy stage: from lazy on, zstd chooses each
     * block's FSE tables by their cost (fast uses a rough rule: 3.5% larger
     * frames); the binary-tree strategies would gain 0.1% more but index
     * the whole old file into their tree first (+0.2 s on 9 MB). */
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(c, ZSTD_c_strategy, ZSTD_lazy);
    ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, ZSTD_HASHLOG_MIN);
    ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, ZSTD_CHAINLOG_MIN);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, (int)wlog);
    ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
    size_t r = ZSTD_CCtx_refPrefix(c, old, on);
    if (!ZSTD_isError(r))
        r = ZSTD_compressSequences(c, out, bound, seq, ns, nw, nn);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r)) {
        free(out);
        st = pc_fail(e, PC_ERR_INTERNAL, "diff: zstd: %s", ZSTD_getErrorName(r));
        goto out;
    }
    *frame = out;
    *frame_len = r;
out:
    free(p.head);
    free(seq);
    return st;
}
