/* build.h — `patchcast-gen build`: from a folder of release trees to a
 * signed static site (docs/format.md). Incremental: existing objects and
 * patches are verified by hash and reused; repo.json and its signature are
 * written last so an interrupted build leaves the previous site valid. */
#ifndef PC_BUILD_H
#define PC_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "seckey.h"

typedef struct pc_build_opts {
    const char *releases;   /* RELEASES/<version>/ trees, optional <version>.md notes */
    const char *site;       /* output folder */
    const pc_config *cfg;
    const pc_seckey *keys;  /* sign repo.json: one block each */
    size_t nkeys;
    const char *trust;      /* root metadata to publish (its signatures at
                               trust + ".minisig"), or NULL: the site's
                               newest root if it has one (docs/format.md §13) */
    bool quiet;             /* no progress lines */
    int64_t now;            /* 0: the current time (tests pin it) */
} pc_build_opts;

typedef struct pc_build_edge_stat {
    char from[65], to[65];
    uint64_t bytes, full_bytes;
    uint64_t release_bytes;  /* the whole-release patch named in the delta, or 0 */
    unsigned patches, objects;
} pc_build_edge_stat;

typedef struct pc_build_result {
    uint64_t serial;
    unsigned versions;
    pc_build_edge_stat *edges;
    size_t nedges;
    unsigned diffs_computed, patches_reused, objects_written, objects_reused;
    uint64_t site_bytes;
    double seconds;
} pc_build_result;

pc_status pc_build(const pc_build_opts *o, pc_build_result *res, pc_err *e);
void pc_build_result_free(pc_build_result *r);

#endif
