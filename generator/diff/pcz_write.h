/* pcz_write.h — the pcz writer: control triples (bsdiff.h), or the mode-1
 * frame made with them, to a version-2 pcz patch (client/apply/pcz.h). */
#ifndef PC_PCZ_WRITE_H
#define PC_PCZ_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "bsdiff.h"
#include "error.h"

/* Write the triples as a version-2 pcz patch (client/apply/pcz.h); old_sha and
 * new_sha are the files' SHA-256s. */
pc_status pc_pcz_write(const pc_diff *d, const uint8_t *old, size_t oldsize, const uint8_t *new_,
                       size_t newsize, const uint8_t old_sha[32], const uint8_t new_sha[32],
                       const char *path, uint64_t *patch_size, pc_err *e);

#endif
