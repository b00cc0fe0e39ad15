/* trust.h — root metadata, the root of trust (docs/format.md §13): which
 * keys may sign the site's repo.json and how many must, signed by a
 * threshold of root keys held offline. A new root version is trusted only
 * when a threshold of the previous root's keys and a threshold of its own
 * signed it, so keys are rotated and revoked without new clients. Shared
 * by the generator (root init/sign/verify, build --trust) and the client
 * (the walk from a pinned root to the site's newest). */
#ifndef PC_TRUST_H
#define PC_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sig.h"

#define PC_ROOT_MAX_BYTES (64u << 10)
#define PC_ROOT_MAX_KEYS 16
#define PC_ROOT_MAX_STEPS 1024 /* root versions one walk follows */

typedef struct pc_keyset {
    pc_pubkey keys[PC_ROOT_MAX_KEYS];
    size_t nkeys;
    unsigned threshold;    /* 1 to nkeys */
} pc_keyset;

typedef struct pc_root {
    uint64_t version;      /* 1, 2, ... */
    int64_t created, expires;
    pc_keyset root;        /* sign root metadata */
    pc_keyset repo;        /* sign repo.json */
    bool reset_serial;     /* clients moving to this root forget the serial
                              they saw (recovery from a fast-forward attack) */
} pc_root;

/* Parse and validate (json need not be NUL-terminated). */
pc_status pc_root_parse(const char *json, size_t len, pc_root *out, pc_err *e);
pc_status pc_root_validate(const pc_root *r, pc_err *e);
/* Canonical text (validated first), NUL-terminated, caller frees. */
pc_status pc_root_write(const pc_root *r, char **out, size_t *len, pc_err *e);

/* The site path of root version v: "roots/<v>.root.json" (out holds 64). */
void pc_root_site_path(uint64_t v, char out[64]);

/* Index of key in set (by key id and key), or -1. */
int pc_keyset_find(const pc_keyset *set, const pc_pubkey *key);

/* How many keys of set signed data, checked against set's threshold:
 * PC_ERR_SIGNATURE (or the reason of the first block that failed, when
 * none counted) naming `what`, the count and the threshold. */
pc_status pc_keyset_check(const pc_keyset *set, const char *role, const char *sig, size_t slen,
                          const char *what, const void *data, size_t len, char **tc, pc_err *e);

/* Trust json/sig as the root after `old` (NULL: a root pinned as given,
 * checked against its own keys only). In this order, so that nothing is
 * parsed before it is known to be signed: a threshold of old's root keys
 * signed these bytes; they parse; the version is old's + 1 (a lower or
 * equal one is PC_ERR_ROLLBACK, a higher one PC_ERR_SIGNATURE: a skipped
 * version); a threshold of its own root keys signed them. Expiry is the
 * caller's: only the newest root of a walk must be unexpired. */
pc_status pc_root_accept(const pc_root *old, const char *json, size_t len, const char *sig,
                         size_t slen, pc_root *out, pc_err *e);

#endif
