/* fuzz_bspatch.c — libFuzzer harness for the BSDIFF40 reader: arbitrary
 * bytes as a patch against a fixed old file, output to a memory file. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bspatch.h"
#include "patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t old[4096];
    for (size_t i = 0; i < sizeof old; i++)
        old[i] = (uint8_t)(i * 7 + (i >> 5));
    int pfd = memfd_create("patch", 0), ofd = memfd_create("out", 0);
    if (pfd < 0 || ofd < 0)
        return 0;
    if (write(pfd, data, size) == (ssize_t)size) {
        /* Cap the output so a hostile header cannot make the run slow. */
        pc_patch_expect ex = {0};
        if (size >= 32) {
            int64_t n = pc_offtin(data + 24);
            ex.has_size = true;
            ex.new_size = (n >= 0 && n <= (1 << 20)) ? (uint64_t)n : 0;
        }
        uint64_t got;
        uint8_t sha[32];
        pc_err e = {0};
        (void)pc_bspatch_fd(old, sizeof old, pfd, ofd, &ex, &got, sha, &e);
    }
    close(pfd);
    close(ofd);
    return 0;
}
