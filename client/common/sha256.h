/* sha256.h — streaming SHA-256 for the modules that hash as they read or
 * write; the one-shot and file helpers are public in patchcast.h. mbedTLS
 * does the work, or the CPU's SHA extensions where it has them. */
#ifndef PC_SHA256_H
#define PC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "patchcast.h"

typedef struct pc_sha256_ctx {
    union {
        /* Opaque storage for mbedtls_sha256_context (kept out of this header). */
        _Alignas(8) unsigned char opaque[128];
        struct { /* the SHA-extension path keeps its own state */
            uint32_t h[8];
            uint64_t len;
            uint8_t buf[64];
        } ni;
    } u;
    bool use_ni;
} pc_sha256_ctx;

void pc_sha256_init(pc_sha256_ctx *ctx);
void pc_sha256_update(pc_sha256_ctx *ctx, const void *data, size_t len);
/* Write the digest and release ctx; it must be re-initialised to reuse. */
void pc_sha256_final(pc_sha256_ctx *ctx, uint8_t out[PC_SHA256_LEN]);

/* Hash everything read from fd (to its end) through a fixed buffer.
 * Returns PC_ERR_IO with errno kept on a read error. */
pc_status pc_sha256_fd(int fd, uint8_t out[PC_SHA256_LEN], uint64_t *size_out);

/* The SHA-extension block function (sha256_ni.c): whether this CPU has it,
 * and nblocks 64-byte blocks into h. */
bool pc_sha256_ni_usable(void);
void pc_sha256_ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks);

/* Tests: false forces mbedTLS from the next init on, true goes back to the
 * fastest path this CPU has. */
void pc_sha256_allow_ni(bool allow);

#endif
