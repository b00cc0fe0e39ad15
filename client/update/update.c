/* update.c — plan, download, apply, verify and switch an update; rollback,
 * repair and status. Every change happens in ROOT/staging and becomes
 * visible only through the atomic switch of ROOT/current. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hex.h"
#include "object.h"
#include "patch.h"
#include "path.h"
#include "route.h"
#include "sha256.h"
#include "update.h"

#define CANCELLED(op) __atomic_load_n(&(op)->c->cancel, __ATOMIC_SEQ_CST)

typedef enum { HOW_LOCAL, HOW_CHAIN, HOW_OBJECT } how_kind;

typedef struct file_plan {
    how_kind how;
    char *local;               /* HOW_LOCAL, and the base of HOW_CHAIN: a verified-by-hash path */
    const pc_patch_ref **chain; /* HOW_CHAIN: patches in order */
    size_t nchain;
} file_plan;

typedef struct plan {
    char *from, *to;
    pc_manifest *target;
    char *target_text;
    size_t target_len;
    const pc_version_info *tv;
    pc_delta **deltas;        /* one per hop */
    unsigned hops;
    file_plan *files;         /* one per target entry */
    pc_manifest **locals;     /* manifests of installed versions */
    char **local_names;
    size_t nlocals;
    uint64_t download;
    bool restart;
} plan;

static void plan_free(plan *p)
{
    free(p->from);
    free(p->to);
    if (p->target && p->files)
        for (size_t i = 0; i < p->target->nfiles; i++) {
            free(p->files[i].local);
            free(p->files[i].chain);
        }
    free(p->files);
    pc_manifest_free(p->target);
    free(p->target_text);
    for (unsigned i = 0; i < p->hops; i++)
        pc_delta_free(p->deltas[i]);
    free(p->deltas);
    for (size_t i = 0; i < p->nlocals; i++) {
        pc_manifest_free(p->locals[i]);
        free(p->local_names[i]);
    }
    free(p->locals);
    free(p->local_names);
    memset(p, 0, sizeof *p);
}

/* A local file whose content is sha: its path if present in an installed
 * version with the right size (the hash is checked when it is used). */
static char *find_local(pc_op *op, plan *p, const uint8_t sha[32])
{
    for (size_t v = 0; v < p->nlocals; v++) {
        const pc_manifest *m = p->locals[v];
        for (size_t i = 0; i < m->nfiles; i++) {
            const pc_file_entry *f = &m->files[i];
            if (f->type != PC_FT_FILE || memcmp(f->sha256, sha, 32))
                continue;
            char *path = pc_layout_path(&op->lay, "versions", p->local_names[v], f->path);
            struct stat sb;
            if (path && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
                (uint64_t)sb.st_size == f->size)
                return path;
            free(path);
        }
    }
    return NULL;
}

static pc_status load_locals(pc_op *op, plan *p)
{
    size_t n = op->state.ninstalled;
    p->locals = calloc(n ? n : 1, sizeof *p->locals);
    p->local_names = calloc(n ? n : 1, sizeof *p->local_names);
    if (!p->locals || !p->local_names)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    /* The current version first: it is the likeliest source. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const char *v = op->state.installed[i];
            bool is_cur = op->current && !strcmp(v, op->current);
            if ((pass == 0) != is_cur)
                continue;
            pc_manifest *m = pc_op_local_manifest(op, v);
            if (m == NULL)
                continue;
            p->locals[p->nlocals] = m;
            if ((p->local_names[p->nlocals++] = strdup(v)) == NULL)
                return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
        }
    return PC_OK;
}

static const pc_patch_ref *patch_to(const pc_delta *d, const uint8_t to[32])
{
    for (size_t i = 0; i < d->npatches; i++)
        if (!memcmp(d->patches[i].to, to, 32))
            return &d->patches[i];
    return NULL;
}

/* Walk the route backwards from the target content to something local. */
static pc_status plan_chain(pc_op *op, plan *p, const pc_file_entry *t, file_plan *fp)
{
    const pc_patch_ref *chain[64];
    size_t n = 0;
    uint8_t need[32];
    memcpy(need, t->sha256, 32);
    uint64_t cost = 0;
    for (unsigned h = p->hops; h-- > 0;) {
        const pc_patch_ref *pr = patch_to(p->deltas[h], need);
        if (pr == NULL)
            continue; /* unchanged across this hop (or added: then no chain) */
        chain[n++] = pr;
        cost += pr->size;
        memcpy(need, pr->from, 32);
        char *local = find_local(op, p, need);
        if (local) {
            if ((double)cost > op->repo->fallback_threshold * (double)t->object_size) {
                free(local);
                return PC_OK;
            }
            fp->how = HOW_CHAIN;
            fp->local = local;
            fp->chain = malloc(n * sizeof *fp->chain);
            if (fp->chain == NULL)
                return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++)
                fp->chain[i] = chain[n - 1 - i];
            fp->nchain = n;
            return PC_OK;
        }
    }
    return PC_OK;
}

