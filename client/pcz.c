/* pcz.c — streaming reader of pcz patches: three decoders (raw, zstd or xz)
 * over the same file through pread, each with fixed buffers and a bounded
 * window; output written sequentially and hashed. */
#include "pcz.h"

#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "checked.h"
#include "fileio.h"
#include "hex.h"
#include "sha256.h"

#define BUF (64 * 1024)

typedef struct dsrc {
    int codec, fd;
    uint64_t off, comp_left, raw_left;
    ZSTD_DStream *z;
    lzma_stream x;
    bool xinit, ended;
    uint8_t in[BUF];
    size_t in_pos, in_len;
    uint8_t out[BUF];
    size_t out_pos, out_len;
    const char *name;
} dsrc;

static pc_status dsrc_open(dsrc *s, int codec, int fd, uint64_t off, uint64_t comp,
                           uint64_t raw, const char *name, pc_err *e)
{
    memset(s, 0, offsetof(dsrc, in));
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
            ZSTD_isError(ZSTD_DCtx_setParameter(s->z, ZSTD_d_windowLogMax, PC_PCZ_WINDOW_LOG)))
            return pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the zstd decoder");
    } else if (codec == PC_PCZ_XZ) {
        lzma_stream init = LZMA_STREAM_INIT;
        s->x = init;
        /* A 4 MiB dictionary needs about 5 MiB; refuse anything heavier. */
        if (lzma_stream_decoder(&s->x, 8u << 20, 0) != LZMA_OK)
            return pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the xz decoder");
        s->xinit = true;
    } else if (codec != PC_PCZ_RAW) {
        return pc_fail(e, PC_ERR_PATCH, "patch: %s stream has unknown codec %d", name, codec);
    } else if (comp != raw) {
        return pc_fail(e, PC_ERR_PATCH, "patch: raw %s stream sizes disagree", name);
    }
    return PC_OK;
}

static void dsrc_close(dsrc *s)
{
    ZSTD_freeDStream(s->z);
    s->z = NULL;
    if (s->xinit)
        lzma_end(&s->x);
    s->xinit = false;
}

/* Refill the compressed input buffer. */
static pc_status fill_in(dsrc *s, pc_err *e)
{
    if (s->in_pos < s->in_len || s->comp_left == 0)
        return PC_OK;
    size_t want = s->comp_left < BUF ? (size_t)s->comp_left : BUF;
    ssize_t r;
    do
        r = pread(s->fd, s->in, want, (off_t)s->off);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return pc_fail(e, PC_ERR_IO, "patch: read: %s", strerror(errno));
    if (r == 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: file is truncated (%s stream)", s->name);
    s->in_pos = 0;
    s->in_len = (size_t)r;
    s->off += (uint64_t)r;
    s->comp_left -= (uint64_t)r;
    return PC_OK;
}

/* Decode more output into s->out. */
static pc_status fill_out(dsrc *s, pc_err *e)
{
    s->out_pos = s->out_len = 0;
    while (s->out_len == 0) {
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
            memcpy(s->out, s->in + s->in_pos, n);
            s->in_pos += n;
            s->out_len = n;
        } else if (s->codec == PC_PCZ_ZSTD) {
            if (s->ended)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
            ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
            ZSTD_outBuffer ob = {s->out, BUF, 0};
            size_t rc = ZSTD_decompressStream(s->z, &ob, &ib);
            if (ZSTD_isError(rc))
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: zstd: %s", s->name,
                               ZSTD_getErrorName(rc));
            if (rc == 0)
                s->ended = true;
            if (ob.pos == 0 && ib.pos == s->in_pos && no_input)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
            s->in_pos = ib.pos;
            s->out_len = ob.pos;
        } else {
            if (s->ended)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream ends too early", s->name);
            s->x.next_in = s->in + s->in_pos;
            s->x.avail_in = s->in_len - s->in_pos;
            s->x.next_out = s->out;
            s->x.avail_out = BUF;
            lzma_ret rc = lzma_code(&s->x, no_input ? LZMA_FINISH : LZMA_RUN);
            s->in_pos = s->in_len - s->x.avail_in;
            s->out_len = BUF - s->x.avail_out;
            if (rc == LZMA_STREAM_END)
                s->ended = true;
            else if (rc == LZMA_MEMLIMIT_ERROR)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream needs too much memory", s->name);
            else if (rc != LZMA_OK)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream: xz error %d", s->name, (int)rc);
            else if (s->out_len == 0 && no_input)
                return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is truncated", s->name);
        }
        if (s->out_len > s->raw_left)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s stream is longer than its header says",
                           s->name);
        s->raw_left -= s->out_len;
    }
    return PC_OK;
}

