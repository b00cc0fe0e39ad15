/* seckey.c — minisign secret keys and signing. */
#include "seckey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

#define SALT_LEN crypto_pwhash_scryptsalsa208sha256_SALTBYTES /* 32 */
#define KNSK_LEN (PC_KEYNUM_LEN + 64 + 32)                     /* keynum, sk, checksum */
#define SECKEY_LEN (6 + SALT_LEN + 16 + KNSK_LEN)
#define OFF_SALT 6
#define OFF_OPS (OFF_SALT + SALT_LEN)
#define OFF_MEM (OFF_OPS + 8)
#define OFF_KNSK (OFF_MEM + 8)

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void pc_seckey_wipe(pc_seckey *sk)
{
    sodium_memzero(sk, sizeof *sk);
}

pc_status pc_seckey_generate(pc_seckey *sk, pc_pubkey *pk, pc_err *e)
{
    if (sodium_init() < 0)
        return pc_fail(e, PC_ERR_INTERNAL, "libsodium failed to initialise");
    crypto_sign_keypair(pk->pk, sk->sk);
    randombytes_buf(sk->keynum, sizeof sk->keynum);
    memcpy(pk->keynum, sk->keynum, sizeof pk->keynum);
    return PC_OK;
}

/* BLAKE2b-256 over sig_alg, keynum and sk, as minisign checks a decryption. */
static void checksum(const uint8_t *keynum, const uint8_t *skey, uint8_t out[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const unsigned char *)"Ed", 2);
    crypto_generichash_update(&h, keynum, PC_KEYNUM_LEN);
    crypto_generichash_update(&h, skey, 64);
    crypto_generichash_final(&h, out, 32);
}

static pc_status kdf_xor(uint8_t *knsk, const char *password, const uint8_t *salt, uint64_t ops,
                         uint64_t mem, pc_err *e)
{
    uint8_t stream[KNSK_LEN];
    if (ops > (1ull << 32) || mem > (1ull << 34))
        return pc_fail(e, PC_ERR_FORMAT, "secret key: scrypt parameters out of range");
    if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof stream, password, strlen(password),
                                           salt, (unsigned long long)ops, (size_t)mem) != 0)
        return pc_fail(e, PC_ERR_NOMEM, "scrypt: not enough memory for the key derivation");
    for (size_t i = 0; i < KNSK_LEN; i++)
        knsk[i] ^= stream[i];
    sodium_memzero(stream, sizeof stream);
    return PC_OK;
}

static pc_status write_new(const char *path, const char *text, mode_t mode, bool force,
                           pc_err *e)
{
    if (!force && access(path, F_OK) == 0)
        return pc_fail(e, PC_ERR_INVALID, "%s: already exists (use -f to overwrite)", path);
    return pc_write_file_atomic(path, text, strlen(text), mode, e);
}

