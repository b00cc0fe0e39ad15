/* path.h — the one place where paths from metadata are judged. A release
 * path is relative and normalized: '/'-separated components, none empty,
 * "." or "..", no NUL, backslash or control characters, valid UTF-8, at most
 * PC_PATH_MAX bytes and PC_NAME_MAX per component. */
#ifndef PC_PATH_H
#define PC_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define PC_PATH_MAX 4096
#define PC_NAME_MAX 255

/* NULL if path is acceptable, else a static text saying why
 * ("'..' is not allowed"). */
const char *pc_path_problem(const char *path);

/* NULL if a symlink at link_path with this target stays inside the tree
 * (checked lexically), else a static text saying why. */
const char *pc_symlink_problem(const char *link_path, const char *target);

/* Version names: [0-9A-Za-z][0-9A-Za-z.+_-]{0,63}, without "..". */
bool pc_version_name_ok(const char *name);

/* "a/b" in a new string (caller frees), or NULL when out of memory. */
char *pc_path_join(const char *a, const char *b);

#endif
