/* bsdiff40.c — the BSDIFF40 writer: bsdiff's header and three bzip2
 * streams (control triples, diff bytes, extra bytes), byte-compatible with
 * Debian's bspatch. */
#include <bzlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bsdiff40.h"
#include "bspatch.h"
#include "fileio.h"

typedef struct bzbuf {
    bz_stream bz;
    char *data;
    size_t len, cap;
} bzbuf;

/* Block size in 100 kB: 9 for the control triples; 1 for the diff and
 * extra bytes, where (mostly zeros, then runs of changed bytes) the small
 * blocks' local statistics beat large ones, at less time and memory. */
static pc_status bz_begin(bzbuf *b, int block, pc_err *e)
{
    memset(b, 0, sizeof *b);
    if (BZ2_bzCompressInit(&b->bz, block, 0, 0) != BZ_OK)
        return pc_fail(e, PC_ERR_NOMEM, "bzip2: cannot start the compressor");
    return PC_OK;
}

static pc_status bz_run(bzbuf *b, const void *data, size_t n, int action, pc_err *e)
{
    b->bz.next_in = (char *)data;
    b->bz.avail_in = (unsigned)n;
    for (;;) {
        if (b->cap - b->len < 65536) {
            size_t nc = b->cap ? b->cap * 2 : 1 << 20;
            char *p = realloc(b->data, nc);
            if (p == NULL)
                return pc_fail(e, PC_ERR_NOMEM, "bzip2: out of memory");
            b->data = p;
            b->cap = nc;
        }
        b->bz.next_out = b->data + b->len;
        b->bz.avail_out = (unsigned)(b->cap - b->len);
        int rc = BZ2_bzCompress(&b->bz, action);
        b->len = b->cap - b->bz.avail_out;
        if (action == BZ_RUN) {
            if (rc != BZ_RUN_OK)
                return pc_fail(e, PC_ERR_INTERNAL, "bzip2: compression failed (%d)", rc);
            if (b->bz.avail_in == 0)
                return PC_OK;
        } else {
            if (rc == BZ_STREAM_END)
                return PC_OK;
            if (rc != BZ_FINISH_OK)
                return pc_fail(e, PC_ERR_INTERNAL, "bzip2: compression failed (%d)", rc);
        }
    }
}

/* Feed large inputs in pieces (bz_stream counts in unsigned int). */
static pc_status bz_write(bzbuf *b, const uint8_t *data, size_t n, pc_err *e)
{
    while (n > 0) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        pc_status st = bz_run(b, data, k, BZ_RUN, e);
        if (st != PC_OK)
            return st;
        data += k;
        n -= k;
    }
    return PC_OK;
}

static void bz_end(bzbuf *b)
{
    BZ2_bzCompressEnd(&b->bz);
    free(b->data);
}

pc_status pc_bsdiff40_write(const pc_diff *d, const uint8_t *old, size_t oldsize,
                            const uint8_t *nw, size_t newsize, const char *path,
                            uint64_t *patch_size, pc_err *e)
{
    bzbuf b[3];
    int started = 0;
    pc_status st = PC_OK;
    uint8_t tmp[65536];
    for (; started < 3 && st == PC_OK; started++)
        st = bz_begin(&b[started], started == 0 ? 9 : 1, e);
    if (st != PC_OK) {
        started--;
        goto out;
    }
    uint64_t newpos = 0;
    int64_t oldpos = 0;
    for (size_t i = 0; i < d->n && st == PC_OK; i++) {
        const pc_ctrl *c = &d->ctrl[i];
        uint8_t t[24];
        pc_offtout((int64_t)c->add, t);
        pc_offtout((int64_t)c->copy, t + 8);
        pc_offtout(c->seek, t + 16);
        st = bz_write(&b[0], t, 24, e);
        for (uint64_t k = 0; k < c->add && st == PC_OK;) {
            size_t n = c->add - k < sizeof tmp ? (size_t)(c->add - k) : sizeof tmp;
            for (size_t j = 0; j < n; j++) {
                int64_t op = oldpos + (int64_t)(k + j);
                uint8_t ob = (op >= 0 && (uint64_t)op < oldsize) ? old[op] : 0;
                tmp[j] = (uint8_t)(nw[newpos + k + j] - ob);
            }
            st = bz_write(&b[1], tmp, n, e);
            k += n;
        }
        if (st == PC_OK)
            st = bz_write(&b[2], nw + newpos + c->add, (size_t)c->copy, e);
        newpos += c->add + c->copy;
        oldpos += (int64_t)c->add + c->seek;
    }
    if (st == PC_OK && newpos != newsize)
        st = pc_fail(e, PC_ERR_INTERNAL, "diff: control covers %llu of %zu bytes",
                     (unsigned long long)newpos, newsize);
    for (int i = 0; i < 3 && st == PC_OK; i++)
        st = bz_run(&b[i], NULL, 0, BZ_FINISH, e);
    if (st != PC_OK)
        goto out;
    uint8_t hdr[32];
    memcpy(hdr, "BSDIFF40", 8);
    pc_offtout((int64_t)b[0].len, hdr + 8);
    pc_offtout((int64_t)b[1].len, hdr + 16);
    pc_offtout((int64_t)newsize, hdr + 24);
    pc_tmpfile t;
    if ((st = pc_tmpfile_open(&t, path, e)) != PC_OK)
        goto out;
    if (pc_write_all(t.fd, hdr, 32) || pc_write_all(t.fd, b[0].data, b[0].len) ||
        pc_write_all(t.fd, b[1].data, b[1].len) || pc_write_all(t.fd, b[2].data, b[2].len))
        st = pc_fail(e, pc_errno_status(errno), "%s: write: %s", path, strerror(errno));
    st = pc_tmpfile_finish(&t, st, 0644, e);
    if (st == PC_OK)
        *patch_size = 32 + b[0].len + b[1].len + b[2].len;
out:
    for (int i = 0; i < started; i++)
        bz_end(&b[i]);
    return st;
}

