/* mirror.c — copy a whole site into a folder and verify it: the offline
 * mirror for a USB stick. Content-addressed files first (a file already
 * there is kept only if its hash from the signed metadata is right), then the complete check of
 * siteverify.c against the source's repo.json, and only then repo.json and
 * its signature, published so that the pair verifies at every instant
 * (publish.c). A folder already holding a newer site, or an expired source,
 * is refused unless forced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "client.h"
#include "net.h"
#include "fileio.h"
#include "jsonv.h"
#include "path.h"
#include "meta.h"
#include "op.h"
#include "publish.h"
#include "seen.h"
#include "siteverify.h"

typedef struct mlist {
    pc_fetch_item *it;
    char **bufs;
    size_t n, cap;
    pc_seen rels; /* the site paths already listed */
} mlist;

static pc_status add(mlist *l, const char *dir, const char *rel, uint64_t size,
                     const uint8_t *sha, pc_err *e)
{
    int first = pc_seen_add(&l->rels, rel, strlen(rel));
    if (first < 0)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if (first == 0)
        return PC_OK;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        pc_fetch_item *ni = realloc(l->it, nc * sizeof *ni);
        if (ni)
            l->it = ni;
        char **nb = realloc(l->bufs, 2 * nc * sizeof *nb);
        if (nb)
            l->bufs = nb;
        if (!ni || !nb)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        l->cap = nc;
    }
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *d = malloc(n), *r = strdup(rel);
    if (!d || !r) {
        free(d);
        free(r);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    snprintf(d, n, "%s/%s", dir, rel);
    pc_status st = pc_mkdirs(d, true, e); /* folders of the destination */
    if (st != PC_OK) {
        free(d);
        free(r);
        return st;
    }
    l->it[l->n] = (pc_fetch_item){.rel = r, .dest = d, .size = size};
    memcpy(l->it[l->n].sha256, sha, 32);
    l->bufs[2 * l->n] = r;
    l->bufs[2 * l->n + 1] = d;
    l->n++;
    return PC_OK;
}

static void mlist_free(mlist *l)
{
    for (size_t i = 0; i < 2 * l->n; i++)
        free(l->bufs[i]);
    free(l->bufs);
    free(l->it);
    pc_seen_free(&l->rels);
}

/* repo.json verified by what this mirror trusts: a threshold of the
 * walked root's repository keys when a root is pinned, else the bare keys. */
static pc_status verify_repo(pc_op *op, const char *json, size_t len, const char *sig,
                             size_t slen)
{
    if (op->has_root)
        return pc_op_verify_repo(op, json, len, sig, slen, NULL);
    return pc_client_verify_buffer(op->c, json, len, sig, slen, 0, NULL);
}

/* The serial of the site already in dir, if its pair verifies; 0 if none. */
static uint64_t serial_in(pc_op *op, const char *dir)
{
    pc_client *c = op->c;
    char *rp = pc_path_join(dir, "repo.json"), *sp = pc_path_join(dir, "repo.json.minisig");
    char *json = NULL, *sig = NULL;
    size_t len, slen;
    pc_repo *r = NULL;
    pc_err e = {0}, saved = c->err;
    uint64_t serial = 0;
    if (rp && sp && pc_read_file(rp, PC_REPO_MAX_BYTES, &json, &len, &e) == PC_OK &&
        pc_read_file(sp, PC_SIG_FILE_MAX, &sig, &slen, &e) == PC_OK &&
        verify_repo(op, json, len, sig, slen) == PC_OK && pc_repo_parse(json, len, &r, &e) == PC_OK)
        serial = r->serial;
    c->err = saved; /* an unreadable old copy is not this operation's failure */
    pc_repo_free(r);
    free(json);
    free(sig);
    free(rp);
    free(sp);
    return serial;
}

/* Copy the source's roots/1 .. roots/<newest> (and signatures) into dir:
 * clients pinned to any of them walk the chain from there. A root version
 * is written once: one the folder already holds with other content is
 * refused (a legitimate site never changes a root), unless forced. The
 * chain is then checked with the rest of the copy (siteverify.c). */
