/* stage.c — carrying out a plan: download its objects and patches, then build
 * the new version in ROOT/staging, every file checked against the target
 * manifest (see stage.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "fileio.h"
#include "hex.h"
#include "object.h"
#include "patch.h"
#include "relpatch.h"
#include "path.h"
#include "sha256.h"
#include "stage.h"

#define CANCELLED(op) __atomic_load_n(&(op)->c->cancel, __ATOMIC_SEQ_CST)

/* ---- download ------------------------------------------------------------ */

char *pc_stage_cache_object(pc_op *op, const uint8_t sha[32])
{
    char hex[65];
    pc_hex_encode(sha, 32, hex);
    return pc_layout_path(&op->lay, "cache", "objects", hex);
}

static char *cache_patch_of(pc_op *op, const uint8_t from[32], const uint8_t to[32])
{
    char name[140], a[65], b[65];
    pc_hex_encode(from, 32, a);
    pc_hex_encode(to, 32, b);
    snprintf(name, sizeof name, "%s-%s", a, b);
    return pc_layout_path(&op->lay, "cache", "patches", name);
}

static char *cache_patch(pc_op *op, const pc_patch_ref *pr)
{
    return cache_patch_of(op, pr->from, pr->to);
}

/* The whole-release patch's reference: the installed version's files,
 * mapped and each checked against its manifest before anything is
 * downloaded for it. A file damaged or missing (or a reference this
 * system cannot map) sends the update back to per-file patches, which
 * handle damage file by file. */
static void prepare_release(pc_op *op, pc_plan *p)
{
    char *dir = pc_layout_path(&op->lay, "versions", op->current, NULL);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    pc_err why = {0};
    size_t bad;
    if (fd < 0 || pc_relref_map(fd, p->locals[0], p->release->reference_size, &p->ref, &bad,
                                &why) != PC_OK) {
        pc_op_progress(op, "download", "per-file patches: the release patch's reference is "
                       "not intact", 0, 0);
        pc_plan_drop_release(p);
    }
    if (fd >= 0)
        close(fd);
    free(dir);
}

/* Does file i come from the release patch's output? */
static bool from_release(const pc_plan *p, size_t i)
{
    return p->release && p->files[i].piece != SIZE_MAX;
}

/* Download items sort by site path, so that a file several entries need
 * (the same content at two paths, a patch two chains share) is fetched
 * once: duplicates are then neighbours. */
static int by_rel(const void *a, const void *b)
{
    return strcmp(((const pc_fetch_item *)a)->rel, ((const pc_fetch_item *)b)->rel);
}

/* The whole-release patch, fetched before anything else: should no mirror
 * have it (a mirror half synced, or pruned by hand), the update takes
 * per-file patches instead. Any other failure stops the update as it would
 * for any file: a patch that fails its hash on every mirror is tampering
 * (exit 3), and no space, no network or a cancel would stop those too. */
