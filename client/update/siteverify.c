/* siteverify.c — check a whole site folder: the signature of repo.json, the
 * hash and size of every manifest, delta, object and patch, and that every
 * patch applied to its source produces its target, and the chain of root
 * metadata (roots/) repo.json names. Shared by
 * `patchcast-gen verify` (before uploading) and `patchcast mirror`. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "fileio.h"
#include "hex.h"
#include "jsonv.h"
#include "layout.h"
#include "meta.h"
#include "object.h"
#include "patch.h"
#include "path.h"
#include "relpatch.h"
#include "seen.h"
#include "sig.h"
#include "sha256.h"
#include "siteverify.h"
#include "trust.h"

typedef struct vctx {
    const char *site;
    pc_site_problem_fn fn;
    void *ud;
    char tmp[4200];
    unsigned problems, objects, patches, docs;
    pc_seen seen; /* objects already checked */
} vctx;

/* True the first time a content hash is offered (and when out of memory:
 * then it is checked again). */
static bool first_time(vctx *v, const uint8_t sha[32])
{
    return pc_seen_add(&v->seen, sha, 32) != 0;
}

static void problem(vctx *v, const char *file, const char *msg)
{
    v->problems++;
    if (v->fn)
        v->fn(v->ud, file, msg);
}

static char *site_file(const vctx *v, const char *rel)
{
    size_t n = strlen(v->site) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", v->site, rel);
    return p;
}

/* Read a content-addressed document and check its hash and size. */
static char *read_doc(vctx *v, const char *rel, const pc_hashref *ref, size_t *len)
{
    char *p = site_file(v, rel), *text = NULL;
    pc_err e = {0};
    if (p && pc_read_file(p, PC_MANIFEST_MAX_BYTES, &text, len, &e) != PC_OK) {
        problem(v, rel, e.msg);
        text = NULL;
    } else if (p) {
        if (!pc_hashref_matches(ref, text, *len)) {
            problem(v, rel, "size or SHA-256 differs from repo.json");
            free(text);
            text = NULL;
        }
        v->docs++;
    }
    free(p);
    return text;
}

/* The bytes of a site file have the hash the signed metadata names: checked
 * before any decoder reads them. */
static bool file_hash_is(const char *path, const uint8_t sha[32])
{
    uint8_t got[32];
    return pc_sha256_file(path, got, NULL) == PC_OK && memcmp(got, sha, 32) == 0;
}

/* Unpack an object to the scratch file; true if it is valid. */
static bool check_object(vctx *v, const pc_file_entry *f, bool keep)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_object_path(f->sha256, rel);
    char *p = site_file(v, rel);
    struct stat sb;
    pc_err e = {0};
    bool ok = false;
    if (p == NULL)
        return false;
    if (stat(p, &sb) != 0)
        problem(v, rel, "missing");
    else if ((uint64_t)sb.st_size != f->object_size)
        problem(v, rel, "size differs from the manifest's object_size");
    else if (!file_hash_is(p, f->object_sha256))
        problem(v, rel, "SHA-256 differs from the manifest's object_sha256");
    else if (pc_object_unpack_file(p, v->tmp, 0644, f->size, f->sha256, &e) != PC_OK)
        problem(v, rel, e.msg);
    else
        ok = true;
    if (!keep)
        unlink(v->tmp);
    free(p);
    return ok;
}

/* A manifest's regular files by content (then by place), made when a delta
 * first needs them. */
typedef struct by_sha {
    const pc_file_entry **f;
    size_t n;
    bool made;
} by_sha;

static int cmp_by_sha(const void *pa, const void *pb)
{
    const pc_file_entry *a = *(const pc_file_entry *const *)pa;
    const pc_file_entry *b = *(const pc_file_entry *const *)pb;
    int c = memcmp(a->sha256, b->sha256, 32);
    return c ? c : (a > b) - (a < b); /* one manifest: one array */
}

/* The first regular file of m with content sha, or NULL (also when out of
 * memory: then the patch is reported, not passed). */
static const pc_file_entry *file_with(const pc_manifest *m, by_sha *ix, const uint8_t sha[32])
{
    if (!ix->made) {
        ix->made = true;
        ix->f = malloc((m->nfiles ? m->nfiles : 1) * sizeof *ix->f);
        for (size_t i = 0; ix->f && i < m->nfiles; i++)
            if (m->files[i].type == PC_FT_FILE)
                ix->f[ix->n++] = &m->files[i];
        if (ix->f)
            qsort(ix->f, ix->n, sizeof *ix->f, cmp_by_sha);
    }
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(ix->f[mid]->sha256, sha, 32) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && !memcmp(ix->f[lo]->sha256, sha, 32) ? ix->f[lo] : NULL;
}

