/* build_release.c — the site build's first stages: find the release
 * folders, read their notes, scan each tree, write its objects and its
 * manifest; and what later stages ask of a release. */
#include "build_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "path.h"
#include "semver.h"
#include "sha256.h"

static int cmp_rel(const void *a, const void *b)
{
    return pc_semver_cmp(((const rel *)a)->name, ((const rel *)b)->name);
}

/* ---- versions ------------------------------------------------------------ */

/* opts.given into b->v (names checked, trees borrowed). */
static pc_status given_versions(builder *b)
{
    const pc_build_opts *o = b->o;
    if (o->ngiven == 0)
        return pc_fail(b->e, PC_ERR_INVALID, "no releases given");
    if ((b->v = calloc(o->ngiven, sizeof *b->v)) == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->ngiven; i++) {
        const pc_build_release *g = &o->given[i];
        if (!pc_version_name_ok(g->name))
            return pc_fail(b->e, PC_ERR_INVALID, "release '%s': not a version name", g->name);
        if (build_find_rel(b, g->name))
            return pc_fail(b->e, PC_ERR_INVALID, "release %s: given twice", g->name);
        rel *r = &b->v[b->nv++];
        r->tree = g->tree;
        r->prerelease = pc_semver_is_prerelease(g->name);
        if ((r->name = strdup(g->name)) == NULL)
            return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    }
    qsort(b->v, b->nv, sizeof *b->v, cmp_rel);
    return PC_OK;
}

pc_status build_find_versions(builder *b)
{
    if (b->o->given)
        return given_versions(b);
    DIR *d = opendir(b->o->releases);
    if (d == NULL)
        return pc_fail(b->e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "releases folder %s: %s",
                       b->o->releases, strerror(errno));
    pc_status st = PC_OK;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *path = pc_path_join(b->o->releases, de->d_name);
        struct stat sb;
        if (path == NULL) {
            st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            size_t l = strlen(de->d_name);
            bool notes = l > 3 && !strcmp(de->d_name + l - 3, ".md");
            free(path);
            if (notes)
                continue;
            st = pc_fail(b->e, PC_ERR_INVALID,
                         "%s/%s: not a release folder (expected RELEASES/<version>/ folders and "
                         "optional <version>.md notes)",
                         b->o->releases, de->d_name);
            break;
        }
        if (!pc_version_name_ok(de->d_name)) {
            st = pc_fail(b->e, PC_ERR_INVALID,
                         "%s: '%s' is not a version name (letters, digits, '.', '+', '_', '-'; "
                         "starting with a letter or digit; at most 64)",
                         path, de->d_name);
            free(path);
            break;
        }
        if (b->nv == cap) {
            cap = cap ? cap * 2 : 16;
            rel *p = realloc(b->v, cap * sizeof *p);
            if (p == NULL) {
                free(path);
                st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
                break;
            }
            b->v = p;
        }
        rel *r = &b->v[b->nv++];
        memset(r, 0, sizeof *r);
        r->dir = path;
        if ((r->name = strdup(de->d_name)) == NULL) {
            st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        r->prerelease = pc_semver_is_prerelease(r->name);
    }
    closedir(d);
    if (st == PC_OK && b->nv == 0)
        st = pc_fail(b->e, PC_ERR_INVALID, "%s: no release folders found", b->o->releases);
    if (st == PC_OK)
        qsort(b->v, b->nv, sizeof *b->v, cmp_rel);
    return st;
}

rel *build_find_rel(builder *b, const char *name)
{
    for (size_t i = 0; i < b->nv; i++)
        if (!strcmp(b->v[i].name, name))
            return &b->v[i];
    return NULL;
}

pc_status build_read_notes(builder *b, rel *r)
{
    const pc_version_cfg *vc = pc_config_version(b->o->cfg, r->name);
    if (vc && vc->notes)
        return (r->notes = strdup(vc->notes)) ? PC_OK : pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    if (r->dir == NULL) {
        for (size_t i = 0; i < b->o->ngiven; i++)
            if (!strcmp(b->o->given[i].name, r->name) && b->o->given[i].notes)
                return (r->notes = strdup(b->o->given[i].notes))
                           ? PC_OK
                           : pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        return PC_OK;
    }
    char *p = malloc(strlen(r->dir) + 4);
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    sprintf(p, "%s.md", r->dir);
    size_t len;
    pc_status st = pc_read_file(p, PC_NOTES_MAX, &r->notes, &len, b->e);
    free(p);
    if (st == PC_ERR_NOT_FOUND) {
        pc_err_clear(b->e);
        return PC_OK;
    }
    return st;
}

/* ---- objects and manifests ----------------------------------------------- */

