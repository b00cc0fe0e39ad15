/* release.h — a version's release settings in repo.json (docs/format.md §3,
 * "Release settings"): staged rollout, withdrawn, critical and minimum
 * version; and the rollout arithmetic both the client (which versions this
 * install is admitted to) and the generator (what the site page shows) use. */
#ifndef PC_RELEASE_H
#define PC_RELEASE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "jsonv.h"

#define PC_REASON_MAX 1024        /* bytes of a withdrawn version's reason */
#define PC_RAMP_MAX (3650ull * 86400) /* ten years */

typedef struct pc_release_policy {
    bool has_rollout;       /* "rollout" present */
    double percent;         /* its "percent": 0 to 100 */
    int64_t start;          /* its "start" (unix seconds), 0: none */
    uint64_t ramp;          /* its "ramp_seconds": to 100 % over this long, 0: none */
    bool withdrawn;         /* never offered; installs on it move off it */
    char *withdrawn_reason; /* may be NULL */
    bool critical;          /* reported as such; bypasses rollout and skip */
    char *minimum_version;  /* installs older than it need the user, or NULL */
} pc_release_policy;

/* Read the release keys of version object `it` (the caller checked it has
 * no unknown keys); `what` and p name the file and path in messages. */
pc_status pc_release_parse(const cJSON *it, pc_release_policy *out, const char *what,
                           const pc_jpath *p, pc_err *e);

/* Range checks (for a model built in memory too): NULL or the problem. */
const char *pc_release_problem(const pc_release_policy *r);

/* Add the keys to version object o, in canonical order; false on no memory. */
bool pc_release_write(cJSON *o, const pc_release_policy *r);

void pc_release_clear(pc_release_policy *r);

/* The rollout percentage at time now (0 to 100): 100 without a rollout; 0
 * before its start; from `percent` at start rising linearly to 100 over the
 * ramp. A ramp without a start runs from `released`. */
double pc_release_percent(const pc_release_policy *r, int64_t released, int64_t now);

/* An install's rollout bucket, 0.00 to 99.99, from its install id: the
 * first 8 bytes of SHA-256("patchcast-rollout:" id), big-endian, modulo
 * 10000, over 100. An install is admitted while its bucket < the percentage. */
double pc_release_bucket(const char *install_id);

#endif
