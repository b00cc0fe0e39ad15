/* bspatch.c — streaming reader of BSDIFF40 patches. The three bzip2 streams
 * (control, diff, extra) are decoded side by side from the same file with
 * pread, each through a fixed buffer; output is written sequentially
 * (sink.c). */
#include "bspatch.h"

#include <bzlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checked.h"
#include "fileio.h"
#include "sink.h"

#define IN_BUF (64 * 1024)

int64_t pc_offtin(const uint8_t buf[8])
{
    uint64_t y = buf[7] & 0x7f;
    for (int i = 6; i >= 0; i--)
        y = y << 8 | buf[i];
    /* y < 2^63 here, so it converts exactly. */
    return (buf[7] & 0x80) ? -(int64_t)y : (int64_t)y;
}

void pc_offtout(int64_t x, uint8_t buf[8])
{
    uint64_t y = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    for (int i = 0; i < 8; i++) {
        buf[i] = (uint8_t)y;
        y >>= 8;
    }
    if (x < 0)
        buf[7] |= 0x80;
}

/* One bzip2 stream inside the patch file: bytes [off, off+len). */
typedef struct bzsrc {
    int fd;
    uint64_t off, left;
    bz_stream bz;
    bool init, ended;
    char in[IN_BUF];
    const char *name;
} bzsrc;

static pc_status src_open(bzsrc *s, int fd, uint64_t off, uint64_t len, const char *name,
                          pc_err *e)
{
    memset(&s->bz, 0, sizeof s->bz);
    s->fd = fd;
    s->off = off;
    s->left = len;
    s->name = name;
    s->ended = false;
    if (BZ2_bzDecompressInit(&s->bz, 0, 0) != BZ_OK)
        return pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the bzip2 decoder");
    s->init = true;
    return PC_OK;
}

static void src_close(bzsrc *s)
{
    if (s->init)
        BZ2_bzDecompressEnd(&s->bz);
    s->init = false;
}

/* Read exactly n bytes of decompressed data. */
static pc_status src_read(bzsrc *s, uint8_t *out, size_t n, pc_err *e)
{
    s->bz.next_out = (char *)out;
    s->bz.avail_out = (unsigned)n;
    while (s->bz.avail_out > 0) {
        if (s->ended)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s block ends too early", s->name);
        if (s->bz.avail_in == 0 && s->left > 0) {
            size_t want = s->left < IN_BUF ? (size_t)s->left : IN_BUF;
            ssize_t r = pread(s->fd, s->in, want, (off_t)s->off);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return pc_fail(e, pc_errno_status(errno), "patch: read: %s", strerror(errno));
            }
            if (r == 0)
                return pc_fail(e, PC_ERR_PATCH, "patch: file is truncated (%s block)", s->name);
            s->bz.next_in = s->in;
            s->bz.avail_in = (unsigned)r;
            s->off += (uint64_t)r;
            s->left -= (uint64_t)r;
        }
        unsigned before_in = s->bz.avail_in, before_out = s->bz.avail_out;
        int rc = BZ2_bzDecompress(&s->bz);
        if (rc == BZ_STREAM_END)
            s->ended = true;
        else if (rc != BZ_OK)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s block is not valid bzip2 data (%d)",
                           s->name, rc);
        if (!s->ended && s->bz.avail_in == 0 && s->left == 0 && s->bz.avail_out > 0 &&
            before_in == s->bz.avail_in && before_out == s->bz.avail_out)
            return pc_fail(e, PC_ERR_PATCH, "patch: %s block is truncated", s->name);
    }
    return PC_OK;
}

/* After the last control entry every stream must end exactly: this checks
 * bzip2's CRC of the tail too, so truncation is never silently accepted. */
static pc_status src_finish(bzsrc *s, pc_err *e)
{
    uint8_t b;
    pc_err scratch = {0};
    pc_status st = src_read(s, &b, 1, &scratch);
    if (st == PC_OK)
        return pc_fail(e, PC_ERR_PATCH, "patch: %s block holds more data than its control uses",
                       s->name);
    if (s->ended)
        return PC_OK;
    return pc_fail(e, st, "%s", scratch.msg);
}

