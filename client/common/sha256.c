/* sha256.c — SHA-256 of buffers and files through mbedTLS, or through the
 * CPU's SHA extensions (sha256_ni.c) where it has them, checked once. */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "hex.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((pc_sha256_ctx *)0)->u.opaque),
               "pc_sha256_ctx too small for mbedtls_sha256_context");

#define CTX(c) ((mbedtls_sha256_context *)(void *)(c)->u.opaque)

static pthread_once_t ni_once = PTHREAD_ONCE_INIT;
static atomic_bool ni_present; /* (atomic for helgrind, which does not see pthread_once) */
static atomic_bool ni_allowed = true;

static void ni_probe(void)
{
    atomic_store(&ni_present, pc_sha256_ni_usable());
}

void pc_sha256_allow_ni(bool allow)
{
    atomic_store(&ni_allowed, allow);
}

void pc_sha256_init(pc_sha256_ctx *ctx)
{
    pthread_once(&ni_once, ni_probe);
    ctx->use_ni = atomic_load(&ni_present) && atomic_load(&ni_allowed);
    if (ctx->use_ni) {
        static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        memcpy(ctx->u.ni.h, iv, sizeof iv);
        ctx->u.ni.len = 0;
        return;
    }
    mbedtls_sha256_init(CTX(ctx));
    /* Only fails for a bad is224 argument. */
    (void)mbedtls_sha256_starts_ret(CTX(ctx), 0);
}

void pc_sha256_update(pc_sha256_ctx *ctx, const void *data, size_t len)
{
    if (!ctx->use_ni) {
        (void)mbedtls_sha256_update_ret(CTX(ctx), data, len);
        return;
    }
    const uint8_t *p = data;
    size_t have = (size_t)(ctx->u.ni.len & 63);
    ctx->u.ni.len += len;
    if (have > 0) {
        size_t take = 64 - have < len ? 64 - have : len;
        memcpy(ctx->u.ni.buf + have, p, take);
        p += take, len -= take;
        if (have + take < 64)
            return;
        pc_sha256_ni_blocks(ctx->u.ni.h, ctx->u.ni.buf, 1);
    }
    pc_sha256_ni_blocks(ctx->u.ni.h, p, len / 64);
    memcpy(ctx->u.ni.buf, p + (len & ~(size_t)63), len & 63);
}

void pc_sha256_final(pc_sha256_ctx *ctx, uint8_t out[PC_SHA256_LEN])
{
    if (!ctx->use_ni) {
        (void)mbedtls_sha256_finish_ret(CTX(ctx), out);
        mbedtls_sha256_free(CTX(ctx));
        return;
    }
    uint64_t bits = ctx->u.ni.len * 8;
    size_t have = (size_t)(ctx->u.ni.len & 63);
    uint8_t *b = ctx->u.ni.buf;
    b[have++] = 0x80;
    if (have > 56) {
        memset(b + have, 0, 64 - have);
        pc_sha256_ni_blocks(ctx->u.ni.h, b, 1);
        have = 0;
    }
    memset(b + have, 0, 56 - have);
    for (int i = 0; i < 8; i++)
        b[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    pc_sha256_ni_blocks(ctx->u.ni.h, b, 1);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (uint8_t)(ctx->u.ni.h[i] >> (24 - 8 * k));
    memset(ctx, 0, sizeof *ctx);
}

void pc_sha256(const void *data, size_t len, uint8_t out[PC_SHA256_LEN])
{
    pc_sha256_ctx ctx;
    pc_sha256_init(&ctx);
    pc_sha256_update(&ctx, data, len);
    pc_sha256_final(&ctx, out);
}

pc_status pc_sha256_fd(int fd, uint8_t out[PC_SHA256_LEN], uint64_t *size_out)
{
    unsigned char buf[64 * 1024];
    pc_sha256_ctx ctx;
    uint64_t total = 0;
    pc_sha256_init(&ctx);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            pc_sha256_final(&ctx, out);
            errno = saved;
            return PC_ERR_IO;
        }
        if (n == 0)
            break;
        pc_sha256_update(&ctx, buf, (size_t)n);
        total += (uint64_t)n;
    }
    pc_sha256_final(&ctx, out);
    if (size_out)
        *size_out = total;
    return PC_OK;
}

pc_status pc_sha256_file(const char *path, uint8_t out[PC_SHA256_LEN], uint64_t *size_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno);
    pc_status st = pc_sha256_fd(fd, out, size_out);
    int saved = errno;
    close(fd);
    errno = saved;
    return st;
}

void pc_sha256_to_hex(const uint8_t digest[PC_SHA256_LEN], char hex[PC_SHA256_HEX_LEN + 1])
{
    pc_hex_encode(digest, PC_SHA256_LEN, hex);
}

pc_status pc_sha256_from_hex(const char *hex, uint8_t digest[PC_SHA256_LEN])
{
    if (hex == NULL)
        return PC_ERR_INVALID;
    for (size_t i = 0; i < PC_SHA256_HEX_LEN; i++)
        if (hex[i] == '\0')
            return PC_ERR_FORMAT;
    if (hex[PC_SHA256_HEX_LEN] != '\0' || !pc_hex_decode(hex, digest, PC_SHA256_LEN))
        return PC_ERR_FORMAT;
    return PC_OK;
}
