/* relpatch.h — whole-release patches (docs/format.md §5, §7): the reference
 * a version's files make, by the one rule the generator and the client
 * share; that reference mapped in place from an installed tree (no copy);
 * and the patch's output cut into the files it produces. */
#ifndef PC_RELPATCH_H
#define PC_RELPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meta.h"

/* Most distinct contents a reference may have: each is one mapping, and a
 * process has about 65,000 (vm.max_map_count). Larger releases use per-file
 * patches; the generator makes no release patch for them. */
#define PC_RELEASE_MAX_REFS 30000

/* The files of m making its reference, in order: each distinct content of
 * a regular file once, at its first path in manifest order. *idx: a new
 * array of *n indices into m->files (caller frees; NULL when *n is 0);
 * *size: the reference's bytes, every content padded with zeros to a
 * multiple of PC_RELEASE_ALIGN (an empty content takes none).
 * Errors: PC_ERR_NOMEM, PC_ERR_TOO_LARGE (size overflow). */
pc_status pc_relref_layout(const pc_manifest *m, size_t **idx, size_t *n, uint64_t *size,
                           pc_err *e);

/* The contents of `to` that `from` lacks, in to's manifest order, each
 * once (at its first path): the files a release patch produces. *out: a
 * new array (caller frees; NULL when *n is 0); idx (may be NULL): a new
 * array of the same length, each content's index into to->files.
 * Errors: PC_ERR_NOMEM. */
pc_status pc_relref_targets(const pc_manifest *from, const pc_manifest *to,
                            pc_release_file **out, size_t **idx, size_t *n, pc_err *e);

/* A reference mapped in place: one region, each file mapped read-only and
 * privately at its slot; the tail of a file's last page reads as zeros,
 * which is the padding. A file truncated by another process while mapped
 * makes a read of its lost pages fault (SIGBUS): docs/threat-model.md. */
typedef struct pc_relref {
    uint8_t *base; /* NULL when size is 0 */
    uint64_t size;
} pc_relref;

/* Map the reference of m from the tree below dirfd (files opened without
 * following a link at any component), expecting `size` bytes (the delta's
 * reference_size). Every file is checked as it is mapped: a regular file of
 * the manifest's size whose mapped bytes have the manifest's SHA-256.
 * Errors: PC_ERR_HASH (content differs: *bad names the file, an index into
 * m->files) and PC_ERR_NOT_FOUND (missing, or not a regular file), which
 * mean a damaged install; PC_ERR_UNSUPPORTED (a page size other than
 * PC_RELEASE_ALIGN, more than PC_RELEASE_MAX_REFS contents, or a size
 * other than `size`); PC_ERR_NOMEM, PC_ERR_IO. On failure nothing stays
 * mapped. Release with pc_relref_unmap. */
pc_status pc_relref_map(int dirfd, const pc_manifest *m, uint64_t size, pc_relref *r,
                        size_t *bad, pc_err *e);
void pc_relref_unmap(pc_relref *r);

/* Apply the release patch at patch_path (checked against rel->sha256 by
 * the caller before this reads it) to the mapped reference, whose SHA-256
 * rel->from the caller vouches for (it checked every file), then cut the
 * output into rel->nfiles new files named "0", "1", ... in the folder
 * outdir (mode 0600), each checked against rel->files[i] (size and
 * SHA-256). The output goes through an unlinked temporary file in outdir.
 * Heap: pc_pcz_apply_fd's (under 13 MiB) then one 256 KiB buffer.
 * Errors: PC_ERR_PATCH, PC_ERR_UNSUPPORTED (not pcz version 2), PC_ERR_HASH
 * (a result differs from the metadata), PC_ERR_IO, PC_ERR_NO_SPACE,
 * PC_ERR_NOMEM. Files made before a failure are left for the caller's
 * cleanup of outdir. */
pc_status pc_relpatch_apply(const pc_relref *r, const pc_release_ref *rel, const char *patch_path,
                            int outdir, pc_err *e);

#endif