pc_status pc_bspatch_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                        const pc_patch_expect *expect, uint64_t *new_size_out,
                        uint8_t new_sha256[32], pc_err *e)
{
    uint8_t hdr[32];
    struct stat sb;
    if (fstat(patch_fd, &sb) != 0)
        return pc_fail(e, pc_errno_status(errno), "patch: %s", strerror(errno));
    uint64_t psize = (uint64_t)sb.st_size;
    if (psize < 32 || pread(patch_fd, hdr, 32, 0) != 32)
        return pc_fail(e, PC_ERR_PATCH, "patch: shorter than the 32-byte BSDIFF40 header");
    if (memcmp(hdr, "BSDIFF40", 8) != 0)
        return pc_fail(e, PC_ERR_UNSUPPORTED, "patch: not a BSDIFF40 patch");
    int64_t clen = pc_offtin(hdr + 8), dlen = pc_offtin(hdr + 16), nsize = pc_offtin(hdr + 24);
    if (clen < 0 || dlen < 0 || nsize < 0)
        return pc_fail(e, PC_ERR_PATCH, "patch: negative length in the header");
    uint64_t end;
    if (!pc_add_u64(32, (uint64_t)clen, &end) || !pc_add_u64(end, (uint64_t)dlen, &end) ||
        end > psize)
        return pc_fail(e, PC_ERR_PATCH,
                       "patch: header block lengths (%lld + %lld) exceed the file (%llu bytes)",
                       (long long)clen, (long long)dlen, (unsigned long long)psize);
    if ((uint64_t)nsize > PC_PATCH_NEW_MAX)
        return pc_fail(e, PC_ERR_PATCH, "patch: claims an output of %lld bytes", (long long)nsize);
    if (expect && expect->has_size && expect->new_size != (uint64_t)nsize)
        return pc_fail(e, PC_ERR_PATCH,
                       "patch: produces %lld bytes, but the metadata expects %llu",
                       (long long)nsize, (unsigned long long)expect->new_size);

    pc_sink k;
    pc_status st = pc_sink_init(&k, out_fd, e);
    bzsrc *src = calloc(3, sizeof *src);
    if (st != PC_OK)
        goto out;
    if (!src) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = src_open(&src[0], patch_fd, 32, (uint64_t)clen, "control", e)) ||
        (st = src_open(&src[1], patch_fd, 32 + (uint64_t)clen, (uint64_t)dlen, "diff", e)) ||
        (st = src_open(&src[2], patch_fd, end, psize - end, "extra", e)))
        goto out;

    uint64_t newpos = 0;
    int64_t oldpos = 0;
    while (newpos < (uint64_t)nsize) {
        uint8_t c[24];
        if ((st = src_read(&src[0], c, 24, e)))
            goto out;
        int64_t add = pc_offtin(c), copy = pc_offtin(c + 8), seek = pc_offtin(c + 16);
        if (add < 0 || copy < 0 || (uint64_t)add > (uint64_t)nsize - newpos ||
            (uint64_t)copy > (uint64_t)nsize - newpos - (uint64_t)add) {
            st = pc_fail(e, PC_ERR_PATCH,
                         "patch: control entry (%lld, %lld) runs past the new size %lld",
                         (long long)add, (long long)copy, (long long)nsize);
            goto out;
        }
        /* add: diff bytes plus old bytes (where the old file has them) */
        for (uint64_t done = 0; done < (uint64_t)add;) {
            size_t room = pc_sink_room(&k);
            size_t n = (uint64_t)add - done < room ? (size_t)((uint64_t)add - done) : room;
            uint8_t *dst = pc_sink_ptr(&k);
            if ((st = src_read(&src[1], dst, n, e)))
                goto out;
            for (size_t i = 0; i < n; i++) {
                int64_t op = oldpos + (int64_t)(done + i);
                if (op >= 0 && (uint64_t)op < old_size)
                    dst[i] = (uint8_t)(dst[i] + old[op]);
            }
            done += n;
            if ((st = pc_sink_put(&k, n, e)))
                goto out;
        }
        newpos += (uint64_t)add;
        /* copy: extra bytes */
        for (uint64_t done = 0; done < (uint64_t)copy;) {
            size_t room = pc_sink_room(&k);
            size_t n = (uint64_t)copy - done < room ? (size_t)((uint64_t)copy - done) : room;
            if ((st = src_read(&src[2], pc_sink_ptr(&k), n, e)))
                goto out;
            done += n;
            if ((st = pc_sink_put(&k, n, e)))
                goto out;
        }
        newpos += (uint64_t)copy;
        /* seek in the old file; keep oldpos within a sane range so it never
         * overflows (out-of-range positions only mean "no old byte"). */
        if (__builtin_add_overflow(oldpos, add, &oldpos) ||
            __builtin_add_overflow(oldpos, seek, &oldpos) || oldpos > (int64_t)PC_PATCH_NEW_MAX ||
            oldpos < -(int64_t)PC_PATCH_NEW_MAX) {
            st = pc_fail(e, PC_ERR_PATCH, "patch: control entry seeks out of range");
            goto out;
        }
    }
    for (int i = 0; i < 3 && st == PC_OK; i++)
        st = src_finish(&src[i], e);
    uint8_t digest[32];
    if (st == PC_OK)
        st = pc_sink_finish(&k, digest, e);
    if (st == PC_OK) {
        *new_size_out = (uint64_t)nsize;
        memcpy(new_sha256, digest, 32);
    }
out:
    if (src)
        for (int i = 0; i < 3; i++)
            src_close(&src[i]);
    free(src);
    pc_sink_free(&k);
    return st;
}
