/* pcz.c — apply pcz patches (versions 1 and 2): the header's checks; mode 0
 * reads the streams side by side (pczstream.c) and writes the output
 * sequentially (sink.c); mode 2 does the same over the x86 filter
 * (x86rel.c: old bytes filtered as read, the output unfiltered in the
 * sink); mode 1 decodes one zstd frame over the old file into the mapped
 * output. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader, ZSTD_d_stableOutBuffer */
#include "pcz.h"

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include "checked.h"
#include "fileio.h"
#include "hex.h"
#include "pczstream.h"
#include "sha256.h"
#include "sink.h"
#include "x86rel.h"

/* ---- version 2's diff stream: zero-run tokens ---------------------------- */

typedef struct tokens {
    pc_pczs *s;
    uint64_t zeros, lits; /* left in the current token */
} tokens;

static pc_status tokens_read(tokens *t, uint8_t *dst, size_t n, pc_err *e)
{
    while (n > 0) {
        if (t->zeros == 0 && t->lits == 0) {
            pc_status st;
            if ((st = pc_pczs_uvarint(t->s, &t->zeros, e)) || (st = pc_pczs_uvarint(t->s, &t->lits, e)))
                return st;
            if (t->zeros == 0 && t->lits == 0)
                return pc_fail(e, PC_ERR_PATCH, "patch: diff stream holds an empty token");
        }
        size_t k;
        if (t->zeros) {
            k = t->zeros < n ? (size_t)t->zeros : n;
            memset(dst, 0, k);
            t->zeros -= k;
        } else {
            k = t->lits < n ? (size_t)t->lits : n;
            pc_status st = pc_pczs_read(t->s, dst, k, e);
            if (st != PC_OK)
                return st;
            t->lits -= k;
        }
        dst += k;
        n -= k;
    }
    return PC_OK;
}

/* ---- the patch ------------------------------------------------------------ */

typedef struct layout {
    int version, nstreams, mode;
    unsigned x86k; /* mode 2: the filter's range (x86rel.h) */
    uint64_t nsz;
    uint8_t new_sha[32], old_sha[32];
    int codec[PC_PCZ_MAX_STREAMS];
    uint64_t comp[PC_PCZ_MAX_STREAMS], raw[PC_PCZ_MAX_STREAMS];
} layout;

