/* route.h — the cheapest chain of edges, by bytes, from one version to
 * another with at most max_hops edges (Dijkstra over (version, hops) states,
 * so a cheaper longer chain never hides a valid shorter one). */
#ifndef PC_ROUTE_H
#define PC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct pc_route_edge {
    size_t from, to;   /* version indices */
    uint64_t bytes;    /* download cost of the edge */
} pc_route_edge;

/* Find the cheapest route from `from` to `to` over nversions versions.
 * On success *hops receives the number of edges and path[0..*hops) the edge
 * indices in order (path must hold max_hops entries); *cost the total bytes.
 * Ties prefer fewer hops. PC_ERR_NOT_FOUND if no route within max_hops;
 * PC_ERR_TOO_LARGE if (max_hops + 1) * nversions or nedges reaches 2^32 - 2.
 * Time O(S log S) for the S = (max_hops + 1) * (nversions + nedges) states
 * and offers at most; memory 20 bytes per (hops, version) state. */
pc_status pc_route_find(size_t nversions, const pc_route_edge *edges, size_t nedges,
                        size_t from, size_t to, unsigned max_hops, size_t *path,
                        unsigned *hops, uint64_t *cost, pc_err *e);

#endif
