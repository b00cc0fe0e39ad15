/* sig.h — minisign-compatible public keys and signatures (libsodium):
 * parsing of key and .minisig texts, and verification of prehashed (ED) and,
 * when allowed, legacy (Ed) signatures including the global signature over
 * the trusted comment. The secret-key side lives in generator/. */
#ifndef PC_SIG_H
#define PC_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PC_KEYNUM_LEN 8
#define PC_PK_LEN 32
#define PC_SIGBYTES 64
#define PC_SIG_FILE_MAX 16384           /* a .minisig is a few hundred bytes */
#define PC_TRUSTED_COMMENT_MAX 8192
#define PC_UNTRUSTED_COMMENT_MAX 1024
#define PC_LEGACY_MAX_BYTES (256u << 20) /* legacy Ed signs whole files in memory */
#define PC_SIG_MAX_BLOCKS 32             /* signatures in one file (format.md §2) */

typedef struct pc_pubkey {
    uint8_t keynum[PC_KEYNUM_LEN];
    uint8_t pk[PC_PK_LEN];
} pc_pubkey;

typedef struct pc_sig {
    bool prehashed;                /* "ED" (BLAKE2b-512 of the content) vs legacy "Ed" */
    uint8_t keynum[PC_KEYNUM_LEN];
    uint8_t sig[PC_SIGBYTES];
    char *trusted_comment;         /* without the "trusted comment: " prefix */
    uint8_t global_sig[PC_SIGBYTES];
} pc_sig;

/* Key id as minisign prints it: 16 upper-case hex digits (little-endian). */
void pc_keyid_hex(const uint8_t keynum[PC_KEYNUM_LEN], char out[17]);

/* Parse a public key: the text of a minisign .pub file (an untrusted comment
 * line, then the base64 key) or a bare base64 key as given to minisign -P. */
pc_status pc_pubkey_parse(const char *text, size_t len, pc_pubkey *out, pc_err *e);

/* Read and parse a public key file. */
pc_status pc_pubkey_load(const char *path, pc_pubkey *out, pc_err *e);

/* Parse the text of a .minisig file; `what` names it in messages. On success
 * the caller owns out->trusted_comment (pc_sig_free). */
pc_status pc_sig_parse(const char *text, size_t len, const char *what, pc_sig *out, pc_err *e);
void pc_sig_free(pc_sig *s);

/* Parse a signature file of one or more blocks of 4 lines, at most
 * PC_SIG_MAX_BLOCKS (docs/format.md §2: one per signing key, and during a
 * publish the new document's, then the previous one's). *n receives the
 * count; the caller frees each with pc_sig_free_all. */
pc_status pc_sig_parse_blocks(const char *text, size_t len, const char *what,
                              pc_sig out[PC_SIG_MAX_BLOCKS], size_t *n, pc_err *e);
void pc_sig_free_all(pc_sig *s, size_t n);

/* Which of keys signed data (len bytes): the blocks of the signature file
 * sig_text that verify it, each key counted once. signed_by (may be NULL)
 * has nkeys entries, set true for each key that signed; *count receives
 * how many did. *tc (may be NULL) receives the trusted comment of the
 * first block that verified (caller frees; NULL if none did); blocks that
 * verify but carry different trusted comments are PC_ERR_SIGNATURE. A
 * block by a key not in keys, or over other bytes, is not counted. A
 * malformed file is an error; *count 0 is not: the caller judges the
 * count against its threshold, and *why (may be NULL) receives the first
 * block's reason for not counting. */
pc_status pc_sig_signers(const char *sig_text, size_t sig_len, const char *what,
                         const void *data, size_t len, const pc_pubkey *keys, size_t nkeys,
                         bool *signed_by, unsigned *count, char **tc, pc_err *why, pc_err *e);

/* The base64 line of a public key, as minisign -P takes it (out holds at
 * least 57 bytes). */
void pc_pubkey_base64(const pc_pubkey *pk, char *out, size_t outlen);

/* Verify a parsed signature made over a file (streamed; legacy signatures
 * need the whole file in memory and are capped) or over a buffer (file NULL,
 * data/len given), against the keys (the one whose key id matches).
 * Legacy Ed signatures are refused unless allow_legacy. Errors:
 * PC_ERR_KEY (no key with that id), PC_ERR_SIGNATURE (content or trusted
 * comment altered), PC_ERR_UNSUPPORTED (legacy refused), PC_ERR_IO. */
pc_status pc_sig_verify(const pc_sig *s, const pc_pubkey *keys, size_t nkeys, const char *file,
                        const void *data, size_t len, bool allow_legacy, pc_err *e);

/* BLAKE2b-512 of a file, streamed (the prehash of ED signatures). */
pc_status pc_blake2b_file(const char *path, uint8_t out[64], pc_err *e);

/* Strict base64 (original alphabet, padding required) decode of exactly
 * outlen bytes. False on any other length or character. */
bool pc_b64_decode_exact(const char *b64, size_t b64len, uint8_t *out, size_t outlen);

#endif