pc_status pc_seckey_write(const pc_seckey *sk, const char *path, const char *password,
                          bool force, pc_err *e)
{
    uint8_t raw[SECKEY_LEN];
    memset(raw, 0, sizeof raw);
    memcpy(raw, "Ed", 2);
    memcpy(raw + 4, "B2", 2);
    uint8_t *knsk = raw + OFF_KNSK;
    memcpy(knsk, sk->keynum, PC_KEYNUM_LEN);
    memcpy(knsk + PC_KEYNUM_LEN, sk->sk, 64);
    checksum(sk->keynum, sk->sk, knsk + PC_KEYNUM_LEN + 64);
    pc_status st = PC_OK;
    if (password) {
        memcpy(raw + 2, "Sc", 2);
        randombytes_buf(raw + OFF_SALT, SALT_LEN);
        uint64_t ops = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;
        uint64_t mem = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;
        put_le64(raw + OFF_OPS, ops);
        put_le64(raw + OFF_MEM, mem);
        st = kdf_xor(knsk, password, raw + OFF_SALT, ops, mem, e);
    }
    char b64[sodium_base64_ENCODED_LEN(SECKEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
    char text[sizeof b64 + 128];
    if (st == PC_OK) {
        sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
        snprintf(text, sizeof text, "untrusted comment: minisign %ssecret key\n%s\n",
                 password ? "encrypted " : "", b64);
        st = write_new(path, text, 0600, force, e);
    }
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(b64, sizeof b64);
    sodium_memzero(text, sizeof text);
    return st;
}

pc_status pc_pubkey_write(const pc_pubkey *pk, const char *path, bool force, pc_err *e)
{
    char b64[64], id[17], text[200];
    pc_pubkey_base64(pk, b64, sizeof b64);
    pc_keyid_hex(pk->keynum, id);
    snprintf(text, sizeof text, "untrusted comment: minisign public key %s\n%s\n", id, b64);
    return write_new(path, text, 0644, force, e);
}

pc_status pc_seckey_load(const char *path, const char *password, pc_seckey *sk,
                         bool *encrypted, pc_err *e)
{
    if (sodium_init() < 0)
        return pc_fail(e, PC_ERR_INTERNAL, "libsodium failed to initialise");
    char *text;
    size_t len;
    pc_status st = pc_read_file(path, 4096, &text, &len, e);
    if (st == PC_ERR_TOO_LARGE)
        return pc_fail(e, PC_ERR_FORMAT, "%s: too large for a secret key", path);
    if (st != PC_OK)
        return st;
    uint8_t raw[SECKEY_LEN];
    /* Line 1: untrusted comment; line 2: base64. */
    char *nl = memchr(text, '\n', len);
    char *b64 = nl ? nl + 1 : NULL;
    size_t blen = b64 ? strcspn(b64, "\r\n") : 0;
    if (strncmp(text, "untrusted comment: ", 19) != 0 || b64 == NULL ||
        !pc_b64_decode_exact(b64, blen, raw, sizeof raw)) {
        st = pc_fail(e, PC_ERR_FORMAT, "%s: not a minisign secret key", path);
        goto out;
    }
    if (memcmp(raw, "Ed", 2) != 0 || memcmp(raw + 4, "B2", 2) != 0) {
        st = pc_fail(e, PC_ERR_UNSUPPORTED, "%s: unsupported key or checksum algorithm", path);
        goto out;
    }
    bool enc = memcmp(raw + 2, "Sc", 2) == 0;
    if (!enc && !(raw[2] == 0 && raw[3] == 0)) {
        st = pc_fail(e, PC_ERR_UNSUPPORTED, "%s: unsupported key derivation algorithm", path);
        goto out;
    }
    if (encrypted)
        *encrypted = enc;
    uint8_t *knsk = raw + OFF_KNSK;
    if (enc) {
        if (password == NULL) {
            st = pc_fail(e, PC_ERR_PASSWORD, "%s: the secret key is encrypted: a password is needed",
                         path);
            goto out;
        }
        st = kdf_xor(knsk, password, raw + OFF_SALT, get_le64(raw + OFF_OPS),
                     get_le64(raw + OFF_MEM), e);
        if (st != PC_OK)
            goto out;
    }
    uint8_t chk[32];
    checksum(knsk, knsk + PC_KEYNUM_LEN, chk);
    bool whole = sodium_memcmp(chk, knsk + PC_KEYNUM_LEN + 64, 32) == 0;
    /* minisign -G -W writes an unencrypted key without its checksum (32
     * zero bytes; minisign checks it only when decrypting): such a key is
     * taken when it is whole, its public half the one its seed gives. */
    if (!whole && !enc && sodium_is_zero(knsk + PC_KEYNUM_LEN + 64, 32)) {
        uint8_t pk[32], again[64];
        crypto_sign_seed_keypair(pk, again, knsk + PC_KEYNUM_LEN);
        whole = sodium_memcmp(again, knsk + PC_KEYNUM_LEN, 64) == 0;
        sodium_memzero(again, sizeof again);
    }
    if (!whole) {
        st = enc ? pc_fail(e, PC_ERR_PASSWORD, "wrong password for secret key %s", path)
                 : pc_fail(e, PC_ERR_FORMAT, "%s: corrupt secret key (checksum mismatch)", path);
        goto out;
    }
    memcpy(sk->keynum, knsk, PC_KEYNUM_LEN);
    memcpy(sk->sk, knsk + PC_KEYNUM_LEN, 64);
out:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(text, len);
    free(text);
    return st;
}

static pc_status sign_digest(const pc_seckey *sk, const uint8_t digest[64],
                             const char *trusted_comment, const char *untrusted_comment,
                             char **sig_text, pc_err *e)
{
    if (strchr(trusted_comment, '\n') || strchr(trusted_comment, '\r') ||
        strlen(trusted_comment) > PC_TRUSTED_COMMENT_MAX)
        return pc_fail(e, PC_ERR_INVALID,
                       "trusted comment: must be one line of at most %d bytes",
                       PC_TRUSTED_COMMENT_MAX);
    if (strchr(untrusted_comment, '\n') || strchr(untrusted_comment, '\r') ||
        strlen(untrusted_comment) > PC_UNTRUSTED_COMMENT_MAX)
        return pc_fail(e, PC_ERR_INVALID,
                       "untrusted comment: must be one line of at most %d bytes",
                       PC_UNTRUSTED_COMMENT_MAX);
    uint8_t raw[2 + PC_KEYNUM_LEN + PC_SIGBYTES];
    memcpy(raw, "ED", 2);
    memcpy(raw + 2, sk->keynum, PC_KEYNUM_LEN);
    crypto_sign_detached(raw + 2 + PC_KEYNUM_LEN, NULL, digest, 64, sk->sk);
    size_t tclen = strlen(trusted_comment);
    uint8_t *msg = malloc(PC_SIGBYTES + tclen);
    if (msg == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    memcpy(msg, raw + 2 + PC_KEYNUM_LEN, PC_SIGBYTES);
    memcpy(msg + PC_SIGBYTES, trusted_comment, tclen);
    uint8_t global[PC_SIGBYTES];
    crypto_sign_detached(global, NULL, msg, PC_SIGBYTES + tclen, sk->sk);
    free(msg);
    char b1[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    char b2[sodium_base64_ENCODED_LEN(PC_SIGBYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b1, sizeof b1, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(b2, sizeof b2, global, sizeof global, sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(untrusted_comment) + tclen + sizeof b1 + sizeof b2 + 64;
    char *out = malloc(n);
    if (out == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    snprintf(out, n, "untrusted comment: %s\n%s\ntrusted comment: %s\n%s\n", untrusted_comment,
             b1, trusted_comment, b2);
    *sig_text = out;
    return PC_OK;
}

static const char *default_untrusted = "signature from patchcast secret key";

pc_status pc_sign_file(const pc_seckey *sk, const char *path, const char *trusted_comment,
                       const char *untrusted_comment, char **sig_text, pc_err *e)
{
    uint8_t digest[64];
    pc_status st = pc_blake2b_file(path, digest, e);
    if (st != PC_OK)
        return st;
    char tc[600];
    if (trusted_comment == NULL) {
        const char *base = strrchr(path, '/');
        snprintf(tc, sizeof tc, "timestamp:%lld\tfile:%.500s\thashed", (long long)time(NULL),
                 base ? base + 1 : path);
        trusted_comment = tc;
    }
    return sign_digest(sk, digest, trusted_comment,
                       untrusted_comment ? untrusted_comment : default_untrusted, sig_text, e);
}

pc_status pc_sign_buffer(const pc_seckey *sk, const void *data, size_t len,
                         const char *trusted_comment, const char *untrusted_comment,
                         char **sig_text, pc_err *e)
{
    uint8_t digest[64];
    crypto_generichash(digest, sizeof digest, data, len, NULL, 0);
    char tc[64];
    if (trusted_comment == NULL) {
        snprintf(tc, sizeof tc, "timestamp:%lld\thashed", (long long)time(NULL));
        trusted_comment = tc;
    }
    return sign_digest(sk, digest, trusted_comment,
                       untrusted_comment ? untrusted_comment : default_untrusted, sig_text, e);
}
