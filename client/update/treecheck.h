/* treecheck.h — an installed version's whole tree against its manifest:
 * every entry's type, a file's content and mode, a link's target, and the
 * putting right of what needs no download (folders, links, modes). Used by
 * repair and rollback. Every path is reached below the version's folder
 * without following a link. */
#ifndef PC_TREECHECK_H
#define PC_TREECHECK_H

#include "meta.h"

typedef enum {
    PC_TREE_OK = 0,
    PC_TREE_MISSING, /* absent, or another type at its place */
    PC_TREE_CONTENT, /* a file whose bytes differ */
    PC_TREE_MODE,    /* a file with the right bytes and the wrong mode */
    PC_TREE_LINK,    /* a link to another target */
} pc_tree_damage;

/* Check every entry of m below the folder vdir: damage[i] (one per entry)
 * says what is wrong with entry i; *n counts the damaged entries. Fails
 * only when vdir cannot be opened or memory runs out. */
pc_status pc_tree_check(const char *vdir, const pc_manifest *m, unsigned char *damage,
                        unsigned *n, pc_err *e);

/* Put entry f right below vdir, given its damage: whatever is at its place
 * is removed (a folder with its content), then a folder or link made, or a
 * file's mode set. A file whose content is wrong or missing needs its
 * object: PC_ERR_INVALID here (the caller restores it, after clearing the
 * place with pc_tree_clear). */
pc_status pc_tree_fix(const char *vdir, const pc_file_entry *f, pc_tree_damage d, pc_err *e);

/* Remove what is at f's place below vdir unless it is a regular file (a
 * file's restore renames over it). */
pc_status pc_tree_clear(const char *vdir, const pc_file_entry *f, pc_err *e);

#endif
