/* net.h — the transport, the interface of client/net: download files of
 * known size and hash from a list of mirrors with libcurl's multi
 * interface — parallel transfers, resume with
 * Range from a partial file, retries with exponential backoff and jitter,
 * failover to the next mirror, a low-speed timeout, and a hard stop at the
 * expected size. Mirrors are http(s):// or file:// URLs or plain paths. */
#ifndef PC_NET_H
#define PC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct pc_fetch_opts {
    const char *const *mirrors; /* base URLs or folders, tried in order */
    size_t nmirrors;
    unsigned parallel;          /* transfers at once; 0: 3 */
    unsigned retries;           /* extra attempts per mirror; 3 by default */
    bool retries_set;           /* true: use `retries` even when 0 */
    unsigned backoff_ms;        /* first retry delay; 0: 250 ms, doubled each time */
    long low_speed_bytes;       /* abort a transfer slower than this ... */
    long low_speed_seconds;     /* ... for this long; 0: 1 KiB/s for 30 s */
    long connect_timeout_s;     /* 0: 15 s */
    const char *ca_file;        /* extra CA bundle (tests); NULL: system store */
    /* Progress: bytes done of total (including bytes resumed from partial
     * files). Called from the calling thread. */
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *progress_ud;
    const volatile int *cancel; /* non-zero: stop, keep partial files */
    /* Optional: nmirrors flags the caller keeps across calls. A mirror on
     * which a transfer used up its retries (down, stalled or too slow) is
     * flagged, and later transfers skip it while a mirror after it remains,
     * so one bad mirror costs the retries of one transfer, not of each. */
    bool *demoted;
} pc_fetch_opts;

typedef struct pc_fetch_item {
    const char *rel;       /* path below the mirror base, e.g. "objects/ab/ab12…" */
    const char *dest;      /* where the verified file goes */
    uint64_t size;         /* exact size from signed metadata */
    uint8_t sha256[32];    /* expected SHA-256 of the bytes downloaded, from signed
                              metadata: every file is checked before anything reads it */
    /* Out: how many bytes came over the network (resumed bytes excluded). */
    uint64_t transferred;
    /* Out, after a failure: every mirror said it has no such file (HTTP 404
     * or 410, no such local file). */
    bool missing;
} pc_fetch_item;

/* Download every item to item->dest. Each goes first to dest + ".part"
 * (resumed with Range if present and shorter than expected), is checked for
 * exact size and SHA-256, then renamed to dest. A file already at dest with
 * the right size and hash is kept without a transfer. On failure the error
 * names the item and the mirrors tried; partial files are kept for resume
 * unless they proved wrong. */
pc_status pc_fetch_files(const pc_fetch_opts *o, pc_fetch_item *items, size_t n, pc_err *e);

/* Download rel into memory, refusing more than cap bytes (for repo.json and
 * its signature, whose size is not known in advance). Tries mirrors in order.
 * *buf is NUL-terminated, caller frees. *mirror_used, when not NULL, gets the
 * index of the mirror that answered. */
pc_status pc_fetch_buffer(const pc_fetch_opts *o, const char *rel, size_t cap, char **buf,
                          size_t *len, size_t *mirror_used, pc_err *e);

/* Like pc_fetch_buffer, but PC_ERR_NOT_FOUND when every mirror that
 * answered said rel is not there (HTTP 401/403/404/410, no such file):
 * for files a site may not have, such as the next root version. */
pc_status pc_fetch_buffer_if_any(const pc_fetch_opts *o, const char *rel, size_t cap, char **buf,
                                 size_t *len, pc_err *e);

/* Download rel, of known size and SHA-256, into memory (for a reader that
 * may not write the root): a mirror serving other bytes is passed over for
 * the next. *buf is NUL-terminated, caller frees. */
pc_status pc_fetch_buffer_sha(const pc_fetch_opts *o, const char *rel, uint64_t size,
                              const uint8_t sha256[32], char **buf, size_t *len, pc_err *e);

/* Build "base/rel" as a URL: plain paths become file:// URLs (absolute, with
 * unsafe characters percent-encoded). Caller frees; NULL on no memory. */
char *pc_fetch_url(const char *base, const char *rel);

#endif
