/* sufsort.h — the old file's suffix array (libdivsufsort; packed to 3
 * bytes an entry under 16 MiB) with a small index of sampled keys, and the
 * longest-match search over it that the diff and the LZ parse use. */
#ifndef PC_SUFSORT_H
#define PC_SUFSORT_H

#include <stdint.h>
#include <string.h>

#include "error.h"

/* The suffix array of the old file, and every KEY_STEP-th suffix's first
 * eight bytes (big-endian, zero-padded) in a small array, itself indexed by
 * its first two bytes: a search narrows its interval there before touching
 * the big array. */
#define KEY_STEP 32

typedef struct pc_sa_index {
    const uint8_t *old;
    int64_t on;
    const uint8_t *sa24; /* 3 bytes an entry, for old files under 16 MiB */
    const int32_t *sa32;
    const int64_t *sa64;
    uint64_t *keys;
    int64_t nkeys;
    int64_t *bucket; /* keys[bucket[b] .. bucket[b + 1]) start with the bytes b */
} pc_sa_index;

/* Sort the suffixes of old[0..on) and build the key index. Memory: 4
 * bytes an entry while sorting (8 from 2 GiB on), then 3 under 16 MiB,
 * plus a quarter byte for the keys. Errors: PC_ERR_NOMEM, PC_ERR_INTERNAL. */
pc_status pc_sa_build(pc_sa_index *v, const uint8_t *old, int64_t on, pc_err *e);
void pc_sa_free(pc_sa_index *v);

/* Longest match of new[0..nn) among the old file's suffixes: its length,
 * and its old position in *pos. */
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