static pc_status copy_roots(pc_fetch_opts *fo, const char *dir, uint64_t newest, bool force,
                            pc_err *e)
{
    pc_status st = PC_OK;
    for (uint64_t v = 1; v <= newest && st == PC_OK; v++) {
        char rel[64], srel[80];
        pc_root_site_path(v, rel);
        snprintf(srel, sizeof srel, "%s.minisig", rel);
        for (int k = 0; k < 2 && st == PC_OK; k++) {
            const char *name = k ? srel : rel;
            char *text = NULL, *old = NULL, *path = pc_path_join(dir, name);
            size_t len = 0, olen = 0;
            pc_err ignored = {0};
            if (path == NULL)
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            if (st == PC_OK)
                st = pc_fetch_buffer(fo, name, k ? PC_SIG_FILE_MAX : PC_ROOT_MAX_BYTES, &text,
                                     &len, NULL, e);
            bool have = st == PC_OK &&
                        pc_read_file(path, PC_ROOT_MAX_BYTES, &old, &olen, &ignored) == PC_OK;
            if (have && (olen != len || memcmp(old, text, len) != 0) && !k && !force)
                st = pc_fail(e, PC_ERR_SIGNATURE,
                             "%s: the source's root version %llu differs from the one this folder "
                             "holds; a root version never changes (force to replace it)",
                             name, (unsigned long long)v);
            else if (st == PC_OK && (!have || olen != len || memcmp(old, text, len) != 0))
                st = pc_mkdirs(path, true, e) ? e->code : pc_write_file_atomic(path, text, len, 0644, e);
            free(text);
            free(old);
            free(path);
        }
    }
    return st;
}

