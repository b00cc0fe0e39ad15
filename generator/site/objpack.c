/* objpack.c — zstd-compress file contents into content-addressed objects. */
#include "objpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* the memory estimate for given parameters */
#include <zstd.h>

#include "fileio.h"
#include "object.h"

static pc_status compress_fd(int in, int out, uint64_t size, int level, uint64_t *csize,
                             pc_err *e)
{
    pc_status st = PC_OK;
    size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
    unsigned char *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    uint64_t total = 0, seen = 0;
    if (!ibuf || !obuf || !cctx) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, PC_OBJECT_WINDOW_LOG_MAX)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, size))) {
        st = pc_fail(e, PC_ERR_INVALID, "zstd: bad compression parameters (level %d)", level);
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, ibuf, in_cap);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = pc_fail(e, pc_errno_status(errno), "read: %s", strerror(errno));
            goto out;
        }
        seen += (uint64_t)n;
        ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer ib = {ibuf, (size_t)n, 0};
        size_t remaining;
        do {
            ZSTD_outBuffer ob = {obuf, out_cap, 0};
            remaining = ZSTD_compressStream2(cctx, &ob, &ib, mode);
            if (ZSTD_isError(remaining)) {
                st = pc_fail(e, PC_ERR_IO, "zstd: %s (did the file change while read?)",
                             ZSTD_getErrorName(remaining));
                goto out;
            }
            if (pc_write_all(out, obuf, ob.pos) != 0) {
                st = pc_fail(e, pc_errno_status(errno), "write: %s", strerror(errno));
                goto out;
            }
            total += ob.pos;
        } while (mode == ZSTD_e_end ? remaining != 0 : ib.pos < ib.size);
        if (n == 0)
            break;
    }
    if (seen != size) {
        st = pc_fail(e, PC_ERR_IO, "file changed size while read (%llu, then %llu bytes)",
                     (unsigned long long)size, (unsigned long long)seen);
        goto out;
    }
    *csize = total;
out:
    ZSTD_freeCCtx(cctx);
    free(ibuf);
    free(obuf);
    return st;
}

pc_status pc_object_pack_file(const char *src, const char *dst, int level, uint64_t *csize,
                              pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", src,
                       strerror(errno));
    struct stat sb;
    pc_tmpfile t;
    pc_status st;
    if (fstat(in, &sb) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", src, strerror(errno));
    else if ((st = pc_tmpfile_open(&t, dst, e)) == PC_OK) {
        st = compress_fd(in, t.fd, (uint64_t)sb.st_size, level, csize, e);
        if (st != PC_OK)
            pc_fail_prefix(e, "%s: ", src);
        st = pc_tmpfile_finish(&t, st, 0644, e);
    }
    close(in);
    return st;
}

uint64_t pc_object_pack_memory(int level, uint64_t size)
{
    /* (a size hint of 0 means "unknown" to zstd: an empty file is tiny) */
    ZSTD_compressionParameters cp = ZSTD_getCParams(level, size ? size : 1, 0);
    if (cp.windowLog > PC_OBJECT_WINDOW_LOG_MAX)
        cp.windowLog = PC_OBJECT_WINDOW_LOG_MAX;
    cp = ZSTD_adjustCParams(cp, size ? size : 1, 0);
    size_t est = ZSTD_estimateCStreamSize_usingCParams(cp);
    return (uint64_t)(ZSTD_isError(est) ? 256u << 20 : est) + ZSTD_CStreamInSize() +
           ZSTD_CStreamOutSize() + (1u << 20);
}
