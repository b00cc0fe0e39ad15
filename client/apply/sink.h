/* sink.h — the output of a patch: bytes written sequentially to a file
 * through a few buffers, and their SHA-256, computed on a second thread so
 * that hashing overlaps with decoding and writing. */
#ifndef PC_SINK_H
#define PC_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha256.h"

#define PC_SINK_BUF (256 * 1024)
#define PC_SINK_NBUF 4
#define PC_SINK_MIN_ROOM 16 /* a put leaves at least this much room */

/* A filter of the output, in order (pcz mode 2): changes p[0, n) in place
 * and returns how many bytes are final (all at the end, else what follows
 * decides the rest, at most PC_SINK_MIN_ROOM / 2 bytes). */
typedef size_t (*pc_sink_filter)(void *ctx, uint8_t *p, size_t n, bool end);

typedef struct pc_sink {
    int fd;
    pc_sink_filter filter; /* NULL: none */
    void *fctx;
    uint8_t *buf[PC_SINK_NBUF];
    size_t len[PC_SINK_NBUF];
    size_t used;              /* bytes in the buffer being filled */
    uint64_t submitted, hashed; /* buffers handed to the hasher, and done */
    bool threaded, done;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pc_sha256_ctx sha;
} pc_sink;

/* Start a sink writing to fd. Heap: PC_SINK_NBUF buffers of PC_SINK_BUF.
 * Errors: PC_ERR_NOMEM. pc_sink_free must follow, whatever happens. */
pc_status pc_sink_init(pc_sink *k, int fd, pc_err *e);

/* Where the next bytes go, and how many fit (at least PC_SINK_MIN_ROOM). */
static inline uint8_t *pc_sink_ptr(pc_sink *k)
{
    return k->buf[k->submitted % PC_SINK_NBUF] + k->used;
}

static inline size_t pc_sink_room(const pc_sink *k)
{
    return PC_SINK_BUF - k->used;
}

/* n bytes were stored at pc_sink_ptr: keep them (a full buffer is written
 * and handed to the hasher). Errors: PC_ERR_IO. */
pc_status pc_sink_put(pc_sink *k, size_t n, pc_err *e);

/* Write what is left and give the SHA-256 of everything put. */
pc_status pc_sink_finish(pc_sink *k, uint8_t sha[32], pc_err *e);

/* Stop the hasher and free the buffers; accepts a sink that failed. */
void pc_sink_free(pc_sink *k);

/* SHA-256 of a region of memory that is being filled front to back,
 * computed on a second thread that follows the filling. */
typedef struct pc_follow {
    const uint8_t *base;
    size_t ready, hashed;
    bool threaded, done;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pc_sha256_ctx sha;
} pc_follow;

/* Start following the region at base (no thread: hashing happens in
 * pc_follow_finish). */
void pc_follow_start(pc_follow *f, const uint8_t *base);

/* base[0, ready) is final and may be hashed. */
void pc_follow_ready(pc_follow *f, size_t ready);

/* Hash up to `total` and give the SHA-256; ends the thread. */
void pc_follow_finish(pc_follow *f, size_t total, uint8_t sha[32]);

#endif