/* Append the object of f, unpacked, to fd and pad it to the alignment of
 * a release reference. */
static bool append_object(vctx *v, const pc_file_entry *f, int fd)
{
    if (!check_object(v, f, true))
        return false;
    int in = open(v->tmp, O_RDONLY | O_CLOEXEC);
    uint8_t buf[65536];
    ssize_t r = 0;
    bool ok = in >= 0;
    while (ok && (r = read(in, buf, sizeof buf)) > 0)
        ok = pc_write_all(fd, buf, (size_t)r) == 0;
    ok = ok && r == 0;
    if (in >= 0)
        close(in);
    unlink(v->tmp);
    off_t end = lseek(fd, 0, SEEK_END);
    off_t pad = (PC_RELEASE_ALIGN - end % PC_RELEASE_ALIGN) % PC_RELEASE_ALIGN;
    return ok && end >= 0 && ftruncate(fd, end + pad) == 0 && lseek(fd, 0, SEEK_END) >= 0;
}

static bool same_files(const pc_release_file *want, size_t n, const pc_release_ref *rel)
{
    if (n != rel->nfiles)
        return false;
    for (size_t i = 0; i < n; i++)
        if (want[i].size != rel->files[i].size || memcmp(want[i].sha256, rel->files[i].sha256, 32))
            return false;
    return true;
}

/* A whole-release patch: the file as the delta names it, the contents it
 * makes those the rule gives, and applied to the reference built from the
 * from version's objects it makes them. */
