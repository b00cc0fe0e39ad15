/* client.h — the pc_client handle's internals, shared by the client modules. */
#ifndef PC_CLIENT_H
#define PC_CLIENT_H

#include "error.h"
#include "patchcast.h"
#include "sig.h"
#include "trust.h"

#define PC_MAX_KEYS 16
#define PC_MAX_REPOS 8

struct pc_client {
    pc_err err;
    pc_pubkey keys[PC_MAX_KEYS];
    size_t nkeys;
    char *root;                   /* install root, or NULL */
    char *repos[PC_MAX_REPOS];    /* mirrors, tried in order */
    size_t nrepos;
    char *channel;                /* NULL: "stable" */
    char *ca_file;                /* extra CA bundle, or NULL */
    unsigned keep_versions;       /* 0: 2 */
    unsigned parallel;            /* 0: 3 */
    int wait_seconds;             /* a change waits this long for the lock; <0: no limit */
    long low_speed_bytes;         /* 0: the transport's default */
    long low_speed_seconds;       /* 0: the transport's default */
    char *trust_json;             /* the pinned root of trust (pc_client_set_trust_root): */
    char *trust_sig;              /* its text and signature file, or NULL */
    pc_root trust;                /* parsed, when trust_json */
    unsigned update_flags;        /* PC_UPDATE_* */
    pc_progress_fn progress;
    void *progress_ud;
    volatile int cancel;
};

#endif
