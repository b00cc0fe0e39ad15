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
#include "meta.h"
#include "seckey.h"
#include "tree.h"

/* A release given as a scanned tree instead of a folder of RELEASES (a
 * sharded build's assemble, whose trees come from its plan). */
typedef struct pc_build_release {
    char *name;
    char *notes;  /* NULL: none */
    pc_tree tree;
} pc_build_release;

/* Where a build takes the objects and patches it would otherwise compress
 * and diff (a sharded build's assemble: the jobs' results). Each callback
 * makes dst, a file of SITE, hold the object of that content or the patch
 * between those contents, or fails naming what is missing or wrong; it may
 * be called from several threads at once. */
typedef struct pc_build_source {
    pc_status (*object)(void *ud, const uint8_t sha[32], uint64_t size, const char *dst,
                        pc_err *e);
    pc_status (*patch)(void *ud, const uint8_t from[32], const uint8_t to[32], const char *dst,
                       pc_err *e);
    /* The whole-release patch of the edge from -> to (version names): the
     * SHA-256s of its reference and output, which name it for patch()
     * above; PC_ERR_NOT_FOUND (e untouched) when there is none to take.
     * NULL: the build takes none. */
    pc_status (*release)(void *ud, const char *from, const char *to, uint8_t ref[32],
                         uint8_t out[32], pc_err *e);
    void *ud;
} pc_build_source;

typedef struct pc_build_opts {
    const char *releases;   /* RELEASES/<version>/ trees, optional <version>.md notes */
    const pc_build_release *given; /* or these releases (ngiven of them), with source */
    size_t ngiven;
    const pc_build_source *source; /* objects and patches from here, not made */
    const char *site;       /* output folder (pc_build_plan: the site to reuse, or NULL) */
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

/* ---- the work of a build, for a sharded build (build_work.c) ------------ */

/* A regular file of a release: an input of the work. */
typedef struct pc_build_file {
    size_t version;        /* index in pc_build_work.versions */
    const char *path;      /* borrowed from that release's tree */
    uint64_t size;
    uint8_t sha256[32];
} pc_build_file;

/* One piece of work: an object to compress, a patch to diff, or an edge's
 * whole-release patch (release: in.version -> to.version, in.size the
 * reference's bytes and to.size the output's, no paths). */
typedef struct pc_build_task {
    bool patch, release;
    pc_build_file in;      /* the object's content, or the patch's old file */
    pc_build_file to;      /* the patch's new file */
    size_t group;          /* object: the first version with the content;
                              patch: the first edge that needs it;
                              release: its edge */
    uint64_t memory;       /* estimated peak bytes of doing it */
    /* Already in the site (pc_build_plan with a site), checked as a build
     * checks what it reuses: the file's bytes and, for a patch, its format. */
    bool in_site;
    uint64_t site_size;
    uint8_t site_sha256[32];
    pc_patch_fmt site_format;
} pc_build_task;

typedef struct pc_build_work {
    pc_build_release *versions; /* in version order; owned */
    size_t nversions;
    size_t (*edges)[2];    /* from, to: version indices */
    size_t nedges;
    pc_build_task *tasks;  /* objects (by version), patches (by edge), then
                              release patches (by edge) */
    size_t ntasks;
} pc_build_work;

/* What pc_build would do with the same options, without doing it: the
 * releases' trees, the edges, and every object and patch as a task. With
 * o->site, what that site already has (and a build would reuse) is marked
 * in_site; nothing is left there (a patch is checked as a build checks it,
 * applied into a file beside it that is removed at once). A whole-release
 * patch is a task where a build would make one: not one the previous
 * delta gives again (nor one it noted as left out). o->keys are not used. */
pc_status pc_build_plan(const pc_build_opts *o, pc_build_work *w, pc_err *e);
void pc_build_work_free(pc_build_work *w);

/* m->files from the entries of t, in its order (paths and targets
 * borrowed from t; no flags): what the release patches are planned from.
 * Free m->files. Errors: PC_ERR_NOMEM. */
pc_status pc_build_tree_files(const pc_tree *t, pc_manifest *m, pc_err *e);

#endif
