/* bspatch.h — the BSDIFF40 reader (bspatch.c) and bsdiff's integer
 * encoding, which the generator's BSDIFF40 writer shares. */
#ifndef PC_BSPATCH_H
#define PC_BSPATCH_H

#include <stdint.h>

#include "error.h"
#include "expect.h"

/* Apply a BSDIFF40 patch read from patch_fd to the old bytes, writing to
 * out_fd; *new_size and new_sha256 receive what was written. */
pc_status pc_bspatch_fd(const uint8_t *old, uint64_t old_size, int patch_fd, int out_fd,
                        const pc_patch_expect *expect, uint64_t *new_size,
                        uint8_t new_sha256[32], pc_err *e);

/* bsdiff's sign-magnitude little-endian 64-bit integers. */
int64_t pc_offtin(const uint8_t buf[8]);
void pc_offtout(int64_t x, uint8_t buf[8]);

#endif
