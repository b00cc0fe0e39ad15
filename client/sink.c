/* sink.c — a patch's output: buffered sequential writes, SHA-256 on a
 * second thread (started with the first full buffer, so small files never
 * start one). */
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
 * when there is no thread); then wait until the next buffer is free. */
static pc_status submit(pc_sink *k, pc_err *e)
{
    size_t b = k->submitted % PC_SINK_NBUF;
    k->len[b] = k->used;
    if (!k->threaded && k->used == PC_SINK_BUF)
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
        return pc_fail(e, PC_ERR_IO, "patch: write: %s", strerror(errno));
    k->used = 0;
    pthread_mutex_lock(&k->mu);
    while (k->submitted - k->hashed >= PC_SINK_NBUF)
        pthread_cond_wait(&k->cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
    return PC_OK;
}

pc_status pc_sink_put(pc_sink *k, size_t n, pc_err *e)
{
    k->used += n;
    return pc_sink_room(k) < PC_SINK_MIN_ROOM ? submit(k, e) : PC_OK;
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
    pc_status st = k->used ? submit(k, e) : PC_OK;
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