static pc_status read_header(int fd, uint64_t old_size, const pc_patch_expect *expect, layout *l,
                             pc_err *e)
{
    uint8_t h[PC_PCZ2_HEADER];
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return pc_fail(e, pc_errno_status(errno), "patch: %s", strerror(errno));
    uint64_t psize = (uint64_t)sb.st_size;
    if (psize < 4 || pread(fd, h, 4, 0) != 4)
        return pc_fail(e, PC_ERR_PATCH, "patch: too short to be a pcz patch");
    size_t hsize;
    if (memcmp(h, PC_PCZ1_MAGIC, 4) == 0) {
        l->version = 1;
        l->nstreams = 3;
        hsize = PC_PCZ1_HEADER;
    } else if (memcmp(h, PC_PCZ2_MAGIC, 4) == 0) {
        l->version = 2;
        l->nstreams = 5;
        hsize = PC_PCZ2_HEADER;
    } else {
        return pc_fail(e, PC_ERR_UNSUPPORTED, "patch: not a pcz patch of version 1 or 2");
    }
    if (psize < hsize || pread(fd, h, hsize, 0) != (ssize_t)hsize)
        return pc_fail(e, PC_ERR_PATCH, "patch: shorter than the %zu-byte pcz header", hsize);
    l->mode = l->version == 2 ? h[4] : 0;
    l->x86k = l->mode == 2 ? h[5] : 0;
    if ((h[6] | h[7]) != 0 || l->mode > 2 || (l->version == 1 && h[4]) ||
        (l->mode != 2 && h[5]))
        return pc_fail(e, PC_ERR_UNSUPPORTED, "patch: pcz version %d with unknown flags",
                       l->version);
    if (l->mode == 2 && (l->x86k < PC_X86_K_MIN || l->x86k > PC_X86_K_MAX))
        return pc_fail(e, PC_ERR_PATCH, "patch: mode 2 with a filter range of 2^%u", l->x86k);
    uint64_t osz = pc_get_le64(h + 8);
    l->nsz = pc_get_le64(h + 16);
    if (osz != old_size)
        return pc_fail(e, PC_ERR_PATCH, "patch: made for an old file of %llu bytes, not %llu",
                       (unsigned long long)osz, (unsigned long long)old_size);
    if (l->nsz > PC_PATCH_NEW_MAX)
        return pc_fail(e, PC_ERR_PATCH, "patch: claims an output of %llu bytes",
                       (unsigned long long)l->nsz);
    if (expect && expect->has_size && expect->new_size != l->nsz)
        return pc_fail(e, PC_ERR_PATCH, "patch: produces %llu bytes, but the metadata expects %llu",
                       (unsigned long long)l->nsz, (unsigned long long)expect->new_size);
    memcpy(l->old_sha, h + 24, 32);
    memcpy(l->new_sha, h + 56, 32);
    if (expect && expect->has_sha && memcmp(expect->new_sha256, l->new_sha, 32) != 0) {
        char got[65], want[65];
        pc_hex_encode(l->new_sha, 32, got);
        pc_hex_encode(expect->new_sha256, 32, want);
        return pc_fail(e, PC_ERR_HASH, "patch: produces SHA-256 %s, expected %s", got, want);
    }
    uint64_t off = hsize;
    for (int i = 0; i < l->nstreams; i++) {
        const uint8_t *d = h + 88 + 24 * i;
        l->codec[i] = d[0];
        for (int k = 1; k < 8; k++)
            if (d[k])
                return pc_fail(e, PC_ERR_PATCH, "patch: reserved header bytes are not zero");
        l->comp[i] = pc_get_le64(d + 8);
        l->raw[i] = pc_get_le64(d + 16);
        if (!pc_add_u64(off, l->comp[i], &off))
            return pc_fail(e, PC_ERR_PATCH, "patch: stream lengths overflow");
    }
    if (off != psize)
        return pc_fail(e, PC_ERR_PATCH, "patch: stream lengths (%llu) do not match the file (%llu)",
                       (unsigned long long)off, (unsigned long long)psize);
    if (l->mode == 1) {
        if (l->codec[0] != PC_PCZ_ZSTD_OLD || l->raw[0] != l->nsz)
            return pc_fail(e, PC_ERR_PATCH, "patch: mode 1 needs one zstd stream of the new size");
        for (int i = 1; i < l->nstreams; i++)
            if (l->codec[i] || l->comp[i] || l->raw[i])
                return pc_fail(e, PC_ERR_PATCH, "patch: mode 1 has data in stream %d", i);
        return PC_OK;
    }
    /* Raw diff bytes (version 1) and extra bytes are at most the new size;
     * a diff token makes at least one byte and takes at most 20 + 1. */
    int diff = l->version == 1 ? 1 : PC_PCZ_DIFF, extra = l->version == 1 ? 2 : PC_PCZ_EXTRA;
    uint64_t diff_max = l->version == 1 ? l->nsz : l->nsz * 21 + 20;
    if (l->nsz > PC_PATCH_NEW_MAX / 21)
        diff_max = UINT64_MAX;
    if (l->raw[diff] > diff_max || l->raw[extra] > l->nsz)
        return pc_fail(e, PC_ERR_PATCH, "patch: diff or extra stream larger than the new file");
    return PC_OK;
}

/* Lane-wise addition of 8-byte words: bytes (lanes of 8 bits, mask
 * 0x80..80) or 16-bit words (mask 0x8000..8000), no carry between lanes. */
static inline uint64_t lanes_add(uint64_t x, uint64_t y, uint64_t high)
{
    return ((x & ~high) + (y & ~high)) ^ ((x ^ y) & high);
}

/* Add old bytes to n diff bytes at dst: new positions from np, old cursor
 * from op. Version 2 adds 16-bit little-endian words at even new positions
 * whose partner is in the same run (run_end: the run's end), bytes
 * elsewhere; old bytes outside the old file count as 0. */
