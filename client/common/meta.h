/* meta.h — the metadata model of docs/format.md v1: repo.json, manifests and
 * delta documents. Parsers validate strictly (every error names the JSON
 * path); writers produce canonical text (fixed key order, the same input
 * always gives the same bytes). Shared by the client and the generator. */
#ifndef PC_META_H
#define PC_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "release.h"

#define PC_FORMAT_VERSION 1
#define PC_REPO_MAX_BYTES (16u << 20)
#define PC_MANIFEST_MAX_BYTES (64u << 20)
#define PC_DELTA_MAX_BYTES (64u << 20)
#define PC_MAX_FILES 1000000
#define PC_MAX_VERSIONS 10000
#define PC_MAX_EDGES 100000
#define PC_NOTES_MAX (64u << 10)
#define PC_REPO_ROOT_MAX_BYTES (64u << 10) /* = PC_ROOT_MAX_BYTES (trust.h) */

typedef struct pc_hashref {
    uint8_t sha256[32];
    uint64_t size;
} pc_hashref;

typedef struct pc_version_info {
    char *name;
    char *parent;          /* NULL for the first version */
    int64_t released;      /* unix seconds */
    pc_hashref manifest;
    uint64_t full_bytes;   /* sum of object sizes: a full install's download */
    uint64_t files;        /* regular files in the manifest */
    char *notes;           /* may be NULL */
    pc_release_policy release; /* rollout, withdrawn, critical, minimum_version */
} pc_version_info;

typedef struct pc_edge {
    char *from, *to;
    uint64_t bytes;        /* download cost of the edge */
    pc_hashref delta;
    size_t from_idx, to_idx; /* indices into versions, set by the parser */
} pc_edge;

typedef struct pc_channel {
    char *name;
    char *version;
} pc_channel;

typedef struct pc_repo {
    char *product;
    uint64_t serial;
    int64_t created, expires;
    uint64_t root_version;  /* the root metadata that lists the keys signing
                               this file (docs/format.md §13); 0: none named */
    pc_hashref root;        /* its roots/<v>.root.json, when root_version > 0 */
    unsigned max_patch_chain_length;
    double fallback_threshold;
    pc_channel *channels;
    size_t nchannels;
    pc_version_info *versions;
    size_t nversions;
    pc_edge *edges;
    size_t nedges;
    size_t *by_name;       /* set by the parser: version indices sorted by name,
                              for pc_repo_version; NULL in a model built in memory */
} pc_repo;

typedef enum pc_ftype { PC_FT_FILE = 0, PC_FT_DIR, PC_FT_SYMLINK } pc_ftype;

#define PC_FLAG_CRITICAL 1u /* replacing it needs a restart */
#define PC_FLAG_HOT 2u      /* a module that can be hot-swapped */

typedef struct pc_file_entry {
    char *path;
    pc_ftype type;
    uint64_t size;         /* files */
    unsigned mode;         /* files: 0644 or 0755 */
    uint8_t sha256[32];    /* files */
    uint64_t object_size;  /* files: compressed object bytes */
    uint8_t object_sha256[32]; /* files: SHA-256 of the object file's bytes */
    unsigned flags;        /* PC_FLAG_* */
    char *target;          /* symlinks */
    char **depends;        /* hot modules: paths of the modules they need */
    size_t ndepends;
} pc_file_entry;

typedef struct pc_manifest {
    char *product;
    char *version;
    pc_file_entry *files;  /* sorted by path, bytewise */
    size_t nfiles;
} pc_manifest;

typedef enum pc_patch_fmt { PC_PF_BSDIFF40 = 0, PC_PF_PCZ = 1 } pc_patch_fmt;

typedef struct pc_patch_ref {
    char *path;            /* target path the patch produces (informative) */
    uint8_t from[32], to[32];
    uint64_t to_size;      /* bytes of the content it produces */
    uint64_t size;         /* bytes of the patch file ... */
    uint8_t sha256[32];    /* ... and their SHA-256 */
    pc_patch_fmt format;
} pc_patch_ref;

