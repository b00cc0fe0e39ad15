/* pcz_write.c — write a pcz patch (docs/format.md §7): varint control,
 * diff and extra streams each stored raw, as zstd or as xz, whichever is
 * smallest; windows capped so the reader stays within its memory bound. */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bsdiff.h"
#include "fileio.h"
#include "pcz.h"
#include "sha256.h"

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static int put(buf *b, const void *d, size_t n)
{
    if (n == 0)
        return 0;
    if (b->cap - b->len < n) {
        size_t nc = b->cap ? b->cap : 65536;
        while (nc - b->len < n)
            nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (q == NULL)
            return -1;
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

static int put_uvarint(buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return put(b, t, n);
}

/* zstd at level 19 with a 4 MiB window; NULL on failure. */
static uint8_t *zstd_pack(const buf *in, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(in->len);
    uint8_t *o = malloc(cap ? cap : 1);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!o || !c) {
        free(o);
        ZSTD_freeCCtx(c);
        return NULL;
    }
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, PC_PCZ_WINDOW_LOG);
    size_t r = ZSTD_compress2(c, o, cap, in->p ? in->p : (const uint8_t *)"", in->len);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r)) {
        free(o);
        return NULL;
    }
    *out_len = r;
    return o;
}

/* xz (LZMA2, preset 9 extreme, 4 MiB dictionary, no integrity check: the
 * container's SHA-256 covers the result). */
static uint8_t *xz_pack(const buf *in, size_t *out_len)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 9 | LZMA_PRESET_EXTREME))
        return NULL;
    opt.dict_size = 1u << PC_PCZ_WINDOW_LOG;
    lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t cap = lzma_stream_buffer_bound(in->len);
    uint8_t *o = malloc(cap);
    size_t pos = 0;
    if (o == NULL || lzma_stream_buffer_encode(filters, LZMA_CHECK_NONE, NULL,
                                               in->p ? in->p : (const uint8_t *)"", in->len, o,
                                               &pos, cap) != LZMA_OK) {
        free(o);
        return NULL;
    }
    *out_len = pos;
    return o;
}

pc_status pc_pcz_write(const pc_diff *d, const uint8_t *old, size_t oldsize, const uint8_t *nw,
                       size_t newsize, const char *path, uint64_t *patch_size, pc_err *e)
{
    buf s[3] = {{0}};
    uint8_t *packed[3] = {0};
    size_t plen[3] = {0};
    int codec[3] = {0};
    pc_status st = PC_OK;
    uint64_t newpos = 0;
    int64_t oldpos = 0;
    for (size_t i = 0; i < d->n && st == PC_OK; i++) {
        const pc_ctrl *c = &d->ctrl[i];
        uint64_t zz = ((uint64_t)c->seek << 1) ^ (uint64_t)(c->seek >> 63);
        if (put_uvarint(&s[0], c->add) || put_uvarint(&s[0], c->copy) || put_uvarint(&s[0], zz)) {
            st = pc_fail(e, PC_ERR_NOMEM, "pcz: out of memory");
            break;
        }
        for (uint64_t k = 0; k < c->add; k++) {
            int64_t op = oldpos + (int64_t)k;
            uint8_t ob = (op >= 0 && (uint64_t)op < oldsize) ? old[op] : 0;
            uint8_t v = (uint8_t)(nw[newpos + k] - ob);
            if (put(&s[1], &v, 1)) {
                st = pc_fail(e, PC_ERR_NOMEM, "pcz: out of memory");
                break;
            }
        }
        if (st == PC_OK && put(&s[2], nw + newpos + c->add, (size_t)c->copy))
            st = pc_fail(e, PC_ERR_NOMEM, "pcz: out of memory");
        newpos += c->add + c->copy;
        oldpos += (int64_t)c->add + c->seek;
    }
    if (st == PC_OK && newpos != newsize)
        st = pc_fail(e, PC_ERR_INTERNAL, "pcz: control covers %llu of %zu bytes",
                     (unsigned long long)newpos, newsize);
    for (int i = 0; i < 3 && st == PC_OK; i++) {
        size_t zl = 0, xl = 0;
        uint8_t *z = zstd_pack(&s[i], &zl), *x = xz_pack(&s[i], &xl);
        packed[i] = s[i].p;
        plen[i] = s[i].len;
        codec[i] = PC_PCZ_RAW;
        if (z && zl < plen[i]) {
            packed[i] = z;
            plen[i] = zl;
            codec[i] = PC_PCZ_ZSTD;
            z = NULL;
        }
        if (x && xl < plen[i]) {
            if (packed[i] != s[i].p)
                free(packed[i]);
            packed[i] = x;
            plen[i] = xl;
            codec[i] = PC_PCZ_XZ;
            x = NULL;
        }
        free(z);
        free(x);
    }
    if (st != PC_OK)
        goto out;
    uint8_t h[PC_PCZ_HEADER] = {0};
    memcpy(h, PC_PCZ_MAGIC, 4);
    pc_put_le64(h + 8, oldsize);
    pc_put_le64(h + 16, newsize);
    pc_sha256(old ? old : (const uint8_t *)"", oldsize, h + 24);
    pc_sha256(nw ? nw : (const uint8_t *)"", newsize, h + 56);
    for (int i = 0; i < 3; i++) {
        uint8_t *dsc = h + 88 + 24 * i;
        dsc[0] = (uint8_t)codec[i];
        pc_put_le64(dsc + 8, plen[i]);
        pc_put_le64(dsc + 16, s[i].len);
    }
    pc_tmpfile t;
    if ((st = pc_tmpfile_open(&t, path, e)) != PC_OK)
        goto out;
    if (pc_write_all(t.fd, h, sizeof h) ||
        (plen[0] && pc_write_all(t.fd, packed[0], plen[0])) ||
        (plen[1] && pc_write_all(t.fd, packed[1], plen[1])) ||
        (plen[2] && pc_write_all(t.fd, packed[2], plen[2])))
        st = pc_fail(e, PC_ERR_IO, "%s: write: %s", path, strerror(errno));
    st = pc_tmpfile_finish(&t, st, 0644, e);
    if (st == PC_OK)
        *patch_size = sizeof h + plen[0] + plen[1] + plen[2];
out:
    for (int i = 0; i < 3; i++) {
        if (packed[i] != s[i].p)
            free(packed[i]);
        free(s[i].p);
    }
    return st;
}
