/* test_route.c — hop-limited cheapest route: hand-made cases, a property
 * test against exhaustive search on random graphs, the same routes (ties
 * included) as the plain quadratic search it replaced, and graphs of 10,000
 * versions checked against a hop-by-hop relaxation. */
#include "route.h"
#include "test.h"

static void chain_vs_skip(void)
{
    /* 0 -> 1 -> 2 -> 3 cost 10 each, skip 0 -> 3 cost 25, skip 1 -> 3 cost 12. */
    pc_route_edge ed[] = {{0, 1, 10}, {1, 2, 10}, {2, 3, 10}, {0, 3, 25}, {1, 3, 12}};
    size_t path[5];
    unsigned hops;
    uint64_t cost;
    pc_err e = {0};
    CHECK(pc_route_find(4, ed, 5, 0, 3, 5, path, &hops, &cost, &e) == PC_OK);
    CHECK(hops == 2 && cost == 22 && path[0] == 0 && path[1] == 4);
    /* One hop allowed: only the skip edge. */
    CHECK(pc_route_find(4, ed, 5, 0, 3, 1, path, &hops, &cost, &e) == PC_OK);
    CHECK(hops == 1 && cost == 25 && path[0] == 3);
    /* No way back. */
    CHECK(pc_route_find(4, ed, 5, 3, 0, 5, path, &hops, &cost, &e) == PC_ERR_NOT_FOUND);
    CHECK(strstr(e.msg, "no update path") != NULL);
    CHECK(pc_route_find(4, ed, 5, 2, 2, 5, path, &hops, &cost, &e) == PC_OK && hops == 0);
}

static void tie_prefers_fewer_hops(void)
{
    pc_route_edge ed[] = {{0, 1, 5}, {1, 2, 5}, {0, 2, 10}};
    size_t path[3];
    unsigned hops;
    uint64_t cost;
    CHECK(pc_route_find(3, ed, 3, 0, 2, 3, path, &hops, &cost, NULL) == PC_OK);
    CHECK(hops == 1 && cost == 10);
}

static void hop_limit_forces_costlier(void)
{
    /* The cheapest route has 4 hops; with max 3 the 3-hop one wins. */
    pc_route_edge ed[] = {{0, 1, 1}, {1, 2, 1}, {2, 3, 1}, {3, 4, 1}, {0, 2, 5}, {2, 4, 5}};
    size_t path[4];
    unsigned hops;
    uint64_t cost;
    CHECK(pc_route_find(5, ed, 6, 0, 4, 4, path, &hops, &cost, NULL) == PC_OK);
    CHECK(hops == 4 && cost == 4);
    CHECK(pc_route_find(5, ed, 6, 0, 4, 3, path, &hops, &cost, NULL) == PC_OK);
    CHECK(hops == 3 && cost == 7);
    CHECK(pc_route_find(5, ed, 6, 0, 4, 2, path, &hops, &cost, NULL) == PC_OK);
    CHECK(hops == 2 && cost == 10);
    CHECK(pc_route_find(5, ed, 6, 0, 4, 1, path, &hops, &cost, NULL) == PC_ERR_NOT_FOUND);
}

static uint64_t rng = 12345;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng >> 33) % n;
}

static uint64_t best_exhaustive(const pc_route_edge *ed, size_t ne, size_t at, size_t to,
                                unsigned left)
{
    if (at == to)
        return 0;
    uint64_t best = UINT64_MAX;
    if (left == 0)
        return best;
    for (size_t k = 0; k < ne; k++) {
        if (ed[k].from != at)
            continue;
        uint64_t r = best_exhaustive(ed, ne, ed[k].to, to, left - 1);
        if (r != UINT64_MAX && r + ed[k].bytes < best)
            best = r + ed[k].bytes;
    }
    return best;
}

static void random_graphs_match_exhaustive(void)
{
    for (int round = 0; round < 300; round++) {
        size_t nv = 2 + rnd(7), ne = rnd(20);
        pc_route_edge ed[20];
        for (size_t k = 0; k < ne; k++)
            ed[k] = (pc_route_edge){rnd((unsigned)nv), rnd((unsigned)nv), 1 + rnd(100)};
        size_t from = rnd((unsigned)nv), to = rnd((unsigned)nv);
        unsigned maxh = 1 + rnd(5);
        size_t path[6];
        unsigned hops;
        uint64_t cost;
        uint64_t want = best_exhaustive(ed, ne, from, to, maxh);
        pc_status st = pc_route_find(nv, ed, ne, from, to, maxh, path, &hops, &cost, NULL);
        if (want == UINT64_MAX) {
            CHECKF(st == PC_ERR_NOT_FOUND, "round %d: found a route that does not exist", round);
            continue;
        }
        CHECKF(st == PC_OK && cost == want, "round %d: cost %llu, want %llu", round,
               (unsigned long long)cost, (unsigned long long)want);
        /* The path is a real chain from -> to with that cost. */
        size_t at = from;
        uint64_t sum = 0;
        CHECK(hops <= maxh);
        for (unsigned h = 0; h < hops; h++) {
            CHECK(ed[path[h]].from == at);
            at = ed[path[h]].to;
            sum += ed[path[h]].bytes;
        }
        CHECK(at == to && sum == cost);
    }
}

