/* test_linkcheck.c — a manifest's tree judged as a whole (client/common/
 * linkcheck.c): symlinks resolved through each other must stay inside the
 * tree, and nothing may lie below a file or a symlink at any depth. The
 * two release trees of the security review's hole 1 are here. */
#include <stdlib.h>
#include <string.h>

#include "linkcheck.h"
#include "meta.h"
#include "test.h"

/* A manifest from "path" / "path->target" / "path/" (folder) strings, sorted
 * by the caller; validated with pc_manifest_validate. */
static pc_status check_tree(const char *const *spec, size_t n, pc_err *e)
{
    pc_manifest m = {.product = "demo", .version = "1.0.0"};
    m.files = calloc(n, sizeof *m.files);
    if (m.files == NULL)
        return PC_ERR_NOMEM;
    m.nfiles = n;
    for (size_t i = 0; i < n; i++) {
        pc_file_entry *f = &m.files[i];
        const char *arrow = strstr(spec[i], "->");
        size_t len = strlen(spec[i]);
        if (arrow) {
            f->type = PC_FT_SYMLINK;
            f->path = strndup(spec[i], (size_t)(arrow - spec[i]));
            f->target = strdup(arrow + 2);
        } else if (spec[i][len - 1] == '/') {
            f->type = PC_FT_DIR;
            f->path = strndup(spec[i], len - 1);
        } else {
            f->type = PC_FT_FILE;
            f->path = strdup(spec[i]);
            f->mode = 0644;
            f->size = 1;
            f->object_size = 10;
        }
    }
    pc_status st = pc_manifest_validate(&m, e);
    for (size_t i = 0; i < n; i++) {
        free(m.files[i].path);
        free(m.files[i].target);
    }
    free(m.files);
    return st;
}

#define TREE(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

static void hole_1a_release_tree_refused(void)
{
    /* d/e/l points at the root, which is fine; esc goes up through it. */
    pc_err e = {0};
    CHECK(check_tree(TREE("d/", "d/e/", "d/e/l->../.."), &e) == PC_OK);
    CHECK(check_tree(TREE("d/", "d/e/", "d/e/l->../..", "esc->d/e/l/../../.."), &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "files[3].target") && strstr(e.msg, "leaves the tree"), "%s", e.msg);
}

static void hole_1b_write_below_symlink_refused(void)
{
    /* a -> . makes a/a/a/a the root; x climbs four levels from there. */
    pc_err e = {0};
    CHECK(check_tree(TREE("a->.", "a/a/a/a/x->../../../..", "a/a/a/a/x/outside/pwned"), &e) ==
          PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "files[1].path: lies below the symlink a"), "%s", e.msg);
    /* Below a file, at depth 3. */
    CHECK(check_tree(TREE("f", "f/g/h/i"), &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "lies below the file f"), "%s", e.msg);
}

static void links_inside_accepted(void)
{
    pc_err e = {0};
    CHECK(check_tree(TREE("bin/", "bin/app", "bin/run->app", "lib/", "lib/cur->../bin/run",
                          "top->lib/cur"), &e) == PC_OK);
    /* A dangling link that stays inside is allowed (the kernel would say ENOENT). */
    CHECK(check_tree(TREE("a/", "a/l->../missing/x"), &e) == PC_OK);
    /* A link to the root, and one through it back down. */
    CHECK(check_tree(TREE("a/", "a/root->..", "b->a/root/a"), &e) == PC_OK);
}

static void chains_and_loops(void)
{
    pc_err e = {0};
    /* Each link alone stays inside; followed in turn they climb out. */
    CHECK(check_tree(TREE("a/", "a/b/", "a/b/up->..", "a/up->..", "x->a/b/up/up/.."), &e) ==
          PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "leaves the tree"), "%s", e.msg);
    /* A loop ends in "too many levels", never in a hang. */
    CHECK(check_tree(TREE("p->q", "q->p"), &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "too many levels"), "%s", e.msg);
    CHECK(check_tree(TREE("s->s/x"), &e) == PC_ERR_FORMAT);
    /* 40 hops are fine, 41 are not. */
    char *spec[42];
    for (int i = 0; i < 42; i++) {
        spec[i] = malloc(32);
        CHECK(spec[i] != NULL);
    }
    /* l00 -> l01 -> ... -> l40 -> f (l40 is the 41st link). */
    snprintf(spec[0], 32, "f");
    for (int i = 0; i < 41; i++)
        snprintf(spec[i + 1], 32, "l%02d->%s", i, i == 40 ? "f" : "");
    for (int i = 0; i < 40; i++)
        snprintf(spec[i + 1] + strlen(spec[i + 1]), 32 - strlen(spec[i + 1]), "l%02d", i + 1);
    pc_status forty_one = check_tree((const char *const *)spec, 42, &e);
    /* Drop l00: the longest chain is then 40 links. */
    free(spec[1]);
    spec[1] = spec[0];
    pc_status forty = check_tree((const char *const *)spec + 1, 41, &e);
    for (int i = 1; i < 42; i++)
        free(spec[i]);
    CHECK(forty_one == PC_ERR_FORMAT);
    CHECK(forty == PC_OK);
}

static void ancestor_helper(void)
{
    pc_manifest m = {0};
    pc_file_entry f[3] = {{.path = "a", .type = PC_FT_DIR}, {.path = "a/b", .type = PC_FT_SYMLINK},
                          {.path = "c", .type = PC_FT_FILE}};
    m.files = f;
    m.nfiles = 3;
    CHECK(pc_nondir_ancestor(&m, "a/x") == NULL);
    CHECK(pc_nondir_ancestor(&m, "a/b/c/d") == &f[1]);
    CHECK(pc_nondir_ancestor(&m, "c/d") == &f[2]);
    CHECK(pc_nondir_ancestor(&m, "cd") == NULL);
}

int main(void)
{
    t_suite = "linkcheck";
    RUN(hole_1a_release_tree_refused);
    RUN(hole_1b_write_below_symlink_refused);
    RUN(links_inside_accepted);
    RUN(chains_and_loops);
    RUN(ancestor_helper);
    return t_nfail != 0;
}
