/* fuzz_object.c — libFuzzer harness for the object unpacker: arbitrary bytes
 * as a compressed object, with an expected size taken from the first bytes. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t expect = (uint64_t)data[0] << 8 | data[1];
    expect <<= data[0] & 7; /* sizes up to ~8 MiB */
    int in = memfd_create("obj", 0), out = memfd_create("out", 0);
    if (in < 0 || out < 0)
        return 0;
    if (write(in, data + 2, size - 2) == (ssize_t)(size - 2) && lseek(in, 0, SEEK_SET) == 0) {
        uint8_t sha[32];
        memset(sha, 0xab, sizeof sha);
        pc_err e = {0};
        (void)pc_object_unpack_fd(in, out, expect, sha, &e);
    }
    close(in);
    close(out);
    return 0;
}