/* The search route.c used before its heap: every step scans all states for
 * the cheapest unsettled one (lowest index on ties). Its choices are the
 * reference for ties. */
static pc_status route_quadratic(size_t nv, const pc_route_edge *edges, size_t ne, size_t from,
                                 size_t to, unsigned maxh, size_t *path, unsigned *hops,
                                 uint64_t *cost)
{
    if (from == to) {
        *hops = 0;
        *cost = 0;
        return PC_OK;
    }
    size_t n = (maxh + 1) * nv;
    struct {
        uint64_t cost;
        size_t prev;
        int seen, done;
    } *s = calloc(n, sizeof *s);
    s[from].seen = 1;
    size_t got = SIZE_MAX;
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (s[i].seen && !s[i].done && (best == SIZE_MAX || s[i].cost < s[best].cost))
                best = i;
        if (best == SIZE_MAX)
            break;
        s[best].done = 1;
        size_t h = best / nv, v = best % nv;
        if (v == to) {
            got = best;
            break;
        }
        if (h == maxh)
            continue;
        for (size_t k = 0; k < ne; k++) {
            if (edges[k].from != v || edges[k].to >= nv)
                continue;
            uint64_t c = s[best].cost + edges[k].bytes;
            size_t t = (h + 1) * nv + edges[k].to;
            if (!s[t].done && (!s[t].seen || c < s[t].cost)) {
                s[t].seen = 1;
                s[t].cost = c;
                s[t].prev = k;
            }
        }
    }
    if (got == SIZE_MAX) {
        free(s);
        return PC_ERR_NOT_FOUND;
    }
    *hops = (unsigned)(got / nv);
    *cost = s[got].cost;
    size_t v = to;
    for (size_t h = *hops; h > 0; h--) {
        path[h - 1] = s[h * nv + v].prev;
        v = edges[path[h - 1]].from;
    }
    free(s);
    return PC_OK;
}

static void same_routes_as_quadratic_search(void)
{
    /* Small costs, so that equal-cost routes are common. */
    for (int round = 0; round < 400; round++) {
        size_t nv = 2 + rnd(30), ne = rnd(120);
        pc_route_edge ed[120];
        for (size_t k = 0; k < ne; k++)
            ed[k] = (pc_route_edge){rnd((unsigned)nv), rnd((unsigned)nv), rnd(4)};
        size_t from = rnd((unsigned)nv), to = rnd((unsigned)nv);
        unsigned maxh = 1 + rnd(8);
        size_t path[8], want_path[8];
        unsigned hops = 0, want_hops = 0;
        uint64_t cost = 0, want_cost = 0;
        pc_status want = route_quadratic(nv, ed, ne, from, to, maxh, want_path, &want_hops,
                                         &want_cost);
        pc_status st = pc_route_find(nv, ed, ne, from, to, maxh, path, &hops, &cost, NULL);
        CHECKF(st == want, "round %d: status %d, want %d", round, st, want);
        if (st != PC_OK)
            continue;
        CHECKF(hops == want_hops && cost == want_cost, "round %d: %u hops %llu bytes, want %u %llu",
               round, hops, (unsigned long long)cost, want_hops, (unsigned long long)want_cost);
        for (unsigned h = 0; h < hops; h++)
            CHECKF(path[h] == want_path[h], "round %d: hop %u takes edge %zu, want %zu", round, h,
                   path[h], want_path[h]);
    }
}

/* The cheapest cost with exactly h hops, for every h up to maxh: h rounds
 * of relaxing every edge (Bellman-Ford by layers). best[h] is UINT64_MAX
 * where no chain of h hops arrives. */
static void cheapest_by_hops(size_t nv, const pc_route_edge *ed, size_t ne, size_t from,
                             size_t to, unsigned maxh, uint64_t *best)
{
    uint64_t *cur = malloc(nv * sizeof *cur), *next = malloc(nv * sizeof *next);
    for (size_t v = 0; v < nv; v++)
        cur[v] = UINT64_MAX;
    cur[from] = 0;
    for (unsigned h = 1; h <= maxh; h++) {
        for (size_t v = 0; v < nv; v++)
            next[v] = UINT64_MAX;
        for (size_t k = 0; k < ne; k++)
            if (cur[ed[k].from] != UINT64_MAX && cur[ed[k].from] + ed[k].bytes < next[ed[k].to])
                next[ed[k].to] = cur[ed[k].from] + ed[k].bytes;
        best[h] = next[to];
        uint64_t *t = cur;
        cur = next;
        next = t;
    }
    free(cur);
    free(next);
}

