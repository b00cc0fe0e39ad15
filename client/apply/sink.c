/* sink.c — a patch's output: buffered sequential writes, SHA-256 on a
 * second thread (started with the first full buffer, so small files never
 * start one); and the SHA-256 of a mapped output as it is filled. */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

static void *hasher(void *arg)
{
    pc_sink *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->hashed == k->submitted && !k->done)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->hashed == k->submitted)
            break;
        size_t b = k->hashed % PC_SINK_NBUF;
        pthread_mutex_unlock(&k->mu);
        pc_sha256_update(&k->sha, k->buf[b], k->len[b]);
        pthread_mutex_lock(&k->mu);
        k->hashed++;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

pc_status pc_sink_init(pc_sink *k, int fd, pc_err *e)
{
    memset(k, 0, sizeof *k);
    k->fd = fd;
    pc_sha256_init(&k->sha);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    for (int i = 0; i < PC_SINK_NBUF; i++)
        if ((k->buf[i] = malloc(PC_SINK_BUF)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    return PC_OK;
}

/* Write the buffer being filled and pass it to the hasher (or hash it here
 * when there is no thread); then wait until the next buffer is free, and
 * start it with the bytes the filter held back. */
static pc_status submit(pc_sink *k, bool end, pc_err *e)
{
    size_t b = k->submitted % PC_SINK_NBUF;
    uint8_t tail[PC_SINK_MIN_ROOM];
    size_t ntail = 0;
    if (k->filter) {
        size_t keep = k->filter(k->fctx, k->buf[b], k->used, end);
        ntail = k->used - keep;
        memcpy(tail, k->buf[b] + keep, ntail);
        k->used = keep;
    }
    k->len[b] = k->used;
    if (!k->threaded && !end) /* a full buffer: the output is large */
        k->threaded = pthread_create(&k->tid, NULL, hasher, k) == 0;
    pthread_mutex_lock(&k->mu);
    if (!k->threaded) {
        pc_sha256_update(&k->sha, k->buf[b], k->used);
        k->hashed++;
    }
    k->submitted++;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    if (k->used && pc_write_all(k->fd, k->buf[b], k->used) != 0)
        return pc_fail(e, pc_errno_status(errno), "patch: write: %s", strerror(errno));
    k->used = 0;
    pthread_mutex_lock(&k->mu);
    while (k->submitted - k->hashed >= PC_SINK_NBUF)
        pthread_cond_wait(&k->cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
    memcpy(k->buf[k->submitted % PC_SINK_NBUF], tail, ntail);
    k->used = ntail;
    return PC_OK;
}

pc_status pc_sink_put(pc_sink *k, size_t n, pc_err *e)
{
    k->used += n;
    return pc_sink_room(k) < PC_SINK_MIN_ROOM ? submit(k, false, e) : PC_OK;
}

static void stop(pc_sink *k)
{
    if (!k->threaded)
        return;
    pthread_mutex_lock(&k->mu);
    k->done = true;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->tid, NULL);
    k->threaded = false;
}

pc_status pc_sink_finish(pc_sink *k, uint8_t sha[32], pc_err *e)
{
    pc_status st = k->used ? submit(k, true, e) : PC_OK;
    stop(k);
    pc_sha256_final(&k->sha, sha);
    return st;
}

void pc_sink_free(pc_sink *k)
{
    stop(k);
    for (int i = 0; i < PC_SINK_NBUF; i++)
        free(k->buf[i]);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
}

/* ---- following a region being filled --------------------------------------- */

static void *follower(void *arg)
{
    pc_follow *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->hashed == f->ready && !f->done)
            pthread_cond_wait(&f->cv, &f->mu);
        size_t from = f->hashed, to = f->ready;
        if (from == to)
            break;
        pthread_mutex_unlock(&f->mu);
        pc_sha256_update(&f->sha, f->base + from, to - from);
        pthread_mutex_lock(&f->mu);
        f->hashed = to;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

void pc_follow_start(pc_follow *f, const uint8_t *base)
{
    memset(f, 0, sizeof *f);
    f->base = base;
    pc_sha256_init(&f->sha);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->threaded = pthread_create(&f->tid, NULL, follower, f) == 0;
}

void pc_follow_ready(pc_follow *f, size_t ready)
{
    pthread_mutex_lock(&f->mu);
    f->ready = ready;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void pc_follow_finish(pc_follow *f, size_t total, uint8_t sha[32])
{
    pc_follow_ready(f, total);
    if (f->threaded) {
        pthread_mutex_lock(&f->mu);
        f->done = true;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->tid, NULL);
    }
    if (f->hashed < total)
        pc_sha256_update(&f->sha, f->base + f->hashed, total - f->hashed);
    pc_sha256_final(&f->sha, sha);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}
