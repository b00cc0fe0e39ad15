/* difffiles.c — diff two files into a patch file: both mapped, the
 * SHA-256s (for pcz) on a second thread while the suffix array sorts, then
 * the triples and the writer of the chosen format. */
#include "difffiles.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bsdiff.h"
#include "bsdiff40.h"
#include "pages.h"
#include "pcz_write.h"
#include "sha256.h"
#include "x86rel.h"

/* Map a whole file read-only (empty files give NULL with size 0). */
static pc_status map_file(const char *path, const uint8_t **data, size_t *size, pc_err *e)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", path,
                       strerror(errno));
    struct stat sb;
    pc_status st = PC_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = pc_fail(e, PC_ERR_IO, "%s: not a regular file", path);
    } else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            st = pc_fail(e, pc_errno_status(errno), "%s: mmap: %s", path, strerror(errno));
        else {
            *data = m;
            *size = (size_t)sb.st_size;
        }
    }
    close(fd);
    return st;
}

/* SHA-256s of both files for the pcz header, on another thread while the
 * suffix array is sorted; the new file's pages are dropped once hashed. */
typedef struct hash_job {
    const uint8_t *old, *nw;
    size_t os, ns;
    bool drop_old; /* the diff reads a copy of old (pcz mode 2) */
    uint8_t osha[32], nsha[32];
} hash_job;

static void hash_mapped(const uint8_t *p, size_t n, bool drop, uint8_t sha[32])
{
    pc_sha256_ctx c;
    pc_sha256_init(&c);
    for (size_t off = 0; off < n; off += 1 << 20) {
        size_t len = n - off < (1 << 20) ? n - off : (1 << 20);
        pc_sha256_update(&c, p + off, len);
        if (drop)
            pc_drop_pages(p, (int64_t)off, (int64_t)(off + len));
    }
    pc_sha256_final(&c, sha);
}

static void *hash_thread(void *arg)
{
    hash_job *h = arg;
    hash_mapped(h->old, h->os, h->drop_old, h->osha);
    hash_mapped(h->nw, h->ns, true, h->nsha);
    return NULL;
}

/* pcz mode 2's range: about the old file's size, so that an operand
 * reaching anywhere in it is converted. */
static unsigned x86_range(size_t oldsize)
{
    unsigned k = PC_X86_K_MIN;
    while (k < PC_X86_K_MAX && ((size_t)2 << k) <= oldsize)
        k++;
    return k;
}

pc_status pc_diff_buffers(const uint8_t *o, size_t os, const uint8_t *n, size_t ns,
                          const char *patch, pc_diff_format format,
                          pc_diff_progress *prog, uint64_t *patch_size, pc_err *e)
{
    pc_diff d = {0};
    hash_job h = {0};
    pthread_t tid;
    bool hashing = false;
    pc_status st = PC_OK;
    /* x86-64 programs get pcz mode 2 (docs/format.md §7). */
    unsigned x86k = 0;
    if (format == PC_DIFF_PCZ && pc_x86_is_x64(o, os) && pc_x86_is_x64(n, ns))
        x86k = x86_range(os);
    if (format == PC_DIFF_PCZ) {
        h = (hash_job){.old = o, .nw = n, .os = os, .ns = ns, .drop_old = x86k != 0};
        hashing = pthread_create(&tid, NULL, hash_thread, &h) == 0;
        if (!hashing)
            hash_thread(&h);
    }
    st = pc_diff_compute(o, os, n, ns, format == PC_DIFF_PCZ && !x86k, x86k, &d, prog, e);
    if (hashing)
        pthread_join(tid, NULL);
    if (st == PC_OK) {
        pc_diff_phase_set(prog, PC_DIFF_WRITE, 0);
        st = format == PC_DIFF_PCZ
                 ? pc_pcz_write(&d, o, os, n, ns, h.osha, h.nsha, patch, patch_size, e)
                 : pc_bsdiff40_write(&d, o, os, n, ns, patch, patch_size, e);
    }
    pc_diff_free(&d);
    return st;
}

pc_status pc_diff_files(const char *old, const char *nw, const char *patch,
                        pc_diff_format format, pc_diff_progress *prog, uint64_t *patch_size,
                        pc_err *e)
{
    const uint8_t *o = NULL, *n = NULL;
    size_t os = 0, ns = 0;
    pc_diff_phase_set(prog, PC_DIFF_READ, 0);
    pc_status st = map_file(old, &o, &os, e);
    if (st == PC_OK)
        st = map_file(nw, &n, &ns, e);
    if (st == PC_OK)
        st = pc_diff_buffers(o, os, n, ns, patch, format, prog, patch_size, e);
    if (o)
        munmap((void *)o, os);
    if (n)
        munmap((void *)n, ns);
    return st;
}
