/* relpatch.c — whole-release patches: the reference rule, the reference
 * mapped file by file into one reserved region (no copy), and the patch's
 * output cut into the produced files (see relpatch.h). */
#include "relpatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "checked.h"
#include "fileio.h"
#include "pcz.h"
#include "sha256.h"

/* ---- the rule -------------------------------------------------------------- */

typedef struct by_content {
    const pc_file_entry *f;
    size_t i;
} by_content;

static int cmp_content(const void *pa, const void *pb)
{
    const by_content *a = pa, *b = pb;
    int c = memcmp(a->f->sha256, b->f->sha256, 32);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int cmp_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return (a > b) - (a < b);
}

/* The regular files of m, sorted by content then place. */
static by_content *sorted_contents(const pc_manifest *m, size_t *n)
{
    by_content *s = malloc((m->nfiles ? m->nfiles : 1) * sizeof *s);
    *n = 0;
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].type == PC_FT_FILE)
            s[(*n)++] = (by_content){&m->files[i], i};
    qsort(s, *n, sizeof *s, cmp_content);
    return s;
}

pc_status pc_relref_layout(const pc_manifest *m, size_t **idx, size_t *n, uint64_t *size,
                           pc_err *e)
{
    *idx = NULL;
    *n = 0;
    *size = 0;
    size_t ns;
    by_content *s = sorted_contents(m, &ns);
    size_t *out = malloc((ns ? ns : 1) * sizeof *out);
    if (s == NULL || out == NULL) {
        free(s);
        free(out);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < ns; i++)
        if (i == 0 || memcmp(s[i].f->sha256, s[i - 1].f->sha256, 32))
            out[k++] = s[i].i; /* the first place of each content */
    free(s);
    qsort(out, k, sizeof *out, cmp_index);
    uint64_t total = 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t sz = m->files[out[i]].size, padded;
        if (!pc_add_u64(sz, PC_RELEASE_ALIGN - 1, &padded) ||
            !pc_add_u64(total, padded / PC_RELEASE_ALIGN * PC_RELEASE_ALIGN, &total)) {
            free(out);
            return pc_fail(e, PC_ERR_TOO_LARGE, "release reference: size overflows");
        }
    }
    if (k == 0) {
        free(out);
        out = NULL;
    }
    *idx = out;
    *n = k;
    *size = total;
    return PC_OK;
}

