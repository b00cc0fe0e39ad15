/* client.h — the pc_client handle's internals, shared by the client modules. */
#ifndef PC_CLIENT_H
#define PC_CLIENT_H

#include "error.h"
#include "patchcast.h"
#include "sig.h"

#define PC_MAX_KEYS 16

struct pc_client {
    pc_err err;
    pc_pubkey keys[PC_MAX_KEYS];
    size_t nkeys;
};

#endif
