/* pcz.h — patchcast's compact patch container (docs/format.md §7): the
 * bsdiff control triples as varints and the diff and extra bytes in three
 * separately compressed streams (raw, zstd or xz, whichever is smallest),
 * behind a header with the old and new sizes and SHA-256s. */
#ifndef PC_PCZ_H
#define PC_PCZ_H

#include <stdint.h>

#include "error.h"
#include "patch.h"

#define PC_PCZ_MAGIC "PCZ1"
#define PC_PCZ_HEADER 160
#define PC_PCZ_WINDOW_LOG 22 /* zstd window and xz dictionary: 4 MiB each */

enum { PC_PCZ_RAW = 0, PC_PCZ_ZSTD = 1, PC_PCZ_XZ = 2 };

/* Apply a pcz patch read from patch_fd to the old bytes, writing to out_fd.
 * The old file must match the header's size and SHA-256; the result is
 * checked against the header's (and expect's, if given). */
pc_status pc_pcz_apply_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                          const pc_patch_expect *expect, uint64_t *new_size,
                          uint8_t new_sha256[32], pc_err *e);

/* Little-endian helpers shared with the writer. */
static inline void pc_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t pc_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
