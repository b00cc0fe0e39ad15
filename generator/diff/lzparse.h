/* lzparse.h — pcz mode 1 (docs/format.md §7): the new file as an LZ77
 * parse against the old one's suffix array, in one zstd frame that uses
 * old as its prefix. */
#ifndef PC_LZPARSE_H
#define PC_LZPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sufsort.h"

/* Old and new together at most this large for pcz mode 1 (its zstd window
 * spans both). */
#define PC_LZ_MAX_TOTAL ((size_t)1 << 30)

/* pcz mode 1: an LZ77 parse of new against old, as one zstd frame that
 * uses old as its prefix; *frame (malloc'd, the caller frees) stays NULL
 * when the inputs are too large or the parse too fragmented to pay. */
pc_status pc_lz_frame(const pc_sa_index *ix, const uint8_t *old, size_t oldsize,
                      const uint8_t *new_, size_t newsize, uint8_t **frame, size_t *frame_len,
                      pc_err *e);

#endif
