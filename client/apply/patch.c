/* patch.c — apply a patch file to an old file: format detection, mapping of
 * the old file, output through a temporary file, result verification. */
#include "patch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bspatch.h"
#include "fileio.h"
#include "hex.h"
#include "pcz.h"

pc_status pc_patch_apply_fd(const char *old, const char *patch, int out_fd,
                            const pc_patch_expect *expect, pc_err *e)
{
    pc_status st = PC_OK;
    int ofd = -1, pfd = -1;
    const uint8_t *map = NULL;
    uint64_t old_size = 0;

    ofd = open(old, O_RDONLY | O_CLOEXEC);
    if (ofd < 0) {
        st = pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", old,
                     strerror(errno));
        goto out;
    }
    pfd = open(patch, O_RDONLY | O_CLOEXEC);
    if (pfd < 0) {
        st = pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", patch,
                     strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(ofd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = pc_fail(e, PC_ERR_IO, "%s: not a regular file", old);
        goto out;
    }
    old_size = (uint64_t)sb.st_size;
    if (old_size > 0) {
        void *m = mmap(NULL, (size_t)old_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, ofd, 0);
        if (m == MAP_FAILED) {
            st = pc_fail(e, pc_errno_status(errno), "%s: mmap: %s", old, strerror(errno));
            goto out;
        }
        map = m;
        madvise(m, (size_t)old_size, MADV_WILLNEED);
    }
    char magic[8] = {0};
    if (pread(pfd, magic, 8, 0) != 8) {
        st = pc_fail(e, PC_ERR_PATCH, "%s: too short to be a patch", patch);
        goto out;
    }
    uint64_t nsize = 0;
    uint8_t sha[32];
    if (memcmp(magic, "BSDIFF40", 8) == 0)
        st = pc_bspatch_fd(map, old_size, pfd, out_fd, expect, &nsize, sha, e);
    else if (memcmp(magic, PC_PCZ1_MAGIC, 4) == 0 || memcmp(magic, PC_PCZ2_MAGIC, 4) == 0)
        st = pc_pcz_apply_fd(map, old_size, pfd, out_fd, expect, &nsize, sha, e);
    else
        st = pc_fail(e, PC_ERR_UNSUPPORTED, "unknown patch format (magic %02x%02x%02x%02x…)",
                     (unsigned char)magic[0], (unsigned char)magic[1], (unsigned char)magic[2],
                     (unsigned char)magic[3]);
    if (st == PC_OK && expect && expect->has_sha && memcmp(sha, expect->new_sha256, 32) != 0) {
        char got[65], want[65];
        pc_hex_encode(sha, 32, got);
        pc_hex_encode(expect->new_sha256, 32, want);
        st = pc_fail(e, PC_ERR_HASH, "result has SHA-256 %s, expected %s", got, want);
    }
    if (st != PC_OK)
        pc_fail_prefix(e, "%s: ", patch);
out:
    if (map)
        munmap((void *)map, (size_t)old_size);
    if (ofd >= 0)
        close(ofd);
    if (pfd >= 0)
        close(pfd);
    return st;
}

pc_status pc_patch_apply_file(const char *old, const char *patch, const char *out,
                              const pc_patch_expect *expect, pc_err *e)
{
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open(&t, out, e);
    t.no_sync = expect != NULL && expect->no_sync;
    if (st == PC_OK)
        st = pc_tmpfile_finish(&t, pc_patch_apply_fd(old, patch, t.fd, expect, e), 0644, e);
    return st;
}
