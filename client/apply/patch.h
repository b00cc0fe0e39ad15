/* patch.h — apply a binary patch (docs/format.md §7) to an old file, writing
 * the new file sequentially through a temporary name. Streaming: the old file
 * is memory-mapped, the patch read through fixed buffers, and the heap stays
 * a small constant plus the codec windows whatever the file sizes. */
#ifndef PC_PATCH_H
#define PC_PATCH_H

#include "error.h"
#include "expect.h"

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

#endif
