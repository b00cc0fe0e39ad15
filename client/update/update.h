/* update.h — the switch and its bookkeeping (update.c), shared with the
 * release lifecycle (lifecycle.c: apply-staged, the launcher's rollback). */
#ifndef PC_UPDATE_H
#define PC_UPDATE_H

#include "op.h"

/* Switch ROOT/current to installed version `to` (folder and manifest in
 * place), then record it: previous, current, the lifecycle (by_update: a
 * version installed by an update is pending, a first install good), the
 * history line `action`; prune old versions and empty the cache. */
pc_status pc_update_switch(pc_op *op, const char *to, uint64_t transferred, const char *action,
                           bool by_update);

/* Check installed version v's whole tree against m and put right what
 * differs (downloads for content). */
pc_status pc_update_check_fix(pc_op *op, const char *v, const pc_manifest *m, unsigned *nbad,
                              unsigned *fixed);

/* Switch back to installed version `to` after checking (and repairing) its
 * tree; `to` is then current and not pending, op->current previous. *out
 * (may be NULL) receives from and to. */
pc_status pc_update_roll(pc_op *op, const char *to, const char *action, pc_update_info **out);

/* Forget the staged version and remove its folder (unless current,
 * previous, the last good version or held): it is not switched to. Saved. */
pc_status pc_update_unstage(pc_op *op);

#endif
