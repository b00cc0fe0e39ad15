/* siteverify.h — verify a site folder completely (see siteverify.c). */
#ifndef PC_SITEVERIFY_H
#define PC_SITEVERIFY_H

#include <stdint.h>

#include "patchcast.h"

typedef void (*pc_site_problem_fn)(void *ud, const char *file, const char *msg);

typedef struct pc_site_verify_stats {
    uint64_t serial;
    int64_t expires; /* repo.json's expiry (Unix time); 0 if it did not verify or parse */
    size_t versions, edges;
    unsigned documents, objects, patches, problems;
    uint64_t root_version; /* the newest valid root in roots/ (0: none) */
    int64_t root_expires;  /* its expiry (Unix time), when root_version */
} pc_site_verify_stats;

/* Verify the site in dir against c's pinned keys (or, when c pins none,
 * the site's own chain of roots, from roots/1.root.json). Each problem is reported
 * through fn (file relative to dir, reason). Returns PC_OK if there is none,
 * PC_ERR_HASH if any problem was found. The check does not read the clock:
 * whether repo.json has expired is the caller's judgement, from
 * stats->expires (`patchcast-gen verify` fails an expired site; `patchcast
 * mirror` refuses an expired source before copying it, unless forced). */
pc_status pc_site_verify_dir(pc_client *c, const char *dir, pc_site_problem_fn fn, void *ud,
                             pc_site_verify_stats *stats);

/* The same for a repo.json and signature given in memory rather than read
 * from dir (what `patchcast mirror` checks before it publishes them). */
pc_status pc_site_verify_with(pc_client *c, const char *dir, const char *json, size_t len,
                              const char *sig, size_t slen, pc_site_problem_fn fn, void *ud,
                              pc_site_verify_stats *stats);

#endif
