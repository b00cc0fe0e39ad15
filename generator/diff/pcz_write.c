/* pcz_write.c — write a version-2 pcz patch (docs/format.md §7). Mode 0: the
 * control triples as three varint columns, the diff bytes as zero-run
 * tokens of 16-bit word differences, and the extra bytes; each stream
 * stored raw, as zstd or as xz, whichever is smallest, the candidates
 * compressed on two threads. Mode 2: the same over the x86-filtered files
 * pc_diff_compute made. Mode 1, when smaller: the zstd frame over the
 * old file that pc_diff_compute made (lzparse.c). */
#include <errno.h>
#include <lzma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "pcz_write.h"
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

/* ---- the diff stream: zero-run tokens ------------------------------------ */

/* A token is (zero run, literal count, literals); a literal run is cut at
 * LIT_MAX bytes so the pending literals stay small. */
#define LIT_MAX 65536

typedef struct tokenizer {
    buf *out;
    uint64_t zeros;
    size_t nlit;
    uint8_t lit[LIT_MAX];
} tokenizer;

static int tok_flush(tokenizer *t)
{
    if (t->zeros == 0 && t->nlit == 0)
        return 0;
    int r = put_uvarint(t->out, t->zeros) || put_uvarint(t->out, t->nlit) ||
            put(t->out, t->lit, t->nlit);
    t->zeros = 0;
    t->nlit = 0;
    return r;
}

static int tok_push(tokenizer *t, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (d[i] == 0) {
            if (t->nlit && tok_flush(t))
                return -1;
            size_t k = i;
            while (k + 8 <= n) { /* zero runs are most of a diff stream */
                uint64_t w;
                memcpy(&w, d + k, 8);
                if (w)
                    break;
                k += 8;
            }
            while (k < n && d[k] == 0)
                k++;
            t->zeros += k - i;
            i = k;
        } else {
            t->lit[t->nlit++] = d[i++];
            if (t->nlit == LIT_MAX && tok_flush(t))
                return -1;
        }
    }
    return 0;
}

/* Diff bytes of one add run (new[np..np+len) against old from op): 16-bit
 * little-endian word differences at even new positions, byte differences
 * for a byte without its partner in the run; old bytes outside the old
 * file count as 0. */
static int diff_run(tokenizer *t, const uint8_t *old, int64_t on, int64_t op, const uint8_t *nw,
                    uint64_t np, uint64_t len)
{
    uint8_t tmp[65536];
    uint64_t i = 0;
    while (i < len) {
        size_t n = 0;
        while (i < len && n + 2 <= sizeof tmp) {
            int64_t q = op + (int64_t)i;
            uint8_t o0 = (q >= 0 && q < on) ? old[q] : 0;
            uint8_t n0 = nw[np + i];
            if (((np + i) & 1) == 0 && i + 1 < len) {
                uint8_t o1 = (q + 1 >= 0 && q + 1 < on) ? old[q + 1] : 0;
                uint8_t n1 = nw[np + i + 1];
                tmp[n++] = (uint8_t)(n0 - o0);
                tmp[n++] = (uint8_t)(n1 - o1 - (n0 < o0));
                i += 2;
            } else {
                tmp[n++] = (uint8_t)(n0 - o0);
                i++;
            }
        }
        if (tok_push(t, tmp, n))
            return -1;
    }
    return 0;
}

/* ---- compression candidates ---------------------------------------------- */

typedef struct stream {
    buf raw;
    int wlog; /* window cap (log2) */
    uint8_t *zstd, *xz;
    size_t zlen, xlen;
} stream;

/* Streams up to this size are tried with zstd too; above it xz has always
 * won on patch data, and the trial would cost more time than it saves. */
#define ZSTD_TRY_MAX (64u << 10)

/* A stream from this size on is compressed as two xz blocks on two threads
 * (the second block starts with an empty dictionary: about 0.3 % larger). */
#define XZ_SPLIT_MIN (512u << 10)

static unsigned window_for(size_t n, int cap)
{
    unsigned w = 12;
    while (w < (unsigned)cap && ((size_t)1 << w) < n)
        w++;
    return w;
}

/* zstd at level 19, window within the cap; NULL on failure. */
static uint8_t *zstd_pack(const buf *in, int wlog, size_t *out_len)
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
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, (int)window_for(in->len, wlog));
    size_t r = ZSTD_compress2(c, o, cap, in->p ? in->p : (const uint8_t *)"", in->len);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r)) {
        free(o);
        return NULL;
    }
    *out_len = r;
    return o;
}

