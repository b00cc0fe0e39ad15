/* tree.h — scan one release folder into a sorted list of entries: regular
 * files (size, executable bit, SHA-256), directories and symlinks (target
 * checked to stay inside the tree). Device files, sockets, FIFOs and links
 * that escape the tree are refused with a message naming the path. */
#ifndef PC_TREE_H
#define PC_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum pc_entry_type { PC_ENTRY_FILE = 0, PC_ENTRY_DIR, PC_ENTRY_SYMLINK } pc_entry_type;

typedef struct pc_tree_entry {
    char *path;          /* relative, '/'-separated */
    pc_entry_type type;
    uint64_t size;       /* files */
    unsigned mode;       /* files: 0644 or 0755 */
    uint8_t sha256[32];  /* files */
    char *target;        /* symlinks */
} pc_tree_entry;

typedef struct pc_tree {
    pc_tree_entry *entries; /* sorted by path (bytewise) */
    size_t n;
    uint64_t total_bytes;   /* sum of file sizes */
} pc_tree;

/* Scan the folder root. Hidden files are included. */
pc_status pc_tree_scan(const char *root, pc_tree *out, pc_err *e);

/* Find an entry by path (binary search), or NULL. */
const pc_tree_entry *pc_tree_find(const pc_tree *t, const char *path);

void pc_tree_free(pc_tree *t);

#endif