static void check_release(vctx *v, const pc_release_ref *rel, const pc_manifest *from,
                          const pc_manifest *to)
{
    char prel[PC_SITE_PATH_MAX];
    pc_site_patch_path(rel->from, rel->to, prel);
    char *pp = site_file(v, prel), *ref = site_file(v, ".verify-reference"),
         *out = site_file(v, ".verify-release");
    pc_release_file *want = NULL;
    size_t *idx = NULL, nwant = 0, nref = 0;
    uint64_t ref_size = 0;
    pc_err e = {0};
    struct stat sb;
    int fd = -1, od = -1;
    uint8_t *map = NULL;
    v->patches++;
    if (!pp || !ref || !out || pc_relref_targets(from, to, &want, NULL, &nwant, &e) ||
        pc_relref_layout(from, &idx, &nref, &ref_size, &e))
        problem(v, prel, e.msg[0] ? e.msg : "out of memory");
    else if (stat(pp, &sb) != 0)
        problem(v, prel, "missing");
    else if ((uint64_t)sb.st_size != rel->size)
        problem(v, prel, "size differs from the delta document");
    else if (!file_hash_is(pp, rel->sha256))
        problem(v, prel, "SHA-256 differs from the delta document");
    else if (!same_files(want, nwant, rel))
        problem(v, prel, "its files are not the contents its target adds to its source");
    else if (ref_size != rel->reference_size)
        problem(v, prel, "reference_size differs from the reference of its source");
    else if ((fd = open(ref, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        problem(v, prel, "cannot make a scratch file");
    else {
        bool ok = true;
        for (size_t k = 0; k < nref && ok; k++)
            ok = append_object(v, &from->files[idx[k]], fd);
        if (ok && ref_size > 0 &&
            (map = mmap(NULL, (size_t)ref_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
            map = NULL, ok = false;
        pc_relref r = {map, ref_size};
        (void)mkdir(out, 0700);
        if (!ok)
            problem(v, prel, "not applied: an object of its source is damaged");
        else if ((od = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
                 pc_relpatch_apply(&r, rel, pp, od, &e) != PC_OK)
            problem(v, prel, od < 0 ? "cannot make a scratch folder" : e.msg);
    }
    if (map)
        munmap(map, (size_t)ref_size);
    if (fd >= 0)
        close(fd);
    if (od >= 0)
        close(od);
    if (ref)
        unlink(ref);
    if (out)
        (void)pc_rmtree(out, &e);
    free(want);
    free(idx);
    free(pp);
    free(ref);
    free(out);
}

pc_status pc_site_verify_dir(pc_client *cl, const char *dir, pc_site_problem_fn fn, void *ud,
                             pc_site_verify_stats *stats)
{
    char *json = NULL, *sig = NULL;
    size_t len = 0, slen = 0;
    pc_err e = {0};
    char *rp = pc_path_join(dir, "repo.json"), *sp = pc_path_join(dir, "repo.json.minisig");
    if (!rp || !sp) {
        free(rp);
        free(sp);
        return PC_ERR_NOMEM;
    }
    pc_status rc;
    if (pc_read_file(rp, PC_REPO_MAX_BYTES, &json, &len, &e) ||
        pc_read_file(sp, PC_SIG_FILE_MAX, &sig, &slen, &e)) {
        if (fn)
            fn(ud, "repo.json", e.msg);
        if (stats) {
            memset(stats, 0, sizeof *stats);
            stats->problems = 1;
        }
        rc = PC_ERR_HASH;
    } else {
        rc = pc_site_verify_with(cl, dir, json, len, sig, slen, fn, ud, stats);
    }
    free(json);
    free(sig);
    free(rp);
    free(sp);
    return rc;
}

/* The site's roots/1.root.json, 2, ... up to the first missing: each
 * signed by a threshold of its own root keys and of the previous one's
 * (docs/format.md §13). *newest receives the last that passed (version 0:
 * none), *newest_json its text (caller frees). Problems are reported; the
 * walk stops at the first. */
static void check_roots(vctx *v, pc_root *newest, char **newest_json, size_t *newest_len)
{
    memset(newest, 0, sizeof *newest);
    *newest_json = NULL;
    *newest_len = 0;
    for (uint64_t ver = 1; ver <= PC_ROOT_MAX_STEPS; ver++) {
        char rel[64], srel[80];
        pc_root_site_path(ver, rel);
        snprintf(srel, sizeof srel, "%s.minisig", rel);
        char *p = site_file(v, rel), *sp = site_file(v, srel), *json = NULL, *sig = NULL;
        size_t len = 0, slen = 0;
        pc_err e = {0};
        pc_root next = {0};
        bool ok = false;
        pc_status st = p && sp ? pc_read_file(p, PC_ROOT_MAX_BYTES, &json, &len, &e) : PC_ERR_NOMEM;
        if (st == PC_OK && pc_read_file(sp, PC_SIG_FILE_MAX, &sig, &slen, &e) != PC_OK)
            problem(v, srel, e.msg);
        else if (st == PC_OK && pc_root_accept(newest->version ? newest : NULL, json, len, sig,
                                               slen, &next, &e) != PC_OK)
            problem(v, rel, e.msg);
        else if (st == PC_OK && next.version != ver)
            problem(v, rel, "its version differs from its file name");
        else if (st == PC_OK)
            ok = true;
        else if (st != PC_ERR_NOT_FOUND)
            problem(v, rel, e.msg);
        if (ok) {
            *newest = next;
            free(*newest_json);
            *newest_json = json;
            *newest_len = len;
            json = NULL;
            v->docs++;
        }
        free(p);
        free(sp);
        free(json);
        free(sig);
        if (!ok)
            return;
    }
}

pc_status pc_site_verify_with(pc_client *cl, const char *dir, const char *json, size_t len,
                              const char *sig, size_t slen, pc_site_problem_fn fn, void *ud,
                              pc_site_verify_stats *stats)
{
    vctx v = {.site = dir, .fn = fn, .ud = ud};
    snprintf(v.tmp, sizeof v.tmp, "%s/.verify-scratch", v.site);
    char tmp2[4300];
    snprintf(tmp2, sizeof tmp2, "%s.out", v.tmp);
    pc_repo *r = NULL;
    char *tc = NULL;
    pc_err e = {0};
    pc_status rc = PC_OK;
    /* The roots first: repo.json is then checked by the newest one's
     * repository keys, and by the pinned bare keys if any, before it is
     * parsed. */
    pc_root root;
    char *root_json = NULL;
    size_t root_len = 0;
    check_roots(&v, &root, &root_json, &root_len);
    if (root.version > 0 &&
        pc_keyset_check(&root.repo, "repository", sig, slen, "repo.json", json, len, &tc, &e)) {
        problem(&v, "repo.json.minisig", e.msg);
        goto report;
    }
    /* A mirror pinning a root trusts the root's keys alone (a bare key
     * pinned besides it may have been rotated out). */
    if (cl->nkeys > 0 && !(root.version > 0 && cl->trust_json)) {
        free(tc);
        tc = NULL;
        if (pc_client_verify_buffer(cl, json, len, sig, slen, 0, &tc) != PC_OK) {
            problem(&v, "repo.json.minisig", pc_client_errmsg(cl));
            goto report;
        }
    } else if (root.version == 0) {
        problem(&v, "repo.json.minisig", v.problems ? "no valid root of trust to check it with"
                                                    : "no public key to check it with");
        goto report;
    }
    if (pc_repo_parse(json, len, &r, &e) != PC_OK) {
        problem(&v, "repo.json", e.msg);
        goto report;
    }
    if (root.version != r->root_version) {
        char msg[160];
        snprintf(msg, sizeof msg, "names root version %llu, but the newest valid root in roots/ "
                 "is version %llu", (unsigned long long)r->root_version,
                 (unsigned long long)root.version);
        problem(&v, "repo.json", msg);
    } else if (root.version > 0 && !pc_hashref_matches(&r->root, root_json, root_len)) {
        problem(&v, "repo.json", "names other content for its root than roots/ holds");
    }
    char want[300], exp[21];
    pc_format_time(r->expires, exp);
    snprintf(want, sizeof want, "patchcast-repo serial:%llu product:%s expires:%s",
             (unsigned long long)r->serial, r->product, exp);
    if (strcmp(tc, want))
        problem(&v, "repo.json.minisig", "trusted comment does not match repo.json");
    pc_manifest **mans = calloc(r->nversions, sizeof *mans);
    by_sha *ix = calloc(r->nversions, sizeof *ix);
    if (mans == NULL || ix == NULL) {
        free(mans);
        free(ix);
        problem(&v, "repo.json", "out of memory");
        goto report;
    }
    for (size_t i = 0; i < r->nversions; i++) {
        char rel[PC_SITE_PATH_MAX];
        pc_site_manifest_path(r->versions[i].manifest.sha256, rel);
        size_t dl;
        char *text = read_doc(&v, rel, &r->versions[i].manifest, &dl);
        if (text && pc_manifest_parse(text, dl, &mans[i], &e) != PC_OK)
            problem(&v, rel, e.msg);
        free(text);
        if (!mans[i])
            continue;
        uint64_t full = 0;
        for (size_t k = 0; k < mans[i]->nfiles; k++) {
            const pc_file_entry *f = &mans[i]->files[k];
            if (f->type != PC_FT_FILE)
                continue;
            full += f->object_size;
            if (first_time(&v, f->sha256)) {
                check_object(&v, f, false);
                v.objects++;
            }
        }
        if (full != r->versions[i].full_bytes)
            problem(&v, rel, "full_bytes in repo.json differs from the sum of object sizes");
    }
    for (size_t i = 0; i < r->nedges; i++) {
        const pc_edge *ed = &r->edges[i];
        char rel[PC_SITE_PATH_MAX];
        pc_site_delta_path(ed->delta.sha256, rel);
        size_t dl;
        char *text = read_doc(&v, rel, &ed->delta, &dl);
        pc_delta *d = NULL;
        if (text && pc_delta_parse(text, dl, &d, &e) != PC_OK)
            problem(&v, rel, e.msg);
        free(text);
        const pc_manifest *from = mans[ed->from_idx], *to = mans[ed->to_idx];
        for (size_t k = 0; d && from && to && k < d->npatches; k++) {
            const pc_patch_ref *pr = &d->patches[k];
            char prel[PC_SITE_PATH_MAX];
            pc_site_patch_path(pr->from, pr->to, prel);
            char *pp = site_file(&v, prel);
            struct stat sb;
            const pc_file_entry *src = file_with(from, &ix[ed->from_idx], pr->from);
            const pc_file_entry *dst = file_with(to, &ix[ed->to_idx], pr->to);
            v.patches++;
            if (pp == NULL)
                continue;
            if (stat(pp, &sb) != 0)
                problem(&v, prel, "missing");
            else if ((uint64_t)sb.st_size != pr->size)
                problem(&v, prel, "size differs from the delta document");
            else if (!file_hash_is(pp, pr->sha256))
                problem(&v, prel, "SHA-256 differs from the delta document");
            else if (!src || !dst)
                problem(&v, prel, "its source or target is not in the edge's versions");
            else if (pr->to_size != dst->size)
                problem(&v, prel, "to_size differs from the size of its target");
            else if (!check_object(&v, src, true))
                problem(&v, prel, "not applied: its source object is damaged");
            else {
                pc_patch_expect ex = {.has_size = true, .new_size = dst->size, .has_sha = true};
                memcpy(ex.new_sha256, dst->sha256, 32);
                if (pc_patch_apply_file(v.tmp, pp, tmp2, &ex, &e) != PC_OK)
                    problem(&v, prel, e.msg);
                unlink(tmp2);
                unlink(v.tmp);
            }
            free(pp);
        }
        if (d && from && to && d->release)
            check_release(&v, d->release, from, to);
        pc_delta_free(d);
    }
    for (size_t i = 0; i < r->nversions; i++) {
        pc_manifest_free(mans[i]);
        free(ix[i].f);
    }
    free(mans);
    free(ix);
report:
    if (stats) {
        stats->serial = r ? r->serial : 0;
        stats->expires = r ? r->expires : 0;
        stats->versions = r ? r->nversions : 0;
        stats->edges = r ? r->nedges : 0;
        stats->documents = v.docs;
        stats->objects = v.objects;
        stats->patches = v.patches;
        stats->problems = v.problems;
        stats->root_version = root.version;
        stats->root_expires = root.version ? root.expires : 0;
    }
    if (v.problems)
        rc = PC_ERR_HASH;
    pc_repo_free(r);
    free(tc);
    free(root_json);
    pc_seen_free(&v.seen);
    return rc;
}
