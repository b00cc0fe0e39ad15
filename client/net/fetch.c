/* fetch.c — files of known size fetched to disk: parallel transfers on
 * libcurl's multi interface, resumed from .part files, retried with backoff,
 * failed over between mirrors, then fsynced, hash-checked and renamed. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checked.h"
#include "fileio.h"
#include "hex.h"
#include "request.h"
#include "sha256.h"

/* J_FETCHED: all bytes are in the .part file, which awaits its fsync, hash
 * check and rename (done for many files at once). */
typedef enum { J_WAITING, J_RUNNING, J_FETCHED, J_DONE } job_state;

typedef struct job {
    pc_fetch_item *it;
    struct fetcher *f;
    job_state state;
    size_t mirror;
    unsigned attempt;
    uint64_t not_before;
    char *part;
    char *url;
    int fd;
    uint64_t have;       /* bytes of .part present when this transfer began */
    uint64_t got;        /* bytes written by this transfer */
    bool first_data;
    bool overflow;
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
    char why[CURL_ERROR_SIZE + 300];
    bool any_hash; /* some mirror served such content */
    bool unreachable; /* the last attempt could not reach its server */
    bool reached;  /* some mirror was reached (so not offline) */
    bool other;    /* some attempt failed for another reason than "no such file" */
    int write_errno;  /* writing the .part file failed: a local error, not the mirror's */
    char tried[1024]; /* each mirror left behind, and why */
} job;

typedef struct fetcher {
    const pc_fetch_opts *o;
    uint64_t done, total;
} fetcher;

static void report(fetcher *f)
{
    if (f->o->progress)
        f->o->progress(f->o->progress_ud, f->done, f->total);
}

static size_t job_write(char *p, size_t sz, size_t n, void *ud)
{
    job *j = ud;
    size_t add = sz * n;
    if (j->first_data) {
        j->first_data = false;
        long code = 0;
        curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
        if (j->have > 0 && code == 200) {
            /* The server ignored Range and sends everything: start over. */
            if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) != 0) {
                j->write_errno = errno;
                return 0;
            }
            j->f->done -= j->have;
            j->have = 0;
        }
    }
    if (add > j->it->size - j->have - j->got) {
        j->overflow = true;
        return 0;
    }
    if (pc_write_all(j->fd, p, add) != 0) {
        j->write_errno = errno;
        return 0;
    }
    j->got += add;
    j->it->transferred += add;
    j->f->done += add;
    report(j->f);
    return add;
}

static bool file_matches(const char *path, uint64_t size, const uint8_t sha[32])
{
    struct stat sb; /* a symlink is never a match: it is fetched again, over it */
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != size)
        return false;
    uint8_t got[32];
    uint64_t n;
    return pc_sha256_file(path, got, &n) == PC_OK && n == size && memcmp(got, sha, 32) == 0;
}

