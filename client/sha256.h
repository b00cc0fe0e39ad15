/* sha256.h — streaming SHA-256 (mbedTLS) for the modules that hash as they
 * read or write; the one-shot and file helpers are public in patchcast.h. */
#ifndef PC_SHA256_H
#define PC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "patchcast.h"

typedef struct pc_sha256_ctx {
    /* Opaque storage for mbedtls_sha256_context (kept out of this header). */
    _Alignas(8) unsigned char opaque[128];
} pc_sha256_ctx;

void pc_sha256_init(pc_sha256_ctx *ctx);
void pc_sha256_update(pc_sha256_ctx *ctx, const void *data, size_t len);
/* Write the digest and release ctx; it must be re-initialised to reuse. */
void pc_sha256_final(pc_sha256_ctx *ctx, uint8_t out[PC_SHA256_LEN]);

/* Hash everything read from fd (to its end) through a fixed buffer.
 * Returns PC_ERR_IO with errno kept on a read error. */
pc_status pc_sha256_fd(int fd, uint8_t out[PC_SHA256_LEN], uint64_t *size_out);

#endif
