/* error.c — status texts and the per-call error detail. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_text[PC_STATUS_COUNT] = {
    [PC_OK] = "success",
    [PC_ERR_NOMEM] = "out of memory",
    [PC_ERR_INVALID] = "invalid argument",
    [PC_ERR_IO] = "input/output error",
    [PC_ERR_NOT_FOUND] = "not found",
    [PC_ERR_FORMAT] = "malformed input",
    [PC_ERR_TOO_LARGE] = "input too large",
    [PC_ERR_SIGNATURE] = "signature verification failed",
    [PC_ERR_KEY] = "signed with a different key",
    [PC_ERR_PASSWORD] = "wrong password",
    [PC_ERR_HASH] = "hash mismatch",
    [PC_ERR_UNSUPPORTED] = "unsupported format or algorithm",
    [PC_ERR_NETWORK] = "network transfer failed",
    [PC_ERR_ROLLBACK] = "metadata is older than previously seen (rollback)",
    [PC_ERR_EXPIRED] = "metadata has expired",
    [PC_ERR_PATCH] = "corrupt or mismatched patch",
    [PC_ERR_STATE] = "inconsistent local state",
    [PC_ERR_CANCELLED] = "cancelled",
    [PC_ERR_INTERNAL] = "internal error",
    [PC_ERR_MODULE] = "module load, start or self-check failed",
    [PC_ERR_BUSY] = "another process is working on the install root",
    [PC_ERR_NO_SPACE] = "no space left on the device",
    [PC_ERR_PERMISSION] = "permission denied",
    [PC_ERR_OFFLINE] = "no mirror could be reached",
    [PC_ERR_NOT_INITIALISED] = "the install root is not initialised",
};

/* Part of the contract with scripts (docs/format.md, "Status codes"): a
 * name, once given, never changes. */
static const char *const status_code[PC_STATUS_COUNT] = {
    [PC_OK] = "ok",
    [PC_ERR_NOMEM] = "no_memory",
    [PC_ERR_INVALID] = "invalid",
    [PC_ERR_IO] = "io",
    [PC_ERR_NOT_FOUND] = "not_found",
    [PC_ERR_FORMAT] = "format",
    [PC_ERR_TOO_LARGE] = "too_large",
    [PC_ERR_SIGNATURE] = "signature",
    [PC_ERR_KEY] = "key",
    [PC_ERR_PASSWORD] = "password",
    [PC_ERR_HASH] = "hash",
    [PC_ERR_UNSUPPORTED] = "unsupported",
    [PC_ERR_NETWORK] = "network",
    [PC_ERR_ROLLBACK] = "rollback",
    [PC_ERR_EXPIRED] = "expired",
    [PC_ERR_PATCH] = "patch",
    [PC_ERR_STATE] = "state",
    [PC_ERR_CANCELLED] = "cancelled",
    [PC_ERR_INTERNAL] = "internal",
    [PC_ERR_MODULE] = "module",
    [PC_ERR_BUSY] = "busy",
    [PC_ERR_NO_SPACE] = "no_space",
    [PC_ERR_PERMISSION] = "permission",
    [PC_ERR_OFFLINE] = "offline",
    [PC_ERR_NOT_INITIALISED] = "not_initialised",
};

const char *pc_strerror(pc_status status)
{
    if ((unsigned)status >= PC_STATUS_COUNT || status_text[status] == NULL)
        return "unknown status";
    return status_text[status];
}

const char *pc_status_code(pc_status status)
{
    if ((unsigned)status >= PC_STATUS_COUNT || status_code[status] == NULL)
        return "unknown";
    return status_code[status];
}

pc_status pc_errno_status(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return PC_ERR_NO_SPACE;
    case EACCES:
    case EPERM:
    case EROFS:
        return PC_ERR_PERMISSION;
    default:
        return PC_ERR_IO;
    }
}

int pc_status_exit(pc_status status)
{
    switch (status) {
    case PC_OK: return PC_EXIT_OK;
    case PC_ERR_INVALID: return PC_EXIT_USAGE;
    case PC_ERR_SIGNATURE:
    case PC_ERR_KEY:
    case PC_ERR_HASH: return PC_EXIT_VERIFY;
    case PC_ERR_ROLLBACK:
    case PC_ERR_EXPIRED: return PC_EXIT_REFUSED;
    case PC_ERR_BUSY: return PC_EXIT_BUSY;
    case PC_ERR_NO_SPACE: return PC_EXIT_NO_SPACE;
    case PC_ERR_PERMISSION: return PC_EXIT_PERMISSION;
    case PC_ERR_OFFLINE: return PC_EXIT_OFFLINE;
    case PC_ERR_NOT_INITIALISED: return PC_EXIT_NOT_INITIALISED;
    default: return PC_EXIT_FAIL;
    }
}

const char *pc_version(void)
{
    return PC_VERSION_STRING;
}

unsigned pc_version_number(void)
{
    return PC_VERSION_NUMBER;
}

pc_status pc_fail(pc_err *e, pc_status code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

pc_status pc_fail_prefix(pc_err *e, const char *fmt, ...)
{
    if (e == NULL)
        return PC_OK;
    char prefix[PC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix), mlen = strnlen(e->msg, sizeof e->msg - 1);
    if (plen > sizeof e->msg - 1)
        plen = sizeof e->msg - 1;
    if (plen + mlen > sizeof e->msg - 1)
        mlen = sizeof e->msg - 1 - plen;
    memmove(e->msg + plen, e->msg, mlen);
    memcpy(e->msg, prefix, plen);
    e->msg[plen + mlen] = '\0';
    return e->code;
}

void pc_err_clear(pc_err *e)
{
    if (e == NULL)
        return;
    e->code = PC_OK;
    e->msg[0] = '\0';
}
