/* bsdiff.h — the diff engine: bsdiff's algorithm (suffix array of the old
 * file by libdivsufsort, approximate matches extended both ways) producing
 * control triples, the type every patch writer reads. */
#ifndef PC_BSDIFF_H
#define PC_BSDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "progress.h"

/* One step of a patch: `add` bytes of new = diff + old (at the old cursor),
 * then `copy` bytes taken from the extra data, then the old cursor moves by
 * `seek` (after also moving by `add`). */
typedef struct pc_ctrl {
    uint64_t add, copy;
    int64_t seek;
} pc_ctrl;

typedef struct pc_diff {
    pc_ctrl *ctrl;
    size_t n, cap;
    uint8_t *zframe; /* pcz mode 1: the new file as a zstd frame over old, or NULL */
    size_t zlen;
    unsigned x86k;       /* pcz mode 2: the filter's range (x86rel.h), or 0 */
    uint8_t *xold, *xnew; /* mode 2: old and new through the filter; the triples are theirs */
} pc_diff;

/* Compute the control triples turning old into new; with x86k (not 0),
 * those turning the filtered old into the filtered new (pcz mode 2: the
 * copies are made here, the mappings' pages dropped as they are read, the
 * new one after the suffix array is sorted). Memory: old + the
 * suffix array (4 bytes per old byte while sorting, then 3 under 16 MiB;
 * over 512 MiB, segments of 512 MiB: 4 bytes a byte and 64 MiB for
 * each boundary) + 1/4 byte of index + the triples + the
 * part of new being scanned (its pages are dropped behind the scan when new
 * is a file mapping). Uses two threads on large inputs. With want_frame,
 * when the triples leave almost no differing bytes (text), also makes the
 * pcz mode-1 frame (out->zframe; pc_lz_frame). */
pc_status pc_diff_compute(const uint8_t *old, size_t oldsize, const uint8_t *new_,
                          size_t newsize, bool want_frame, unsigned x86k, pc_diff *out,
                          pc_diff_progress *prog, pc_err *e);
void pc_diff_free(pc_diff *d);

#endif
