/* sha256.c — SHA-256 of buffers and files through mbedTLS. */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <unistd.h>

#include "hex.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((pc_sha256_ctx *)0)->opaque),
               "pc_sha256_ctx too small for mbedtls_sha256_context");

#define CTX(c) ((mbedtls_sha256_context *)(void *)(c)->opaque)

void pc_sha256_init(pc_sha256_ctx *ctx)
{
    mbedtls_sha256_init(CTX(ctx));
    /* Only fails for a bad is224 argument. */
    (void)mbedtls_sha256_starts_ret(CTX(ctx), 0);
}

void pc_sha256_update(pc_sha256_ctx *ctx, const void *data, size_t len)
{
    (void)mbedtls_sha256_update_ret(CTX(ctx), data, len);
}

void pc_sha256_final(pc_sha256_ctx *ctx, uint8_t out[PC_SHA256_LEN])
{
    (void)mbedtls_sha256_finish_ret(CTX(ctx), out);
    mbedtls_sha256_free(CTX(ctx));
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
        return errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO;
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