static pc_status fetch_release(pc_op *op, pc_plan *p, uint64_t *transferred)
{
    pc_err *e = &op->c->err;
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(p->release->from, p->release->to, rel);
    pc_fetch_item it = {.rel = rel, .dest = cache_patch_of(op, p->release->from, p->release->to),
                        .size = p->release->size};
    memcpy(it.sha256, p->release->sha256, 32); /* from signed metadata */
    if (it.dest == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_fetch_files(&op->fo, &it, 1, e);
    *transferred += it.transferred;
    free((char *)it.dest);
    if (st != PC_OK && it.missing) {
        char why[PC_ERRMSG_MAX + 64];
        snprintf(why, sizeof why, "per-file patches: the release patch: %s", e->msg);
        pc_op_progress(op, "download", why, 0, 0);
        pc_plan_drop_release(p);
        pc_err_clear(e);
        st = PC_OK;
    }
    return st;
}

pc_status pc_stage_download(pc_op *op, pc_plan *p, const bool *only, uint64_t *transferred)
{
    pc_err *e = &op->c->err;
    size_t cap = 1, n = 0;
    if (only == NULL && p->release && p->ref.base == NULL)
        prepare_release(op, p);
    char *d1 = pc_layout_path(&op->lay, "cache", "objects", NULL);
    char *d2 = pc_layout_path(&op->lay, "cache", "patches", NULL);
    pc_err ignored = {0}; /* the fetch names a folder that could not be made */
    if (d1)
        (void)pc_mkdirs(d1, false, &ignored);
    if (d2)
        (void)pc_mkdirs(d2, false, &ignored);
    free(d1);
    free(d2);
    if (only == NULL && p->release) {
        pc_status st = fetch_release(op, p, transferred);
        if (st != PC_OK)
            return st;
    }
    for (size_t i = 0; i < p->target->nfiles; i++) {
        const pc_file_plan *fp = &p->files[i];
        if ((!only || only[i]) && !from_release(p, i))
            cap += fp->how == PC_HOW_OBJECT ? 1 : fp->how == PC_HOW_CHAIN ? fp->nchain : 0;
    }
    pc_fetch_item *items = calloc(cap ? cap : 1, sizeof *items);
    if (items == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = PC_OK;
    for (size_t i = 0; i < p->target->nfiles && st == PC_OK; i++) {
        const pc_file_entry *t = &p->target->files[i];
        pc_file_plan *fp = &p->files[i];
        size_t want = fp->how == PC_HOW_OBJECT ? 1 : fp->how == PC_HOW_CHAIN ? fp->nchain : 0;
        if ((only && !only[i]) || from_release(p, i))
            want = 0;
        for (size_t k = 0; k < want; k++) {
            char rel[PC_SITE_PATH_MAX];
            pc_fetch_item *it = &items[n];
            if (fp->how == PC_HOW_OBJECT) {
                pc_site_object_path(t->sha256, rel);
                it->dest = pc_stage_cache_object(op, t->sha256);
                it->size = t->object_size;
                memcpy(it->sha256, t->object_sha256, 32); /* from signed metadata */
            } else {
                pc_site_patch_path(fp->chain[k]->from, fp->chain[k]->to, rel);
                it->dest = cache_patch(op, fp->chain[k]);
                it->size = fp->chain[k]->size;
                memcpy(it->sha256, fp->chain[k]->sha256, 32);
            }
            it->rel = strdup(rel);
            n++;
            if (!it->dest || !it->rel) {
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
                break;
            }
        }
    }
    size_t u = 0;
    if (st == PC_OK && n > 0) {
        qsort(items, n, sizeof *items, by_rel);
        for (size_t i = 0; i < n; i++) {
            if (u > 0 && !strcmp(items[u - 1].rel, items[i].rel)) {
                free((char *)items[i].rel);
                free((char *)items[i].dest);
                continue;
            }
            items[u++] = items[i];
        }
        st = pc_fetch_files(&op->fo, items, u, e);
        for (size_t i = 0; i < u; i++)
            *transferred += items[i].transferred;
    } else {
        u = n;
    }
    for (size_t i = 0; i < u; i++) {
        free((char *)items[i].rel);
        free((char *)items[i].dest);
    }
    free(items);
    return st;
}

/* ---- apply ---------------------------------------------------------------- */

/* The file name in the open folder dir, hashed without following a link. */
static pc_status verify_at(int dir, const char *name, const char *path, const pc_file_entry *t,
                           pc_err *e)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
    uint8_t h[32];
    uint64_t n = 0;
    pc_status st = pc_sha256_fd(fd, h, &n);
    close(fd);
    if (st != PC_OK)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
    if (n != t->size || memcmp(h, t->sha256, 32) != 0)
        return pc_fail(e, PC_ERR_HASH, "%s: content differs from the manifest", t->path);
    return PC_OK;
}

/* Where a staged file goes: the name in an open folder of the staging tree
 * (reached by pc_beneath_*, so no link is followed), its path for
 * messages, and the scratch folder its temporary file is made in. dir -1:
 * the path itself (scratch files: a folder of ours, mode 0700). */
typedef struct place {
    const char *path;
    int dir;
    const char *name;
    const char *scratch;
    bool sync; /* into an installed version (repair), not staging */
} place;

static pc_status tmp_for(pc_tmpfile *t, const place *to, pc_err *e)
{
    pc_status st = pc_tmpfile_open_in(t, to->path, to->scratch, e);
    if (st == PC_OK && to->dir >= 0)
        pc_tmpfile_at(t, to->dir, to->name);
    if (st == PC_OK)
        t->no_sync = !to->sync; /* staging: commit syncs the whole tree */
    return st;
}

static pc_status copy_file(const char *src, const place *to, unsigned mode, pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return pc_fail(e, errno == ENOENT || errno == ELOOP ? PC_ERR_NOT_FOUND
                                                           : pc_errno_status(errno),
                       "%s: %s", src, strerror(errno));
    pc_tmpfile t;
    pc_status st = tmp_for(&t, to, e);
    if (st == PC_OK) {
        char buf[65536];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (pc_write_all(t.fd, buf, (size_t)r) != 0) {
                r = -1;
                break;
            }
        if (r < 0)
            st = pc_fail(e, pc_errno_status(errno), "copying %s: %s", src, strerror(errno));
        st = pc_tmpfile_finish(&t, st, (mode_t)mode, e);
    }
    close(in);
    return st;
}

/* Files written into staging get no fsync of their own: commit syncs the
 * whole staging tree at once, in parallel, before it becomes a version. */
static pc_status unpack_staged(const char *obj, const place *to, const pc_file_entry *t,
                               pc_err *e)
{
    int in = open(obj, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", obj,
                       strerror(errno));
    pc_tmpfile tf;
    pc_status st = tmp_for(&tf, to, e);
    if (st == PC_OK) {
        if ((st = pc_object_unpack_fd(in, tf.fd, t->size, t->sha256, e)) != PC_OK)
            pc_fail_prefix(e, "%s: ", obj);
        st = pc_tmpfile_finish(&tf, st, (mode_t)t->mode, e);
    }
    close(in);
    return st;
}

static pc_status patch_staged(const char *in, const char *patch, const place *to, unsigned mode,
                              const pc_patch_expect *ex, pc_err *e)
{
    pc_tmpfile tf;
    pc_status st = tmp_for(&tf, to, e);
    if (st == PC_OK)
        st = pc_tmpfile_finish(&tf, pc_patch_apply_fd(in, patch, tf.fd, ex, e), (mode_t)mode, e);
    return st;
}

/* Does the local file at path hold the content sha (read without
 * following a link)? */
static bool local_is(const char *path, const uint8_t sha[32])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t h[32];
    pc_status st = pc_sha256_fd(fd, h, NULL);
    close(fd);
    return st == PC_OK && memcmp(h, sha, 32) == 0;
}

