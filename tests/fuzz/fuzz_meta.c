/* fuzz_meta.c — libFuzzer harness for the repo.json, manifest and delta
 * parsers; whatever parses is written back and must parse again to the same
 * canonical text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

#define ROUNDTRIP(type, parse, write, freefn)                                                \
    do {                                                                                     \
        type *a = NULL, *b = NULL;                                                           \
        char *t1 = NULL, *t2 = NULL;                                                         \
        size_t l1, l2;                                                                       \
        if (parse((const char *)data, size, &a, &e) == PC_OK) {                              \
            if (write(a, &t1, &l1, &e) != PC_OK || parse(t1, l1, &b, &e) != PC_OK ||         \
                write(b, &t2, &l2, &e) != PC_OK || l1 != l2 || memcmp(t1, t2, l1) != 0)      \
                abort();                                                                     \
        }                                                                                    \
        free(t1);                                                                            \
        free(t2);                                                                            \
        freefn(a);                                                                           \
        freefn(b);                                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pc_err e = {0};
    ROUNDTRIP(pc_repo, pc_repo_parse, pc_repo_write, pc_repo_free);
    ROUNDTRIP(pc_manifest, pc_manifest_parse, pc_manifest_write, pc_manifest_free);
    ROUNDTRIP(pc_delta, pc_delta_parse, pc_delta_write, pc_delta_free);
    return 0;
}