static void add_old(int version, uint8_t *dst, size_t n, uint64_t np, uint64_t run_end,
                    const uint8_t *old, uint64_t old_size, int64_t op)
{
    size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (old_size > 0 && op >= 0 && (uint64_t)op <= old_size && n <= old_size - (uint64_t)op) {
        /* All inside the old file: eight bytes at a time. */
        const uint8_t *o = old + op;
        uint64_t high = 0x8080808080808080ull;
        if (version == 2) {
            high = 0x8000800080008000ull;
            if (np & 1) { /* an odd start has no partner in the run */
                dst[0] = (uint8_t)(dst[0] + o[0]);
                i = 1;
            }
        }
        for (; i + 8 <= n; i += 8) {
            uint64_t x, y;
            memcpy(&x, dst + i, 8);
            memcpy(&y, o + i, 8);
            x = lanes_add(x, y, high);
            memcpy(dst + i, &x, 8);
        }
    }
#endif
    while (i < n) {
        int64_t q = op + (int64_t)i;
        uint8_t o0 = (q >= 0 && (uint64_t)q < old_size) ? old[q] : 0;
        if (version == 2 && ((np + i) & 1) == 0 && np + i + 1 < run_end) {
            uint8_t o1 = (q + 1 >= 0 && (uint64_t)(q + 1) < old_size) ? old[q + 1] : 0;
            unsigned lo = (unsigned)dst[i] + o0;
            dst[i] = (uint8_t)lo;
            dst[i + 1] = (uint8_t)(dst[i + 1] + o1 + (lo >> 8));
            i += 2;
        } else {
            dst[i] = (uint8_t)(dst[i] + o0);
            i++;
        }
    }
}

/* Mode 1: one zstd frame whose prefix is the old file, decoded into the
 * output file mapped at its final size (allocated first, so a full disk is
 * an error, not a fault): no window to buffer, the heap holds only the
 * decoder's context and one block of input. */
