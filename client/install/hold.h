/* hold.h — ROOT/holds/<version>: a program running from versions/<version>
 * keeps a shared flock on this file for its life; an update prunes a
 * version only once it has the file exclusively. A lock dies with its
 * process, so a crashed program never pins a version for ever. */
#ifndef PC_HOLD_H
#define PC_HOLD_H

#include <stdbool.h>

#include "layout.h"

/* Hold version: a descriptor (*fd) with a shared lock on its hold file,
 * checked to be the file now at that name, the version's folder present.
 * The file is made when missing and the root can be written; a reader of
 * a read-only root needs it made by the update that installed the version
 * (pc_hold_create). inherit: the descriptor survives exec.
 * PC_ERR_NOT_FOUND when the version is not installed. */
pc_status pc_hold_take(const pc_layout *l, const char *version, bool inherit, int *fd,
                       pc_err *e);

/* Make version's hold file (at install, so that any user may hold it). */
pc_status pc_hold_create(const pc_layout *l, const char *version, pc_err *e);

/* For pruning: true (and *fd, -1 when there is no hold file) when nobody
 * holds version; the claim then keeps others from taking a hold until
 * pc_hold_drop removes the file. false: a program holds it, or the hold
 * file cannot be opened (kept, to be safe). */
bool pc_hold_claim(const pc_layout *l, const char *version, int *fd);
void pc_hold_drop(const pc_layout *l, const char *version, int fd);

/* true when a program holds version now (for status). */
bool pc_hold_is_held(const pc_layout *l, const char *version);

#endif