/* xz: LZMA2 at preset 9 with pb=0 (patch streams have no 4-byte structure),
 * the dictionary no larger than the stream (so the reader needs little
 * memory), no integrity check (the container's SHA-256 covers the result);
 * a large stream in two blocks compressed side by side. */
static uint8_t *xz_pack(const buf *in, int wlog, size_t *out_len)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 9))
        return NULL;
    opt.dict_size = 1u << window_for(in->len, wlog);
    opt.pb = 0;
    lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t cap = lzma_stream_buffer_bound(in->len);
    uint8_t *o = malloc(cap);
    const uint8_t *src = in->p ? in->p : (const uint8_t *)"";
    size_t pos = 0;
    if (o == NULL)
        return NULL;
    if (in->len < XZ_SPLIT_MIN) {
        if (lzma_stream_buffer_encode(filters, LZMA_CHECK_NONE, NULL, src, in->len, o, &pos,
                                      cap) != LZMA_OK) {
            free(o);
            return NULL;
        }
        *out_len = pos;
        return o;
    }
    lzma_mt mt = {.threads = 2, .block_size = (in->len + 1) / 2, .filters = filters,
                  .check = LZMA_CHECK_NONE};
    lzma_stream z = LZMA_STREAM_INIT;
    lzma_ret rc = lzma_stream_encoder_mt(&z, &mt);
    if (rc == LZMA_OK) {
        z.next_in = src;
        z.avail_in = in->len;
        z.next_out = o;
        z.avail_out = cap;
        do
            rc = lzma_code(&z, LZMA_FINISH);
        while (rc == LZMA_OK);
    }
    *out_len = cap - z.avail_out;
    lzma_end(&z);
    if (rc != LZMA_STREAM_END) {
        free(o);
        return NULL;
    }
    return o;
}

/* Tasks (stream, codec), largest stream first, shared by two threads. */
typedef struct packer {
    stream *s;
    int order[PC_PCZ_MAX_STREAMS * 2];
    int ntasks, next;
    pthread_mutex_t mu;
} packer;

static void *pack_worker(void *arg)
{
    packer *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int t = p->next < p->ntasks ? p->order[p->next++] : -1;
        pthread_mutex_unlock(&p->mu);
        if (t < 0)
            return NULL;
        stream *s = &p->s[t / 2];
        if (t % 2)
            s->zstd = zstd_pack(&s->raw, s->wlog, &s->zlen);
        else
            s->xz = xz_pack(&s->raw, s->wlog, &s->xlen);
    }
}

static void pack_all(stream *s, int n)
{
    packer p = {.s = s};
    pthread_mutex_init(&p.mu, NULL);
    for (int i = 0; i < n; i++) {
        if (s[i].raw.len == 0)
            continue;
        p.order[p.ntasks++] = 2 * i;
        if (s[i].raw.len <= ZSTD_TRY_MAX)
            p.order[p.ntasks++] = 2 * i + 1;
    }
    for (int i = 1; i < p.ntasks; i++) /* insertion sort, largest first */
        for (int k = i; k > 0 && s[p.order[k] / 2].raw.len > s[p.order[k - 1] / 2].raw.len; k--) {
            int tmp = p.order[k];
            p.order[k] = p.order[k - 1];
            p.order[k - 1] = tmp;
        }
    pthread_t tid;
    bool threaded = pthread_create(&tid, NULL, pack_worker, &p) == 0;
    pack_worker(&p);
    if (threaded)
        pthread_join(tid, NULL);
    pthread_mutex_destroy(&p.mu);
}

/* ---- the patch ------------------------------------------------------------ */

static pc_status build_streams(const pc_diff *d, const uint8_t *old, size_t oldsize,
                               const uint8_t *nw, size_t newsize, stream *s, pc_err *e)
{
    tokenizer *t = malloc(sizeof *t);
    if (t == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "pcz: out of memory");
    t->out = &s[PC_PCZ_DIFF].raw;
    t->zeros = 0;
    t->nlit = 0;
    uint64_t newpos = 0;
    int64_t oldpos = 0;
    int bad = 0;
    for (size_t i = 0; i < d->n && !bad; i++) {
        const pc_ctrl *c = &d->ctrl[i];
        uint64_t zz = ((uint64_t)c->seek << 1) ^ -(uint64_t)(c->seek < 0); /* zigzag */
        bad = put_uvarint(&s[PC_PCZ_ADD].raw, c->add) ||
              put_uvarint(&s[PC_PCZ_COPY].raw, c->copy) || put_uvarint(&s[PC_PCZ_SEEK].raw, zz) ||
              diff_run(t, old, (int64_t)oldsize, oldpos, nw, newpos, c->add) ||
              put(&s[PC_PCZ_EXTRA].raw, nw + newpos + c->add, (size_t)c->copy);
        newpos += c->add + c->copy;
        oldpos += (int64_t)c->add + c->seek;
    }
    bad = bad || tok_flush(t);
    free(t);
    if (bad)
        return pc_fail(e, PC_ERR_NOMEM, "pcz: out of memory");
    if (newpos != newsize)
        return pc_fail(e, PC_ERR_INTERNAL, "pcz: control covers %llu of %zu bytes",
                       (unsigned long long)newpos, newsize);
    return PC_OK;
}