/* Open the .part file and attach a curl handle for the current mirror. */
static pc_status job_start(job *j, CURLM *multi, pc_err *e)
{
    const pc_fetch_opts *o = j->f->o;
    j->fd = open(j->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0 && errno == ELOOP && unlink(j->part) == 0) /* a planted link: ours to remove */
        j->fd = open(j->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", j->part, strerror(errno));
    struct stat sb;
    if (fstat(j->fd, &sb) != 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", j->part, strerror(errno));
    j->have = (uint64_t)sb.st_size;
    if (j->have > j->it->size) {
        if (ftruncate(j->fd, 0) != 0)
            return pc_fail(e, pc_errno_status(errno), "%s: %s", j->part, strerror(errno));
        j->have = 0;
    }
    if (lseek(j->fd, (off_t)j->have, SEEK_SET) < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", j->part, strerror(errno));
    j->f->done += j->have;
    j->got = 0;
    j->overflow = false;
    j->first_data = true;
    free(j->url);
    j->url = pc_fetch_url(o->mirrors[j->mirror], j->it->rel);
    j->h = curl_easy_init();
    if (j->url == NULL || j->h == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_request_setup(j->h, o, j->url, j->errbuf, e);
    if (st != PC_OK)
        return st;
    curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, job_write);
    curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
    /* Resume with a Range header rather than libcurl's resume, which fails
     * on a server that ignores Range; job_write starts over on its 200. */
    if (j->have > 0 && j->have < j->it->size) {
        char range[32];
        snprintf(range, sizeof range, "%llu-", (unsigned long long)j->have);
        if (curl_easy_setopt(j->h, CURLOPT_RANGE, range) != CURLE_OK)
            return pc_fail(e, PC_ERR_NETWORK, "%s: libcurl refused a range", j->url);
    }
    if (j->have == j->it->size) {
        /* Complete already: verify without a transfer. Ask for nothing. */
        curl_easy_cleanup(j->h);
        j->h = NULL;
        j->state = J_RUNNING;
        return PC_OK;
    }
    if (curl_multi_add_handle(multi, j->h) != CURLM_OK)
        return pc_fail(e, PC_ERR_NETWORK, "libcurl: cannot add a transfer");
    j->state = J_RUNNING;
    return PC_OK;
}

/* Finish a transfer: true if every byte arrived (the job is then
 * J_FETCHED), false if it should be retried (j->why says why). */
static bool job_finish(job *j, CURLM *multi, CURLcode rc, bool *permanent)
{
    long code = 0;
    *permanent = false;
    j->unreachable = false;
    if (j->h) {
        curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(multi, j->h);
        curl_easy_cleanup(j->h);
        j->h = NULL;
    }
    bool ok = false;
    bool discard = false;
    if (j->overflow) {
        j->other = true;
        snprintf(j->why, sizeof j->why, "%s: more than the %llu bytes expected", j->url,
                 (unsigned long long)j->it->size);
        discard = true;
    } else if (rc != CURLE_OK) {
        pc_request_describe(j->why, sizeof j->why, j->url, rc, j->errbuf);
        j->unreachable = pc_request_unreachable(rc);
        if ((rc == CURLE_HTTP_RETURNED_ERROR && pc_request_permanent_http(code)) ||
            rc == CURLE_FILE_COULDNT_READ_FILE || rc == CURLE_REMOTE_FILE_NOT_FOUND)
            *permanent = true;
        if (!(rc == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410)) &&
            rc != CURLE_FILE_COULDNT_READ_FILE && rc != CURLE_REMOTE_FILE_NOT_FOUND)
            j->other = true;
        if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416)
            discard = true; /* our partial file does not fit the server's */
    } else if (j->have + j->got != j->it->size) {
        j->other = true;
        snprintf(j->why, sizeof j->why, "%s: got %llu bytes, expected %llu", j->url,
                 (unsigned long long)(j->have + j->got), (unsigned long long)j->it->size);
        discard = true; /* the server's copy is not the one the metadata describes */
    } else {
        ok = true;
    }
    if (!j->unreachable)
        j->reached = true;
    if (ok) {
        close(j->fd);
        j->fd = -1;
        j->state = J_FETCHED;
        return true;
    }
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
    if (discard)
        unlink(j->part);
    /* The next attempt counts again what the partial file then holds. */
    j->f->done -= j->have + j->got;
    j->state = J_WAITING;
    return false;
}

static void job_reschedule(job *j, bool permanent, const pc_fetch_opts *o)
{
    if (permanent || ++j->attempt > pc_request_retries(o)) {
        if (!permanent && o->demoted)
            o->demoted[j->mirror] = true;
        size_t l = strlen(j->tried);
        snprintf(j->tried + l, sizeof j->tried - l, "%s%s", l ? "; " : "", j->why);
        j->mirror++;
        j->attempt = 0;
        j->not_before = 0;
    } else {
        j->not_before = pc_request_now_ms() + pc_request_backoff_ms(o, j->attempt - 1);
    }
}

/* Make every fetched .part file durable — fsyncs run in parallel, so the
 * filesystem commits once for many files — then check its hash and give it
 * its real name. A file that fails the check is fetched again. */
static pc_status complete_fetched(job *jobs, size_t n, size_t *remaining,
                                  const pc_fetch_opts *o, pc_err *e)
{
    int fds[256];
    size_t nf = 0;
    pc_status st = PC_OK;
    for (size_t i = 0; i < n && st == PC_OK; i++) {
        if (jobs[i].state != J_FETCHED)
            continue;
        if ((fds[nf] = open(jobs[i].part, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", jobs[i].part, strerror(errno));
            break;
        }
        if (++nf == sizeof fds / sizeof fds[0]) {
            st = pc_fsync_fds(fds, nf, jobs[i].part, e);
            nf = 0;
        }
    }
    if (st == PC_OK)
        st = pc_fsync_fds(fds, nf, "downloaded files", e);
    else
        for (size_t i = 0; i < nf; i++)
            close(fds[i]);
    for (size_t i = 0; i < n && st == PC_OK; i++) {
        job *j = &jobs[i];
        if (j->state != J_FETCHED)
            continue;
        uint8_t got[32];
        uint64_t size = 0;
        if (pc_sha256_file(j->part, got, &size) != PC_OK)
            return pc_fail(e, pc_errno_status(errno), "%s: %s", j->part, strerror(errno));
        if (size != j->it->size || memcmp(got, j->it->sha256, 32) != 0) {
            char gh[65];
            pc_hex_encode(got, 32, gh);
            snprintf(j->why, sizeof j->why,
                     "%s: content has SHA-256 %s, not the one in the metadata", j->url, gh);
            j->any_hash = true;
            unlink(j->part);
            j->f->done -= j->have + j->got;
            j->state = J_WAITING;
            /* A mirror that serves other bytes will serve them again: the
             * next mirror is tried at once (with one mirror, the retries). */
            job_reschedule(j, j->mirror + 1 < o->nmirrors, o);
            continue;
        }
        if (rename(j->part, j->it->dest) != 0)
            return pc_fail(e, pc_errno_status(errno), "%s: rename: %s", j->it->dest, strerror(errno));
        j->state = J_DONE;
        (*remaining)--;
    }
    return st;
}

pc_status pc_fetch_files(const pc_fetch_opts *o, pc_fetch_item *items, size_t n, pc_err *e)
{
    pc_status st = pc_curl_load(e);
    if (st != PC_OK)
        return st;
    if (n == 0)
        return PC_OK;
    if (o->nmirrors == 0)
        return pc_fail(e, PC_ERR_INVALID, "no repository URL configured");
    fetcher f = {.o = o};
    job *jobs = calloc(n, sizeof *jobs);
    CURLM *multi = curl_multi_init();
    if (jobs == NULL || multi == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    unsigned parallel = o->parallel ? o->parallel : 3;
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
    size_t remaining = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        j->it = &items[i];
        j->f = &f;
        j->fd = -1;
        items[i].transferred = 0;
        if (!pc_add_u64(f.total, items[i].size, &f.total)) {
            st = pc_fail(e, PC_ERR_TOO_LARGE, "download sizes overflow");
            goto out;
        }
        size_t pl = strlen(items[i].dest) + 6;
        if ((j->part = malloc(pl)) == NULL) {
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(j->part, pl, "%s.part", items[i].dest);
        if (file_matches(items[i].dest, items[i].size, items[i].sha256)) {
            j->state = J_DONE;
            f.done += items[i].size;
        } else {
            j->state = J_WAITING;
            remaining++;
        }
    }
    report(&f);
    unsigned running = 0;
    while (remaining > 0) {
        if (o->cancel && *o->cancel) {
            st = pc_fail(e, PC_ERR_CANCELLED, "download cancelled");
            goto out;
        }
        uint64_t now = pc_request_now_ms(), wake = now + 200;
        for (size_t i = 0; i < n && running < parallel; i++) {
            job *j = &jobs[i];
            if (j->state != J_WAITING)
                continue;
            while (o->demoted && j->mirror + 1 < o->nmirrors && o->demoted[j->mirror]) {
                j->mirror++;
                j->attempt = 0;
                j->not_before = 0;
            }
            if (j->mirror >= o->nmirrors) {
                j->it->missing = j->reached && !j->any_hash && !j->other;
                st = pc_fail(e, j->any_hash  ? PC_ERR_HASH
                                : !j->reached ? PC_ERR_OFFLINE
                                              : PC_ERR_NETWORK,
                             "%s: failed on every mirror: %s", j->it->rel,
                             j->tried[0] ? j->tried : j->why);
                goto out;
            }
            if (j->not_before > now) {
                if (j->not_before < wake)
                    wake = j->not_before;
                continue;
            }
            if ((st = job_start(j, multi, e)) != PC_OK)
                goto out;
            if (j->h == NULL) { /* already complete on disk: no transfer */
                bool perm;
                if (!job_finish(j, multi, CURLE_OK, &perm))
                    job_reschedule(j, perm, o);
                continue;
            }
            running++;
        }
        int still = 0;
        CURLMcode mc = curl_multi_perform(multi, &still);
        if (mc != CURLM_OK) {
            st = pc_fail(e, PC_ERR_NETWORK, "libcurl: %s", curl_multi_strerror(mc));
            goto out;
        }
        CURLMsg *msg;
        int left;
        bool finished_any = false;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            finished_any = true;
            job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            CURLcode rc = msg->data.result;
            bool perm;
            running--;
            if (j->write_errno) { /* a full disk is as full with the next mirror */
                st = pc_fail(e, pc_errno_status(j->write_errno), "%s: %s", j->part,
                             strerror(j->write_errno));
                goto out;
            }
            if (!job_finish(j, multi, rc, &perm))
                job_reschedule(j, perm, o);
        }
        bool waiting = false;
        for (size_t i = 0; i < n && !waiting; i++)
            waiting = jobs[i].state == J_WAITING;
        if (running == 0 && !waiting) {
            if ((st = complete_fetched(jobs, n, &remaining, o, e)) != PC_OK)
                goto out;
            continue;
        }
        if (finished_any)
            continue; /* a slot is free: start the next transfer now, not after a nap */
        now = pc_request_now_ms();
        int timeout = wake > now ? (int)(wake - now) : 0;
        if (timeout > 200)
            timeout = 200;
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, timeout, NULL);
        else if (timeout > 0)
            pc_request_sleep_ms((uint64_t)timeout);
    }
    report(&f);
out:
    if (jobs) {
        for (size_t i = 0; i < n; i++) {
            job *j = &jobs[i];
            if (j->h) {
                curl_multi_remove_handle(multi, j->h);
                curl_easy_cleanup(j->h);
            }
            if (j->fd >= 0)
                close(j->fd);
            free(j->part);
            free(j->url);
        }
    }
    if (multi)
        curl_multi_cleanup(multi);
    free(jobs);
    return st;
}
