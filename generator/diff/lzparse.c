/* lzparse.c — pcz mode 1 (docs/format.md §7): an LZ77 parse of the new file,
 * entropy-coded by zstd as one frame that uses the old file as its prefix.
 * On text, where bsdiff's control triples are most of a patch, this is the
 * smaller form.
 *
 * The parse is price-based, like zstd's optimal parsers: at each position
 * the candidate matches (zstd's repeat offsets, offsets found lately, the
 * longest match in the old file through its suffix array, nearer and nearer
 * matches in the new file's recent past through a 4-byte hash chain, one in
 * its far past through a table of 8-byte hashes) are priced at every length
 * in bits of zstd's codes (lzprice.c, from the statistics of the sequences
 * chosen so far), and a dynamic programme over the positions keeps the
 * cheapest way to reach each; a match of SUFF bytes or more ends it and is
 * taken. Most of a text diff is long matches, so the programme runs over
 * about 2% of the positions; searches of the old file, which cost a few
 * cache misses each, are spared where the offsets at hand already match. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_compressSequences */
#include "lzparse.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "lzprice.h"
#include "pages.h"
#include "sufsort.h"

#define MIN_MATCH 4     /* shortest match taken from the suffix array or the hash */
#define MIN_REP 3       /* shortest match at a repeat offset (zstd's least) */
#define MAX_MATCH 65536 /* longer matches continue at the same offset */
#define WIN 2048        /* positions one dynamic programme spans at most */
#define SUFF 48         /* a match this long is taken at once */
#define LOOKUP_T 32     /* search the old file only where the offsets at hand match less */
#define NREC 2          /* offsets found lately, tried at every position */
#define BLOCK (128 << 10) /* prices are refreshed this often (zstd's block) */
#define CHAIN_LOG 17    /* the chain of 4-byte hashes spans this much new past */
#define HEAD4_LOG 16    /* entries of its heads */
#define DEPTH 8         /* chain steps a search takes at most */
#define HMAX 16         /* at most 2^HMAX entries in the table of 8-byte hashes */
#define SPARSE 4        /* inside a long match, one position in SPARSE is hashed */
#define DENSE_TAIL 256  /* but for its last DENSE_TAIL bytes */
#define SA_SHORT 32     /* an old match this short lets the next positions skip their search */
#define SA_STRIDE 8     /* ... up to this far */
#define BACK_MAX 32     /* a match found is extended back at most this far */
#define BACK_ALL 32     /* from further back only the start of the match is tried */
#define H8_STEP 4       /* one new position in H8_STEP enters the table of 8-byte hashes */
#define FAR_T 16        /* the new file's far past is searched when known matches are shorter */
#define NCAND (3 + NREC + 2 + DEPTH)

/* A position of the programme: the cheapest way found to reach it. */
typedef struct node {
    float price; /* bits, including the literal length of the pending literals */
    uint32_t ml; /* length of the match that reaches it; 0: a literal */
    uint32_t off;
    uint32_t lit; /* literals since the last match */
    uint32_t rep[3];
} node;

typedef struct parser {
    const pc_sa_index *ix;
    const uint8_t *old, *nw;
    int64_t on, nn;
    uint64_t *head; /* hash of 8 bytes -> last new position + 1 | 32 more bits of the hash */
    int hbits;
    uint32_t *head4; /* hash of 4 bytes -> last new position + 1 */
    uint32_t *chain; /* new position % 2^CHAIN_LOG -> the previous one + 1 */
    int64_t hashed;  /* positions below this are in the tables */
    int64_t sparse_to;
    int64_t sa_short; /* the last position where the old file gave a short match */
    uint32_t rec[NREC];
    int nrec;
    uint32_t lit, rep[3]; /* the state after the sequences emitted */
    lz_prices pr;
    node *opt;          /* WIN + SUFF + MIN_MATCH + 2 */
    uint32_t *path;     /* WIN + 1: the chosen way back from a programme's end */
    ZSTD_Sequence *seq;
    size_t ns, cap;
} parser;

