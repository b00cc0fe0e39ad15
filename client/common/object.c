/* object.c — unpack zstd-compressed, content-addressed file objects. */
#include "object.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "fileio.h"
#include "hex.h"
#include "sha256.h"

pc_status pc_object_unpack_fd(int src_fd, int dst_fd, uint64_t expected_size,
                              const uint8_t expected_sha[32], pc_err *e)
{
    pc_status st = PC_OK;
    size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
    unsigned char *in = malloc(in_cap), *out = malloc(out_cap);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    pc_sha256_ctx sha;
    pc_sha256_init(&sha);
    uint64_t written = 0;
    size_t ret = 1; /* non-zero until a frame is complete */

    if (!in || !out || !dctx) {
        st = pc_fail(e, PC_ERR_NOMEM, "object: out of memory");
        goto out;
    }
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
                                            PC_OBJECT_WINDOW_LOG_MAX))) {
        st = pc_fail(e, PC_ERR_INTERNAL, "object: cannot set the zstd window limit");
        goto out;
    }
    for (;;) {
        ssize_t n = read(src_fd, in, in_cap);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = pc_fail(e, pc_errno_status(errno), "object: read: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        ZSTD_inBuffer ib = {in, (size_t)n, 0};
        ZSTD_outBuffer ob;
        do {
            if (ret == 0) {
                st = pc_fail(e, PC_ERR_FORMAT, "object: data after the end of the zstd frame");
                goto out;
            }
            ob = (ZSTD_outBuffer){out, out_cap, 0};
            ret = ZSTD_decompressStream(dctx, &ob, &ib);
            if (ZSTD_isError(ret)) {
                st = pc_fail(e, PC_ERR_FORMAT, "object: zstd: %s", ZSTD_getErrorName(ret));
                goto out;
            }
            if (ob.pos > expected_size - written) {
                st = pc_fail(e, PC_ERR_TOO_LARGE,
                             "object: content is larger than the %llu bytes in the manifest",
                             (unsigned long long)expected_size);
                goto out;
            }
            pc_sha256_update(&sha, out, ob.pos);
            if (pc_write_all(dst_fd, out, ob.pos) != 0) {
                st = pc_fail(e, pc_errno_status(errno), "object: write: %s", strerror(errno));
                goto out;
            }
            written += ob.pos;
            /* A full output buffer may mean the decoder holds more. */
        } while (ib.pos < ib.size || (ob.pos == ob.size && ret != 0));
    }
    if (ret != 0) {
        st = pc_fail(e, PC_ERR_FORMAT, "object: truncated zstd frame (%llu bytes decoded)",
                     (unsigned long long)written);
        goto out;
    }
    if (written != expected_size) {
        st = pc_fail(e, PC_ERR_FORMAT, "object: content is %llu bytes, the manifest says %llu",
                     (unsigned long long)written, (unsigned long long)expected_size);
        goto out;
    }
out:;
    uint8_t got[32];
    pc_sha256_final(&sha, got);
    if (st == PC_OK && memcmp(got, expected_sha, 32) != 0) {
        char gh[65], wh[65];
        pc_hex_encode(got, 32, gh);
        pc_hex_encode(expected_sha, 32, wh);
        st = pc_fail(e, PC_ERR_HASH, "object: content has SHA-256 %s, expected %s", gh, wh);
    }
    ZSTD_freeDCtx(dctx);
    free(in);
    free(out);
    return st;
}

pc_status pc_object_unpack_file(const char *src, const char *dst, unsigned mode,
                                uint64_t expected_size, const uint8_t expected_sha[32],
                                pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", src,
                       strerror(errno));
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open(&t, dst, e);
    if (st == PC_OK) {
        st = pc_object_unpack_fd(in, t.fd, expected_size, expected_sha, e);
        if (st != PC_OK)
            pc_fail_prefix(e, "%s: ", src);
        st = pc_tmpfile_finish(&t, st, (mode_t)mode, e);
    }
    close(in);
    return st;
}
