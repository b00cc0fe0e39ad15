/* beneath.h — folders below an open folder, reached without following a
 * symlink at any component: a link planted in a tree being written (by
 * another process, or a bug) cannot send a write elsewhere. openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it (Linux
 * 5.6), otherwise a walk of openat(O_NOFOLLOW) calls, one a component.
 * Paths are release paths (path.h): relative, no "." or "..". */
#ifndef PC_BENEATH_H
#define PC_BENEATH_H

#include <stdbool.h>

#include "error.h"

/* A new descriptor of the folder rel below dirfd ("" is dirfd itself);
 * with create, missing folders are made (0755). -1 on failure, with e
 * naming the component that is missing or is not a folder (a symlink). */
int pc_beneath_dir(int dirfd, const char *rel, bool create, pc_err *e);

/* The folder holding rel's last component, as pc_beneath_dir; *base
 * points at that component inside rel. */
int pc_beneath_parent(int dirfd, const char *rel, bool create, const char **base, pc_err *e);

#endif
