/* sufsort.h — the old file's suffix array (libdivsufsort; packed to 3
 * bytes an entry under 16 MiB) with a small index of sampled keys, and the
 * longest-match search over it that the diff and the LZ parse use. Old
 * files over 512 MiB are sorted in overlapping segments of 512 MiB, each
 * with its own 32-bit array, in parallel: 4 bytes an entry where one
 * 64-bit array (from 2 GiB) would take 8, and far faster, as a segment's
 * random accesses stay within what the CPU's TLB reaches (huge pages). */
#ifndef PC_SUFSORT_H
#define PC_SUFSORT_H

#include <stdint.h>
#include <string.h>

#include "error.h"

/* Every KEY_STEP-th suffix's first eight bytes (big-endian, zero-padded) in
 * a small array, itself indexed by its first two bytes: a search narrows
 * its interval there before touching the big array. */
#define KEY_STEP 32

/* The longest segment, and how far each segment reaches into the next:
 * a match of up to that many bytes is found whole wherever it starts. */
#define PC_SA_SEG_MAX ((int64_t)512 << 20)
#define PC_SA_SEG_OVERLAP ((int64_t)16 << 20)

/* One segment: the suffixes of old[base, base + len), sorted. */
typedef struct pc_sa_seg {
    int64_t base, len;
    const uint8_t *sa24; /* 3 bytes an entry, for segments under 16 MiB */
    const int32_t *sa32;
    uint64_t *keys;
    int64_t nkeys;
    int64_t *bucket; /* keys[bucket[b] .. bucket[b + 1]) start with the bytes b */
} pc_sa_seg;

typedef struct pc_sa_index {
    const uint8_t *old;
    int64_t on;
    pc_sa_seg *seg;
    int nseg;
} pc_sa_index;

/* What pc_sa_build cuts with: PC_SA_SEG_MAX and PC_SA_SEG_OVERLAP unless a
 * test lowers them to cut small files into segments. */
extern int64_t pc_sa_seg_max, pc_sa_seg_overlap;

/* How many segments an old file of on bytes takes (0 < overlap < seg_max),
 * and their stride: segment i is old[i * stride, i * stride + stride +
 * overlap), the last one ending at on. */
int64_t pc_sa_segments(int64_t on, int64_t seg_max, int64_t overlap, int64_t *stride);

/* Sort the suffixes of old[0..on) and build the key index. Memory: 4
 * bytes an entry (3 under 16 MiB) plus a quarter byte for the keys; from
 * 512 MiB on, the segments' overlaps add 4 bytes for each of their bytes
 * (16 MiB a segment boundary). Errors: PC_ERR_NOMEM, PC_ERR_INTERNAL. */
pc_status pc_sa_build(pc_sa_index *v, const uint8_t *old, int64_t on, pc_err *e);
void pc_sa_free(pc_sa_index *v);

/* Longest match of new[0..nn) among the old file's suffixes: its length,
 * and its old position in *pos. Across segments: the longest any finds,
 * a match reaching a segment's end extended in the whole old file. */
int64_t pc_sa_longest(const pc_sa_index *v, const uint8_t *nw, int64_t nn, int64_t *pos);

/* Length of the common prefix of a[0..an) and b[0..bn). */
static inline int64_t pc_match_len(const uint8_t *a, int64_t an, const uint8_t *b, int64_t bn)
{
    int64_t n = an < bn ? an : bn, i = 0;
    while (i + 8 <= n) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + __builtin_ctzll(x ^ y) / 8; /* little-endian */
        i += 8;
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

#endif
