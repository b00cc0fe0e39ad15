/* pczstream.h — one compressed stream of a pcz patch (raw, zstd or xz),
 * read through pread from its place in the patch file with fixed buffers
 * and a bounded window. A large compressed stream is decoded ahead on a
 * thread of its own into a ring of PC_PCZ_RING buffers, so that the
 * streams of a patch and the patching itself use the cores there are. */
#ifndef PC_PCZSTREAM_H
#define PC_PCZSTREAM_H

#include <lzma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zstd.h>

#include "error.h"

/* A stream's codec, as the header names it (docs/format.md §7). */
enum { PC_PCZ_RAW = 0, PC_PCZ_ZSTD = 1, PC_PCZ_XZ = 2, PC_PCZ_ZSTD_OLD = 3 };

#define PC_PCZ_BUF (64 * 1024)
#define PC_PCZ_RING 8                    /* buffers decoded ahead */
#define PC_PCZ_AHEAD_MIN (1u << 20)      /* decoded size from which a thread pays */

typedef struct pc_pczs {
    int codec, fd;
    uint64_t off, comp_left, raw_left;
    ZSTD_DStream *z;
    lzma_stream x;
    bool xinit, ended;
    uint8_t in[PC_PCZ_BUF];
    size_t in_pos, in_len;
    uint8_t out[PC_PCZ_BUF];
    size_t out_pos, out_len;
    const char *name;
    /* Decoding ahead: the thread owns the fields above `in`..`in_len`
     * and the decoder; the reader copies whole ring buffers into out. */
    bool ahead, stop, done;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *ring;                 /* PC_PCZ_RING * PC_PCZ_BUF */
    size_t ring_len[PC_PCZ_RING];
    uint64_t made, taken;          /* buffers filled by the thread, and read */
    pc_err err;                    /* the thread's failure, after what it made */
} pc_pczs;

/* Open the stream at [off, off + comp) of fd, which decodes to raw bytes;
 * wlog caps its window (log2). Errors: PC_ERR_PATCH (unknown codec, raw
 * lengths that disagree), PC_ERR_NOMEM. pc_pczs_close must follow. */
pc_status pc_pczs_open(pc_pczs *s, int codec, int fd, uint64_t off, uint64_t comp, uint64_t raw,
                       int wlog, const char *name, pc_err *e);
void pc_pczs_close(pc_pczs *s);

/* Read exactly n decoded bytes; one unsigned LEB128 varint. */
pc_status pc_pczs_read(pc_pczs *s, uint8_t *dst, size_t n, pc_err *e);
pc_status pc_pczs_uvarint(pc_pczs *s, uint64_t *v, pc_err *e);

/* Everything decoded and consumed, the codec's end seen, nothing after. */
pc_status pc_pczs_finish(pc_pczs *s, pc_err *e);

#endif