pc_status pc_relref_targets(const pc_manifest *from, const pc_manifest *to,
                            pc_release_file **out, size_t **idx, size_t *n, pc_err *e)
{
    *out = NULL;
    if (idx)
        *idx = NULL;
    *n = 0;
    size_t nf, nt;
    by_content *f = sorted_contents(from, &nf), *t = sorted_contents(to, &nt);
    size_t *keep = malloc((nt ? nt : 1) * sizeof *keep);
    pc_status st = PC_OK;
    if (f == NULL || t == NULL || keep == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Both sorted by content: one merge finds what from lacks. */
    size_t k = 0;
    for (size_t i = 0, j = 0; i < nt; i++) {
        if (i > 0 && !memcmp(t[i].f->sha256, t[i - 1].f->sha256, 32))
            continue; /* a later place of the same content */
        while (j < nf && memcmp(f[j].f->sha256, t[i].f->sha256, 32) < 0)
            j++;
        if (j < nf && !memcmp(f[j].f->sha256, t[i].f->sha256, 32))
            continue;
        keep[k++] = t[i].i;
    }
    qsort(keep, k, sizeof *keep, cmp_index);
    if (k > 0 && (*out = malloc(k * sizeof **out)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        memcpy((*out)[i].sha256, to->files[keep[i]].sha256, 32);
        (*out)[i].size = to->files[keep[i]].size;
    }
    *n = k;
    if (idx && k > 0) {
        *idx = keep;
        keep = NULL;
    }
done:
    free(f);
    free(t);
    free(keep);
    return st;
}

/* ---- the mapping ----------------------------------------------------------- */

void pc_relref_unmap(pc_relref *r)
{
    if (r->base)
        munmap(r->base, (size_t)r->size);
    r->base = NULL;
    r->size = 0;
}

/* Map file f (below dirfd) at `at` over the reserved region, and check it. */
static pc_status map_one(int dirfd, const pc_file_entry *f, uint8_t *at, pc_err *e)
{
    const char *name;
    pc_err why = {0};
    int dir = pc_beneath_parent(dirfd, f->path, false, &name, &why);
    if (dir < 0)
        return pc_fail(e, PC_ERR_NOT_FOUND, "%s: %s", f->path, why.msg);
    /* O_NONBLOCK: a FIFO planted at a file's place must not block the open
     * (it is then refused as no regular file). */
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int err = errno;
    close(dir);
    if (fd < 0)
        return pc_fail(e, err == ENOENT || err == ELOOP ? PC_ERR_NOT_FOUND : pc_errno_status(err),
                       "%s: %s", f->path, strerror(err));
    struct stat sb;
    pc_status st = PC_OK;
    void *m = NULL;
    if (fstat(fd, &sb) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", f->path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = pc_fail(e, PC_ERR_NOT_FOUND, "%s: not a regular file", f->path);
    else if ((uint64_t)sb.st_size != f->size)
        st = pc_fail(e, PC_ERR_HASH, "%s: %llu bytes, the manifest says %llu", f->path,
                     (unsigned long long)sb.st_size, (unsigned long long)f->size);
    else if (f->size > 0 && (m = mmap(at, (size_t)f->size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
                                      0)) == MAP_FAILED)
        st = pc_fail(e, pc_errno_status(errno), "%s: mmap: %s", f->path, strerror(errno));
    close(fd);
    if (st != PC_OK)
        return st;
    (void)m; /* at itself: MAP_FIXED replaced the reservation there */
    uint8_t h[32];
    pc_sha256(at, (size_t)f->size, h);
    if (memcmp(h, f->sha256, 32) != 0)
        return pc_fail(e, PC_ERR_HASH, "%s: content differs from the manifest", f->path);
    return PC_OK;
}

pc_status pc_relref_map(int dirfd, const pc_manifest *m, uint64_t size, pc_relref *r,
                        size_t *bad, pc_err *e)
{
    memset(r, 0, sizeof *r);
    *bad = SIZE_MAX;
    if (sysconf(_SC_PAGESIZE) != PC_RELEASE_ALIGN)
        return pc_fail(e, PC_ERR_UNSUPPORTED, "release reference: the page size is not %d bytes",
                       PC_RELEASE_ALIGN);
    size_t *idx, n;
    uint64_t want;
    pc_status st = pc_relref_layout(m, &idx, &n, &want, e);
    if (st != PC_OK)
        return st;
    if (n > PC_RELEASE_MAX_REFS || want != size || want > SIZE_MAX) {
        free(idx);
        return pc_fail(e, PC_ERR_UNSUPPORTED,
                       "release reference: %zu contents of %llu bytes, expected %llu bytes", n,
                       (unsigned long long)want, (unsigned long long)size);
    }
    if (size > 0) {
        /* One reservation, then each file mapped over its slot. */
        void *base = mmap(NULL, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                          -1, 0);
        if (base == MAP_FAILED) {
            free(idx);
            return pc_fail(e, pc_errno_status(errno), "release reference: mmap of %llu bytes: %s",
                           (unsigned long long)size, strerror(errno));
        }
        r->base = base;
        r->size = size;
    }
    uint64_t off = 0;
    for (size_t k = 0; k < n && st == PC_OK; k++) {
        const pc_file_entry *f = &m->files[idx[k]];
        st = map_one(dirfd, f, r->base + off, e);
        if (st != PC_OK)
            *bad = idx[k];
        off += (f->size + PC_RELEASE_ALIGN - 1) / PC_RELEASE_ALIGN * PC_RELEASE_ALIGN;
    }
    free(idx);
    if (st != PC_OK)
        pc_relref_unmap(r);
    return st;
}

/* ---- apply and cut ----------------------------------------------------------- */

#define CUT_BUF (256 * 1024)

/* Copy piece i of the output (at *off) into outdir/<i>, checking it. */
static pc_status cut_one(int in, uint64_t *off, const pc_release_file *f, size_t i, int outdir,
                         uint8_t *buf, pc_err *e)
{
    char name[32];
    snprintf(name, sizeof name, "%zu", i);
    int fd = openat(outdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return pc_fail(e, pc_errno_status(errno), "release output %s: %s", name, strerror(errno));
    pc_sha256_ctx c;
    pc_sha256_init(&c);
    pc_status st = PC_OK;
    for (uint64_t left = f->size; left > 0 && st == PC_OK;) {
        size_t want = left < CUT_BUF ? (size_t)left : CUT_BUF;
        ssize_t got = pread(in, buf, want, (off_t)*off);
        if (got <= 0)
            st = got < 0 ? pc_fail(e, pc_errno_status(errno), "release output: %s", strerror(errno))
                         : pc_fail(e, PC_ERR_PATCH, "release output: shorter than its files");
        else if (pc_write_all(fd, buf, (size_t)got) != 0)
            st = pc_fail(e, pc_errno_status(errno), "release output %s: %s", name, strerror(errno));
        else {
            pc_sha256_update(&c, buf, (size_t)got);
            *off += (uint64_t)got;
            left -= (uint64_t)got;
        }
    }
    if (close(fd) != 0 && st == PC_OK)
        st = pc_fail(e, pc_errno_status(errno), "release output %s: %s", name, strerror(errno));
    uint8_t h[32];
    pc_sha256_final(&c, h);
    if (st == PC_OK && memcmp(h, f->sha256, 32) != 0)
        st = pc_fail(e, PC_ERR_HASH, "release output %zu: SHA-256 differs from the metadata", i);
    return st;
}

pc_status pc_relpatch_apply(const pc_relref *r, const pc_release_ref *rel, const char *patch_path,
                            int outdir, pc_err *e)
{
    if (r->size != rel->reference_size)
        return pc_fail(e, PC_ERR_INVALID, "release reference: %llu bytes, not %llu",
                       (unsigned long long)r->size, (unsigned long long)rel->reference_size);
    int pfd = open(patch_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s",
                       patch_path, strerror(errno));
    pc_status st = PC_OK;
    uint8_t *buf = NULL;
    char magic[4] = {0};
    /* The output: a temporary file of outdir, unlinked at once. */
    int out = openat(outdir, "release.out", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        st = pc_fail(e, pc_errno_status(errno), "release output: %s", strerror(errno));
        goto done;
    }
    (void)unlinkat(outdir, "release.out", 0);
    if (pread(pfd, magic, 4, 0) != 4 || memcmp(magic, PC_PCZ2_MAGIC, 4) != 0) {
        st = pc_fail(e, PC_ERR_UNSUPPORTED, "%s: a release patch is pcz version 2", patch_path);
        goto done;
    }
    pc_patch_expect ex = {.has_size = true, .new_size = rel->to_size, .has_sha = true,
                          .has_old_sha = true};
    memcpy(ex.new_sha256, rel->to, 32);
    memcpy(ex.old_sha256, rel->from, 32);
    uint64_t nsize = 0;
    uint8_t sha[32];
    st = pc_pcz_apply_fd(r->base, r->size, pfd, out, &ex, &nsize, sha, e);
    if (st == PC_OK && (nsize != rel->to_size || memcmp(sha, rel->to, 32) != 0))
        st = pc_fail(e, PC_ERR_HASH, "release patch: result differs from the metadata");
    if (st != PC_OK) {
        pc_fail_prefix(e, "%s: ", patch_path);
        goto done;
    }
    if ((buf = malloc(CUT_BUF)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < rel->nfiles && st == PC_OK; i++)
        st = cut_one(out, &off, &rel->files[i], i, outdir, buf, e);
done:
    free(buf);
    if (out >= 0)
        close(out);
    close(pfd);
    return st;
}
