/* fuzz_sig.c — libFuzzer harness for the .minisig and public-key parsers,
 * the many-signature form (pc_sig_parse_blocks), and verification of a fixed
 * message with whatever parses. */
#include <stdint.h>
#include <string.h>

#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pc_sig s;
    pc_err e = {0};
    if (pc_sig_parse((const char *)data, size, "fuzz", &s, &e) == PC_OK) {
        pc_pubkey k;
        memset(&k, 0, sizeof k);
        memcpy(k.keynum, s.keynum, sizeof k.keynum);
        (void)pc_sig_verify(&s, &k, 1, NULL, "message", 7, true, &e);
        pc_sig_free(&s);
    }
    static pc_sig set[PC_SIG_MAX_BLOCKS];
    size_t n;
    if (pc_sig_parse_blocks((const char *)data, size, "fuzz", set, &n, &e) == PC_OK) {
        for (size_t i = 0; i < n; i++) {
            pc_pubkey k;
            memset(&k, 0, sizeof k);
            memcpy(k.keynum, set[i].keynum, sizeof k.keynum);
            (void)pc_sig_verify(&set[i], &k, 1, NULL, "message", 7, true, &e);
            pc_sig_free(&set[i]);
        }
    }
    pc_pubkey k;
    (void)pc_pubkey_parse((const char *)data, size, &k, &e);
    return 0;
}