/* The table entry of the 8 bytes at new position at: its index, and in
 * the upper half of *tag the bits that tell most other 8 bytes apart
 * without reading them (the new file's pages far back were dropped). */
static inline uint32_t hash8(const parser *p, int64_t at, uint64_t *tag)
{
    uint64_t v;
    memcpy(&v, p->nw + at, 8);
    *tag = (v * 0xC2B2AE3D27D4EB4Full) & 0xFFFFFFFF00000000ull;
    return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> (64 - p->hbits));
}

static inline uint32_t hash4(const parser *p, int64_t at)
{
    uint32_t v;
    memcpy(&v, p->nw + at, 4);
    return (v * 2654435761u) >> (32 - HEAD4_LOG);
}

/* Positions inside a long match, but for its last bytes, enter the chain
 * every SPARSE-th only (a later search still finds such a stretch), and
 * not the table of 8-byte hashes: what they hold is in the old file, and
 * the table's few entries serve the new text best (measured: 0.5-2% larger
 * frames otherwise). */
static void hash_to(parser *p, int64_t upto)
{
    while (p->hashed < upto && p->hashed + 8 <= p->nn) {
        uint32_t h = hash4(p, p->hashed);
        p->chain[p->hashed & ((1 << CHAIN_LOG) - 1)] = p->head4[h];
        p->head4[h] = (uint32_t)p->hashed + 1;
        if ((p->hashed & (H8_STEP - 1)) == 0 && p->hashed >= p->sparse_to) {
            uint64_t tag;
            uint32_t i = hash8(p, p->hashed, &tag);
            p->head[i] = tag | (uint32_t)(p->hashed + 1);
        }
        p->hashed += p->hashed < p->sparse_to ? SPARSE : 1;
    }
    if (p->hashed < upto)
        p->hashed = upto;
}

/* Length of the match at distance d back from new position at (into the
 * old file, which precedes the new one, when d > at). */
