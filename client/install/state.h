/* state.h — the client's local state, ROOT/state.json: the highest repo.json
 * serial seen (rollback protection), the current and previous versions, the
 * installed versions and a short history. Written atomically. */
#ifndef PC_STATE_H
#define PC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define PC_STATE_HISTORY_MAX 50

typedef struct pc_history_entry {
    int64_t time;         /* unix seconds */
    char *action;         /* "install", "update", "rollback", "repair" */
    char *from, *to;      /* version names; from may be NULL */
    uint64_t downloaded;  /* bytes over the network */
} pc_history_entry;

#define PC_STATE_ROTATIONS_MAX 100

/* A move of the root of trust to a newer root version. */
typedef struct pc_rotation {
    int64_t time;         /* unix seconds */
    uint64_t from, to;    /* root versions (from 0: the first root accepted) */
    int reset_serial;     /* the serial ratchet was reset */
} pc_rotation;

typedef struct pc_state {
    uint64_t last_serial;   /* 0: never saw a repo.json */
    char *product;          /* the product of the first repo.json accepted:
                               the root follows it alone (NULL: none yet) */
    char *current;          /* NULL: nothing installed */
    char *previous;         /* rollback target, or NULL */
    char **installed;       /* versions present under ROOT/versions */
    size_t ninstalled;
    pc_history_entry *history; /* oldest first, at most PC_STATE_HISTORY_MAX */
    size_t nhistory;
    uint64_t root_version;  /* the newest root of trust accepted (0: none) */
    char *root_json;        /* its text and signature file, kept so that the */
    char *root_sig;         /* next walk starts there (checked again on use) */
    char *root_pin;         /* SHA-256 (hex) of the pinned root it grew from:
                               a root kept under another pin is not used */
    pc_rotation *rotations; /* oldest first, at most PC_STATE_ROTATIONS_MAX */
    size_t nrotations;
    /* The release lifecycle (docs/format.md §12, `patchcast run`): */
    char *install_id;       /* random, made once, never sent: the rollout bucket */
    char *staged;           /* a complete version waiting for the switch, or NULL */
    char *pending;          /* current, installed by an update, not yet marked good */
    unsigned attempts;      /* starts of `pending` that did not end well */
    char *last_good;        /* the newest version known good: the launcher's
                               way back (NULL: previous) */
    char **bad;             /* versions rolled back by the launcher: never
                               installed automatically again */
    size_t nbad;
    char **skipped;         /* versions the user skipped (pc_client_skip_version) */
    size_t nskipped;
} pc_state;

#define PC_STATE_LIST_MAX 1000 /* bad and skipped versions kept, newest last */
#define PC_STATE_ATTEMPTS_MAX 1000000 /* pending.attempts: counting stops there */

/* Load path into st; a missing file gives an empty state (PC_OK). Malformed
 * content is PC_ERR_STATE with the JSON path named. */
pc_status pc_state_load(pc_state *st, const char *path, pc_err *e);

/* Write st to path atomically (temporary file, fsync, rename). */
pc_status pc_state_save(const pc_state *st, const char *path, pc_err *e);

/* Set a string field (copying v; NULL clears). */
pc_status pc_state_set(char **field, const char *v, pc_err *e);

/* Add/remove a version in the installed list (no duplicates). */
pc_status pc_state_add_installed(pc_state *st, const char *v, pc_err *e);
void pc_state_remove_installed(pc_state *st, const char *v);

/* The same on any list of version names (bad, skipped); a list at
 * PC_STATE_LIST_MAX drops its oldest name. */
pc_status pc_state_list_add(char ***list, size_t *n, const char *v, pc_err *e);
void pc_state_list_remove(char **list, size_t *n, const char *v);
bool pc_state_list_has(char *const *list, size_t n, const char *v);

/* Make st->install_id (32 random hex digits) if it has none. */
pc_status pc_state_make_install_id(pc_state *st, pc_err *e);

/* Append a history entry, dropping the oldest beyond the maximum. */
pc_status pc_state_log(pc_state *st, const char *action, const char *from, const char *to,
                       uint64_t downloaded, pc_err *e);

/* Record that root version `to` is now trusted (its text and signatures,
 * and the hex SHA-256 of the pinned root the walk started from), with a
 * rotation entry. */
pc_status pc_state_set_root(pc_state *st, uint64_t to, const char *json, const char *sig,
                            const char *pin, int reset_serial, pc_err *e);

/* Forget the recorded root (an install re-pinned to another root of trust:
 * what grew from the old pin no longer counts). The rotations stay. */
void pc_state_forget_root(pc_state *st);

void pc_state_free(pc_state *st);

#endif
