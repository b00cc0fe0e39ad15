/* reldiff.h — make a whole-release patch (docs/format.md §5, §7): the
 * reference of the `from` release and the contents the `to` release adds,
 * laid out by the rule the client shares (client/apply/relpatch.h) in two
 * memory files, diffed as two files into one pcz patch. */
#ifndef PC_RELDIFF_H
#define PC_RELDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meta.h"

typedef struct pc_reldiff {
    /* pc_reldiff_plan: */
    size_t *ref_idx, nref;         /* the reference: indices into from->files */
    pc_release_file *files;        /* the produced contents, in order */
    size_t *to_idx, nfiles;        /* ... and where each is in to->files */
    uint64_t ref_size, to_size;
    /* pc_reldiff_load: */
    uint8_t ref_sha[32], to_sha[32];
    int ref_fd, to_fd;             /* memory files, -1 before */
    const uint8_t *ref, *to;       /* their read-only mappings (NULL when empty) */
} pc_reldiff;

/* What the patch from `from` to `to` reads and makes (no file is read).
 * rd->nfiles 0: `to` adds no content, there is nothing to patch. Free rd
 * with pc_reldiff_free, also after a failure. Errors: PC_ERR_NOMEM,
 * PC_ERR_TOO_LARGE. */
pc_status pc_reldiff_plan(const pc_manifest *from, const pc_manifest *to, pc_reldiff *rd,
                          pc_err *e);

/* Bytes the load and the diff need together (the memory files, the suffix
 * array, the scan): for the build's memory budget. */
uint64_t pc_reldiff_memory(const pc_reldiff *rd);

/* Read the files (below from_dir and to_dir, reached without following a
 * link at any component, checked against their manifests' sizes and
 * SHA-256s) into the memory files and hash them: rd->ref_sha, rd->to_sha.
 * Errors: PC_ERR_IO, PC_ERR_NOT_FOUND, PC_ERR_HASH (a file changed since
 * it was scanned, or no longer a regular file), PC_ERR_NOMEM. */
pc_status pc_reldiff_load(pc_reldiff *rd, const char *from_dir, const pc_manifest *from,
                          const char *to_dir, const pc_manifest *to, pc_err *e);

/* Diff the loaded reference and target into a pcz patch at path. */
pc_status pc_reldiff_write(pc_reldiff *rd, const char *path, uint64_t *patch_size, pc_err *e);

/* Does the patch at path turn the loaded reference into the loaded target
 * (an existing patch of the site, before it is reused)? */
bool pc_reldiff_check(const pc_reldiff *rd, const char *path);

/* The whole job for a site build: load, then reuse the site's patch
 * patches/<aa>/<reference>-<target> when it checks, else write it; *out
 * describes it (out->files a new array, caller frees) and *fresh says
 * whether this call wrote it. Errors: those above. */
pc_status pc_reldiff_make(pc_reldiff *rd, const char *site, const char *from_dir,
                          const pc_manifest *from, const char *to_dir, const pc_manifest *to,
                          pc_release_ref *out, bool *fresh, pc_err *e);

/* *out for the patch at path, made by the plan rd from the reference and
 * target rd->ref_sha and rd->to_sha name: its size and SHA-256 hashed,
 * the rest from rd (out->files a new array, caller frees). Errors:
 * PC_ERR_IO, PC_ERR_NOMEM. */
pc_status pc_reldiff_describe(const pc_reldiff *rd, const char *path, pc_release_ref *out,
                              pc_err *e);

/* For a rebuild: the delta the previous site (prev, may be NULL; its
 * documents in the folder site) has for the edge from -> to, when both
 * versions' manifests are the same (then its release patch, or its note
 * x-release-size, holds again), else NULL. Free it with pc_delta_free. */
pc_delta *pc_reldiff_previous(const char *site, const pc_repo *prev, const pc_manifest *from,
                              const pc_hashref *from_ref, const pc_manifest *to,
                              const pc_hashref *to_ref);

/* Take r, a previous delta's release patch, for the plan rd when it makes
 * the same contents from a reference of the same size and is on the site
 * with its size and SHA-256: copied into *out (out->files a new array).
 * False otherwise (*out untouched). */
bool pc_reldiff_reuse(const pc_reldiff *rd, const char *site, const pc_release_ref *r,
                      pc_release_ref *out);

void pc_reldiff_free(pc_reldiff *rd);

#endif