pc_status pc_build_tree_files(const pc_tree *t, pc_manifest *m, pc_err *e)
{
    m->nfiles = 0;
    if ((m->files = calloc(t->n ? t->n : 1, sizeof *m->files)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const pc_tree_entry *x = &t->entries[i];
        pc_file_entry *f = &m->files[m->nfiles++];
        f->path = x->path; /* borrowed from the tree */
        f->type = x->type == PC_ENTRY_FILE ? PC_FT_FILE
                  : x->type == PC_ENTRY_DIR ? PC_FT_DIR
                                            : PC_FT_SYMLINK;
        f->target = x->target;
        if (f->type != PC_FT_FILE)
            continue;
        f->size = x->size;
        f->mode = x->mode;
        memcpy(f->sha256, x->sha256, 32);
    }
    return PC_OK;
}

pc_status build_scan(builder *b, rel *r)
{
    const pc_config *cfg = b->o->cfg;
    pc_status st = r->dir ? pc_tree_scan(r->dir, &r->tree, b->e) : PC_OK;
    if (st != PC_OK)
        return st;
    r->man.product = cfg->product;
    r->man.version = r->name;
    if ((st = pc_build_tree_files(&r->tree, &r->man, b->e)) != PC_OK)
        return st;
    for (size_t i = 0; i < r->man.nfiles; i++) {
        pc_file_entry *f = &r->man.files[i];
        if (f->type != PC_FT_FILE)
            continue;
        if (pc_config_match(cfg->critical_files, cfg->ncritical, f->path))
            f->flags |= PC_FLAG_CRITICAL;
        if (pc_config_match(cfg->hot_swap_modules, cfg->nhot, f->path))
            f->flags |= PC_FLAG_HOT;
        for (size_t m = 0; m < cfg->nmodules && (f->flags & PC_FLAG_HOT); m++)
            if (!strcmp(cfg->modules[m].name, f->path)) {
                f->depends = cfg->modules[m].depends; /* borrowed */
                f->ndepends = cfg->modules[m].ndepends;
            }
    }
    return PC_OK;
}

/* The object of f from opts.source, unless the site has a valid one. */
static pc_status sourced_object(builder *b, pc_file_entry *f, bool *reused)
{
    char relp[PC_SITE_PATH_MAX];
    pc_site_object_path(f->sha256, relp);
    char *p = pc_site_file(&b->site, relp);
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_site_mkdirs(&b->site, relp, b->e);
    *reused = st == PC_OK && pc_site_object_check(&b->site, f->sha256, f->size, &f->object_size);
    if (st == PC_OK && !*reused)
        st = b->o->source->object(b->o->source->ud, f->sha256, f->size, p, b->e);
    uint64_t n = 0;
    if (st == PC_OK && (pc_sha256_file(p, f->object_sha256, &n) != PC_OK ||
                        (*reused && n != f->object_size)))
        st = pc_fail(b->e, PC_ERR_IO, "%s: could not hash the object", p);
    f->object_size = n;
    free(p);
    return st;
}

pc_status build_objects(builder *b, rel *r)
{
    const pc_config *cfg = b->o->cfg;
    pc_status st;
    for (size_t i = 0; i < r->man.nfiles; i++) {
        pc_file_entry *f = &r->man.files[i];
        if (f->type != PC_FT_FILE)
            continue;
        bool reused;
        if (b->o->source) {
            st = sourced_object(b, f, &reused);
        } else {
            char *src = pc_path_join(r->dir, f->path);
            if (src == NULL)
                return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
            st = pc_site_object(&b->site, src, f->sha256, f->size, cfg->object_level,
                                &f->object_size, f->object_sha256, &reused, b->e);
            free(src);
        }
        if (st != PC_OK)
            return st;
        if (reused)
            b->res->objects_reused++;
        else
            b->res->objects_written++;
        r->full_bytes += f->object_size;
        r->files++;
    }
    char *text;
    size_t len;
    st = pc_manifest_write(&r->man, &text, &len, b->e);
    if (st != PC_OK)
        return pc_fail_prefix(b->e, "version %s: ", r->name);
    pc_sha256(text, len, r->man_ref.sha256);
    r->man_ref.size = len;
    char relp[PC_SITE_PATH_MAX];
    pc_site_manifest_path(r->man_ref.sha256, relp);
    bool written;
    st = pc_site_put(&b->site, relp, text, len, &written, b->e);
    free(text);
    return st;
}

/* ---- what later stages ask of a release ---------------------------------- */

bool build_has_content(const rel *r, const uint8_t sha[32])
{
    for (size_t i = 0; i < r->man.nfiles; i++)
        if (r->man.files[i].type == PC_FT_FILE && !memcmp(r->man.files[i].sha256, sha, 32))
            return true;
    return false;
}

bool build_in_channel(const builder *b, const rel *r, const pc_channel_cfg *c)
{
    const pc_version_cfg *vc = pc_config_version(b->o->cfg, r->name);
    if (vc && vc->channels) {
        for (size_t i = 0; i < vc->nchannels; i++)
            if (!strcmp(vc->channels[i], c->name))
                return true;
        return false;
    }
    return !r->prerelease || c->prereleases;
}
