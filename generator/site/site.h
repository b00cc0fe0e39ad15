/* site.h — the generator's access to an output site: content-addressed
 * files written once (temporary name, fsync, rename) and reused when already
 * present and verified by hash. */
#ifndef PC_SITE_H
#define PC_SITE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct pc_site {
    char *root;
} pc_site;

/* Open (creating) the site folder and its sub-folders. */
pc_status pc_site_open(pc_site *s, const char *root, pc_err *e);
void pc_site_close(pc_site *s);

/* "SITE/<rel>" in a new string (caller frees), NULL on no memory. */
char *pc_site_file(const pc_site *s, const char *rel);

/* Make the folders of rel ("objects/ab/…" needs "objects/ab"). */
pc_status pc_site_mkdirs(const pc_site *s, const char *rel, pc_err *e);

/* Store data as the content-addressed file rel unless a file with the same
 * bytes is already there (compared by SHA-256). *written tells which. */
pc_status pc_site_put(const pc_site *s, const char *rel, const void *data, size_t len,
                      bool *written, pc_err *e);

/* Whether the site has a valid object of this content (unpacked in
 * memory-bounded streaming, its size and hash checked); *object_size then
 * receives the object file's size. */
bool pc_site_object_check(const pc_site *s, const uint8_t sha[32], uint64_t size,
                          uint64_t *object_size);

/* Ensure the object of a file (content sha, from src) exists and is valid:
 * an existing object is unpacked in memory-bounded streaming and its hash
 * checked; a missing or invalid one is (re)written at the given level.
 * *object_size and object_sha receive the size and SHA-256 of the object
 * file's bytes; *reused whether it was already there. */
pc_status pc_site_object(const pc_site *s, const char *src, const uint8_t sha[32],
                         uint64_t size, int level, uint64_t *object_size,
                         uint8_t object_sha[32], bool *reused, pc_err *e);

#endif