#define PIECE (1 << 20)
static pc_status apply_prefix(const layout *l, const uint8_t *old, uint64_t old_size, int patch_fd,
                              int out_fd, uint8_t digest[32], pc_err *e)
{
    uint64_t comp = l->comp[0], nsz = l->nsz, psize = PC_PCZ2_HEADER + comp;
    uint64_t window = (uint64_t)1 << PC_PCZ_OLD_WINDOW_LOG_MAX;
    if (old_size + nsz > window)
        return pc_fail(e, PC_ERR_PATCH, "patch: mode 1 with old and new over %llu bytes",
                       (unsigned long long)window);
    while (window / 2 >= old_size + nsz && window > 1024)
        window /= 2;
    pc_status st = PC_OK;
    uint8_t *pm = mmap(NULL, (size_t)psize, PROT_READ, MAP_PRIVATE, patch_fd, 0), *out = NULL;
    ZSTD_DCtx *dc = NULL;
    if (pm == MAP_FAILED)
        return pc_fail(e, pc_errno_status(errno), "patch: mmap: %s", strerror(errno));
    const uint8_t *src = pm + PC_PCZ2_HEADER;
    ZSTD_frameHeader fh;
    size_t rc = ZSTD_getFrameHeader(&fh, src, (size_t)comp);
    if (rc != 0 || fh.frameType != ZSTD_frame) {
        st = pc_fail(e, PC_ERR_PATCH, "patch: mode 1 stream is no zstd frame");
        goto out;
    }
    if (fh.frameContentSize != nsz || fh.dictID != 0) {
        st = pc_fail(e, PC_ERR_PATCH, "patch: zstd frame disagrees with the header");
        goto out;
    }
    if (fh.windowSize > window) {
        st = pc_fail(e, PC_ERR_PATCH, "patch: zstd window of %llu bytes is larger than old and new",
                     (unsigned long long)fh.windowSize);
        goto out;
    }
    rc = ZSTD_findFrameCompressedSize(src, (size_t)comp);
    if (ZSTD_isError(rc) || rc != comp) {
        st = pc_fail(e, PC_ERR_PATCH, "patch: zstd frame is truncated or followed by data");
        goto out;
    }
    if (nsz > 0) {
        struct statvfs vs;
        /* (a file system that reports no size, like memfd's, has no limit) */
        if (fstatvfs(out_fd, &vs) == 0 && vs.f_blocks > 0 &&
            (uint64_t)vs.f_bavail * vs.f_frsize < nsz) {
            st = pc_fail(e, PC_ERR_NO_SPACE, "patch: no room for the %llu-byte result",
                         (unsigned long long)nsz);
            goto out;
        }
        int err = ftruncate(out_fd, (off_t)nsz) ? errno : posix_fallocate(out_fd, 0, (off_t)nsz);
        if (err) {
            st = pc_fail(e, pc_errno_status(err), "patch: cannot allocate the result: %s", strerror(err));
            goto out;
        }
        out = mmap(NULL, (size_t)nsz, PROT_READ | PROT_WRITE, MAP_SHARED, out_fd, 0);
        if (out == MAP_FAILED) {
            out = NULL;
            st = pc_fail(e, pc_errno_status(errno), "patch: mmap: %s", strerror(errno));
            goto out;
        }
#ifdef MADV_POPULATE_WRITE
        /* One call maps every page writable instead of a fault per page
         * (Linux 5.14+; older kernels refuse it and fault as before). */
        (void)madvise(out, (size_t)nsz, MADV_POPULATE_WRITE);
#endif
    }
    /* Streaming into the whole output (stable buffer: no window buffer),
     * a piece of input at a time, the hasher following the output. */
    dc = ZSTD_createDCtx();
    if (dc == NULL || ZSTD_isError(ZSTD_DCtx_refPrefix(dc, old, (size_t)old_size)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_stableOutBuffer, 1)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, PC_PCZ_OLD_WINDOW_LOG_MAX))) {
        st = pc_fail(e, PC_ERR_NOMEM, "patch: cannot start the zstd decoder");
        goto out;
    }
    uint8_t none;
    ZSTD_outBuffer ob = {out ? out : &none, (size_t)nsz, 0};
    ZSTD_inBuffer ib = {src, 0, 0};
    pc_follow f;
    pc_follow_start(&f, ob.dst);
    for (;;) {
        size_t before = ib.pos;
        ib.size = comp - ib.size > PIECE ? ib.size + PIECE : (size_t)comp;
        rc = ZSTD_decompressStream(dc, &ob, &ib);
        if (ZSTD_isError(rc)) {
            st = pc_fail(e, PC_ERR_PATCH, "patch: zstd: %s", ZSTD_getErrorName(rc));
            break;
        }
        pc_follow_ready(&f, ob.pos);
        if (rc == 0)
            break;
        if (ib.size == comp && ib.pos == before) {
            st = pc_fail(e, PC_ERR_PATCH, "patch: zstd frame is truncated");
            break;
        }
    }
    pc_follow_finish(&f, ob.pos, digest);
    if (st == PC_OK && (ob.pos != nsz || ib.pos != comp))
        st = pc_fail(e, PC_ERR_PATCH, "patch: zstd frame makes %zu bytes, not %llu", ob.pos,
                     (unsigned long long)nsz);
out:
    ZSTD_freeDCtx(dc);
    if (out)
        munmap(out, (size_t)nsz);
    munmap(pm, (size_t)psize);
    return st;
}

/* Mode 2's output filter: the new file's position so far and the range. */
typedef struct x86_out {
    uint64_t pos;
    unsigned k;
} x86_out;

static size_t x86_unfilter(void *ctx, uint8_t *p, size_t n, bool end)
{
    x86_out *x = ctx;
    size_t r = pc_x86_filter(p, n, x->pos, x->k, false, end);
    x->pos += r;
    return r;
}