/* Every temporary file goes to scratch (ROOT/staging/.scratch), outside the
 * version's tree: no name a release may hold can meet one. The file itself
 * is written into its folder of the staging tree, opened below stage_fd
 * without following a link. *damaged: the local file the plan builds on is
 * not what its manifest says (nothing is then left at the file's place). */
static pc_status apply_file(pc_op *op, pc_plan *p, size_t i, int stage_fd, const char *dst,
                            const char *scratch, bool *damaged, pc_err *e)
{
    const pc_file_entry *t = &p->target->files[i];
    pc_file_plan *fp = &p->files[i];
    const char *base;
    int dir = pc_beneath_parent(stage_fd, t->path, false, &base, e);
    if (dir < 0)
        return e->code;
    place to = {.path = dst, .dir = dir, .name = base, .scratch = scratch};
    pc_status st = PC_OK;
    *damaged = false;
    if (fp->how == PC_HOW_LOCAL) {
        struct stat sb;
        /* Hard-link unchanged content; copy when the mode differs (a link
         * would change the old version's file too) or links fail. */
        if (!(lstat(fp->local, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == t->mode &&
              linkat(AT_FDCWD, fp->local, dir, base, 0) == 0))
            st = copy_file(fp->local, &to, t->mode, e);
        if (st == PC_OK)
            st = verify_at(dir, base, dst, t, e);
        *damaged = st == PC_ERR_HASH || st == PC_ERR_NOT_FOUND;
    } else if (fp->how == PC_HOW_OBJECT) {
        char *obj = pc_stage_cache_object(op, t->sha256);
        if (obj == NULL)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        else
            st = unpack_staged(obj, &to, t, e);
        if (st == PC_ERR_HASH || st == PC_ERR_FORMAT || st == PC_ERR_TOO_LARGE)
            unlink(obj); /* a bad download: fetch it again next time */
        free(obj);
    } else if (!local_is(fp->local, fp->chain[0]->from)) {
        /* The chain's input is checked before a patch reads a byte of it:
         * an installed file edited by hand is damage, not a bad patch. */
        *damaged = true;
    } else {
        /* A chain of patches from a local file, through scratch files. */
        const char *in = fp->local;
        char tmp[2][PATH_MAX];
        for (size_t k = 0; k < fp->nchain && st == PC_OK; k++) {
            bool last = k + 1 == fp->nchain;
            place step = {.path = tmp[k % 2], .dir = -1, .scratch = scratch};
            if (!last)
                snprintf(tmp[k % 2], sizeof tmp[k % 2], "%s/step-%zu-%zu", scratch, i, k % 2);
            /* The input is the local file just checked, or the previous
             * step's output, checked as it was written: its hash is known.
             * Every hop's output has its size from signed metadata,
             * enforced while it is written. */
            pc_patch_expect ex = {.has_sha = true, .has_size = true,
                                  .new_size = last ? t->size : fp->chain[k]->to_size,
                                  .has_old_sha = true};
            memcpy(ex.new_sha256, fp->chain[k]->to, 32);
            memcpy(ex.old_sha256, fp->chain[k]->from, 32);
            char *patch = cache_patch(op, fp->chain[k]);
            if (patch == NULL) {
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
                break;
            }
            st = patch_staged(in, patch, last ? &to : &step, last ? t->mode : 0600, &ex, e);
            if (st == PC_ERR_PATCH || st == PC_ERR_HASH || st == PC_ERR_UNSUPPORTED)
                unlink(patch);
            free(patch);
            if (k > 0)
                unlink(in);
            in = tmp[k % 2];
        }
    }
    if (*damaged) {
        unlinkat(dir, base, 0); /* a link to, or copy of, the damaged file */
        pc_err_clear(e);
        st = PC_OK;
    }
    close(dir);
    return st;
}

/* Regular files are applied by two threads taking the next index in turn:
 * hashing and patching are CPU-bound and the files independent. */
typedef struct apply_job {
    pc_op *op;
    pc_plan *p;
    const char *stage;
    int stage_fd;   /* the staging tree, every write goes below it */
    char *scratch;  /* ROOT/staging/.scratch: temporary files */
    size_t *order;  /* the regular files, largest first */
    size_t norder;
    size_t next;    /* atomic: next index into order */
    uint64_t done;  /* atomic: bytes applied */
    int failed;     /* atomic: stop taking files */
    bool *damaged;  /* per target entry: its local source proved damaged */
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
        pc_status st = dst ? apply_file(j->op, j->p, i, j->stage_fd, dst, j->scratch,
                                        &j->damaged[i], e)
                           : pc_fail(e, PC_ERR_NOMEM, "out of memory");
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

/* The scratch folder, made anew (mode 0700); caller frees. */
static char *new_scratch(pc_op *op, pc_err *e)
{
    char *scratch = pc_layout_path(&op->lay, "staging", ".scratch", NULL);
    pc_err ignored = {0};
    if (scratch == NULL) {
        pc_fail(e, PC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pc_rmtree(scratch, &ignored);
    (void)pc_mkdirs(scratch, true, &ignored); /* ROOT/staging, after a repair's start */
    if (mkdir(scratch, 0700) != 0) {
        pc_fail(e, pc_errno_status(errno), "%s: %s", scratch, strerror(errno));
        free(scratch);
        return NULL;
    }
    return scratch;
}

/* Folders and links of the version (and every file's folder), each made in
 * its folder opened below stage_fd without following a link. */
static pc_status make_tree(const pc_manifest *m, int stage_fd, uint64_t *total, size_t *nfiles,
                           pc_err *e)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        const pc_file_entry *t = &m->files[i];
        const char *base;
        int dir = pc_beneath_parent(stage_fd, t->path, true, &base, e);
        if (dir < 0)
            return pc_fail_prefix(e, "%s: ", t->path);
        pc_status st = PC_OK;
        if (t->type == PC_FT_DIR && mkdirat(dir, base, 0755) != 0 && errno != EEXIST)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", t->path, strerror(errno));
        if (t->type == PC_FT_SYMLINK && symlinkat(t->target, dir, base) != 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", t->path, strerror(errno));
        close(dir);
        if (st != PC_OK)
            return st;
        if (t->type == PC_FT_FILE) {
            *total += t->size;
            (*nfiles)++;
        }
    }
    return PC_OK;
}

/* The files whose local source proved damaged: their objects downloaded,
 * then unpacked into staging on this thread. */
static pc_status refetch_damaged(apply_job *j, uint64_t *transferred, pc_err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < j->p->target->nfiles; i++)
        if (j->damaged[i]) {
            pc_file_plan *fp = &j->p->files[i];
            fp->how = PC_HOW_OBJECT; /* local and chain are freed with the plan */
            n++;
        }
    if (n == 0)
        return PC_OK;
    pc_status st = pc_stage_download(j->op, j->p, j->damaged, transferred);
    if (st != PC_OK)
        return pc_fail_prefix(e, "%zu installed file%s found damaged, downloading %s whole: ", n,
                              n == 1 ? "" : "s", n == 1 ? "it" : "them");
    for (size_t i = 0; i < j->p->target->nfiles && st == PC_OK; i++) {
        if (!j->damaged[i])
            continue;
        const pc_file_entry *t = &j->p->target->files[i];
        char *dst = pc_path_join(j->stage, t->path);
        bool again = false;
        st = dst ? apply_file(j->op, j->p, i, j->stage_fd, dst, j->scratch, &again, e)
                 : pc_fail(e, PC_ERR_NOMEM, "out of memory");
        free(dst);
        if (st != PC_OK)
            pc_fail_prefix(e, "%s: ", t->path);
    }
    return st;
}

/* The whole-release patch, applied to the mapped reference into
 * scratch/release/<piece>: each target file it makes then becomes a local
 * copy of its piece (linked into staging and checked like any other).
 * Should the patch not apply (a cached patch that proves bad, a reference
 * changed since it was checked), its files go back to their per-file
 * plans, downloaded now; a failure to write is an error. */
static pc_status apply_release(apply_job *j, uint64_t *transferred, pc_err *e)
{
    pc_op *op = j->op;
    pc_plan *p = j->p;
    char *dir = pc_path_join(j->scratch, "release");
    char *patch = cache_patch_of(op, p->release->from, p->release->to);
    int fd = -1;
    pc_status st = PC_OK;
    if (dir == NULL || patch == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                     O_CLOEXEC)) < 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", dir, strerror(errno));
        goto out;
    }
    pc_op_progress(op, "apply", "release patch", 0, 0);
    st = pc_relpatch_apply(&p->ref, p->release, patch, fd, e);
    pc_relref_unmap(&p->ref);
    if (st == PC_OK) {
        for (size_t i = 0; i < p->target->nfiles && st == PC_OK; i++) {
            pc_file_plan *fp = &p->files[i];
            if (!from_release(p, i))
                continue;
            char name[32];
            snprintf(name, sizeof name, "%zu", fp->piece);
            fp->piece = SIZE_MAX; /* a local file now: if it proves bad, its object */
            free(fp->local);
            free(fp->chain);
            fp->chain = NULL;
            fp->nchain = 0;
            fp->how = PC_HOW_LOCAL;
            if ((fp->local = pc_path_join(dir, name)) == NULL)
                st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            /* Its mode, so that it is linked rather than copied. */
            (void)fchmodat(fd, name, p->target->files[i].mode, 0);
        }
        goto out;
    }
    if (st != PC_ERR_PATCH && st != PC_ERR_HASH && st != PC_ERR_UNSUPPORTED)
        goto out;
    unlink(patch); /* fetched again next time, should the plan take it again */
    /* Per file after all. */
    bool *only = calloc(p->target->nfiles ? p->target->nfiles : 1, sizeof *only);
    if (only == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->target->nfiles; i++)
        only[i] = from_release(p, i);
    pc_plan_drop_release(p);
    pc_err_clear(e);
    pc_op_progress(op, "apply", "per-file patches: the release patch did not apply", 0, 0);
    st = pc_stage_download(op, p, only, transferred);
    free(only);
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    free(patch);
    return st;
}

