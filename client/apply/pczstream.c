/* pczstream.c — one stream of a pcz patch: compressed bytes read through
 * pread into a fixed buffer, decoded (raw, zstd or xz) into another; the
 * decoders' windows are capped, and every length is checked against the
 * descriptor. */
#include "pczstream.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>




static void *ahead(void *arg);

pc_status pc_pczs_open(pc_pczs *s, int codec, int fd, uint64_t off, uint64_t comp, uint64_t raw,
                       int wlog, const char *name, pc_err *e)
{
    memset(s, 0, offsetof(pc_pczs, in));
    s->codec = codec;
    s->fd = fd;
    s->off = off;
    s->comp_left = comp;
    s->raw_left = raw;
    s->name = name;
    s->in_pos = s->in_len = s->out_pos = s->out_len = 0;
    if (codec == PC_PCZ_ZSTD) {
        s->z = ZSTD_createDStream();
        if (s->z == NULL ||
            ZSTD_isError(ZSTD_DCtx_setParameter(s->z, ZSTD_d_windowLogMax, wlog)))
            return pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the zstd decoder");
    } else if (codec == PC_PCZ_XZ) {
        lzma_stream init = LZMA_STREAM_INIT;
        s->x = init;
        /* The dictionary plus a little; a heavier stream is refused. */
        if (lzma_stream_decoder(&s->x, (1u << wlog) + (1u << 20), 0) != LZMA_OK)
            return pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the xz decoder");
        s->xinit = true;
    } else if (codec != PC_PCZ_RAW) {
        return pc_fail(e, PC_ERR_PATCH, "patch: %s stream has unknown codec %d", name, codec);
    } else if (comp != raw) {
        return pc_fail(e, PC_ERR_PATCH, "patch: raw %s stream sizes disagree", name);
    }
    if (codec != PC_PCZ_RAW && raw >= PC_PCZ_AHEAD_MIN &&
        (s->ring = malloc((size_t)PC_PCZ_RING * PC_PCZ_BUF)) != NULL) {
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->ahead = pthread_create(&s->tid, NULL, ahead, s) == 0;
        if (!s->ahead) { /* decode on the reader's thread then */
            pthread_mutex_destroy(&s->mu);
            pthread_cond_destroy(&s->cv);
            free(s->ring);
            s->ring = NULL;
        }
    }
    return PC_OK;
}

void pc_pczs_close(pc_pczs *s)
{
    if (s->ahead) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->tid, NULL);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s->ring);
        s->ring = NULL;
        s->ahead = false;
    }
    ZSTD_freeDStream(s->z);
    s->z = NULL;
    if (s->xinit)
        lzma_end(&s->x);
    s->xinit = false;
}

/* Refill the compressed input buffer. */
static pc_status fill_in(pc_pczs *s, pc_err *e)
{
    if (s->in_pos < s->in_len || s->comp_left == 0)
        return PC_OK;
    size_t want = s->comp_left < PC_PCZ_BUF ? (size_t)s->comp_left : PC_PCZ_BUF;
    ssize_t r;
    do
        r = pread(s->fd, s->in, want, (off_t)s->off);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return pc_fail(e, pc_errno_status(errno), "patch: read: %s", strerror(errno));
    if (r == 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: file is truncated (%s stream)", s->name);
    s->in_pos = 0;
    s->in_len = (size_t)r;
    s->off += (uint64_t)r;
    s->comp_left -= (uint64_t)r;
    return PC_OK;
}

/* Decode the next piece of output into out (PC_PCZ_BUF bytes); *len > 0
 * on success. */
static pc_status decode_into(pc_pczs *s, uint8_t *out, size_t *len, pc_err *e)
{
    *len = 0;
    while (*len == 0) {
        if (s->raw_left == 0)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
        pc_status st = fill_in(s, e);
        if (st != PC_OK)
            return st;
        bool no_input = s->in_pos == s->in_len;
        if (s->codec == PC_PCZ_RAW) {
            if (no_input)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
            size_t n = s->in_len - s->in_pos;
            memcpy(out, s->in + s->in_pos, n);
            s->in_pos += n;
            *len = n;
        } else if (s->codec == PC_PCZ_ZSTD) {
            if (s->ended)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
            ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
            ZSTD_outBuffer ob = {out, PC_PCZ_BUF, 0};
            size_t rc = ZSTD_decompressStream(s->z, &ob, &ib);
            if (ZSTD_isError(rc))
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: zstd: %s", s->name,
                               ZSTD_getErrorName(rc));
            if (rc == 0)
                s->ended = true;
            if (ob.pos == 0 && ib.pos == s->in_pos && no_input)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
            s->in_pos = ib.pos;
            *len = ob.pos;
        } else {
            if (s->ended)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
            s->x.next_in = s->in + s->in_pos;
            s->x.avail_in = s->in_len - s->in_pos;
            s->x.next_out = out;
            s->x.avail_out = PC_PCZ_BUF;
            lzma_ret rc = lzma_code(&s->x, no_input ? LZMA_FINISH : LZMA_RUN);
            s->in_pos = s->in_len - s->x.avail_in;
            *len = PC_PCZ_BUF - s->x.avail_out;
            if (rc == LZMA_STREAM_END)
                s->ended = true;
            else if (rc == LZMA_MEMLIMIT_ERROR)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream needs too much memory", s->name);
            else if (rc != LZMA_OK)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: xz error %d", s->name, (int)rc);
            else if (*len == 0 && no_input)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
        }
        if (*len > s->raw_left)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is longer than its header says",
                           s->name);
        s->raw_left -= *len;
    }
    return PC_OK;
}

static pc_status end_check(pc_pczs *s, pc_err *e);