static pc_status dsrc_read(dsrc *s, uint8_t *dst, size_t n, pc_err *e)
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

static pc_status read_uvarint(dsrc *s, uint64_t *v, pc_err *e)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        pc_status st = dsrc_read(s, &b, 1, e);
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
static pc_status dsrc_finish(dsrc *s, pc_err *e)
{
    if (s->out_pos != s->out_len || s->raw_left != 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: %s stream holds more data than the control uses",
                       s->name);
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

/* Write and hash the collected output. */
static pc_status flush(int fd, uint8_t *buf, size_t *used, pc_sha256_ctx *sha, pc_err *e)
{
    if (*used && pc_write_all(fd, buf, *used) != 0)
        return pc_fail(e, PC_ERR_IO, "patch: write: %s", strerror(errno));
    pc_sha256_update(sha, buf, *used);
    *used = 0;
    return PC_OK;
}

pc_status pc_pcz_apply_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                          const pc_patch_expect *expect, uint64_t *new_size_out,
                          uint8_t new_sha256[32], pc_err *e)
{
    uint8_t h[PC_PCZ_HEADER];
    struct stat sb;
    if (fstat(patch_fd, &sb) != 0)
        return pc_fail(e, PC_ERR_IO, "patch: %s", strerror(errno));
    uint64_t psize = (uint64_t)sb.st_size;
    if (psize < PC_PCZ_HEADER || pread(patch_fd, h, PC_PCZ_HEADER, 0) != PC_PCZ_HEADER)
        return pc_fail(e, PC_ERR_PATCH, "patch: shorter than the %d-byte pcz header",
                       PC_PCZ_HEADER);
    if (memcmp(h, PC_PCZ_MAGIC, 4) != 0 || (h[4] | h[5] | h[6] | h[7]) != 0)
        return pc_fail(e, PC_ERR_UNSUPPORTED, "patch: not a pcz version 1 patch");
    uint64_t osz = pc_get_le64(h + 8), nsz = pc_get_le64(h + 16);
    if (osz != old_size)
        return pc_fail(e, PC_ERR_PATCH, "patch: made for an old file of %llu bytes, not %llu",
                       (unsigned long long)osz, (unsigned long long)old_size);
    if (nsz > PC_PATCH_NEW_MAX)
        return pc_fail(e, PC_ERR_PATCH, "patch: claims an output of %llu bytes",
                       (unsigned long long)nsz);
    if (expect && expect->has_size && expect->new_size != nsz)
        return pc_fail(e, PC_ERR_PATCH, "patch: produces %llu bytes, but the metadata expects %llu",
                       (unsigned long long)nsz, (unsigned long long)expect->new_size);
    if (expect && expect->has_sha && memcmp(expect->new_sha256, h + 56, 32) != 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: produces another file than the metadata expects");
    uint8_t osha[32];
    if (expect && expect->has_old_sha)
        memcpy(osha, expect->old_sha256, 32);
    else
        pc_sha256(old, (size_t)old_size, osha);
    if (memcmp(osha, h + 24, 32) != 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: made for another old file (SHA-256 differs)");
    uint64_t comp[3], raw[3], off = PC_PCZ_HEADER;
    int codec[3];
    static const char *names[3] = {"control", "diff", "extra"};
    for (int i = 0; i < 3; i++) {
        const uint8_t *d = h + 88 + 24 * i;
        codec[i] = d[0];
        for (int k = 1; k < 8; k++)
            if (d[k])
                return pc_fail(e, PC_ERR_PATCH, "patch: reserved header bytes are not zero");
        comp[i] = pc_get_le64(d + 8);
        raw[i] = pc_get_le64(d + 16);
        if (!pc_add_u64(off, comp[i], &off))
            return pc_fail(e, PC_ERR_PATCH, "patch: stream lengths overflow");
    }
    if (off != psize)
        return pc_fail(e, PC_ERR_PATCH, "patch: stream lengths (%llu) do not match the file (%llu)",
                       (unsigned long long)off, (unsigned long long)psize);
    if (raw[1] > nsz || raw[2] > nsz)
        return pc_fail(e, PC_ERR_PATCH, "patch: diff or extra stream larger than the new file");

    pc_status st = PC_OK;
    dsrc *s = calloc(3, sizeof *s);
    uint8_t *buf = malloc(BUF);
    pc_sha256_ctx sha;
    pc_sha256_init(&sha);
    if (!s || !buf) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    off = PC_PCZ_HEADER;
    for (int i = 0; i < 3 && st == PC_OK; i++) {
        st = dsrc_open(&s[i], codec[i], patch_fd, off, comp[i], raw[i], names[i], e);
        off += comp[i];
    }
    uint64_t newpos = 0;
    int64_t oldpos = 0;
    size_t used = 0;
    while (st == PC_OK && newpos < nsz) {
        uint64_t add, copy, zz;
        if ((st = read_uvarint(&s[0], &add, e)) || (st = read_uvarint(&s[0], &copy, e)) ||
            (st = read_uvarint(&s[0], &zz, e)))
            break;
        int64_t seek = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        if (add > nsz - newpos || copy > nsz - newpos - add) {
            st = pc_fail(e, PC_ERR_PATCH, "patch: control entry runs past the new size");
            break;
        }
        /* Output collects in buf and is written a full buffer at a time:
         * control entries are often only a few bytes long. */
        for (uint64_t done = 0; st == PC_OK && done < add;) {
            size_t n = add - done < BUF - used ? (size_t)(add - done) : BUF - used;
            uint8_t *dst = buf + used;
            if ((st = dsrc_read(&s[1], dst, n, e)))
                break;
            for (size_t i = 0; i < n; i++) {
                int64_t op = oldpos + (int64_t)(done + i);
                if (op >= 0 && (uint64_t)op < old_size)
                    dst[i] = (uint8_t)(dst[i] + old[op]);
            }
            used += n;
            done += n;
            if (used == BUF)
                st = flush(out_fd, buf, &used, &sha, e);
        }
        for (uint64_t done = 0; st == PC_OK && done < copy;) {
            size_t n = copy - done < BUF - used ? (size_t)(copy - done) : BUF - used;
            if ((st = dsrc_read(&s[2], buf + used, n, e)))
                break;
            used += n;
            done += n;
            if (used == BUF)
                st = flush(out_fd, buf, &used, &sha, e);
        }
        newpos += add + copy;
        if (st == PC_OK && (__builtin_add_overflow(oldpos, (int64_t)add, &oldpos) ||
                            __builtin_add_overflow(oldpos, seek, &oldpos) ||
                            oldpos > (int64_t)PC_PATCH_NEW_MAX ||
                            oldpos < -(int64_t)PC_PATCH_NEW_MAX))
            st = pc_fail(e, PC_ERR_PATCH, "patch: control entry seeks out of range");
    }
    for (int i = 0; i < 3 && st == PC_OK; i++)
        st = dsrc_finish(&s[i], e);
    if (st == PC_OK)
        st = flush(out_fd, buf, &used, &sha, e);
out:;
    uint8_t digest[32];
    pc_sha256_final(&sha, digest);
    if (st == PC_OK && memcmp(digest, h + 56, 32) != 0)
        st = pc_fail(e, PC_ERR_HASH, "patch: result differs from the SHA-256 in its header");
    if (st == PC_OK) {
        *new_size_out = nsz;
        memcpy(new_sha256, digest, 32);
    }
    if (s)
        for (int i = 0; i < 3; i++)
            dsrc_close(&s[i]);
    free(s);
    free(buf);
    return st;
}
