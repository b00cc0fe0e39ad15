/* op.h — the frame of every operation (op.c), shared by the update modules:
 * an operation's context (the locked install root, its state, the verified
 * repository). */
#ifndef PC_OP_H
#define PC_OP_H

#include "client.h"
#include "layout.h"
#include "meta.h"
#include "net.h"
#include "state.h"

/* What an operation does to the root: reads it (shared lock, nothing
 * written: works on a read-only root and for another user), changes it, or
 * may also create it (the first install). */
typedef enum { PC_OP_READ, PC_OP_CHANGE, PC_OP_CREATE } pc_op_mode;

typedef struct pc_op {
    pc_client *c;
    bool readonly;
    pc_layout lay;
    pc_state state;
    char *state_path;
    char *current;          /* what ROOT/current points at, or NULL */
    pc_repo *repo;          /* verified repo.json, once fetched */
    pc_fetch_opts fo;
    bool demoted[PC_MAX_REPOS]; /* mirrors that failed a transfer in this operation */
    unsigned step, nsteps;
    /* The root of trust (trustwalk.c), when the client pins one: */
    bool has_root;          /* the walk ran: root is the site's newest */
    bool root_reset;        /* it crossed a root that resets the serial ratchet */
    uint64_t root_reset_at; /* the newest such root: the reset holds for a
                               repo.json published under it or later only */
    bool repo_by_root;      /* repo.json verified by root's repository keys */
    pc_root root;
    char *root_json, *root_sig; /* its text and signature file */
} pc_op;

/* Open and lock the root, load the state and reconcile it with the
 * `current` link (the link is the truth after a crash; a reader reconciles
 * in memory only). */
pc_status pc_op_begin(pc_op *op, pc_client *c, pc_op_mode mode);
void pc_op_end(pc_op *op);

/* Fetch repo.json and its signature, verify the signature before parsing,
 * check product, serial (no rollback) and expiry (no freeze). A change
 * records the serial and product in the state; a reader does not. */
pc_status pc_op_fetch_repo(pc_op *op);

/* The root of trust (trustwalk.c): walk from the pinned root (or the
 * newer one the state keeps) to the site's newest, each step checked and
 * the newest unexpired; verify repo.json by its repository keys (or by
 * bare keys, for a site that names no root, until one is accepted); check
 * that the parsed repo.json names that root; record a newer root in the
 * state (and reset the serial when a root crossed says so). Without a
 * pinned root: bare keys, as before. */
pc_status pc_op_walk_roots(pc_op *op);
pc_status pc_op_verify_repo(pc_op *op, const char *json, size_t len, const char *sig,
                            size_t slen, char **tc);
pc_status pc_op_check_root_ref(pc_op *op, const pc_repo *r);
pc_status pc_op_record_root(pc_op *op);

/* Download a content-addressed document (manifest or delta) of known hash
 * and size into ROOT/cache/meta/ (a reader: into memory only) and return
 * its text (caller frees). */
pc_status pc_op_fetch_doc(pc_op *op, const char *site_rel, const pc_hashref *ref, char **text,
                          size_t *len);

/* The stored (verified) manifest of an installed version, or NULL. */
pc_manifest *pc_op_local_manifest(pc_op *op, const char *version);

/* Report progress of the current step. */
void pc_op_progress(pc_op *op, const char *step, const char *detail, uint64_t done,
                    uint64_t total);

#endif
