/* difffiles.h — a whole diff of two files into a patch file, BSDIFF40 or
 * pcz: what `patchcast-gen diff` and the site build call. */
#ifndef PC_DIFFFILES_H
#define PC_DIFFFILES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "progress.h"

typedef enum pc_diff_format { PC_DIFF_BSDIFF40 = 0, PC_DIFF_PCZ = 1 } pc_diff_format;

/* Diff two files into a patch file of the given format: maps both,
 * computes, writes; reports where it is in *prog (may be NULL). */
pc_status pc_diff_files(const char *old, const char *new_, const char *patch,
                        pc_diff_format format, pc_diff_progress *prog, uint64_t *patch_size,
                        pc_err *e);

/* The same for two read-only file mappings (MAP_PRIVATE: the diff drops
 * their pages behind it with madvise, which would zero anonymous memory). */
pc_status pc_diff_buffers(const uint8_t *old, size_t oldsize, const uint8_t *new_, size_t newsize,
                          const char *patch, pc_diff_format format,
                          pc_diff_progress *prog, uint64_t *patch_size, pc_err *e);

#endif