pc_status pc_client_mirror(pc_client *c, const char *url, const char *dir, unsigned flags,
                           unsigned *problems)
{
    if (c == NULL || url == NULL || dir == NULL)
        return PC_ERR_INVALID;
    pc_err *e = &c->err;
    pc_err_clear(e);
    if (problems)
        *problems = 0;
    if (c->nkeys == 0 && c->trust_json == NULL)
        return pc_fail(e, PC_ERR_INVALID, "no public key or root of trust pinned");
    if (pc_mkdirs(dir, false, e) != PC_OK)
        return e->code;
    const char *mirrors[1] = {url};
    pc_fetch_opts fo = {.mirrors = mirrors, .nmirrors = 1, .ca_file = c->ca_file,
                        .cancel = &c->cancel, .parallel = c->parallel,
                        .low_speed_bytes = c->low_speed_bytes,
                        .low_speed_seconds = c->low_speed_seconds};
    char *json = NULL, *sig = NULL;
    size_t len, slen;
    pc_repo *r = NULL;
    mlist docs = {0}, files = {0};
    pc_keyset known = {0}; /* every key that may have signed a repo.json here */
    /* No install root: the walk starts at the pinned root (an empty state). */
    pc_op op = {.c = c, .fo = fo};
    pc_status st;
    bool force = (flags & PC_MIRROR_FORCE) != 0;
    if ((st = pc_op_walk_roots(&op)) ||
        (st = pc_fetch_buffer(&fo, "repo.json", PC_REPO_MAX_BYTES, &json, &len, NULL, e)) ||
        (st = pc_fetch_buffer(&fo, "repo.json.minisig", PC_SIG_FILE_MAX, &sig, &slen, NULL, e)) ||
        (st = verify_repo(&op, json, len, sig, slen)) ||
        (st = pc_repo_parse(json, len, &r, e)) || (st = pc_op_check_root_ref(&op, r)))
        goto out;
    uint64_t have = serial_in(&op, dir);
    if (have > r->serial && !force) {
        st = pc_fail(e, PC_ERR_ROLLBACK,
                     "%s holds serial %llu, newer than the source's %llu: not replaced "
                     "(force to replace it)", dir, (unsigned long long)have,
                     (unsigned long long)r->serial);
        goto out;
    }
    if ((int64_t)time(NULL) >= r->expires && !force) {
        char exp[21];
        pc_format_time(r->expires, exp);
        st = pc_fail(e, PC_ERR_EXPIRED, "%s: repo.json expired at %s: not copied (force to copy it)",
                     url, exp);
        goto out;
    }
    if (r->root_version > 0 && (st = copy_roots(&fo, dir, r->root_version, force, e)))
        goto out;
    char rel[PC_SITE_PATH_MAX];
    for (size_t i = 0; i < r->nversions && st == PC_OK; i++) {
        pc_site_manifest_path(r->versions[i].manifest.sha256, rel);
        st = add(&docs, dir, rel, r->versions[i].manifest.size, r->versions[i].manifest.sha256, e);
    }
    for (size_t i = 0; i < r->nedges && st == PC_OK; i++) {
        pc_site_delta_path(r->edges[i].delta.sha256, rel);
        st = add(&docs, dir, rel, r->edges[i].delta.size, r->edges[i].delta.sha256, e);
    }
    if (st == PC_OK)
        st = pc_fetch_files(&fo, docs.it, docs.n, e);
    /* Every object and patch the documents name. */
    for (size_t i = 0; i < docs.n && st == PC_OK; i++) {
        char *text;
        size_t tl;
        if ((st = pc_read_file(docs.it[i].dest, PC_MANIFEST_MAX_BYTES, &text, &tl, e)))
            break;
        pc_manifest *m = NULL;
        pc_delta *d = NULL;
        if (!strncmp(docs.it[i].rel, "manifests/", 10))
            st = pc_manifest_parse(text, tl, &m, e);
        else
            st = pc_delta_parse(text, tl, &d, e);
        free(text);
        for (size_t k = 0; m && st == PC_OK && k < m->nfiles; k++)
            if (m->files[k].type == PC_FT_FILE) {
                pc_site_object_path(m->files[k].sha256, rel);
                st = add(&files, dir, rel, m->files[k].object_size, m->files[k].object_sha256, e);
            }
        for (size_t k = 0; d && st == PC_OK && k < d->npatches; k++) {
            pc_site_patch_path(d->patches[k].from, d->patches[k].to, rel);
            st = add(&files, dir, rel, d->patches[k].size, d->patches[k].sha256, e);
        }
        if (d && st == PC_OK && d->release) {
            pc_site_patch_path(d->release->from, d->release->to, rel);
            st = add(&files, dir, rel, d->release->size, d->release->sha256, e);
        }
        pc_manifest_free(m);
        pc_delta_free(d);
    }
    if (st == PC_OK)
        st = pc_fetch_files(&fo, files.it, files.n, e);
    /* The copy is checked against the new repo.json before it is published:
     * a bad copy leaves the folder's previous site as it was. */
    if (st == PC_OK) {
        pc_site_verify_stats vs = {0};
        st = pc_site_verify_with(c, dir, json, len, sig, slen, NULL, NULL, &vs);
        if (problems)
            *problems = vs.problems;
        if (st != PC_OK)
            pc_fail(e, st, "%s: %u problems found while verifying the copy; its repo.json "
                    "was not replaced", dir, vs.problems);
    }
    /* The source may be in the middle of its own publish (a signature file
     * of two blocks): the copy gets the one block that signs its repo.json. */
    char *one = NULL;
    for (size_t i = 0; i < c->nkeys && known.nkeys < PC_ROOT_MAX_KEYS; i++)
        known.keys[known.nkeys++] = c->keys[i];
    for (size_t i = 0; op.has_root && i < op.root.repo.nkeys && known.nkeys < PC_ROOT_MAX_KEYS; i++)
        if (pc_keyset_find(&known, &op.root.repo.keys[i]) < 0)
            known.keys[known.nkeys++] = op.root.repo.keys[i];
    if (st == PC_OK)
        st = pc_sig_block_for(sig, slen, json, len, known.keys, known.nkeys,
                              "signature of repo.json, copied by patchcast mirror", &one, e);
    if (st == PC_OK)
        st = pc_publish_repo(dir, json, len, one, strlen(one), known.keys, known.nkeys, e);
    free(one);
out:
    free(op.root_json);
    free(op.root_sig);
    mlist_free(&docs);
    mlist_free(&files);
    pc_repo_free(r);
    free(json);
    free(sig);
    return st;
}
