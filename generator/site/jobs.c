/* jobs.c — the pool of jobs.h: workers take the next task when the
 * memory budget has room for it, and wait on a condition variable when it
 * has not. */
#include "jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pool {
    const pc_jobs *j;
    uint64_t budget;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next; /* the next task to start */
    size_t done;
    uint64_t in_use;
    unsigned running;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    const pc_jobs *j = p->j;
    pthread_mutex_lock(&p->mu);
    while (p->next < j->n) {
        size_t mine = p->next;
        uint64_t need = j->need(j->ud, mine);
        /* Wait for room in the budget; a job bigger than the budget runs alone. */
        while (p->running > 0 && p->in_use + need > p->budget)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->next != mine)
            continue; /* another worker took it meanwhile */
        p->next++;
        p->running++;
        p->in_use += need;
        pthread_mutex_unlock(&p->mu);
        j->run(j->ud, mine);
        pthread_mutex_lock(&p->mu);
        p->done++;
        if (j->done)
            j->done(j->ud, mine, p->done);
        p->running--;
        p->in_use -= need;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void pc_jobs_run(const pc_jobs *j)
{
    if (j->n == 0)
        return;
    long online = sysconf(_SC_NPROCESSORS_ONLN); /* -1 when unknown */
    unsigned workers = j->workers ? j->workers : online > 0 ? (unsigned)online : 1;
    pool p = {.j = j, .budget = j->budget};
    if (p.budget == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        p.budget = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / 2 : 1ull << 30;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t *th = calloc(workers, sizeof *th);
    unsigned started = 0;
    if (th)
        for (; started < workers; started++)
            if (pthread_create(&th[started], NULL, worker, &p) != 0)
                break;
    if (started == 0)
        worker(&p);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
}
