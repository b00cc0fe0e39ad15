/* pcz.h — patchcast's compact patch container (docs/format.md §7). Version 2
 * (written by the generator): the bsdiff control triples as three columns of
 * varints, the diff bytes as zero-run tokens of 16-bit word differences, and
 * the extra bytes, in five separately compressed streams (raw, zstd or xz,
 * whichever is smallest), behind a header with the old and new sizes and
 * SHA-256s; in mode 2 (x86-64 programs) the streams turn the old file
 * into the new one through a filter of call and address operands
 * (x86rel.h). Version 1 (three streams, read only) is still applied. */
#ifndef PC_PCZ_H
#define PC_PCZ_H

#include <stdint.h>

#include "error.h"
#include "expect.h"
#include "pczstream.h" /* the stream codecs */

#define PC_PCZ1_MAGIC "PCZ1"
#define PC_PCZ1_HEADER 160
#define PC_PCZ2_MAGIC "PCZ2"
#define PC_PCZ2_HEADER 208
#define PC_PCZ_MAX_STREAMS 5

/* Largest zstd window / xz dictionary a stream may use (log2): version 1's
 * three streams 4 MiB each; version 2's control columns 1 MiB, its diff and
 * extra streams 4 MiB. The five version-2 decoders together stay under
 * 12 MiB. */
#define PC_PCZ1_WINDOW_LOG 22
#define PC_PCZ_CTRL_WINDOW_LOG 20
#define PC_PCZ_DATA_WINDOW_LOG 22

/* Mode 1's zstd window (log2) at most: old and new together. */
#define PC_PCZ_OLD_WINDOW_LOG_MAX 30

/* Version 2 stream order. */
enum { PC_PCZ_ADD = 0, PC_PCZ_COPY, PC_PCZ_SEEK, PC_PCZ_DIFF, PC_PCZ_EXTRA };

/* Apply a pcz patch (version 1 or 2) read from patch_fd to the old bytes,
 * writing to out_fd. The old file must match the header's size and SHA-256
 * (hashed on a second thread meanwhile); the result is checked against the
 * header's SHA-256 (and expect's, if given). Heap: a few buffers plus the
 * stream decoders' windows, under 13 MiB, and 512 KiB of read-ahead for each
 * compressed stream of a MiB or more (mode 1: zstd's context; mode 2: 33 KiB
 * more and one byte per KiB of the old file). */
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
