/* linkcheck.h — a manifest's tree judged as a whole, where judging each
 * path alone is not enough: nothing may lie below a file or a symlink at
 * any depth, and a symlink's target, resolved through the other symlinks of
 * the same tree, must stay inside it ("d/e/l -> ../.." is fine on its own,
 * "esc -> d/e/l/../../.." then leaves the tree). Shared by the generator
 * (a release tree is refused) and the client (a signed manifest is). */
#ifndef PC_LINKCHECK_H
#define PC_LINKCHECK_H

#include "meta.h"

/* The nearest ancestor of path that the manifest lists as a file or a
 * symlink, or NULL if every listed ancestor is a folder. */
const pc_file_entry *pc_nondir_ancestor(const pc_manifest *m, const char *path);

/* NULL if the symlink at link_path with target target, resolved through the
 * manifest's symlinks (at most PC_LINK_HOPS of them), stays inside the tree;
 * else a static text saying why. The target itself must already have passed
 * pc_symlink_problem. */
#define PC_LINK_HOPS 40
/* *budget counts the path components resolved, across all the links of a
 * manifest: a manifest whose links take more is refused, so that a
 * hostile one cannot make checking it take hours. */
#define PC_LINK_WORK_MAX (1ul << 22)
const char *pc_link_escape_problem(const pc_manifest *m, const char *link_path, const char *target,
                                   unsigned long *budget);

#endif
