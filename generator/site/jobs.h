/* jobs.h — a pool of threads running numbered tasks in order, as many at
 * once as the workers and a memory budget allow (the site build's diffs). */
#ifndef PC_JOBS_H
#define PC_JOBS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_jobs {
    size_t n;         /* tasks 0 .. n-1, started in that order */
    unsigned workers; /* threads; 0: one per online core */
    /* Bytes the running tasks may need together; 0: half the physical memory. */
    uint64_t budget;
    /* The memory task i needs (called under the pool's lock). */
    uint64_t (*need)(void *ud, size_t i);
    /* Run task i, on a worker thread, no lock held. */
    void (*run)(void *ud, size_t i);
    /* Task i has ended, the ndone-th to end (called under the pool's lock,
     * so one at a time); may be NULL. */
    void (*done)(void *ud, size_t i, size_t ndone);
    void *ud;
} pc_jobs;

/* Run every task; returns when all have ended. A task waits until the
 * running ones leave room for its need in the budget; one needing more
 * than the budget runs alone. If no thread starts, the calling thread runs
 * the tasks. */
void pc_jobs_run(const pc_jobs *j);

#endif
