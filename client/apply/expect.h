/* expect.h — what the caller knows of a patch's output (from signed
 * metadata, or from the previous step of a chain), checked by every patch
 * reader: the common ground of patch.c and the format readers. */
#ifndef PC_EXPECT_H
#define PC_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
