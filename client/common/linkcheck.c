/* linkcheck.c — a manifest's symlinks resolved through each other (see
 * linkcheck.h). Resolution works like the kernel's on the tree the manifest
 * describes: the folder being walked is a stack of components; a component
 * the manifest lists as a symlink is replaced by its target, relative to
 * the folder holding it; ".." above the root is an escape. Components the
 * manifest does not list are taken as plain names: they cannot be links. */
#include "linkcheck.h"

#include <stdlib.h>
#include <string.h>

#include "path.h"

const pc_file_entry *pc_nondir_ancestor(const pc_manifest *m, const char *path)
{
    char buf[PC_PATH_MAX + 1];
    size_t n = strlen(path);
    if (n > PC_PATH_MAX)
        return NULL;
    memcpy(buf, path, n + 1);
    /* From the top down, so the message names the outermost culprit. */
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        const pc_file_entry *up = pc_manifest_file(m, buf);
        buf[i] = '/';
        if (up && up->type != PC_FT_DIR)
            return up;
    }
    return NULL;
}

/* The work: `rest` holds what is left to resolve; `cur` the folder reached
 * ("" is the root), with the start of each component in `starts`. */
typedef struct walk {
    char cur[PC_PATH_MAX + 2];
    size_t len;
    size_t starts[PC_PATH_MAX / 2 + 1];
    size_t depth;
} walk;

static bool push(walk *w, const char *c, size_t n)
{
    size_t need = w->len + (w->depth ? 1 : 0) + n;
    if (need > PC_PATH_MAX || w->depth >= sizeof w->starts / sizeof w->starts[0])
        return false;
    if (w->depth)
        w->cur[w->len++] = '/';
    w->starts[w->depth++] = w->len;
    memcpy(w->cur + w->len, c, n);
    w->len += n;
    w->cur[w->len] = '\0';
    return true;
}

static void pop(walk *w)
{
    size_t s = w->starts[--w->depth];
    w->len = s ? s - 1 : 0;
    w->cur[w->len] = '\0';
}

const char *pc_link_escape_problem(const pc_manifest *m, const char *link_path, const char *target,
                                   unsigned long *budget)
{
    /* Room for what is left to resolve: grown as hops add their targets,
     * up to the targets of every hop, each at most PC_PATH_MAX. */
    size_t cap = 2 * (PC_PATH_MAX + 2), cap_max = (size_t)(PC_LINK_HOPS + 2) * (PC_PATH_MAX + 2);
    char *rest = malloc(cap);
    walk *w = calloc(1, sizeof *w);
    const char *why = NULL;
    if (rest == NULL || w == NULL) {
        why = "out of memory checking a symlink";
        goto out;
    }
    /* Start in the folder that holds the link. */
    const char *slash = strrchr(link_path, '/');
    for (const char *s = link_path; slash && s < slash;) {
        size_t n = strcspn(s, "/");
        if (!push(w, s, n)) {
            why = "symlink path too long";
            goto out;
        }
        s += n + 1;
    }
    size_t rlen = strlen(target), pos = 0;
    if (rlen > PC_PATH_MAX) {
        why = "symlink target longer than 4096 bytes";
        goto out;
    }
    memcpy(rest, target, rlen + 1);
    unsigned hops = 1; /* the link itself, as the kernel counts it */
    while (pos < rlen) {
        if (*budget == 0) {
            why = "the manifest's symlinks take too much work to check";
            goto out;
        }
        (*budget)--;
        const char *c = rest + pos;
        size_t n = strcspn(c, "/");
        pos += n + (c[n] == '/');
        if (n == 0 || (n == 1 && c[0] == '.'))
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (w->depth == 0) {
                why = "symlink target leaves the tree through other symlinks";
                goto out;
            }
            pop(w);
            continue;
        }
        if (!push(w, c, n)) {
            why = "symlink resolves to a path longer than 4096 bytes";
            goto out;
        }
        const pc_file_entry *f = pc_manifest_file(m, w->cur);
        if (f == NULL || f->type != PC_FT_SYMLINK)
            continue;
        if (++hops > PC_LINK_HOPS) {
            why = "too many levels of symlinks";
            goto out;
        }
        pop(w);
        /* rest := f->target "/" what was left. */
        size_t tl = strlen(f->target), left = rlen - pos;
        if (tl + 1 + left + 1 > cap) {
            size_t want = tl + 1 + left + 1 > 2 * cap ? tl + 1 + left + 1 : 2 * cap;
            char *bigger = want <= cap_max ? realloc(rest, want) : NULL;
            if (bigger == NULL) {
                why = want <= cap_max ? "out of memory checking a symlink" : "too many levels of symlinks";
                goto out;
            }
            rest = bigger;
            cap = want;
        }
        memmove(rest + tl + 1, rest + pos, left + 1);
        memcpy(rest, f->target, tl);
        rest[tl] = '/';
        rlen = tl + 1 + left;
        pos = 0;
        if (f->target[0] == '/') { /* cannot pass validation; never follow it */
            why = "absolute symlink targets are not allowed";
            goto out;
        }
    }
out:
    free(rest);
    free(w);
    return why;
}
