/* test_route.c — hop-limited cheapest route: hand-made cases and a property
 * test against exhaustive search on random graphs. */
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

int main(void)
{
    t_suite = "route";
    RUN(chain_vs_skip);
    RUN(tie_prefers_fewer_hops);
    RUN(hop_limit_forces_costlier);
    RUN(random_graphs_match_exhaustive);
    TEST_MAIN_END();
}
