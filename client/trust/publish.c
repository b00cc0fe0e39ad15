/* publish.c — the three-step replace of repo.json and its signature (see
 * publish.h and docs/format.md §2). */
#include "publish.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "meta.h"

pc_status pc_sig_format(const pc_sig *s, const char *untrusted, char **out, pc_err *e)
{
    uint8_t raw[2 + PC_KEYNUM_LEN + PC_SIGBYTES];
    raw[0] = 'E';
    raw[1] = s->prehashed ? 'D' : 'd';
    memcpy(raw + 2, s->keynum, PC_KEYNUM_LEN);
    memcpy(raw + 2 + PC_KEYNUM_LEN, s->sig, PC_SIGBYTES);
    char b1[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    char b2[sodium_base64_ENCODED_LEN(PC_SIGBYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b1, sizeof b1, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b2, sizeof b2, s->global_sig, PC_SIGBYTES, sodium_base64_VARIANT_ORIGINAL);
    if (asprintf(out, "untrusted comment: %s\n%s\ntrusted comment: %s\n%s\n", untrusted, b1,
                 s->trusted_comment, b2) < 0) {
        *out = NULL;
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    return PC_OK;
}

pc_status pc_sig_block_for(const char *sig, size_t slen, const char *json, size_t len,
                           const pc_pubkey *keys, size_t nkeys, const char *untrusted,
                           char **out, pc_err *e)
{
    *out = NULL;
    pc_sig *s = calloc(PC_SIG_MAX_BLOCKS, sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    size_t n = 0;
    pc_status st = pc_sig_parse_blocks(sig, slen, "repo.json.minisig", s, &n, e);
    pc_err first = {0};
    char *text = NULL;
    size_t tl = 0;
    for (size_t i = 0; st == PC_OK && i < n; i++) {
        pc_err why = {0};
        char *block = NULL;
        if (pc_sig_verify(&s[i], keys, nkeys, NULL, json, len, false, &why) != PC_OK) {
            if (i == 0)
                first = why;
            continue;
        }
        if ((st = pc_sig_format(&s[i], untrusted, &block, e)) != PC_OK)
            break;
        size_t bl = strlen(block);
        char *grown = realloc(text, tl + bl + 1);
        if (grown == NULL) {
            free(block);
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(grown + tl, block, bl + 1);
        text = grown;
        tl += bl;
        free(block);
    }
    if (st == PC_OK && text == NULL) {
        st = first.code != PC_OK ? first.code : PC_ERR_SIGNATURE;
        if (e)
            *e = first;
    }
    if (st == PC_OK)
        *out = text;
    else
        free(text);
    pc_sig_free_all(s, n);
    free(s);
    return st;
}

/* The block of dir's signature file that verifies dir's repo.json, as text;
 * NULL if there is no such pair (nothing to keep valid). */
static char *old_block(const char *rp, const char *sp, const pc_pubkey *keys, size_t nkeys)
{
    char *json = NULL, *sig = NULL, *block = NULL;
    size_t len, slen;
    pc_err e = {0};
    if (pc_read_file(rp, PC_REPO_MAX_BYTES, &json, &len, &e) == PC_OK &&
        pc_read_file(sp, PC_SIG_FILE_MAX, &sig, &slen, &e) == PC_OK)
        (void)pc_sig_block_for(sig, slen, json, len, keys, nkeys,
                               "signature of the repo.json being replaced", &block, &e);
    free(json);
    free(sig);
    return block;
}

pc_status pc_publish_repo(const char *dir, const char *json, size_t len, const char *sig,
                          size_t slen, const pc_pubkey *keys, size_t nkeys, pc_err *e)
{
    char *rp = NULL, *sp = NULL, *both = NULL, *old = NULL;
    pc_status st = PC_OK;
    if (asprintf(&rp, "%s/repo.json", dir) < 0) {
        rp = NULL;
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    } else if (asprintf(&sp, "%s/repo.json.minisig", dir) < 0) {
        sp = NULL;
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    if (st == PC_OK && (old = old_block(rp, sp, keys, nkeys)) != NULL) {
        size_t ol = strlen(old), nl = slen > 0 && sig[slen - 1] != '\n';
        if ((both = malloc(slen + nl + ol)) == NULL)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        else {
            memcpy(both, sig, slen);
            if (nl)
                both[slen] = '\n';
            memcpy(both + slen + nl, old, ol);
            st = pc_write_file_atomic(sp, both, slen + nl + ol, 0644, e); /* step 1 */
        }
    }
    if (st == PC_OK)
        st = pc_write_file_atomic(rp, json, len, 0644, e); /* step 2 */
    if (st == PC_OK)
        st = pc_write_file_atomic(sp, sig, slen, 0644, e); /* step 3 */
    free(rp);
    free(sp);
    free(both);
    free(old);
    return st;
}
