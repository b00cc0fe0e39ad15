/* route.c — hop-limited cheapest path over the version graph: Dijkstra over
 * (hops, version) states with a binary heap, edges grouped by their source
 * version once per search. */
#include "route.h"

#include <stdbool.h>
#include <stdlib.h>

#include "checked.h"

#define NONE UINT32_MAX       /* no edge (the start), or a state never reached */
#define DONE (UINT32_MAX - 1) /* its cheapest cost is final */

typedef struct state {
    uint64_t cost;
    uint32_t prev_edge; /* edge that reached this state; NONE at the start */
    uint32_t pos;       /* place in the heap, NONE if never reached, DONE */
} state;

typedef struct search {
    state *s;
    uint32_t *heap; /* state indices, ordered by (cost, index) */
    size_t nheap;
} search;

/* Cheaper first; on equal cost the lower state index: fewer hops, then the
 * lower version. */
static bool before(const search *q, uint32_t a, uint32_t b)
{
    uint64_t ca = q->s[a].cost, cb = q->s[b].cost;
    return ca != cb ? ca < cb : a < b;
}

static void put(search *q, size_t at, uint32_t x)
{
    q->heap[at] = x;
    q->s[x].pos = (uint32_t)at;
}

static void sift_up(search *q, size_t at)
{
    uint32_t x = q->heap[at];
    while (at > 0 && before(q, x, q->heap[(at - 1) / 2])) {
        put(q, at, q->heap[(at - 1) / 2]);
        at = (at - 1) / 2;
    }
    put(q, at, x);
}

static uint32_t pop(search *q)
{
    uint32_t top = q->heap[0], x = q->heap[--q->nheap];
    size_t at = 0;
    for (;;) {
        size_t c = 2 * at + 1;
        if (c >= q->nheap)
            break;
        if (c + 1 < q->nheap && before(q, q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q, q->heap[c], x))
            break;
        put(q, at, q->heap[c]);
        at = c;
    }
    if (q->nheap > 0)
        put(q, at, x);
    q->s[top].pos = DONE;
    return top;
}

/* Offer state x the cost c through edge k: kept if x is new or c is
 * cheaper (an equal cost keeps the edge that came first). */
static void relax(search *q, uint32_t x, uint64_t c, uint32_t k)
{
    state *t = &q->s[x];
    if (t->pos == DONE || (t->pos != NONE && c >= t->cost))
        return;
    t->cost = c;
    t->prev_edge = k;
    if (t->pos == NONE) {
        q->heap[q->nheap] = x;
        t->pos = (uint32_t)q->nheap++;
    }
    sift_up(q, t->pos);
}

pc_status pc_route_find(size_t nversions, const pc_route_edge *edges, size_t nedges,
                        size_t from, size_t to, unsigned max_hops, size_t *path,
                        unsigned *hops, uint64_t *cost, pc_err *e)
{
    if (from >= nversions || to >= nversions || max_hops == 0)
        return pc_fail(e, PC_ERR_INVALID, "route: bad arguments");
    if (from == to) {
        *hops = 0;
        *cost = 0;
        return PC_OK;
    }
    size_t layers = (size_t)max_hops + 1, n, nv1;
    if (!pc_mul_size(layers, nversions, &n) || n >= DONE || nedges >= DONE ||
        !pc_add_size(nversions, 1, &nv1))
        return pc_fail(e, PC_ERR_TOO_LARGE, "route: graph too large");
    search q = {calloc(n, sizeof *q.s), malloc(n * sizeof *q.heap), 0};
    size_t *first = calloc(nv1, sizeof *first); /* edges of v: out[first[v]..first[v+1]) */
    uint32_t *out = malloc((nedges ? nedges : 1) * sizeof *out);
    pc_status st = PC_OK;
    if (!q.s || !q.heap || !first || !out) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Edges by source version, each source's in edge order. */
    for (size_t k = 0; k < nedges; k++)
        if (edges[k].from < nversions && edges[k].to < nversions)
            first[edges[k].from + 1]++;
    for (size_t v = 0; v < nversions; v++)
        first[v + 1] += first[v];
    for (size_t k = 0; k < nedges; k++)
        if (edges[k].from < nversions && edges[k].to < nversions)
            out[first[edges[k].from]++] = (uint32_t)k;
    /* Filling moved each start to the next one's: shift them back. */
    for (size_t v = nversions; v > 0; v--)
        first[v] = first[v - 1];
    first[0] = 0;
    for (size_t i = 0; i < n; i++)
        q.s[i].pos = NONE;
#define AT(h, v) ((uint32_t)((size_t)(h) * nversions + (v)))
    q.s[AT(0, from)].prev_edge = NONE;
    q.heap[q.nheap] = AT(0, from);
    q.s[AT(0, from)].pos = (uint32_t)q.nheap++;
    /* The first arrival at `to` to be settled is the cheapest, fewest hops
     * on ties (states are settled in (cost, hops, version) order). */
    size_t hb = SIZE_MAX;
    while (q.nheap > 0) {
        uint32_t best = pop(&q);
        size_t h = best / nversions, v = best % nversions;
        if (v == to) {
            hb = h;
            break;
        }
        if (h == max_hops)
            continue;
        for (size_t i = first[v]; i < first[v + 1]; i++) {
            uint32_t k = out[i];
            uint64_t c;
            if (pc_add_u64(q.s[best].cost, edges[k].bytes, &c))
                relax(&q, AT(h + 1, edges[k].to), c, k);
        }
    }
    if (hb == SIZE_MAX) {
        st = pc_fail(e, PC_ERR_NOT_FOUND, "no update path within %u hops", max_hops);
        goto out;
    }
    *hops = (unsigned)hb;
    *cost = q.s[AT(hb, to)].cost;
    size_t v = to;
    for (size_t h = hb; h > 0; h--) {
        size_t k = q.s[AT(h, v)].prev_edge;
        path[h - 1] = k;
        v = edges[k].from;
    }
#undef AT
out:
    free(q.s);
    free(q.heap);
    free(first);
    free(out);
    return st;
}
