/* choose.h — which version an update goes to: the channel's newest version
 * this install may take (staged rollout, withdrawn, critical, skipped and bad
 * versions, minimum versions, no silent downgrade), and what the caller is
 * told about it. Pure: decides from repo.json and the state alone. */
#ifndef PC_CHOOSE_H
#define PC_CHOOSE_H

#include <stdbool.h>

#include "meta.h"
#include "state.h"

typedef struct pc_choice {
    const char *target;            /* a version name of the repo */
    bool critical;                 /* a version in (from, target] is critical */
    const char *manual_version;    /* newer, but needs the user: not taken */
    const char *minimum_version;   /* ... what it needs installed first */
    bool downgrade;                /* target is older than the installed version */
    bool from_withdrawn;           /* the installed version is withdrawn */
    const char *withdrawn_reason;
    const char *held_back;         /* the channel's newest, not yet rolled out here */
    const char *downgrade_refused; /* the channel's newest, older than installed */
    double bucket;                 /* this install's rollout bucket; -1: no id */
} pc_choice;

/* Choose for an install at `current` (NULL: nothing installed) following
 * `channel`, or check the named `version` (then rollout, skip, bad and
 * minimum versions do not apply; a withdrawn version is refused). flags are
 * PC_UPDATE_*; now is the time rollouts are judged at. Errors name the
 * channel or version: PC_ERR_NOT_FOUND, PC_ERR_STATE (withdrawn, or no
 * version of the channel may be installed). */
pc_status pc_choose(const pc_repo *r, const pc_state *st, const char *current,
                    const char *channel, const char *version, unsigned flags, int64_t now,
                    pc_choice *out, pc_err *e);

/* Is version a an ancestor of b along parent links (a != b)? */
bool pc_choose_is_ancestor(const pc_repo *r, const char *a, const char *b);

#endif
