/* objpack.h — write a file's compressed object (docs/format.md, "Objects"):
 * one zstd frame, window at most 2^PC_OBJECT_WINDOW_LOG_MAX. */
#ifndef PC_OBJPACK_H
#define PC_OBJPACK_H

#include <stdint.h>

#include "error.h"

#define PC_OBJECT_LEVEL_DEFAULT 19

/* Compress the file src into dst (through a temporary name beside it, fsync,
 * rename) at the given zstd level. *csize receives the compressed size. */
pc_status pc_object_pack_file(const char *src, const char *dst, int level, uint64_t *csize,
                              pc_err *e);

/* Estimated peak memory of compressing a file of size bytes at that level
 * (zstd's own estimate for its parameters, plus the read buffers). */
uint64_t pc_object_pack_memory(int level, uint64_t size);

#endif
