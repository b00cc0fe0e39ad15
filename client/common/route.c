/* route.c — hop-limited cheapest path over the version graph. */
#include "route.h"

#include <stdbool.h>
#include <stdlib.h>

#include "checked.h"

typedef struct state {
    uint64_t cost;
    size_t prev_edge; /* edge that reached this state; SIZE_MAX at the start */
    bool seen, done;
} state;

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
    size_t layers = (size_t)max_hops + 1, n;
    if (!pc_mul_size(layers, nversions, &n))
        return pc_fail(e, PC_ERR_TOO_LARGE, "route: graph too large");
    state *s = calloc(n, sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
#define AT(h, v) s[(size_t)(h) * nversions + (v)]
    AT(0, from).seen = true;
    AT(0, from).prev_edge = SIZE_MAX;
    /* Plain O(states^2) Dijkstra: version graphs are small (tens to hundreds
     * of versions, a handful of hops). */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (!s[i].seen || s[i].done)
                continue;
            /* Cheaper first; on equal cost, fewer hops (lower layer index). */
            if (best == SIZE_MAX || s[i].cost < s[best].cost)
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        s[best].done = true;
        size_t h = best / nversions, v = best % nversions;
        if (v == to)
            break;
        if (h == max_hops)
            continue;
        for (size_t k = 0; k < nedges; k++) {
            if (edges[k].from != v || edges[k].to >= nversions)
                continue;
            uint64_t c;
            if (!pc_add_u64(s[best].cost, edges[k].bytes, &c))
                continue;
            state *t = &AT(h + 1, edges[k].to);
            if (!t->done && (!t->seen || c < t->cost)) {
                t->seen = true;
                t->cost = c;
                t->prev_edge = k;
            }
        }
    }
    /* The best arrival: the least cost over all layers, fewest hops on ties. */
    size_t hb = SIZE_MAX;
    for (size_t h = 1; h <= max_hops; h++)
        if (AT(h, to).done && (hb == SIZE_MAX || AT(h, to).cost < AT(hb, to).cost))
            hb = h;
    pc_status st = PC_OK;
    if (hb == SIZE_MAX) {
        st = pc_fail(e, PC_ERR_NOT_FOUND, "no update path within %u hops", max_hops);
        goto out;
    }
    *hops = (unsigned)hb;
    *cost = AT(hb, to).cost;
    size_t v = to;
    for (size_t h = hb; h > 0; h--) {
        size_t k = AT(h, v).prev_edge;
        path[h - 1] = k;
        v = edges[k].from;
    }
out:
#undef AT
    free(s);
    return st;
}
