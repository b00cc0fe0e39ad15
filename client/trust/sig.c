/* sig.c — parse and verify minisign public keys and signatures. */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "

void pc_keyid_hex(const uint8_t keynum[PC_KEYNUM_LEN], char out[17])
{
    static const char d[] = "0123456789ABCDEF";
    for (int i = 0; i < 8; i++) {
        uint8_t b = keynum[7 - i];
        out[2 * i] = d[b >> 4];
        out[2 * i + 1] = d[b & 15];
    }
    out[16] = '\0';
}

bool pc_b64_decode_exact(const char *b64, size_t b64len, uint8_t *out, size_t outlen)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, outlen, b64, b64len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return got == outlen && end == b64 + b64len;
}

/* Split text into at most max lines (LF or CRLF endings; a final newline is
 * optional). Returns the number of lines, or -1 if there are more. */
static int split_lines(const char *text, size_t len, const char **start, size_t *llen, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        if (n == max)
            return -1;
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t l = j - i;
        if (l > 0 && text[i + l - 1] == '\r')
            l--;
        start[n] = text + i;
        llen[n] = l;
        n++;
        i = j < len ? j + 1 : j;
    }
    return n;
}

static bool has_nul(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

pc_status pc_pubkey_parse(const char *text, size_t len, pc_pubkey *out, pc_err *e)
{
    const char *line[3];
    size_t ll[3];
    if (len > 4096 || has_nul(text, len))
        return pc_fail(e, PC_ERR_FORMAT, "public key: not a minisign public key");
    int n = split_lines(text, len, line, ll, 3);
    const char *b64;
    size_t b64len;
    if (n == 1) {
        b64 = line[0];
        b64len = ll[0];
    } else if (n == 2 || (n == 3 && ll[2] == 0)) {
        if (ll[0] < sizeof UNTRUSTED_PREFIX - 1 ||
            memcmp(line[0], UNTRUSTED_PREFIX, sizeof UNTRUSTED_PREFIX - 1) != 0)
            return pc_fail(e, PC_ERR_FORMAT,
                           "public key: line 1: expected 'untrusted comment: ...'");
        b64 = line[1];
        b64len = ll[1];
    } else {
        return pc_fail(e, PC_ERR_FORMAT,
                       "public key: expected a comment line and a base64 key line");
    }
    while (b64len > 0 && (b64[b64len - 1] == ' ' || b64[b64len - 1] == '\t'))
        b64len--;
    uint8_t raw[2 + PC_KEYNUM_LEN + PC_PK_LEN];
    if (!pc_b64_decode_exact(b64, b64len, raw, sizeof raw))
        return pc_fail(e, PC_ERR_FORMAT,
                       "public key: invalid base64 or wrong length (expected %zu bytes)",
                       sizeof raw);
    if (raw[0] != 'E' || raw[1] != 'd')
        return pc_fail(e, PC_ERR_UNSUPPORTED,
                       "public key: unsupported signature algorithm '%c%c' (expected Ed)",
                       raw[0] >= 32 && raw[0] < 127 ? raw[0] : '?',
                       raw[1] >= 32 && raw[1] < 127 ? raw[1] : '?');
    memcpy(out->keynum, raw + 2, PC_KEYNUM_LEN);
    memcpy(out->pk, raw + 2 + PC_KEYNUM_LEN, PC_PK_LEN);
    return PC_OK;
}

pc_status pc_pubkey_load(const char *path, pc_pubkey *out, pc_err *e)
{
    char *buf;
    size_t len;
    pc_status st = pc_read_file(path, 4096, &buf, &len, e);
    if (st == PC_ERR_TOO_LARGE)
        return pc_fail(e, PC_ERR_FORMAT, "%s: too large for a public key", path);
    if (st != PC_OK)
        return st;
    st = pc_pubkey_parse(buf, len, out, e);
    free(buf);
    if (st != PC_OK)
        pc_fail_prefix(e, "%s: ", path);
    return st;
}

void pc_sig_free(pc_sig *s)
{
    if (s == NULL)
        return;
    free(s->trusted_comment);
    s->trusted_comment = NULL;
}

/* One signature block: lines[0..3] of a .minisig (line numbers in messages
 * start at first). */
static pc_status parse_block(const char *const *line, const size_t *ll, int first,
                             const char *what, pc_sig *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    if (ll[0] < sizeof UNTRUSTED_PREFIX - 1 ||
        memcmp(line[0], UNTRUSTED_PREFIX, sizeof UNTRUSTED_PREFIX - 1) != 0)
        return pc_fail(e, PC_ERR_FORMAT, "%s: line %d: expected 'untrusted comment: ...'", what,
                       first);
    if (ll[0] > sizeof UNTRUSTED_PREFIX - 1 + PC_UNTRUSTED_COMMENT_MAX)
        return pc_fail(e, PC_ERR_FORMAT, "%s: line %d: untrusted comment too long", what, first);
    uint8_t raw[2 + PC_KEYNUM_LEN + PC_SIGBYTES];
    if (!pc_b64_decode_exact(line[1], ll[1], raw, sizeof raw))
        return pc_fail(e, PC_ERR_FORMAT,
                       "%s: line %d: invalid base64 or wrong length for a signature", what,
                       first + 1);
    if (raw[0] == 'E' && raw[1] == 'D')
        out->prehashed = true;
    else if (raw[0] == 'E' && raw[1] == 'd')
        out->prehashed = false;
    else
        return pc_fail(e, PC_ERR_UNSUPPORTED, "%s: line %d: unknown signature algorithm", what,
                       first + 1);
    memcpy(out->keynum, raw + 2, PC_KEYNUM_LEN);
    memcpy(out->sig, raw + 2 + PC_KEYNUM_LEN, PC_SIGBYTES);
    if (ll[2] < sizeof TRUSTED_PREFIX - 1 ||
        memcmp(line[2], TRUSTED_PREFIX, sizeof TRUSTED_PREFIX - 1) != 0)
        return pc_fail(e, PC_ERR_FORMAT, "%s: line %d: expected 'trusted comment: ...'", what,
                       first + 2);
    size_t tclen = ll[2] - (sizeof TRUSTED_PREFIX - 1);
    if (tclen > PC_TRUSTED_COMMENT_MAX)
        return pc_fail(e, PC_ERR_FORMAT, "%s: line %d: trusted comment longer than %d bytes",
                       what, first + 2, PC_TRUSTED_COMMENT_MAX);
    if (!pc_b64_decode_exact(line[3], ll[3], out->global_sig, PC_SIGBYTES))
        return pc_fail(e, PC_ERR_FORMAT,
                       "%s: line %d: invalid base64 or wrong length for a global signature",
                       what, first + 3);
    out->trusted_comment = strndup(line[2] + sizeof TRUSTED_PREFIX - 1, tclen);
    if (out->trusted_comment == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    return PC_OK;
}

/* Split a signature file into at most max_blocks blocks of 4 lines. */
static pc_status split_blocks(const char *text, size_t len, const char *what, int max_blocks,
                              const char **line, size_t *ll, int *nblocks, pc_err *e)
{
    if (len > PC_SIG_FILE_MAX)
        return pc_fail(e, PC_ERR_TOO_LARGE, "%s: %zu bytes, more than a signature file's %d",
                       what, len, PC_SIG_FILE_MAX);
    if (len == 0)
        return pc_fail(e, PC_ERR_FORMAT, "%s: empty signature file", what);
    if (has_nul(text, len))
        return pc_fail(e, PC_ERR_FORMAT, "%s: contains a NUL byte; not a signature file", what);
    int max = 4 * max_blocks;
    int n = split_lines(text, len, line, ll, max + 1);
    if (n == max + 1 && ll[max] == 0)
        n = max;
    if (n > 0 && n % 4 == 0) {
        *nblocks = n / 4;
        return PC_OK;
    }
    char found[16];
    snprintf(found, sizeof found, n < 0 ? "more" : "%d", n);
    return pc_fail(e, PC_ERR_FORMAT, "%s: expected 4 lines%s, found %s", what,
                   max_blocks > 1 ? " per signature" : "", found);
}

pc_status pc_sig_parse(const char *text, size_t len, const char *what, pc_sig *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    const char *line[5];
    size_t ll[5];
    int nb;
    pc_status st = split_blocks(text, len, what, 1, line, ll, &nb, e);
    return st != PC_OK ? st : parse_block(line, ll, 1, what, out, e);
}

void pc_sig_free_all(pc_sig *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pc_sig_free(&s[i]);
}

pc_status pc_sig_parse_blocks(const char *text, size_t len, const char *what,
                              pc_sig out[PC_SIG_MAX_BLOCKS], size_t *n, pc_err *e)
{
    *n = 0;
    const char *line[4 * PC_SIG_MAX_BLOCKS + 1];
    size_t ll[4 * PC_SIG_MAX_BLOCKS + 1];
    int nb;
    pc_status st = split_blocks(text, len, what, PC_SIG_MAX_BLOCKS, line, ll, &nb, e);
    for (int b = 0; st == PC_OK && b < nb; b++) {
        st = parse_block(line + 4 * b, ll + 4 * b, 4 * b + 1, what, &out[b], e);
        if (st == PC_OK)
            (*n)++;
    }
    if (st != PC_OK) {
        pc_sig_free_all(out, *n);
        *n = 0;
    }
    return st;
}

pc_status pc_sig_signers(const char *sig_text, size_t sig_len, const char *what,
                         const void *data, size_t len, const pc_pubkey *keys, size_t nkeys,
                         bool *signed_by, unsigned *count, char **tc, pc_err *why, pc_err *e)
{
    *count = 0;
    if (tc)
        *tc = NULL;
    if (signed_by)
        memset(signed_by, 0, nkeys * sizeof *signed_by);
    pc_sig *s = calloc(PC_SIG_MAX_BLOCKS, sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    size_t n;
    pc_status st = pc_sig_parse_blocks(sig_text, sig_len, what, s, &n, e);
    const char *comment = NULL;
    bool seen[PC_SIG_MAX_BLOCKS] = {false};
    for (size_t i = 0; st == PC_OK && i < n; i++) {
        pc_err reason = {0};
        if (pc_sig_verify(&s[i], keys, nkeys, NULL, data, len, false, &reason) != PC_OK) {
            if (why && *count == 0 && why->code == PC_OK)
                *why = reason;
            continue;
        }
        size_t k = 0;
        while (k < nkeys && memcmp(keys[k].keynum, s[i].keynum, PC_KEYNUM_LEN) != 0)
            k++;
        /* The comment matters only to a caller that reads it (repo.json's
         * serial, product and expiry); root blocks may carry any. */
        if (tc && comment && strcmp(comment, s[i].trusted_comment) != 0) {
            st = pc_fail(e, PC_ERR_SIGNATURE,
                         "%s: two signatures of the same content carry different trusted "
                         "comments ('%.100s', '%.100s')",
                         what, comment, s[i].trusted_comment);
            break;
        }
        comment = s[i].trusted_comment;
        if (k < PC_SIG_MAX_BLOCKS && k < nkeys && !seen[k]) {
            seen[k] = true;
            (*count)++;
            if (signed_by)
                signed_by[k] = true;
        }
    }
    if (st == PC_OK && tc && comment && (*tc = strdup(comment)) == NULL)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if (st != PC_OK)
        *count = 0;
    pc_sig_free_all(s, n);
    free(s);
    return st;
}

void pc_pubkey_base64(const pc_pubkey *pk, char *out, size_t outlen)
{
    uint8_t raw[2 + PC_KEYNUM_LEN + PC_PK_LEN];
    memcpy(raw, "Ed", 2);
    memcpy(raw + 2, pk->keynum, PC_KEYNUM_LEN);
    memcpy(raw + 2 + PC_KEYNUM_LEN, pk->pk, PC_PK_LEN);
    sodium_bin2base64(out, outlen, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
}

pc_status pc_blake2b_file(const char *path, uint8_t out[64], pc_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", path,
                       strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 64);
    unsigned char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pc_status s = pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
            close(fd);
            return s;
        }
        if (n == 0)
            break;
        crypto_generichash_update(&st, buf, (unsigned long long)n);
    }
    close(fd);
    crypto_generichash_final(&st, out, 64);
    return PC_OK;
}

pc_status pc_sig_verify(const pc_sig *s, const pc_pubkey *keys, size_t nkeys, const char *file,
                        const void *data, size_t len, bool allow_legacy, pc_err *e)
{
    if (sodium_init() < 0)
        return pc_fail(e, PC_ERR_INTERNAL, "libsodium failed to initialise");
    const char *what = file ? file : "data";
    const pc_pubkey *key = NULL;
    for (size_t i = 0; i < nkeys; i++)
        if (memcmp(keys[i].keynum, s->keynum, PC_KEYNUM_LEN) == 0)
            key = &keys[i];
    if (key == NULL) {
        char got[17], want[17] = "none";
        pc_keyid_hex(s->keynum, got);
        if (nkeys > 0)
            pc_keyid_hex(keys[0].keynum, want);
        return pc_fail(e, PC_ERR_KEY,
                       "%s: signed with key id %s, but the trusted key is %s%s", what, got, want,
                       nkeys > 1 ? " (and others)" : "");
    }
    if (!s->prehashed && !allow_legacy)
        return pc_fail(e, PC_ERR_UNSUPPORTED,
                       "%s: legacy (non-prehashed 'Ed') signature refused; "
                       "re-sign with a current minisign, or allow legacy signatures explicitly",
                       what);
    int bad;
    char *owned = NULL;
    if (s->prehashed) {
        uint8_t h[64];
        if (file) {
            pc_status st = pc_blake2b_file(file, h, e);
            if (st != PC_OK)
                return st;
        } else {
            crypto_generichash(h, sizeof h, data, len, NULL, 0);
        }
        bad = crypto_sign_verify_detached(s->sig, h, sizeof h, key->pk);
    } else {
        if (file) {
            size_t n;
            pc_status st = pc_read_file(file, PC_LEGACY_MAX_BYTES, &owned, &n, e);
            if (st != PC_OK)
                return st;
            data = owned;
            len = n;
        }
        bad = crypto_sign_verify_detached(s->sig, data, len, key->pk);
        free(owned);
    }
    if (bad)
        return pc_fail(e, PC_ERR_SIGNATURE,
                       "%s: signature verification failed: the content does not match", what);
    size_t tclen = strlen(s->trusted_comment);
    uint8_t *msg = malloc(PC_SIGBYTES + tclen);
    if (msg == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    memcpy(msg, s->sig, PC_SIGBYTES);
    memcpy(msg + PC_SIGBYTES, s->trusted_comment, tclen);
    bad = crypto_sign_verify_detached(s->global_sig, msg, PC_SIGBYTES + tclen, key->pk);
    free(msg);
    if (bad)
        return pc_fail(e, PC_ERR_SIGNATURE,
                       "%s: the trusted comment does not match its signature (altered?)", what);
    return PC_OK;
}
