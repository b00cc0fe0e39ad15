/* error.h — internal error detail: a status plus a message naming what failed.
 * Every internal module that can fail takes a pc_err* (which may be NULL). */
#ifndef PC_ERROR_H
#define PC_ERROR_H

#include "patchcast.h"

#define PC_ERRMSG_MAX 512

/* One more than the highest pc_status (private: it grows with the enum). */
#define PC_STATUS_COUNT (PC_ERR_NOT_INITIALISED + 1)

typedef struct pc_err {
    pc_status code;
    char msg[PC_ERRMSG_MAX];
} pc_err;

/* Record code and a printf-style message in e (if not NULL); returns code so
 * callers can write `return pc_fail(e, PC_ERR_FORMAT, "...")`. */
pc_status pc_fail(pc_err *e, pc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in e with more context ("manifest 3f2a…: ").
 * Returns e->code (PC_OK if e is NULL). */
pc_status pc_fail_prefix(pc_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The status for a failed system call's errno: PC_ERR_NO_SPACE (ENOSPC,
 * EDQUOT), PC_ERR_PERMISSION (EACCES, EPERM, EROFS), else PC_ERR_IO. */
pc_status pc_errno_status(int err);

/* Reset e to PC_OK with an empty message. */
void pc_err_clear(pc_err *e);

/* Exit codes of both CLIs, `patchcast` and `patchcast-gen` (their --help,
 * docs/patchcast.1.md, docs/format.md "Status codes"). Scripts rely on
 * them: a value, once given, never changes. */
enum {
    PC_EXIT_OK = 0,
    PC_EXIT_FAIL = 1,       /* the operation failed; the message says why */
    PC_EXIT_USAGE = 2,      /* bad command line */
    PC_EXIT_VERIFY = 3,     /* a signature or hash did not verify */
    PC_EXIT_REFUSED = 4,    /* metadata refused: older than seen (rollback) or expired (freeze) */
    PC_EXIT_BUSY = 5,       /* another process is changing the install root */
    PC_EXIT_NO_SPACE = 6,   /* the disk or quota is full */
    PC_EXIT_PERMISSION = 7, /* not allowed: permissions, a read-only file system */
    PC_EXIT_OFFLINE = 8,    /* no mirror could be reached */
    PC_EXIT_NOT_INITIALISED = 9, /* the install root has no configuration */
};

/* The exit code a CLI gives for a failure with this status. It lives beside
 * the stable names so that the table of docs/format.md has one source. */
int pc_status_exit(pc_status status);

#endif