/* 10,000 versions: a chain of cheap adjacent edges, skips of 10, 100 and
 * 1000 versions that cost less per version skipped, and random edges in both
 * directions. */
static void large_graph(void)
{
    enum { NV = 10000 };
    size_t cap = 2 * NV, ne = 0;
    pc_route_edge *ed = malloc(cap * sizeof *ed);
    for (size_t i = 1; i < NV; i++) {
        ed[ne++] = (pc_route_edge){i - 1, i, 100};
        if (i % 10 == 0)
            ed[ne++] = (pc_route_edge){i - 10, i, 900};
        if (i % 100 == 0)
            ed[ne++] = (pc_route_edge){i - 100, i, 8000};
        if (i % 1000 == 0)
            ed[ne++] = (pc_route_edge){i - 1000, i, 70000};
    }
    size_t path[64];
    unsigned hops;
    uint64_t cost;
    pc_err e = {0};
    /* 9 skips of each length and 9 adjacent edges. */
    CHECKF(pc_route_find(NV, ed, ne, 0, NV - 1, 64, path, &hops, &cost, &e) == PC_OK, "%s",
           e.msg);
    CHECKF(hops == 36 && cost == 9 * (70000 + 8000 + 900 + 100), "%u hops, %llu bytes", hops,
           (unsigned long long)cost);
    for (unsigned h = 0; h < 9; h++)
        CHECK(ed[path[h]].to - ed[path[h]].from == 1000 && ed[path[h]].from == 1000 * h);
    CHECK(ed[path[35]].from == NV - 2 && ed[path[35]].to == NV - 1);
    /* 36 hops at the least: not within 35. */
    CHECK(pc_route_find(NV, ed, ne, 0, NV - 1, 35, path, &hops, &cost, &e) == PC_ERR_NOT_FOUND);
    /* No edge goes back. */
    CHECK(pc_route_find(NV, ed, ne, NV - 1, 0, 64, path, &hops, &cost, &e) == PC_ERR_NOT_FOUND);
    /* With random edges in both directions, against the relaxation. */
    while (ne < cap) {
        size_t a = rnd(NV), b = rnd(NV);
        ed[ne++] = (pc_route_edge){a, b, 1 + rnd(50000)};
    }
    for (int round = 0; round < 6; round++) {
        size_t from = rnd(NV), to = rnd(NV);
        unsigned maxh = 1 + rnd(64);
        uint64_t best[65];
        cheapest_by_hops(NV, ed, ne, from, to, maxh, best);
        unsigned want_hops = 0;
        for (unsigned h = 1; h <= maxh; h++)
            if (best[h] != UINT64_MAX && (want_hops == 0 || best[h] < best[want_hops]))
                want_hops = h;
        pc_status st = pc_route_find(NV, ed, ne, from, to, maxh, path, &hops, &cost, &e);
        if (from == to)
            continue;
        if (want_hops == 0) {
            CHECKF(st == PC_ERR_NOT_FOUND, "round %d: a route that does not exist", round);
            continue;
        }
        CHECKF(st == PC_OK && hops == want_hops && cost == best[want_hops],
               "round %d: %u hops %llu bytes, want %u %llu", round, hops,
               (unsigned long long)cost, want_hops, (unsigned long long)best[want_hops]);
        size_t at = from;
        uint64_t sum = 0;
        for (unsigned h = 0; h < hops; h++) {
            CHECK(ed[path[h]].from == at);
            at = ed[path[h]].to;
            sum += ed[path[h]].bytes;
        }
        CHECK(at == to && sum == cost);
    }
    free(ed);
}

static void too_large(void)
{
    pc_route_edge ed[] = {{0, 1, 1}};
    size_t path[64];
    unsigned hops;
    uint64_t cost;
    pc_err e = {0};
    CHECK(pc_route_find((size_t)1 << 27, ed, 1, 0, 1, 64, path, &hops, &cost, &e) ==
          PC_ERR_TOO_LARGE);
    CHECK(pc_route_find(2, ed, 1, 0, 1, 0, path, &hops, &cost, &e) == PC_ERR_INVALID);
}

int main(void)
{
    t_suite = "route";
    RUN(chain_vs_skip);
    RUN(tie_prefers_fewer_hops);
    RUN(hop_limit_forces_costlier);
    RUN(random_graphs_match_exhaustive);
    RUN(same_routes_as_quadratic_search);
    RUN(large_graph);
    RUN(too_large);
    TEST_MAIN_END();
}