static int64_t match_at(const parser *p, int64_t at, int64_t d)
{
    int64_t left = p->nn - at;
    if (d <= 0)
        return 0;
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

/* zstd's code for offset d after the repeat offsets rep (a match without
 * literals before it shifts them by one), and the repeat offsets after it. */
static uint32_t offbase_of(uint32_t d, const uint32_t rep[3], int ll0)
{
    if (!ll0 && d == rep[0])
        return 1;
    if (d == rep[1])
        return 2 - ll0;
    if (d == rep[2])
        return 3 - ll0;
    if (ll0 && d == rep[0] - 1)
        return 3;
    return d + 3;
}

static void rep_after(uint32_t out[3], const uint32_t rep[3], uint32_t offbase, int ll0)
{
    uint32_t r0 = rep[0], r1 = rep[1], r2 = rep[2];
    if (offbase > 3) {
        out[0] = offbase - 3;
        out[1] = r0;
        out[2] = r1;
        return;
    }
    unsigned c = offbase - 1 + (unsigned)ll0;
    if (c == 0) {
        out[0] = r0, out[1] = r1, out[2] = r2;
        return;
    }
    out[0] = c == 3 ? r0 - 1 : c == 1 ? r1 : r2;
    out[1] = r0;
    out[2] = c >= 2 ? r1 : r2;
}

typedef struct cand {
    uint32_t d, len;
    uint32_t back; /* the match also holds this many bytes before */
} cand;

/* Add the match of length len at offset d, which also holds back bytes
 * before (an offset already there is the same match). */
static int add_cand(cand *c, int n, uint32_t d, int64_t len, int64_t back)
{
    for (int i = 0; i < n; i++)
        if (c[i].d == d) {
            if (c[i].back < back)
                c[i].back = (uint32_t)back;
            return n;
        }
    c[n].d = d;
    c[n].len = (uint32_t)(len > MAX_MATCH ? MAX_MATCH : len);
    c[n].back = (uint32_t)back;
    return n + 1;
}

static void remember(parser *p, uint32_t d)
{
    for (int i = 0; i < p->nrec; i++)
        if (p->rec[i] == d)
            return;
    if (p->nrec < NREC)
        p->nrec++;
    memmove(p->rec + 1, p->rec, (size_t)(p->nrec - 1) * sizeof *p->rec);
    p->rec[0] = d;
}

/* The matches at new position at, for a state whose literal count is zero
 * when ll0 and whose repeat offsets are rep. */
static int candidates(parser *p, int64_t at, const uint32_t rep[3], int ll0, int64_t back_max,
                      cand *c)
{
    int n = 0;
    int64_t longest = 0;
    for (int r = 0; r < 3; r++) {
        uint32_t d = ll0 ? (r < 2 ? rep[r + 1] : rep[0] - 1) : rep[r];
        int64_t l = match_at(p, at, d);
        if (l >= MIN_REP) {
            n = add_cand(c, n, d, l, 0);
            longest = l > longest ? l : longest;
        }
    }
    for (int i = 0; i < p->nrec; i++) {
        int64_t l = match_at(p, at, p->rec[i]);
        if (l >= MIN_MATCH) {
            n = add_cand(c, n, p->rec[i], l, 0);
            longest = l > longest ? l : longest;
        }
    }
    int64_t pos, l;
    /* Where the old file had nothing to offer one position back, skip a
     * search: a match starting here is found one position on and extended
     * back. */
    int64_t skip = back_max < SA_STRIDE - 1 ? back_max : SA_STRIDE - 1;
    if (longest < LOOKUP_T && p->on > 0 && (p->sa_short < at - skip || skip == 0)) {
        l = pc_sa_longest(p->ix, p->nw + at, p->nn - at, &pos);
        if (l < SA_SHORT)
            p->sa_short = at;
        if (l >= MIN_MATCH && l > longest) {
            uint32_t d = (uint32_t)(p->on - pos + at);
            int64_t q = pos, b = 0;
            while (b < back_max && q - b > 0 && p->old[q - b - 1] == p->nw[at - b - 1])
                b++;
            n = add_cand(c, n, d, l, b);
            remember(p, d);
            longest = l;
        }
    }
    if (at + 8 <= p->nn) {
        hash_to(p, at);
        /* nearer matches in the new file, each longer than the last */
        uint32_t h4 = p->head4[hash4(p, at)];
        int64_t got = MIN_MATCH - 1;
        for (int k = 0; k < DEPTH && h4 && at - (h4 - 1) < (1 << CHAIN_LOG); k++) {
            int64_t s = h4 - 1;
            /* only a longer match pays: test its last byte first */
            if (at + got < p->nn && p->nw[s + got] != p->nw[at + got])
                l = 0;
            else
                l = pc_match_len(p->nw + s, p->nn - s, p->nw + at, p->nn - at);
            if (l > got) {
                n = add_cand(c, n, (uint32_t)(at - s), l, 0);
                got = l;
            }
            h4 = p->chain[s & ((1 << CHAIN_LOG) - 1)];
        }
        uint64_t tag;
        uint64_t e = p->head[hash8(p, at, &tag)];
        uint32_t h = (uint32_t)e;
        /* one further back, if what is at hand is short: its page of the
         * new file, long dropped, costs a fault */
        longest = got > longest ? got : longest;
        if (h && (e >> 32) == (tag >> 32) && (at - h < (256 << 10) || longest < FAR_T)) {
            int64_t s = h - 1;
            l = pc_match_len(p->nw + s, p->nn - s, p->nw + at, p->nn - at);
            if (l >= MIN_MATCH) {
                int64_t b = 0;
                while (b < back_max && b < s && p->nw[s - b - 1] == p->nw[at - b - 1])
                    b++;
                n = add_cand(c, n, (uint32_t)(at - s), l, b);
                remember(p, (uint32_t)(at - s));
            }
        }
    }
    return n;
}

/* Emit a match of length ml at offset d after the pending literals, which
 * end at new position at. */
static pc_status emit(parser *p, int64_t at, uint32_t d, uint32_t ml)
{
    if (p->ns == p->cap)
        return PC_ERR_INTERNAL; /* too fragmented: no text */
    int ll0 = p->lit == 0;
    uint32_t ob = offbase_of(d, p->rep, ll0);
    lz_prices_count(&p->pr, p->nw + at - p->lit, p->lit, ob, ml);
    p->seq[p->ns++] = (ZSTD_Sequence){.offset = d, .litLength = p->lit, .matchLength = ml};
    rep_after(p->rep, p->rep, ob, ll0);
    p->lit = 0;
    return PC_OK;
}

/* Emit the cheapest way from seg to seg + end. */
static pc_status emit_path(parser *p, int64_t seg, int64_t end)
{
    size_t n = 0;
    for (int64_t i = end; i > 0;) {
        p->path[n++] = (uint32_t)i;
        i -= p->opt[i].ml ? p->opt[i].ml : 1;
    }
    while (n > 0) {
        uint32_t i = p->path[--n];
        const node *x = &p->opt[i];
        if (x->ml == 0) {
            p->lit++;
            continue;
        }
        pc_status st = emit(p, seg + i - x->ml, x->off, x->ml);
        if (st != PC_OK)
            return st;
    }
    return PC_OK;
}

/* One dynamic programme from new position seg: the cheapest parse of the
 * next positions, up to a match long enough to take at once (or WIN
 * positions). Returns the position where the next one starts, or -1. */
static int64_t segment(parser *p, int64_t seg)
{
    node *opt = p->opt;
    int64_t lim = p->nn - seg < WIN ? p->nn - seg : WIN;
    opt[0] = (node){.price = lz_price_ll(&p->pr, p->lit), .lit = p->lit};
    memcpy(opt[0].rep, p->rep, sizeof p->rep);
    int64_t last = 0;
    float ll0price = lz_price_ll(&p->pr, 0);
    for (int64_t cur = 0; cur < lim; cur++) {
        const node *x = &opt[cur];
        int64_t at = seg + cur;
        int ll0 = x->lit == 0;
        cand c[NCAND];
        int nc = candidates(p, at, x->rep, ll0, cur < BACK_MAX ? cur : BACK_MAX, c);
        int force = -1;
        for (int i = 0; i < nc; i++)
            if (c[i].len >= SUFF && (force < 0 || c[i].len > c[force].len))
                force = i;
        if (force >= 0) {
            uint32_t b = c[force].back;
            if (emit_path(p, seg, cur - b) != PC_OK)
                return -1;
            if (emit(p, at - b, c[force].d, c[force].len + b) != PC_OK)
                return -1;
            p->sparse_to = at + c[force].len - DENSE_TAIL;
            return at + c[force].len;
        }
        while (last < cur + 1 + MIN_MATCH + SUFF && last + seg < p->nn) {
            last++;
            opt[last].price = 1e30f;
        }
        /* a literal */
        uint32_t lit = x->lit + 1;
        float pl = x->price + p->pr.lit[p->nw[at]] + lz_price_ll(&p->pr, lit) -
                   lz_price_ll(&p->pr, x->lit);
        if (pl < opt[cur + 1].price) {
            node *y = &opt[cur + 1];
            y->price = pl;
            y->ml = 0;
            y->lit = lit;
            memcpy(y->rep, x->rep, sizeof y->rep);
        }
        /* matches found where they had begun a little earlier */
        for (int i = 0; i < nc; i++) {
            for (uint32_t b = c[i].back > BACK_ALL ? c[i].back : 1; b <= c[i].back; b++) {
                const node *w = &opt[cur - b];
                uint32_t ob = offbase_of(c[i].d, w->rep, w->lit == 0);
                uint32_t ml = c[i].len + b;
                float pm = w->price + lz_price_match(&p->pr, ob, ml) + ll0price;
                node *y = &opt[cur + c[i].len];
                if (pm < y->price) {
                    y->price = pm;
                    y->ml = ml;
                    y->off = c[i].d;
                    y->lit = 0;
                    rep_after(y->rep, w->rep, ob, w->lit == 0);
                }
            }
        }
        /* The matches from here, at each length. At the lengths a cheaper
         * offset also reaches, a dearer one can't win: each candidate,
         * cheapest offset first, is priced only beyond those before it. */
        uint32_t obs[NCAND];
        float ofp[NCAND];
        int ord[NCAND];
        for (int i = 0; i < nc; i++) {
            obs[i] = offbase_of(c[i].d, x->rep, ll0);
            ofp[i] = lz_price_match(&p->pr, obs[i], MIN_MATCH);
            int j = i;
            for (; j > 0 && ofp[ord[j - 1]] > ofp[i]; j--)
                ord[j] = ord[j - 1];
            ord[j] = i;
        }
        uint32_t reached = 0;
        for (int k = 0; k < nc; k++) {
            int i = ord[k];
            if (c[i].len <= reached)
                continue;
            uint32_t ob = obs[i];
            uint32_t from = ob <= 3 ? MIN_REP : MIN_MATCH;
            if (from <= reached)
                from = reached + 1;
            reached = c[i].len;
            for (uint32_t ml = from; ml <= c[i].len; ml++) {
                float pm = x->price + lz_price_match(&p->pr, ob, ml) + ll0price;
                node *y = &opt[cur + ml];
                if (pm < y->price) {
                    y->price = pm;
                    y->ml = ml;
                    y->off = c[i].d;
                    y->lit = 0;
                    rep_after(y->rep, x->rep, ob, ll0);
                }
            }
        }
    }
    if (emit_path(p, seg, lim) != PC_OK)
        return -1;
    return seg + lim;
}

pc_status pc_lz_frame(const pc_sa_index *ix, const uint8_t *old, size_t on, const uint8_t *nw,
                      size_t nn, uint8_t **frame, size_t *frame_len, pc_err *e)
{
    *frame = NULL;
    *frame_len = 0;
    if (on + nn > PC_LZ_MAX_TOTAL || nn < 16)
        return PC_OK;
    parser p = {.ix = ix, .old = old, .nw = nw, .on = (int64_t)on, .nn = (int64_t)nn,
                .rep = {1, 4, 8}, .sa_short = -2};
    p.hbits = 12;
    while (p.hbits < HMAX && ((size_t)1 << (p.hbits + 3)) < nn)
        p.hbits++;
    p.head = calloc((size_t)1 << p.hbits, sizeof *p.head);
    p.head4 = calloc((size_t)1 << HEAD4_LOG, sizeof *p.head4);
    p.chain = malloc(((size_t)1 << CHAIN_LOG) * sizeof *p.chain);
    p.opt = malloc((WIN + SUFF + MIN_MATCH + 2) * sizeof *p.opt);
    p.path = malloc((WIN + 1) * sizeof *p.path);
    /* A parse this fragmented is no text: give up rather than hold it. */
    p.cap = nn / 256 + 1024;
    p.seq = malloc(p.cap * sizeof *p.seq);
    pc_status st = PC_OK;
    if (!p.head || !p.head4 || !p.chain || !p.opt || !p.path || !p.seq) {
        st = pc_fail(e, PC_ERR_NOMEM, "diff: out of memory");
        goto out;
    }
    /* The literals are priced first as the new file's bytes are spread. */
    lz_prices_init(&p.pr, nw, (int64_t)(nn < (1 << 20) ? nn : (1 << 20)));
    int64_t dropped = 0, refresh = BLOCK;
    for (int64_t at = 0; at < p.nn;) {
        if (at - dropped >= (256 << 10)) { /* keep little of the new file resident */
            pc_drop_pages(nw, 0, at - (256 << 10));
            dropped = at;
        }
        if (at >= refresh) {
            lz_prices_refresh(&p.pr);
            refresh = at + BLOCK;
        }
        at = segment(&p, at);
        if (at < 0)
            goto out; /* not worth it: the caller keeps the bsdiff form */
    }
    free(p.head);
    free(p.head4);
    free(p.chain);
    p.head = NULL;
    p.head4 = p.chain = NULL;

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
        r = ZSTD_compressSequences(c, out, bound, p.seq, p.ns, nw, nn);
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
    free(p.head4);
    free(p.chain);
    free(p.opt);
    free(p.path);
    free(p.seq);
    return st;
}
