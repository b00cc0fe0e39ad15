/* publish.h — replace a folder's repo.json and its signature so that the
 * pair on disk verifies at every instant (docs/format.md §2): the signature
 * file first holds the new signature and the one of the repo.json being
 * replaced, then repo.json is replaced, then the signature file holds the
 * new signature alone. Each step is one atomic replace of one file, so a
 * kill or a full disk at any point leaves the old pair or the new one. Used
 * by `patchcast-gen build` and `patchcast mirror`. */
#ifndef PC_PUBLISH_H
#define PC_PUBLISH_H

#include <stddef.h>

#include "error.h"
#include "sig.h"

/* Publish json (len bytes) with its signature file text sig into dir.
 * keys are the keys that may have signed the repo.json in place; the block
 * of the old signature file that verifies it (if any) is the one carried
 * through step 1. */
pc_status pc_publish_repo(const char *dir, const char *json, size_t len, const char *sig,
                          size_t slen, const pc_pubkey *keys, size_t nkeys, pc_err *e);

/* Of a signature file, the blocks that verify json with keys (one per
 * signing key), as the text of a signature file with the given untrusted
 * comment (*out, caller frees). The first block's reason if none does. */
pc_status pc_sig_block_for(const char *sig, size_t slen, const char *json, size_t len,
                           const pc_pubkey *keys, size_t nkeys, const char *untrusted,
                           char **out, pc_err *e);

/* A signature as the text of one .minisig block (4 lines). Caller frees. */
pc_status pc_sig_format(const pc_sig *s, const char *untrusted, char **out, pc_err *e);

#endif