pc_status pc_pcz_write(const pc_diff *d, const uint8_t *old, size_t oldsize, const uint8_t *nw,
                       size_t newsize, const uint8_t old_sha[32], const uint8_t new_sha[32],
                       const char *path, uint64_t *patch_size, pc_err *e)
{
    stream s[PC_PCZ_MAX_STREAMS];
    memset(s, 0, sizeof s);
    for (int i = 0; i < PC_PCZ_MAX_STREAMS; i++)
        s[i].wlog = i < PC_PCZ_DIFF ? PC_PCZ_CTRL_WINDOW_LOG : PC_PCZ_DATA_WINDOW_LOG;
    pc_status st = d->x86k ? build_streams(d, d->xold, oldsize, d->xnew, newsize, s, e)
                           : build_streams(d, old, oldsize, nw, newsize, s, e);
    if (st != PC_OK)
        goto out;
    pack_all(s, PC_PCZ_MAX_STREAMS);
    /* Mode 1 when its frame is smaller than the five streams. */
    size_t streams = 0;
    for (int i = 0; i < PC_PCZ_MAX_STREAMS; i++) {
        size_t b = s[i].raw.len;
        if (s[i].zstd && s[i].zlen < b)
            b = s[i].zlen;
        if (s[i].xz && s[i].xlen < b)
            b = s[i].xlen;
        streams += b;
    }
    bool mode1 = d->zframe && d->zlen < streams;

    uint8_t h[PC_PCZ2_HEADER] = {0};
    const uint8_t *data[PC_PCZ_MAX_STREAMS];
    size_t dlen[PC_PCZ_MAX_STREAMS];
    uint64_t total = sizeof h;
    memcpy(h, PC_PCZ2_MAGIC, 4);
    if (d->x86k && !mode1) {
        h[4] = 2;
        h[5] = (uint8_t)d->x86k;
    }
    pc_put_le64(h + 8, oldsize);
    pc_put_le64(h + 16, newsize);
    memcpy(h + 24, old_sha, 32);
    memcpy(h + 56, new_sha, 32);
    for (int i = 0; i < PC_PCZ_MAX_STREAMS; i++) {
        int codec = PC_PCZ_RAW;
        if (mode1) {
            data[i] = d->zframe;
            dlen[i] = i == 0 ? d->zlen : 0;
            if (i == 0) {
                h[4] = 1;
                h[88] = PC_PCZ_ZSTD_OLD;
                pc_put_le64(h + 96, d->zlen);
                pc_put_le64(h + 104, newsize);
                total += d->zlen;
            }
            continue;
        }
        data[i] = s[i].raw.p;
        dlen[i] = s[i].raw.len;
        if (s[i].zstd && s[i].zlen < dlen[i]) {
            codec = PC_PCZ_ZSTD;
            data[i] = s[i].zstd;
            dlen[i] = s[i].zlen;
        }
        if (s[i].xz && s[i].xlen < dlen[i]) {
            codec = PC_PCZ_XZ;
            data[i] = s[i].xz;
            dlen[i] = s[i].xlen;
        }
        uint8_t *dsc = h + 88 + 24 * i;
        dsc[0] = (uint8_t)codec;
        pc_put_le64(dsc + 8, dlen[i]);
        pc_put_le64(dsc + 16, s[i].raw.len);
        total += dlen[i];
    }
    pc_tmpfile t;
    if ((st = pc_tmpfile_open(&t, path, e)) != PC_OK)
        goto out;
    if (pc_write_all(t.fd, h, sizeof h) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: write: %s", path, strerror(errno));
    for (int i = 0; i < PC_PCZ_MAX_STREAMS && st == PC_OK; i++)
        if (dlen[i] && pc_write_all(t.fd, data[i], dlen[i]) != 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: write: %s", path, strerror(errno));
    st = pc_tmpfile_finish(&t, st, 0644, e);
    if (st == PC_OK)
        *patch_size = total;
out:
    for (int i = 0; i < PC_PCZ_MAX_STREAMS; i++) {
        free(s[i].raw.p);
        free(s[i].zstd);
        free(s[i].xz);
    }
    return st;
}