/* Build the plan for an update from op->current to `version`. */
static pc_status make_plan(pc_op *op, const char *version, plan *p)
{
    pc_client *c = op->c;
    pc_err *e = &c->err;
    const pc_repo *r = op->repo;
    const char *target = version;
    if (target == NULL) {
        const char *ch = c->channel ? c->channel : "stable";
        target = pc_repo_channel(r, ch);
        if (target == NULL)
            return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no channel '%s'", ch);
    }
    size_t ti;
    p->tv = pc_repo_version(r, target, &ti);
    if (p->tv == NULL)
        return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no version '%s'", target);
    if ((p->to = strdup(target)) == NULL ||
        (op->current && (p->from = strdup(op->current)) == NULL))
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st;
    char rel[PC_SITE_PATH_MAX];
    pc_site_manifest_path(p->tv->manifest.sha256, rel);
    if ((st = pc_op_fetch_doc(op, rel, &p->tv->manifest, &p->target_text, &p->target_len)) ||
        (st = pc_manifest_parse(p->target_text, p->target_len, &p->target, e)))
        return pc_fail_prefix(e, "version %s: ", target);
    if (strcmp(p->target->version, target) != 0 || strcmp(p->target->product, r->product) != 0)
        return pc_fail(e, PC_ERR_FORMAT, "manifest of %s names %s %s", target,
                       p->target->product, p->target->version);
    if ((st = load_locals(op, p)) != PC_OK)
        return st;
    /* The route: cheapest chain of edges from the installed version. */
    size_t fi;
    if (op->current && strcmp(op->current, target) && pc_repo_version(r, op->current, &fi)) {
        pc_route_edge *ed = calloc(r->nedges ? r->nedges : 1, sizeof *ed);
        size_t path[64];
        uint64_t cost;
        if (ed == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < r->nedges; i++)
            ed[i] = (pc_route_edge){r->edges[i].from_idx, r->edges[i].to_idx, r->edges[i].bytes};
        pc_err scratch = {0};
        unsigned maxh = r->max_patch_chain_length < 64 ? r->max_patch_chain_length : 64;
        if (pc_route_find(r->nversions, ed, r->nedges, fi, ti, maxh, path, &p->hops, &cost,
                          &scratch) != PC_OK)
            p->hops = 0;
        free(ed);
        p->deltas = calloc(p->hops ? p->hops : 1, sizeof *p->deltas);
        if (p->deltas == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        for (unsigned h = 0; h < p->hops; h++) {
            const pc_edge *edge = &r->edges[path[h]];
            char *text;
            size_t len;
            pc_site_delta_path(edge->delta.sha256, rel);
            if ((st = pc_op_fetch_doc(op, rel, &edge->delta, &text, &len)) != PC_OK)
                return st;
            st = pc_delta_parse(text, len, &p->deltas[h], e);
            free(text);
            if (st != PC_OK)
                return st;
            if (strcmp(p->deltas[h]->from, edge->from) || strcmp(p->deltas[h]->to, edge->to))
                return pc_fail(e, PC_ERR_FORMAT, "delta of edge %s -> %s names %s -> %s",
                               edge->from, edge->to, p->deltas[h]->from, p->deltas[h]->to);
        }
    }
    /* Per file: local copy, patch chain, or whole object. */
    p->files = calloc(p->target->nfiles ? p->target->nfiles : 1, sizeof *p->files);
    if (p->files == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const pc_manifest *cur = p->nlocals && op->current ? p->locals[0] : NULL;
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_entry *t = &p->target->files[i];
        file_plan *fp = &p->files[i];
        if (t->type != PC_FT_FILE)
            continue;
        /* Changed or new: a critical file means a restart, even when its new
         * content is already on disk (another installed version, a rollback). */
        const pc_file_entry *old = cur ? pc_manifest_file(cur, t->path) : NULL;
        if ((t->flags & PC_FLAG_CRITICAL) && cur && (!old || memcmp(old->sha256, t->sha256, 32)))
            p->restart = true;
        if ((fp->local = find_local(op, p, t->sha256)) != NULL) {
            fp->how = HOW_LOCAL;
            continue;
        }
        fp->how = HOW_OBJECT;
        if ((st = plan_chain(op, p, t, fp)) != PC_OK)
            return st;
        if (fp->how == HOW_OBJECT)
            p->download += t->object_size;
        for (size_t k = 0; k < fp->nchain; k++)
            p->download += fp->chain[k]->size;
    }
    return PC_OK;
}

static pc_status fill_info(pc_op *op, const plan *p, pc_update_info **out)
{
    pc_update_info *info = calloc(1, sizeof *info);
    if (info == NULL)
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    info->from = p->from ? strdup(p->from) : NULL;
    info->to = strdup(p->to);
    info->up_to_date = p->from && !strcmp(p->from, p->to);
    info->download_bytes = info->up_to_date ? 0 : p->download;
    info->full_bytes = p->tv->full_bytes;
    info->hops = p->hops;
    info->restart_required = p->restart;
    info->notes = p->tv->notes ? strdup(p->tv->notes) : NULL;
    const pc_manifest *cur = p->nlocals && op->current ? p->locals[0] : NULL;
    size_t n = p->target->nfiles;
    info->changed_files = calloc(n ? n : 1, sizeof *info->changed_files);
    info->hot_modules = calloc(n ? n : 1, sizeof *info->hot_modules);
    if (!info->to || !info->changed_files || !info->hot_modules) {
        pc_update_info_free(info);
        return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && !info->up_to_date; i++) {
        const pc_file_entry *t = &p->target->files[i];
        if (t->type != PC_FT_FILE)
            continue;
        const pc_file_entry *old = cur ? pc_manifest_file(cur, t->path) : NULL;
        if (old && old->type == PC_FT_FILE && !memcmp(old->sha256, t->sha256, 32))
            continue;
        info->changed_files[info->nchanged++] = strdup(t->path);
        if ((t->flags & PC_FLAG_HOT) && cur)
            info->hot_modules[info->nhot++] = strdup(t->path);
    }
    *out = info;
    return PC_OK;
}

void pc_update_info_free(pc_update_info *info)
{
    if (info == NULL)
        return;
    free(info->from);
    free(info->to);
    free(info->notes);
    for (size_t i = 0; i < info->nchanged; i++)
        free(info->changed_files[i]);
    free(info->changed_files);
    for (size_t i = 0; i < info->nhot; i++)
        free(info->hot_modules[i]);
    free(info->hot_modules);
    free(info);
}

/* ---- download ------------------------------------------------------------ */

static char *cache_object(pc_op *op, const uint8_t sha[32])
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    return pc_layout_path(&op->lay, "cache", "objects", hex);
}