pc_status pc_stage_apply(pc_op *op, pc_plan *p, const char *stage, bool *refetched,
                         uint64_t *transferred)
{
    pc_err *e = &op->c->err;
    if (mkdir(stage, 0755) != 0 && errno != EEXIST)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", stage, strerror(errno));
    apply_job j = {.op = op, .p = p, .stage = stage, .damaged = refetched};
    if ((j.stage_fd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", stage, strerror(errno));
    uint64_t total = 0;
    size_t nfiles = 0;
    pc_status st = make_tree(p->target, j.stage_fd, &total, &nfiles, e);
    /* A version name never starts with '.': no version's staging is here. */
    pc_err ignored = {0};
    if (st == PC_OK && (j.scratch = new_scratch(op, e)) == NULL)
        st = e->code;
    if (st == PC_OK && p->release)
        st = apply_release(&j, transferred, e);
    /* Largest first, so that the two threads finish together rather than
     * one of them starting the biggest file last. */
    if (st == PC_OK && (j.order = malloc((nfiles ? nfiles : 1) * sizeof *j.order)) == NULL)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK) {
        for (size_t i = 0; i < p->target->nfiles; i++)
            if (p->target->files[i].type == PC_FT_FILE)
                j.order[j.norder++] = i;
        qsort_r(j.order, j.norder, sizeof *j.order, larger_first, (void *)p->target);
        pthread_t th;
        bool helper = nfiles > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
                      pthread_create(&th, NULL, apply_helper, &j) == 0;
        st = apply_files(&j, e, true, total);
        if (st != PC_OK)
            __atomic_store_n(&j.failed, 1, __ATOMIC_SEQ_CST);
        if (helper)
            pthread_join(th, NULL);
        if (st == PC_OK && j.err.code != PC_OK) {
            *e = j.err;
            st = j.err.code;
        }
    }
    if (st == PC_OK)
        st = refetch_damaged(&j, transferred, e);
    free(j.order);
    if (j.scratch)
        pc_rmtree(j.scratch, &ignored);
    free(j.scratch);
    close(j.stage_fd);
    return st;
}

pc_status pc_stage_restore(pc_op *op, const char *version, const pc_file_entry *f, pc_err *e)
{
    char *vdir = pc_layout_path(&op->lay, "versions", version, NULL);
    char *dst = pc_layout_path(&op->lay, "versions", version, f->path);
    char *obj = pc_stage_cache_object(op, f->sha256);
    char *scratch = NULL;
    int vfd = -1, dir = -1;
    pc_status st = PC_OK;
    const char *base;
    if (!vdir || !dst || !obj)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    else if ((vfd = open(vdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", vdir, strerror(errno));
    else if ((dir = pc_beneath_parent(vfd, f->path, true, &base, e)) < 0)
        st = e->code;
    else if ((scratch = new_scratch(op, e)) == NULL)
        st = e->code;
    else {
        place to = {.path = dst, .dir = dir, .name = base, .scratch = scratch, .sync = true};
        st = unpack_staged(obj, &to, f, e);
    }
    if (scratch) {
        pc_err ignored = {0};
        pc_rmtree(scratch, &ignored);
    }
    if (dir >= 0)
        close(dir);
    if (vfd >= 0)
        close(vfd);
    free(scratch);
    free(vdir);
    free(dst);
    free(obj);
    return st;
}