/* A whole-release patch (docs/format.md §5, §7): one pcz patch from the
 * `from` version's reference (every distinct content of its regular files
 * in manifest order, each padded with zeros to a multiple of
 * PC_RELEASE_ALIGN) to the concatenation of `files`, the contents of `to`
 * that `from` does not have. */
#define PC_RELEASE_ALIGN 4096

typedef struct pc_release_file {
    uint8_t sha256[32];
    uint64_t size;
} pc_release_file;

typedef struct pc_release_ref {
    uint8_t from[32];        /* SHA-256 of the reference */
    uint64_t reference_size; /* its bytes, padding included */
    uint8_t to[32];          /* SHA-256 of what the patch produces */
    uint64_t to_size;        /* = the sum of the files' sizes */
    uint64_t size;           /* bytes of the patch file ... */
    uint8_t sha256[32];      /* ... and their SHA-256 */
    pc_release_file *files;  /* the produced contents, in order, distinct */
    size_t nfiles;
} pc_release_ref;

typedef struct pc_delta {
    char *from, *to;
    pc_patch_ref *patches;
    size_t npatches;
    pc_release_ref *release; /* NULL: none */
    /* "x-release-size" (a generator's note, ignored by clients): the size of
     * the whole-release patch it made and left out, being no smaller than
     * the per-file download; 0: none. */
    uint64_t release_left_out;
} pc_delta;

/* Parse and validate (json need not be NUL-terminated). On failure *out is
 * NULL and e names the JSON path. Objects are freed with their _free. */
pc_status pc_repo_parse(const char *json, size_t len, pc_repo **out, pc_err *e);
pc_status pc_manifest_parse(const char *json, size_t len, pc_manifest **out, pc_err *e);
pc_status pc_delta_parse(const char *json, size_t len, pc_delta **out, pc_err *e);

/* Validate a model built in memory (the generator's), as the parser would. */
pc_status pc_repo_validate(const pc_repo *r, pc_err *e);
pc_status pc_manifest_validate(const pc_manifest *m, pc_err *e);
pc_status pc_delta_validate(const pc_delta *d, pc_err *e);

/* Canonical text (validated first), NUL-terminated, caller frees. */
pc_status pc_repo_write(const pc_repo *r, char **out, size_t *len, pc_err *e);
pc_status pc_manifest_write(const pc_manifest *m, char **out, size_t *len, pc_err *e);
pc_status pc_delta_write(const pc_delta *d, char **out, size_t *len, pc_err *e);

void pc_repo_free(pc_repo *r);
void pc_manifest_free(pc_manifest *m);
void pc_delta_free(pc_delta *d);
void pc_file_entry_clear(pc_file_entry *f);

/* Lookups: O(log n) in a parsed repo.json (by_name) and a manifest (files
 * are sorted); a repo model built in memory is searched in order. */
const pc_version_info *pc_repo_version(const pc_repo *r, const char *name, size_t *idx);

/* Are these len bytes the ones ref names (its size and SHA-256)? */
bool pc_hashref_matches(const pc_hashref *ref, const void *data, size_t len);
const char *pc_repo_channel(const pc_repo *r, const char *channel);
const pc_file_entry *pc_manifest_file(const pc_manifest *m, const char *path);

/* Site paths of content-addressed files ("objects/ab/ab12…"); out holds
 * PC_SITE_PATH_MAX bytes. */
#define PC_SITE_PATH_MAX 160
void pc_site_object_path(const uint8_t sha[32], char *out);
void pc_site_patch_path(const uint8_t from[32], const uint8_t to[32], char *out);
void pc_site_manifest_path(const uint8_t sha[32], char *out);
void pc_site_delta_path(const uint8_t sha[32], char *out);

const char *pc_patch_fmt_name(pc_patch_fmt f);

#endif
