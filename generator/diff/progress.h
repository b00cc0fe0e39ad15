/* progress.h — a diff's progress as it runs: set by the diff (bsdiff.c,
 * difffiles.c), read by a display such as `patchcast-gen diff`'s. */
#ifndef PC_PROGRESS_H
#define PC_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

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

#endif
