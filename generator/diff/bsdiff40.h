/* bsdiff40.h — the BSDIFF40 writer: control triples (bsdiff.h) to a patch
 * that Debian's bspatch applies. */
#ifndef PC_BSDIFF40_H
#define PC_BSDIFF40_H

#include <stddef.h>
#include <stdint.h>

#include "bsdiff.h"
#include "error.h"

/* Write a BSDIFF40 patch of the triples to the file at path (through a
 * temporary name); *patch_size receives its size. */
pc_status pc_bsdiff40_write(const pc_diff *d, const uint8_t *old, size_t oldsize,
                            const uint8_t *new_, size_t newsize, const char *path,
                            uint64_t *patch_size, pc_err *e);

#endif