static pc_status read_triple(const layout *l, pc_pczs *s, uint64_t *add, uint64_t *copy,
                             int64_t *seek, pc_err *e)
{
    uint64_t zz;
    pc_status st;
    pc_pczs *a = &s[0], *c = l->version == 1 ? &s[0] : &s[PC_PCZ_COPY],
         *k = l->version == 1 ? &s[0] : &s[PC_PCZ_SEEK];
    if ((st = pc_pczs_uvarint(a, add, e)) || (st = pc_pczs_uvarint(c, copy, e)) ||
        (st = pc_pczs_uvarint(k, &zz, e)))
        return st;
    *seek = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    return PC_OK;
}

/* The old file's SHA-256, on its own thread while the patch is applied:
 * compared with the header's at the end, it tells a patch made for another
 * old file (or a header altered there) apart from a damaged one. */
typedef struct old_check {
    const uint8_t *old;
    uint64_t size;
    uint8_t sha[32];
    bool threaded;
    pthread_t tid;
} old_check;

static void *old_hash(void *arg)
{
    old_check *c = arg;
    pc_sha256(c->old ? c->old : (const uint8_t *)"", (size_t)c->size, c->sha);
    return NULL;
}

static void old_check_start(old_check *c, const uint8_t *old, uint64_t size,
                            const pc_patch_expect *expect)
{
    c->old = old;
    c->size = size;
    if (expect && expect->has_old_sha) { /* the caller vouches for it */
        memcpy(c->sha, expect->old_sha256, 32);
        c->threaded = false;
        return;
    }
    c->threaded = size >= (1 << 20) && pthread_create(&c->tid, NULL, old_hash, c) == 0;
    if (!c->threaded)
        old_hash(c);
}

static void old_check_join(old_check *c)
{
    if (c->threaded)
        pthread_join(c->tid, NULL);
    c->threaded = false;
}

/* The outcome: the old file first, then the result against the header. */
static pc_status check_result(const layout *l, pc_status st, old_check *oc,
                              const uint8_t digest[32], uint64_t *new_size_out,
                              uint8_t new_sha256[32], pc_err *e)
{
    old_check_join(oc);
    if (memcmp(oc->sha, l->old_sha, 32) != 0)
        st = pc_fail(e, PC_ERR_PATCH, "patch: made for another old file (SHA-256 differs)");
    else if (st == PC_OK && memcmp(digest, l->new_sha, 32) != 0)
        st = pc_fail(e, PC_ERR_HASH, "patch: result differs from the SHA-256 in its header");
    if (st == PC_OK) {
        *new_size_out = l->nsz;
        memcpy(new_sha256, digest, 32);
    }
    return st;
}

