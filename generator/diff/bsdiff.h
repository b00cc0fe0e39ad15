/* bsdiff.h — the diff engine: bsdiff's algorithm (suffix array of the old
 * file by libdivsufsort, approximate matches extended both ways) producing
 * control triples, and the BSDIFF40 writer. */
#ifndef PC_BSDIFF_H
#define PC_BSDIFF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

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

/* What a diff is doing, for a display on another thread: the phase, and
 * in the scan the bytes of new done of total (0 where not counted). */
typedef enum pc_diff_phase {
    PC_DIFF_READ = 0, /* mapping, hashing */
    PC_DIFF_SORT,     /* sorting the old file's suffixes */
    PC_DIFF_SCAN,     /* matching new against them */
    PC_DIFF_PARSE,    /* text: the mode-1 parse */
    PC_DIFF_WRITE,    /* compressing and writing the patch */
} pc_diff_phase;

typedef struct pc_diff_progress {
    atomic_int phase;
    atomic_uint_least64_t done, total;
    /* If set, called on the diff's thread as each phase starts, with the
     * one before it and where that ended (done of total). */
    void (*on_phase)(void *ud, int prev, uint64_t done, uint64_t total);
    void *ud;
} pc_diff_progress;

const char *pc_diff_phase_name(int phase);

/* Enter a phase (p may be NULL). */
static inline void pc_diff_phase_set(pc_diff_progress *p, pc_diff_phase ph, uint64_t total)
{
    if (p) {
        int prev = atomic_load_explicit(&p->phase, memory_order_relaxed);
        uint64_t pd = atomic_load_explicit(&p->done, memory_order_relaxed);
        uint64_t pt = atomic_load_explicit(&p->total, memory_order_relaxed);
        atomic_store_explicit(&p->done, 0, memory_order_relaxed);
        atomic_store_explicit(&p->total, total, memory_order_relaxed);
        atomic_store_explicit(&p->phase, (int)ph, memory_order_relaxed);
        if (p->on_phase)
            p->on_phase(p->ud, prev, pd, pt);
    }
}

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

/* Drop the pages of [from, to) of a read-only file mapping from this
 * process (they stay in the page cache), so the peak memory holds only the
 * part of a file being worked on. */
void pc_drop_pages(const uint8_t *base, int64_t from, int64_t to);

/* The old file's suffix array index (sufsort.h), as pc_diff_compute
 * builds it. */
typedef struct pc_sa_index pc_sa_index;

/* Old and new together at most this large for pcz mode 1 (its zstd window
 * spans both). */
#define PC_LZ_MAX_TOTAL ((size_t)1 << 30)

/* pcz mode 1: an LZ77 parse of new against old, as one zstd frame that
 * uses old as its prefix; *frame (malloc'd, the caller frees) stays NULL
 * when the inputs are too large or the parse too fragmented to pay. */
pc_status pc_lz_frame(const pc_sa_index *ix, const uint8_t *old, size_t oldsize,
                      const uint8_t *new_, size_t newsize, uint8_t **frame, size_t *frame_len,
                      pc_err *e);

/* Write a BSDIFF40 patch of the triples to the file at path (through a
 * temporary name); *patch_size receives its size. */
pc_status pc_bsdiff40_write(const pc_diff *d, const uint8_t *old, size_t oldsize,
                            const uint8_t *new_, size_t newsize, const char *path,
                            uint64_t *patch_size, pc_err *e);

/* Write the triples as a version-2 pcz patch (client/apply/pcz.h); old_sha and
 * new_sha are the files' SHA-256s. */
pc_status pc_pcz_write(const pc_diff *d, const uint8_t *old, size_t oldsize, const uint8_t *new_,
                       size_t newsize, const uint8_t old_sha[32], const uint8_t new_sha[32],
                       const char *path, uint64_t *patch_size, pc_err *e);

typedef enum pc_diff_format { PC_DIFF_BSDIFF40 = 0, PC_DIFF_PCZ = 1 } pc_diff_format;

/* Diff two files into a patch file of the given format: maps both,
 * computes, writes; reports where it is in *prog (may be NULL). */
pc_status pc_diff_files(const char *old, const char *new_, const char *patch,
                        pc_diff_format format, pc_diff_progress *prog, uint64_t *patch_size,
                        pc_err *e);

#endif
