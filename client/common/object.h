/* object.h — the site's compressed file objects (docs/format.md, "Objects"):
 * one zstd frame holding a file's content, named by the SHA-256 of the
 * uncompressed bytes. The client unpacks them with a capped window, an exact
 * expected size and a hash check; the generator packs them. */
#ifndef PC_OBJECT_H
#define PC_OBJECT_H

#include <stdint.h>

#include "error.h"

/* Largest zstd window an object may use (2^23 = 8 MiB): bounds the client's
 * decoding memory whatever the file size. The generator never exceeds it. */
#define PC_OBJECT_WINDOW_LOG_MAX 23

/* Decompress the object read from src_fd and write it to dst_fd. The output
 * must be exactly expected_size bytes with SHA-256 expected_sha (either may
 * be checked before all is written: more bytes than expected stop at once).
 * The input must be exactly one zstd frame with nothing after it. Errors:
 * PC_ERR_FORMAT (not zstd, truncated, trailing data, window too large),
 * PC_ERR_TOO_LARGE / PC_ERR_HASH (content differs from the metadata),
 * PC_ERR_IO. dst_fd is left at whatever was written; callers write to a
 * temporary file and remove it on failure. */
pc_status pc_object_unpack_fd(int src_fd, int dst_fd, uint64_t expected_size,
                              const uint8_t expected_sha[32], pc_err *e);

/* Path-based wrapper: unpacks src into a temporary file beside dst, then
 * fsyncs and renames it to dst with the given mode; on failure dst is not
 * created or changed. */
pc_status pc_object_unpack_file(const char *src, const char *dst, unsigned mode,
                                uint64_t expected_size, const uint8_t expected_sha[32],
                                pc_err *e);

#endif