static char *cache_patch(pc_op *op, const pc_patch_ref *pr)
{
    char name[140], a[65], b[65];
    pc_hex_encode(pr->from, 32, a);
    pc_hex_encode(pr->to, 32, b);
    snprintf(name, sizeof name, "%s-%s", a, b);
    return pc_layout_path(&op->lay, "cache", "patches", name);
}

static pc_status download(pc_op *op, plan *p, uint64_t *transferred)
{
    pc_err *e = &op->c->err;
    size_t n = 0, cap = 16;
    pc_fetch_item *items = calloc(cap, sizeof *items);
    char **names = calloc(cap, sizeof *names);
    char **dests = calloc(cap, sizeof *dests);
    pc_status st = PC_OK;
    if (!items || !names || !dests) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    char *d1 = pc_layout_path(&op->lay, "cache", "objects", NULL);
    char *d2 = pc_layout_path(&op->lay, "cache", "patches", NULL);
    if (d1)
        mkdir(d1, 0755);
    if (d2)
        mkdir(d2, 0755);
    free(d1);
    free(d2);
    for (size_t i = 0; i < p->target->nfiles && st == PC_OK; i++) {
        const pc_file_entry *t = &p->target->files[i];
        file_plan *fp = &p->files[i];
        size_t want = fp->how == HOW_OBJECT ? 1 : fp->how == HOW_CHAIN ? fp->nchain : 0;
        for (size_t k = 0; k < want; k++) {
            char rel[PC_SITE_PATH_MAX], *dest;
            uint64_t size;
            if (fp->how == HOW_OBJECT) {
                pc_site_object_path(t->sha256, rel);
                dest = cache_object(op, t->sha256);
                size = t->object_size;
            } else {
                pc_site_patch_path(fp->chain[k]->from, fp->chain[k]->to, rel);
                dest = cache_patch(op, fp->chain[k]);
                size = fp->chain[k]->size;
            }
            char *name = strdup(rel);
            if (!dest || !name) {
                free(dest);
                free(name);
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
                break;
            }
            bool dup = false;
            for (size_t q = 0; q < n && !dup; q++)
                dup = !strcmp(names[q], name);
            if (dup) {
                free(dest);
                free(name);
                continue;
            }
            if (n == cap) {
                cap *= 2;
                pc_fetch_item *ni = realloc(items, cap * sizeof *ni);
                char **nn = realloc(names, cap * sizeof *nn);
                char **nd = realloc(dests, cap * sizeof *nd);
                if (ni)
                    items = ni;
                if (nn)
                    names = nn;
                if (nd)
                    dests = nd;
                if (!ni || !nn || !nd) {
                    free(dest);
                    free(name);
                    st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            names[n] = name;
            dests[n] = dest;
            items[n] = (pc_fetch_item){.rel = name, .dest = dest, .size = size, .no_sha = true};
            n++;
        }
    }
    if (st == PC_OK)
        st = pc_fetch_files(&op->fo, items, n, e);
    *transferred = 0;
    for (size_t i = 0; i < n; i++)
        *transferred += items[i].transferred;
out:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(dests[i]);
    }
    free(items);
    free(names);
    free(dests);
    return st;
}

/* ---- apply ---------------------------------------------------------------- */

static pc_status mkdirs_for(const char *path, pc_err *e)
{
    char *p = strdup(path);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = PC_OK;
    for (char *q = p + 1; (q = strchr(q, '/')) != NULL; q++) {
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            st = pc_fail(e, PC_ERR_IO, "%s: %s", p, strerror(errno));
        *q = '/';
        if (st != PC_OK)
            break;
    }
    free(p);
    return st;
}

static pc_status verify_file(const char *path, const pc_file_entry *t, pc_err *e)
{
    uint8_t h[32];
    uint64_t n;
    if (pc_sha256_file(path, h, &n) != PC_OK)
        return pc_fail(e, PC_ERR_IO, "%s: %s", path, strerror(errno));
    if (n != t->size || memcmp(h, t->sha256, 32) != 0)
        return pc_fail(e, PC_ERR_HASH, "%s: content differs from the manifest", t->path);
    return PC_OK;
}

static pc_status copy_file(const char *src, const char *dst, unsigned mode, pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return pc_fail(e, PC_ERR_IO, "%s: %s", src, strerror(errno));
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open(&t, dst, e);
    if (st == PC_OK) {
        t.no_sync = true; /* staging: commit syncs the whole tree */
        char buf[65536];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (pc_write_all(t.fd, buf, (size_t)r) != 0) {
                r = -1;
                break;
            }
        if (r < 0)
            st = pc_fail(e, PC_ERR_IO, "copying %s: %s", src, strerror(errno));
        st = pc_tmpfile_finish(&t, st, (mode_t)mode, e);
    }
    close(in);
    return st;
}

/* Files written into staging get no fsync of their own: commit syncs the
 * whole staging tree at once, in parallel, before it becomes a version. */
static pc_status unpack_staged(const char *obj, const char *dst, const pc_file_entry *t,
                               pc_err *e)
{
    int in = open(obj, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO, "%s: %s", obj,
                       strerror(errno));
    pc_tmpfile tf;
    pc_status st = pc_tmpfile_open(&tf, dst, e);
    if (st == PC_OK) {
        tf.no_sync = true;
        if ((st = pc_object_unpack_fd(in, tf.fd, t->size, t->sha256, e)) != PC_OK)
            pc_fail_prefix(e, "%s: ", obj);
        st = pc_tmpfile_finish(&tf, st, (mode_t)t->mode, e);
    }
    close(in);
    return st;
}

static pc_status patch_staged(const char *in, const char *patch, const char *out,
                              const pc_patch_expect *ex, pc_err *e)
{
    pc_tmpfile tf;
    pc_status st = pc_tmpfile_open(&tf, out, e);
    if (st == PC_OK) {
        tf.no_sync = true;
        st = pc_tmpfile_finish(&tf, pc_patch_apply_fd(in, patch, tf.fd, ex, e), 0644, e);
    }
    return st;
}

static pc_status apply_file(pc_op *op, plan *p, size_t i, const char *dst, pc_err *e)
{
    const pc_file_entry *t = &p->target->files[i];
    file_plan *fp = &p->files[i];
    pc_status st = PC_OK;
    if (fp->how == HOW_LOCAL) {
        struct stat sb;
        /* Hard-link unchanged content; copy when the mode differs (a link
         * would change the old version's file too) or links fail. */
        if (!(lstat(fp->local, &sb) == 0 && (sb.st_mode & 0777) == t->mode &&
              link(fp->local, dst) == 0))
            st = copy_file(fp->local, dst, t->mode, e);
        if (st == PC_OK)
            st = verify_file(dst, t, e);
        return st;
    }
    if (fp->how == HOW_OBJECT) {
        char *obj = cache_object(op, t->sha256);
        if (obj == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        st = unpack_staged(obj, dst, t, e);
        if (st == PC_ERR_HASH || st == PC_ERR_FORMAT || st == PC_ERR_TOO_LARGE)
            unlink(obj); /* a bad download: fetch it again next time */
        free(obj);
        return st;
    }
    /* A chain of patches from a local file, through temporary files. */
    const char *in = fp->local;
    char tmp[2][PATH_MAX];
    for (size_t k = 0; k < fp->nchain && st == PC_OK; k++) {
        bool last = k + 1 == fp->nchain;
        const char *out = last ? dst : tmp[k % 2];
        if (!last)
            snprintf(tmp[k % 2], sizeof tmp[k % 2], "%s.step%zu", dst, k);
        /* The input is a file of an installed, verified version, or the
         * previous step's output, checked as it was written: its hash is
         * known. (Were it damaged, the output's hash would not match.) */
        pc_patch_expect ex = {.has_sha = true, .has_size = last, .new_size = t->size,
                              .has_old_sha = true};
        memcpy(ex.new_sha256, fp->chain[k]->to, 32);
        memcpy(ex.old_sha256, fp->chain[k]->from, 32);
        char *patch = cache_patch(op, fp->chain[k]);
        if (patch == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        st = patch_staged(in, patch, out, &ex, e);
        if (st == PC_ERR_PATCH || st == PC_ERR_HASH || st == PC_ERR_UNSUPPORTED)
            unlink(patch);
        free(patch);
        if (k > 0)
            unlink(in);
        in = out;
    }
    if (st == PC_OK && chmod(dst, (mode_t)t->mode) != 0)
        st = pc_fail(e, PC_ERR_IO, "%s: %s", dst, strerror(errno));
    return st;
}

/* Regular files are applied by two threads taking the next index in turn:
 * hashing and patching are CPU-bound and the files independent. */
typedef struct apply_job {
    pc_op *op;
    plan *p;
    const char *stage;
    size_t *order;  /* the regular files, largest first */
    size_t norder;
    size_t next;    /* atomic: next index into order */
    uint64_t done;  /* atomic: bytes applied */
    int failed;     /* atomic: stop taking files */
    pc_err err;     /* the helper thread's failure */
} apply_job;

/* Apply files until none is left or one fails; progress only on the
 * operation's own thread (report). */
static pc_status apply_files(apply_job *j, pc_err *e, bool report, uint64_t total)
{
    const pc_manifest *m = j->p->target;
    for (;;) {
        if (__atomic_load_n(&j->failed, __ATOMIC_SEQ_CST))
            return PC_OK;
        if (CANCELLED(j->op))
            return pc_fail(e, PC_ERR_CANCELLED, "update cancelled");
        size_t k = __atomic_fetch_add(&j->next, 1, __ATOMIC_SEQ_CST);
        if (k >= j->norder)
            return PC_OK;
        size_t i = j->order[k];
        const pc_file_entry *t = &m->files[i];
        char *dst = pc_path_join(j->stage, t->path);
        pc_status st = dst ? apply_file(j->op, j->p, i, dst, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
        free(dst);
        if (st != PC_OK)
            return pc_fail_prefix(e, "%s: ", t->path);
        uint64_t done = __atomic_add_fetch(&j->done, t->size, __ATOMIC_SEQ_CST);
        if (report)
            pc_op_progress(j->op, "apply", t->path, done, total);
    }
}

static void *apply_helper(void *arg)
{
    apply_job *j = arg;
    if (apply_files(j, &j->err, false, 0) != PC_OK)
        __atomic_store_n(&j->failed, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int larger_first(const void *a, const void *b, void *manifest)
{
    const pc_manifest *m = manifest;
    size_t i = *(const size_t *)a, k = *(const size_t *)b;
    uint64_t x = m->files[i].size, y = m->files[k].size;
    if (x != y)
        return x < y ? 1 : -1;
    return (i > k) - (i < k);
}

static pc_status apply_all(pc_op *op, plan *p, const char *stage)
{
    pc_err *e = &op->c->err;
    if (mkdir(stage, 0755) != 0 && errno != EEXIST)
        return pc_fail(e, PC_ERR_IO, "%s: %s", stage, strerror(errno));
    uint64_t total = 0;
    size_t nfiles = 0;
    /* Folders and links first (and every file's folder), on this thread. */
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_entry *t = &p->target->files[i];
        char *dst = pc_path_join(stage, t->path);
        if (dst == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        pc_status st = mkdirs_for(dst, e);
        if (st == PC_OK && t->type == PC_FT_DIR && mkdir(dst, 0755) != 0 && errno != EEXIST)
            st = pc_fail(e, PC_ERR_IO, "%s: %s", dst, strerror(errno));
        if (st == PC_OK && t->type == PC_FT_SYMLINK && symlink(t->target, dst) != 0)
            st = pc_fail(e, PC_ERR_IO, "%s: %s", dst, strerror(errno));
        free(dst);
        if (st != PC_OK)
            return pc_fail_prefix(e, "%s: ", t->path);
        if (t->type == PC_FT_FILE) {
            total += t->size;
            nfiles++;
        }
    }
    /* Largest first, so that the two threads finish together rather than
     * one of them starting the biggest file last. */
    apply_job j = {.op = op, .p = p, .stage = stage};
    if ((j.order = malloc((nfiles ? nfiles : 1) * sizeof *j.order)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->target->nfiles; i++)
        if (p->target->files[i].type == PC_FT_FILE)
            j.order[j.norder++] = i;
    qsort_r(j.order, j.norder, sizeof *j.order, larger_first, (void *)p->target);
    pthread_t th;
    bool helper = nfiles > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
                  pthread_create(&th, NULL, apply_helper, &j) == 0;
    pc_status st = apply_files(&j, e, true, total);
    if (st != PC_OK)
        __atomic_store_n(&j.failed, 1, __ATOMIC_SEQ_CST);
    if (helper)
        pthread_join(th, NULL);
    if (st == PC_OK && j.err.code != PC_OK) {
        *e = j.err;
        st = j.err.code;
    }
    free(j.order);
    return st;
}

/* Keep the newest `keep` installed versions, never current or previous. */
static void prune(pc_op *op)
{
    unsigned keep = op->c->keep_versions ? op->c->keep_versions : 2;
    while (op->state.ninstalled > keep) {
        const char *victim = NULL;
        for (size_t i = 0; i < op->state.ninstalled && !victim; i++) {
            const char *v = op->state.installed[i];
            if ((op->state.current && !strcmp(v, op->state.current)) ||
                (op->state.previous && !strcmp(v, op->state.previous)))
                continue;
            victim = v;
        }
        if (victim == NULL)
            return;
        char name[80];
        snprintf(name, sizeof name, "%s.json", victim);
        char *dir = pc_layout_path(&op->lay, "versions", victim, NULL);
        char *man = pc_layout_path(&op->lay, "manifests", name, NULL);
        pc_err scratch = {0};
        if (dir)
            pc_rmtree(dir, &scratch);
        if (man)
            unlink(man);
        free(dir);
        free(man);
        char *copy = strdup(victim);
        pc_state_remove_installed(&op->state, copy ? copy : victim);
        free(copy);
    }
}

static pc_status commit(pc_op *op, plan *p, const char *stage, uint64_t transferred,
                        const char *action)
{
    pc_err *e = &op->c->err;
    char name[80];
    snprintf(name, sizeof name, "%s.json", p->to);
    char *man = pc_layout_path(&op->lay, "manifests", name, NULL);
    if (man == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_write_file_atomic(man, p->target_text, p->target_len, 0644, e);
    free(man);
    if (st == PC_OK)
        st = pc_layout_commit_version(&op->lay, stage, p->to, e);
    pc_op_progress(op, "switch", p->to, 0, 0);
    if (st == PC_OK)
        st = pc_layout_switch(&op->lay, p->to, e);
    if (st != PC_OK)
        return st;
    /* From here the new version is current; the state follows. */
    if ((st = pc_state_set(&op->state.previous, op->current, e)) ||
        (st = pc_state_set(&op->state.current, p->to, e)) ||
        (st = pc_state_add_installed(&op->state, p->to, e)) ||
        (st = pc_state_log(&op->state, action, op->current, p->to, transferred, e)))
        return st;
    prune(op);
    return pc_state_save(&op->state, op->state_path, e);
}

/* ---- public operations ------------------------------------------------------ */

static pc_status run(pc_client *c, const char *version, bool apply, pc_update_info **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (out)
        *out = NULL;
    pc_op op;
    plan p = {0};
    pc_status st = pc_op_begin(&op, c, apply);
    op.nsteps = apply ? 4 : 1;
    op.step = 1;
    if (st == PC_OK)
        st = pc_op_fetch_repo(&op);
    if (st == PC_OK)
        st = make_plan(&op, version, &p);
    if (st == PC_OK && apply && !(p.from && !strcmp(p.from, p.to))) {
        uint64_t transferred = 0;
        char *stage = pc_layout_path(&op.lay, "staging", p.to, NULL);
        if (stage == NULL)
            st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        op.step = 2;
        if (st == PC_OK)
            st = download(&op, &p, &transferred);
        op.step = 3;
        if (st == PC_OK)
            st = apply_all(&op, &p, stage);
        op.step = 4;
        if (st == PC_OK)
            st = commit(&op, &p, stage, transferred, p.from ? "update" : "install");
        if (st != PC_OK && stage) {
            pc_err scratch = {0};
            pc_rmtree(stage, &scratch);
        }
        free(stage);
        p.download = transferred;
    }
    if (st == PC_OK && out)
        st = fill_info(&op, &p, out);
    plan_free(&p);
    pc_op_end(&op);
    return st;
}

pc_status pc_client_check(pc_client *c, const char *version, pc_update_info **out)
{
    return run(c, version, false, out);
}

pc_status pc_client_update(pc_client *c, const char *version, pc_update_info **out)
{
    return run(c, version, true, out);
}

/* Hash every file of an installed version against its stored manifest.
 * broken (may be NULL) receives a flag per entry. */
static pc_status verify_version(pc_op *op, const char *v, const pc_manifest *m, bool *broken,
                                unsigned *nbroken)
{
    *nbroken = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        const pc_file_entry *f = &m->files[i];
        if (f->type != PC_FT_FILE)
            continue;
        char *path = pc_layout_path(&op->lay, "versions", v, f->path);
        if (path == NULL)
            return pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
        pc_err scratch = {0};
        struct stat sb;
        bool bad = lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                   verify_file(path, f, &scratch) != PC_OK;
        free(path);
        if (bad) {
            (*nbroken)++;
            if (broken)
                broken[i] = true;
        }
    }
    return PC_OK;
}

pc_status pc_client_rollback(pc_client *c, pc_update_info **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (out)
        *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, false);
    pc_manifest *m = NULL;
    const char *prev = op.state.previous;
    if (st == PC_OK && (prev == NULL || op.current == NULL))
        st = pc_fail(&c->err, PC_ERR_STATE, "no previous version to roll back to");
    if (st == PC_OK && (m = pc_op_local_manifest(&op, prev)) == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "previous version %s is no longer installed", prev);
    unsigned nbroken = 0;
    if (st == PC_OK)
        st = verify_version(&op, prev, m, NULL, &nbroken);
    if (st == PC_OK && nbroken)
        st = pc_fail(&c->err, PC_ERR_STATE,
                     "previous version %s has %u damaged files; not switching to it", prev,
                     nbroken);
    char *from = NULL, *to = NULL;
    if (st == PC_OK && (!(from = strdup(op.current)) || !(to = strdup(prev))))
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        st = pc_layout_switch(&op.lay, to, &c->err);
    if (st == PC_OK && !(st = pc_state_set(&op.state.current, to, &c->err)) &&
        !(st = pc_state_set(&op.state.previous, from, &c->err)) &&
        !(st = pc_state_log(&op.state, "rollback", from, to, 0, &c->err)))
        st = pc_state_save(&op.state, op.state_path, &c->err);
    if (st == PC_OK && out) {
        pc_update_info *info = calloc(1, sizeof *info);
        if (info == NULL)
            st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        else {
            info->from = from;
            info->to = to;
            from = to = NULL;
            *out = info;
        }
    }
    free(from);
    free(to);
    pc_manifest_free(m);
    pc_op_end(&op);
    return st;
}

pc_status pc_client_repair(pc_client *c, unsigned *fixed)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (fixed)
        *fixed = 0;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, false);
    op.step = op.nsteps = 1;
    pc_manifest *m = NULL;
    bool *broken = NULL;
    if (st == PC_OK && op.current == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "nothing is installed");
    if (st == PC_OK && (m = pc_op_local_manifest(&op, op.current)) == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "the manifest of %s is missing", op.current);
    if (st == PC_OK && (broken = calloc(m->nfiles ? m->nfiles : 1, 1)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    unsigned nbroken = 0;
    if (st == PC_OK)
        st = verify_version(&op, op.current, m, broken, &nbroken);
    for (size_t i = 0; st == PC_OK && i < m->nfiles; i++) {
        if (!broken[i])
            continue;
        const pc_file_entry *f = &m->files[i];
        char rel[PC_SITE_PATH_MAX];
        pc_site_object_path(f->sha256, rel);
        char *obj = cache_object(&op, f->sha256);
        char *dst = pc_layout_path(&op.lay, "versions", op.current, f->path);
        char *dir = pc_layout_path(&op.lay, "cache", "objects", NULL);
        if (!obj || !dst || !dir)
            st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        if (dir)
            mkdir(dir, 0755);
        pc_fetch_item it = {.rel = rel, .dest = obj, .size = f->object_size, .no_sha = true};
        if (st == PC_OK)
            st = pc_fetch_files(&op.fo, &it, 1, &c->err);
        if (st == PC_OK)
            st = mkdirs_for(dst, &c->err);
        if (st == PC_OK)
            st = pc_object_unpack_file(obj, dst, f->mode, f->size, f->sha256, &c->err);
        if (st == PC_OK && fixed)
            (*fixed)++;
        free(obj);
        free(dst);
        free(dir);
    }
    if (st == PC_OK && nbroken &&
        !(st = pc_state_log(&op.state, "repair", op.current, op.current, 0, &c->err)))
        st = pc_state_save(&op.state, op.state_path, &c->err);
    free(broken);
    pc_manifest_free(m);
    pc_op_end(&op);
    return st;
}

pc_status pc_client_status(pc_client *c, pc_install_state **out)
{
    if (c == NULL || out == NULL)
        return PC_ERR_INVALID;
    *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, false);
    pc_install_state *s = NULL;
    if (st == PC_OK && (s = calloc(1, sizeof *s)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK) {
        s->current = op.current ? strdup(op.current) : NULL;
        s->previous = op.state.previous ? strdup(op.state.previous) : NULL;
        s->last_serial = op.state.last_serial;
        s->installed = calloc(op.state.ninstalled ? op.state.ninstalled : 1, sizeof *s->installed);
        for (size_t i = 0; s->installed && i < op.state.ninstalled; i++)
            s->installed[s->ninstalled++] = strdup(op.state.installed[i]);
        *out = s;
    }
    pc_op_end(&op);
    return st;
}

void pc_client_status_free(pc_install_state *s)
{
    if (s == NULL)
        return;
    free(s->current);
    free(s->previous);
    for (size_t i = 0; i < s->ninstalled; i++)
        free(s->installed[i]);
    free(s->installed);
    free(s);
}
