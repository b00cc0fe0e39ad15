/* layout.h — the install root on the user's machine:
 *   ROOT/versions/<version>/…   one folder per installed version
 *   ROOT/current -> versions/<version>   switched atomically
 *   ROOT/state.json, ROOT/config.json
 *   ROOT/staging/, ROOT/cache/   in-progress work; safe to delete
 *   ROOT/.lock                   exclusive while a change runs, shared by readers
 *   ROOT/holds/<version>         shared by programs running that version
 * These helpers own every path under ROOT that is not a release file. */
#ifndef PC_LAYOUT_H
#define PC_LAYOUT_H

#include <stdbool.h>

#include "error.h"

typedef struct pc_layout {
    char *root;
    int lock_fd;      /* -1 when not locked */
    bool writer_busy; /* a reader found a change under way (and runs unlocked) */
} pc_layout;

/* Open ROOT (created with its sub-folders if missing when create is true). */
pc_status pc_layout_open(pc_layout *l, const char *root, bool create, pc_err *e);
void pc_layout_close(pc_layout *l);

/* Take ROOT/.lock for a change. If another process holds it, wait up to
 * wait_s seconds (negative: without limit), then fail with PC_ERR_BUSY.
 * PC_ERR_PERMISSION when the root cannot be written (read-only, another
 * user's). */
pc_status pc_layout_lock(pc_layout *l, int wait_s, pc_err *e);

/* Take ROOT/.lock shared, for an operation that only reads. It never waits
 * and never fails for want of the lock: without a lock file it may read
 * (a root of another user, read-only), and when a change is under way it
 * reads without the lock (l->writer_busy), since every file it reads is
 * replaced atomically. */
pc_status pc_layout_lock_shared(pc_layout *l, pc_err *e);

/* "ROOT/<a>[/<b>[/<c>]]" in a new string (caller frees); NULL on no memory. */
char *pc_layout_path(const pc_layout *l, const char *a, const char *b, const char *c);

/* The version `current` points at (caller frees), or NULL in *out if there
 * is no current link. PC_ERR_STATE if the link is not versions/<name>. */
pc_status pc_layout_current(const pc_layout *l, char **out, pc_err *e);

/* Point ROOT/current at versions/<version> atomically: a new link under a
 * temporary name renamed over the old one, then the folder is fsynced. */
pc_status pc_layout_switch(const pc_layout *l, const char *version, pc_err *e);

/* Remove a folder tree (no symlink is followed). Missing is not an error. */
pc_status pc_rmtree(const char *path, pc_err *e);
/* The same for name in the open folder dfd (shown in messages). */
pc_status pc_rmtree_at(int dfd, const char *name, const char *shown, pc_err *e);

/* Move a finished staging folder to ROOT/versions/<version> (rename; an old
 * folder of that name is removed first) and fsync what it must. */
pc_status pc_layout_commit_version(const pc_layout *l, const char *staging_dir,
                                   const char *version, pc_err *e);

/* fsync every file and folder below path (after applying into staging),
 * several at a time. */
pc_status pc_fsync_tree(const char *path, pc_err *e);

#endif
