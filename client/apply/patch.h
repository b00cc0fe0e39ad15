/* patch.h — apply a binary patch (docs/format.md §7) to an old file, writing
 * the new file sequentially through a temporary name. Streaming: the old file
 * is memory-mapped, the patch read through fixed buffers, and the heap stays
 * a small constant plus the codec windows whatever the file sizes. */
#ifndef PC_PATCH_H
#define PC_PATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define PC_PATCH_NEW_MAX (1ull << 40) /* refuse patches that claim > 1 TiB output */

typedef struct pc_patch_expect {
    bool has_size;
    uint64_t new_size;      /* from signed metadata, when known */
    bool has_sha;
    uint8_t new_sha256[32];
    /* The caller vouches for the old file's SHA-256 (it has just written and
     * hashed it, e.g. the previous step of a chain): a pcz patch is checked
     * against it instead of hashing the old file again. */
    bool has_old_sha;
    uint8_t old_sha256[32];
    /* pc_patch_apply_file only: skip the fsync of out and of its folder (the
     * rename into place stays atomic; durability is the caller's). */
    bool no_sync;
} pc_patch_expect;

/* Apply the patch file `patch` to `old`, producing `out` (mode 0644 unless
 * changed by the caller afterwards). The format is detected by magic.
 * expect may be NULL. On any failure `out` is neither created nor changed.
 * Errors: PC_ERR_PATCH (corrupt, truncated, hostile or mismatched patch),
 * PC_ERR_UNSUPPORTED (unknown magic), PC_ERR_HASH (result differs from the
 * expected hash), PC_ERR_IO, PC_ERR_NOT_FOUND. */
pc_status pc_patch_apply_file(const char *old, const char *patch, const char *out,
                              const pc_patch_expect *expect, pc_err *e);

/* Like pc_patch_apply_file, writing the new file to out_fd (sequentially,
 * from its current offset). On failure out_fd holds a partial result that
 * the caller discards. */
pc_status pc_patch_apply_fd(const char *old, const char *patch, int out_fd,
                            const pc_patch_expect *expect, pc_err *e);

/* Apply a BSDIFF40 patch read from patch_fd to the old bytes, writing to
 * out_fd; *new_size and new_sha256 receive what was written. */
pc_status pc_bspatch_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                        const pc_patch_expect *expect, uint64_t *new_size,
                        uint8_t new_sha256[32], pc_err *e);

/* bsdiff's sign-magnitude little-endian 64-bit integers. */
int64_t pc_offtin(const uint8_t buf[8]);
void pc_offtout(int64_t x, uint8_t buf[8]);

#endif
