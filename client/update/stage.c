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

#include "fileio.h"
#include "hex.h"
#include "object.h"
#include "patch.h"
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

static char *cache_patch(pc_op *op, const pc_patch_ref *pr)
{
    char name[140], a[65], b[65];
    pc_hex_encode(pr->from, 32, a);
    pc_hex_encode(pr->to, 32, b);
    snprintf(name, sizeof name, "%s-%s", a, b);
    return pc_layout_path(&op->lay, "cache", "patches", name);
}

pc_status pc_stage_download(pc_op *op, pc_plan *p, uint64_t *transferred)
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
        pc_file_plan *fp = &p->files[i];
        size_t want = fp->how == PC_HOW_OBJECT ? 1 : fp->how == PC_HOW_CHAIN ? fp->nchain : 0;
        for (size_t k = 0; k < want; k++) {
            char rel[PC_SITE_PATH_MAX], *dest;
            uint64_t size;
            const uint8_t *sha; /* of the file's bytes, from signed metadata */
            if (fp->how == PC_HOW_OBJECT) {
                pc_site_object_path(t->sha256, rel);
                dest = pc_stage_cache_object(op, t->sha256);
                size = t->object_size;
                sha = t->object_sha256;
            } else {
                pc_site_patch_path(fp->chain[k]->from, fp->chain[k]->to, rel);
                dest = cache_patch(op, fp->chain[k]);
                size = fp->chain[k]->size;
                sha = fp->chain[k]->sha256;
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
            items[n] = (pc_fetch_item){.rel = name, .dest = dest, .size = size};
            memcpy(items[n].sha256, sha, 32);
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

pc_status pc_stage_mkdirs_for(const char *path, pc_err *e)
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

pc_status pc_stage_verify_file(const char *path, const pc_file_entry *t, pc_err *e)
{
    uint8_t h[32];
    uint64_t n;
    if (pc_sha256_file(path, h, &n) != PC_OK)
        return pc_fail(e, PC_ERR_IO, "%s: %s", path, strerror(errno));
    if (n != t->size || memcmp(h, t->sha256, 32) != 0)
        return pc_fail(e, PC_ERR_HASH, "%s: content differs from the manifest", t->path);
    return PC_OK;
}

static pc_status copy_file(const char *src, const char *dst, const char *scratch, unsigned mode,
                           pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return pc_fail(e, PC_ERR_IO, "%s: %s", src, strerror(errno));
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open_in(&t, dst, scratch, e);
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
static pc_status unpack_staged(const char *obj, const char *dst, const char *scratch,
                               const pc_file_entry *t, pc_err *e)
{
    int in = open(obj, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : PC_ERR_IO, "%s: %s", obj,
                       strerror(errno));
    pc_tmpfile tf;
    pc_status st = pc_tmpfile_open_in(&tf, dst, scratch, e);
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
                              const char *scratch, const pc_patch_expect *ex, pc_err *e)
{
    pc_tmpfile tf;
    pc_status st = pc_tmpfile_open_in(&tf, out, scratch, e);
    if (st == PC_OK) {
        tf.no_sync = true;
        st = pc_tmpfile_finish(&tf, pc_patch_apply_fd(in, patch, tf.fd, ex, e), 0644, e);
    }
    return st;
}

/* Every temporary file goes to scratch (ROOT/staging/.scratch), outside the
 * version's tree: no name a release may hold can meet one. */
static pc_status apply_file(pc_op *op, pc_plan *p, size_t i, const char *dst, const char *scratch,
                            pc_err *e)
{
    const pc_file_entry *t = &p->target->files[i];
    pc_file_plan *fp = &p->files[i];
    pc_status st = PC_OK;
    if (fp->how == PC_HOW_LOCAL) {
        struct stat sb;
        /* Hard-link unchanged content; copy when the mode differs (a link
         * would change the old version's file too) or links fail. */
        if (!(lstat(fp->local, &sb) == 0 && (sb.st_mode & 0777) == t->mode &&
              link(fp->local, dst) == 0))
            st = copy_file(fp->local, dst, scratch, t->mode, e);
        if (st == PC_OK)
            st = pc_stage_verify_file(dst, t, e);
        return st;
    }
    if (fp->how == PC_HOW_OBJECT) {
        char *obj = pc_stage_cache_object(op, t->sha256);
        if (obj == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        st = unpack_staged(obj, dst, scratch, t, e);
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
            snprintf(tmp[k % 2], sizeof tmp[k % 2], "%s/step-%zu-%zu", scratch, i, k % 2);
        /* The input is a file of an installed, verified version, or the
         * previous step's output, checked as it was written: its hash is
         * known. (Were it damaged, the output's hash would not match.)
         * Every hop's output has its size from signed metadata, enforced
         * while it is written. */
        pc_patch_expect ex = {.has_sha = true, .has_size = true,
                              .new_size = last ? t->size : fp->chain[k]->to_size,
                              .has_old_sha = true};
        memcpy(ex.new_sha256, fp->chain[k]->to, 32);
        memcpy(ex.old_sha256, fp->chain[k]->from, 32);
        char *patch = cache_patch(op, fp->chain[k]);
        if (patch == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        st = patch_staged(in, patch, out, scratch, &ex, e);
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
    pc_plan *p;
    const char *stage;
    char *scratch;  /* ROOT/staging/.scratch: temporary files */
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
        pc_status st = dst ? apply_file(j->op, j->p, i, dst, j->scratch, e)
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

pc_status pc_stage_apply(pc_op *op, pc_plan *p, const char *stage)
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
        pc_status st = pc_stage_mkdirs_for(dst, e);
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
    /* A version name never starts with '.': no version's staging is here. */
    if ((j.scratch = pc_layout_path(&op->lay, "staging", ".scratch", NULL)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_err ignored = {0};
    pc_rmtree(j.scratch, &ignored);
    if (mkdir(j.scratch, 0700) != 0) {
        pc_status st = pc_fail(e, PC_ERR_IO, "%s: %s", j.scratch, strerror(errno));
        free(j.scratch);
        return st;
    }
    if ((j.order = malloc((nfiles ? nfiles : 1) * sizeof *j.order)) == NULL) {
        free(j.scratch);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
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
    pc_rmtree(j.scratch, &ignored);
    free(j.scratch);
    return st;
}