pc_status pc_pcz_apply_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                          const pc_patch_expect *expect, uint64_t *new_size_out,
                          uint8_t new_sha256[32], pc_err *e)
{
    static const char *names1[3] = {"control", "diff", "extra"};
    static const char *names2[5] = {"add", "copy", "seek", "diff", "extra"};
    layout l;
    pc_status st = read_header(patch_fd, old_size, expect, &l, e);
    if (st != PC_OK)
        return st;
    uint8_t digest[32] = {0};
    old_check oc;
    old_check_start(&oc, old, old_size, expect);
    if (l.mode == 1) {
        st = apply_prefix(&l, old, old_size, patch_fd, out_fd, digest, e);
        return check_result(&l, st, &oc, digest, new_size_out, new_sha256, e);
    }
    int diff = l.version == 1 ? 1 : PC_PCZ_DIFF, extra = l.version == 1 ? 2 : PC_PCZ_EXTRA;
    uint64_t newpos = 0, nsz = l.nsz;
    int64_t oldpos = 0;
    pc_pczs *s = calloc((size_t)l.nstreams, sizeof *s);
    tokens tk = {.s = s ? &s[diff] : NULL};
    pc_sink k;
    /* Mode 2: the old bytes through the filter, the output back through it. */
    pc_x86_view *xv = NULL;
    uint8_t *xold = NULL;
    x86_out xo = {0, l.x86k};
    if ((st = pc_sink_init(&k, out_fd, e)) != PC_OK)
        goto out;
    if (l.mode == 2) {
        xv = pc_x86_view_new(old, old_size, l.x86k);
        xold = malloc(PC_X86_BLOCK);
        k.filter = x86_unfilter;
        k.fctx = &xo;
    }
    if (!s || (l.mode == 2 && (!xv || !xold))) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    uint64_t off = l.version == 1 ? PC_PCZ1_HEADER : PC_PCZ2_HEADER;
    for (int i = 0; i < l.nstreams && st == PC_OK; i++) {
        int wlog = l.version == 1 ? PC_PCZ1_WINDOW_LOG
                   : i < PC_PCZ_DIFF ? PC_PCZ_CTRL_WINDOW_LOG
                                     : PC_PCZ_DATA_WINDOW_LOG;
        st = pc_pczs_open(&s[i], l.codec[i], patch_fd, off, l.comp[i], l.raw[i], wlog,
                       l.version == 1 ? names1[i] : names2[i], e);
        off += l.comp[i];
    }
    while (st == PC_OK && newpos < nsz) {
        uint64_t add, copy;
        int64_t seek;
        if ((st = read_triple(&l, s, &add, &copy, &seek, e)))
            break;
        if (add > nsz - newpos || copy > nsz - newpos - add) {
            st = pc_fail(e, PC_ERR_PATCH, "patch: control entry runs past the new size");
            break;
        }
        for (uint64_t done = 0; st == PC_OK && done < add;) {
            size_t room = pc_sink_room(&k);
            size_t n = add - done < room ? (size_t)(add - done) : room;
            /* Keep word pairs whole: a piece ends at an even position. */
            if (l.version == 2 && done + n < add && ((newpos + done + n) & 1))
                n--;
            uint8_t *dst = pc_sink_ptr(&k);
            st = l.version == 1 ? pc_pczs_read(&s[diff], dst, n, e) : tokens_read(&tk, dst, n, e);
            if (st != PC_OK)
                break;
            if (xv) { /* a block of filtered old bytes at a time, ending even */
                for (size_t i = 0, m; i < n; i += m) {
                    m = PC_X86_BLOCK - ((newpos + done + i) & 1);
                    if (m > n - i)
                        m = n - i;
                    pc_x86_view_read(xv, oldpos + (int64_t)(done + i), m, xold);
                    add_old(l.version, dst + i, m, newpos + done + i, newpos + add, xold, m, 0);
                }
            } else {
                add_old(l.version, dst, n, newpos + done, newpos + add, old, old_size,
                        oldpos + (int64_t)done);
            }
            done += n;
            st = pc_sink_put(&k, n, e);
        }
        for (uint64_t done = 0; st == PC_OK && done < copy;) {
            size_t room = pc_sink_room(&k);
            size_t n = copy - done < room ? (size_t)(copy - done) : room;
            if ((st = pc_pczs_read(&s[extra], pc_sink_ptr(&k), n, e)))
                break;
            done += n;
            st = pc_sink_put(&k, n, e);
        }
        newpos += add + copy;
        if (st == PC_OK && (__builtin_add_overflow(oldpos, (int64_t)add, &oldpos) ||
                            __builtin_add_overflow(oldpos, seek, &oldpos) ||
                            oldpos > (int64_t)PC_PATCH_NEW_MAX ||
                            oldpos < -(int64_t)PC_PATCH_NEW_MAX))
            st = pc_fail(e, PC_ERR_PATCH, "patch: control entry seeks out of range");
    }
    if (st == PC_OK && (tk.zeros || tk.lits))
        st = pc_fail(e, PC_ERR_PATCH, "patch: diff stream holds more data than the control uses");
    for (int i = 0; i < l.nstreams && st == PC_OK; i++)
        st = pc_pczs_finish(&s[i], e);
    if (st == PC_OK)
        st = pc_sink_finish(&k, digest, e);
out:
    st = check_result(&l, st, &oc, digest, new_size_out, new_sha256, e);
    if (s)
        for (int i = 0; i < l.nstreams; i++)
            pc_pczs_close(&s[i]);
    free(s);
    pc_x86_view_free(xv);
    free(xold);
    pc_sink_free(&k);
    return st;
}
