/* seckey.h — minisign secret keys: generate, encrypt with a password
 * (scrypt, as minisign does), write, read and decrypt; and sign files with
 * prehashed (ED) signatures in minisign's exact .minisig layout. */
#ifndef PC_SECKEY_H
#define PC_SECKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sig.h"

typedef struct pc_seckey {
    uint8_t keynum[PC_KEYNUM_LEN];
    uint8_t sk[64];  /* libsodium Ed25519 secret key (seed || public key) */
} pc_seckey;

/* Make a new key pair. */
pc_status pc_seckey_generate(pc_seckey *sk, pc_pubkey *pk, pc_err *e);

/* Write the secret key file (mode 0600, never over an existing file unless
 * force). password NULL writes it unencrypted (minisign -W). The scrypt
 * parameters are minisign's (opslimit 2^25, memlimit 1 GiB) unless
 * PATCHCAST_KDF_FAST is set in the environment (tests only). */
pc_status pc_seckey_write(const pc_seckey *sk, const char *path, const char *password,
                          bool force, pc_err *e);

/* Write the public key file in minisign's format (never over an existing
 * file unless force). */
pc_status pc_pubkey_write(const pc_pubkey *pk, const char *path, bool force, pc_err *e);


/* Read a secret key file. *encrypted tells whether it needs a password; if
 * it does and password is NULL, PC_ERR_PASSWORD is returned with the key
 * untouched so the caller can ask for one and call again. A wrong password
 * is PC_ERR_PASSWORD ("wrong password for secret key FILE"). */
pc_status pc_seckey_load(const char *path, const char *password, pc_seckey *sk,
                         bool *encrypted, pc_err *e);

/* Sign the file at path (BLAKE2b-512 prehash, streamed) and return the text
 * of its .minisig in *sig_text (caller frees). trusted_comment NULL gives
 * minisign's default "timestamp:<unix>\tfile:<name>\thashed";
 * untrusted_comment NULL gives "signature from patchcast secret key". */
pc_status pc_sign_file(const pc_seckey *sk, const char *path, const char *trusted_comment,
                       const char *untrusted_comment, char **sig_text, pc_err *e);

/* Sign len bytes in memory the same way (the generator signs repo.json). */
pc_status pc_sign_buffer(const pc_seckey *sk, const void *data, size_t len,
                         const char *trusted_comment, const char *untrusted_comment,
                         char **sig_text, pc_err *e);

/* Wipe a secret key from memory. */
void pc_seckey_wipe(pc_seckey *sk);

#endif