/* The decoding thread: fill the ring until the stream's raw bytes are all
 * decoded (then check its end) or something fails; the failure is kept for
 * the reader to meet after the buffers made before it. */
static void *ahead(void *arg)
{
    pc_pczs *s = arg;
    pc_err e = {0};
    pc_status st = PC_OK;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->made - s->taken == PC_PCZ_RING && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop || s->raw_left == 0)
            break;
        size_t slot = (size_t)(s->made % PC_PCZ_RING), len;
        if ((st = decode_into(s, s->ring + slot * PC_PCZ_BUF, &len, &e)) != PC_OK)
            break;
        pthread_mutex_lock(&s->mu);
        s->ring_len[slot] = len;
        s->made++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    if (st == PC_OK && s->raw_left == 0)
        st = end_check(s, &e);
    pthread_mutex_lock(&s->mu);
    s->err = e;
    s->err.code = st;
    s->done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The next decoded piece into s->out: from the ring when a thread decodes
 * ahead, else decoded here. */
static pc_status fill_out(pc_pczs *s, pc_err *e)
{
    s->out_pos = s->out_len = 0;
    if (!s->ahead)
        return decode_into(s, s->out, &s->out_len, e);
    pthread_mutex_lock(&s->mu);
    while (s->made == s->taken && !s->done)
        pthread_cond_wait(&s->cv, &s->mu);
    pc_status st = PC_OK;
    if (s->made > s->taken) {
        size_t slot = (size_t)(s->taken % PC_PCZ_RING);
        memcpy(s->out, s->ring + slot * PC_PCZ_BUF, s->ring_len[slot]);
        s->out_len = s->ring_len[slot];
        s->taken++;
        pthread_cond_broadcast(&s->cv);
    } else if (s->err.code != PC_OK) {
        st = pc_fail(e, s->err.code, "%s", s->err.msg);
    } else {
        st = pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

pc_status pc_pczs_read(pc_pczs *s, uint8_t *dst, size_t n, pc_err *e)
{
    while (n > 0) {
        if (s->out_pos == s->out_len) {
            pc_status st = fill_out(s, e);
            if (st != PC_OK)
                return st;
        }
        size_t k = s->out_len - s->out_pos < n ? s->out_len - s->out_pos : n;
        memcpy(dst, s->out + s->out_pos, k);
        s->out_pos += k;
        dst += k;
        n -= k;
    }
    return PC_OK;
}

pc_status pc_pczs_uvarint(pc_pczs *s, uint64_t *v, pc_err *e)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        pc_status st = pc_pczs_read(s, &b, 1, e);
        if (st != PC_OK)
            return st;
        if (shift == 63 && b > 1)
            break;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return PC_OK;
        }
    }
    return pc_fail(e, PC_ERR_PATCH, "patch: control stream holds an overlong number");
}

/* Everything decoded and consumed, nothing left over. */
pc_status pc_pczs_finish(pc_pczs *s, pc_err *e)
{
    if (!s->ahead) {
        if (s->out_pos != s->out_len || s->raw_left != 0)
            return pc_fail(e, PC_ERR_PATCH,
                           "patch: %s stream holds more data than the control uses", s->name);
        return end_check(s, e);
    }
    pthread_mutex_lock(&s->mu);
    while (s->made == s->taken && !s->done)
        pthread_cond_wait(&s->cv, &s->mu);
    pc_status st = PC_OK;
    if (s->out_pos != s->out_len || s->made > s->taken)
        st = pc_fail(e, PC_ERR_PATCH, "patch: %s stream holds more data than the control uses",
                     s->name);
    else if (s->err.code != PC_OK)
        st = pc_fail(e, s->err.code, "%s", s->err.msg);
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* After the last raw byte: the codec's end marker (and checksum) and
 * nothing after it. */
static pc_status end_check(pc_pczs *s, pc_err *e)
{
    if (s->codec != PC_PCZ_RAW) {
        /* Let the decoder see its end marker (and checksum). */
        uint8_t tmp[64];
        s->raw_left = 0;
        while (!s->ended) {
            pc_status st = fill_in(s, e);
            if (st != PC_OK)
                return st;
            bool no_input = s->in_pos == s->in_len;
            size_t produced;
            if (s->codec == PC_PCZ_ZSTD) {
                ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
                ZSTD_outBuffer ob = {tmp, sizeof tmp, 0};
                size_t rc = ZSTD_decompressStream(s->z, &ob, &ib);
                if (ZSTD_isError(rc))
                    return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: zstd: %s", s->name,
                                   ZSTD_getErrorName(rc));
                s->ended = rc == 0;
                produced = ob.pos;
                if (!s->ended && no_input && ib.pos == s->in_pos)
                    return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
                s->in_pos = ib.pos;
            } else {
                s->x.next_in = s->in + s->in_pos;
                s->x.avail_in = s->in_len - s->in_pos;
                s->x.next_out = tmp;
                s->x.avail_out = sizeof tmp;
                lzma_ret rc = lzma_code(&s->x, no_input ? LZMA_FINISH : LZMA_RUN);
                s->in_pos = s->in_len - s->x.avail_in;
                produced = sizeof tmp - s->x.avail_out;
                if (rc == LZMA_STREAM_END)
                    s->ended = true;
                else if (rc != LZMA_OK)
                    return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: xz error %d", s->name,
                                   (int)rc);
                else if (no_input && produced == 0)
                    return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
            }
            if (produced)
                return pc_fail(e, PC_ERR_PATCH,
                               "patch: %s stream is longer than its header says", s->name);
        }
    }
    if (s->in_pos != s->in_len || s->comp_left != 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: data after the end of the %s stream", s->name);
    return PC_OK;
}

