/* fetch_buffer.c — a document of unknown size (repo.json, its signature)
 * fetched into memory under a cap, mirror by mirror with retries. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "request.h"
#include "sha256.h"

typedef struct membuf {
    char *data;
    size_t len, cap, limit;
    bool too_large;
} membuf;

static size_t mem_write(char *p, size_t sz, size_t n, void *ud)
{
    membuf *m = ud;
    size_t add = sz * n;
    if (add > m->limit - m->len) {
        m->too_large = true;
        return 0;
    }
    if (m->len + add + 1 > m->cap) {
        size_t nc = m->cap ? m->cap : 8192;
        while (nc < m->len + add + 1)
            nc *= 2;
        char *q = realloc(m->data, nc);
        if (q == NULL)
            return 0;
        m->data = q;
        m->cap = nc;
    }
    memcpy(m->data + m->len, p, add);
    m->len += add;
    return add;
}

/* missing (may be NULL): set when every mirror that answered said the file
 * is not there (and at least one did). */
static pc_status fetch_buffer(const pc_fetch_opts *o, const char *rel, size_t cap, char **buf,
                              size_t *len, size_t *mirror_used, bool *missing, pc_err *e)
{
    *buf = NULL;
    *len = 0;
    pc_status st = pc_curl_load(e);
    if (st != PC_OK)
        return st;
    if (o->nmirrors == 0)
        return pc_fail(e, PC_ERR_INVALID, "no repository URL configured");
    char why[CURL_ERROR_SIZE + 256] = "";
    bool too_large = false, reached = false, all_missing = true;
    if (missing)
        *missing = false;
    for (size_t mi = 0; mi < o->nmirrors; mi++) {
        if (o->demoted && o->demoted[mi] && mi + 1 < o->nmirrors)
            continue;
        char *url = pc_fetch_url(o->mirrors[mi], rel);
        if (url == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        bool permanent = false;
        for (unsigned attempt = 0; attempt <= pc_request_retries(o); attempt++) {
            if (o->cancel && *o->cancel) {
                free(url);
                return pc_fail(e, PC_ERR_CANCELLED, "cancelled while fetching %s", rel);
            }
            if (attempt > 0)
                pc_request_sleep_ms(pc_request_backoff_ms(o, attempt - 1));
            CURL *h = curl_easy_init();
            if (h == NULL) {
                free(url);
                return pc_fail(e, PC_ERR_NOMEM, "libcurl: cannot create a handle");
            }
            char errbuf[CURL_ERROR_SIZE];
            membuf m = {.limit = cap};
            if (pc_request_setup(h, o, url, errbuf, e) != PC_OK) {
                curl_easy_cleanup(h);
                free(url);
                return e ? e->code : PC_ERR_NETWORK;
            }
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_write);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
            CURLcode rc = curl_easy_perform(h);
            long code = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_cleanup(h);
            if (rc == CURLE_OK && !m.too_large) {
                if (m.data == NULL && (m.data = malloc(1)) == NULL) {
                    free(url);
                    return pc_fail(e, PC_ERR_NOMEM, "out of memory");
                }
                m.data[m.len] = '\0';
                *buf = m.data;
                *len = m.len;
                if (mirror_used)
                    *mirror_used = mi;
                free(url);
                return PC_OK;
            }
            free(m.data);
            if (m.too_large) {
                too_large = true;
                snprintf(why, sizeof why, "%s: response larger than the limit of %zu bytes",
                         url, cap);
                break; /* an endless or oversized answer: this mirror is not trusted */
            }
            pc_request_describe(why, sizeof why, url, rc, errbuf);
            if (!pc_request_unreachable(rc))
                reached = true;
            if ((rc == CURLE_HTTP_RETURNED_ERROR && pc_request_permanent_http(code)) ||
                rc == CURLE_FILE_COULDNT_READ_FILE) {
                permanent = true; /* this file is missing here, not the mirror broken */
                break;
            }
        }
        if (!permanent && o->demoted)
            o->demoted[mi] = true;
        if (!permanent)
            all_missing = false;
        free(url);
    }
    if (missing)
        *missing = all_missing && reached && !too_large;
    return pc_fail(e, too_large ? PC_ERR_TOO_LARGE : reached ? PC_ERR_NETWORK : PC_ERR_OFFLINE,
                   "%s%s", reached || too_large ? "" : "offline: no mirror could be reached: ", why);
}

pc_status pc_fetch_buffer(const pc_fetch_opts *o, const char *rel, size_t cap, char **buf,
                          size_t *len, size_t *mirror_used, pc_err *e)
{
    return fetch_buffer(o, rel, cap, buf, len, mirror_used, NULL, e);
}

pc_status pc_fetch_buffer_if_any(const pc_fetch_opts *o, const char *rel, size_t cap, char **buf,
                                 size_t *len, pc_err *e)
{
    bool missing = false;
    pc_status st = fetch_buffer(o, rel, cap, buf, len, NULL, &missing, e);
    if (st != PC_OK && missing)
        st = e ? (e->code = PC_ERR_NOT_FOUND) : PC_ERR_NOT_FOUND;
    return st;
}

pc_status pc_fetch_buffer_sha(const pc_fetch_opts *o, const char *rel, uint64_t size,
                              const uint8_t sha256[32], char **buf, size_t *len, pc_err *e)
{
    *buf = NULL;
    *len = 0;
    if (size > SIZE_MAX - 1)
        return pc_fail(e, PC_ERR_TOO_LARGE, "%s: %llu bytes", rel, (unsigned long long)size);
    pc_status st = PC_ERR_NETWORK;
    for (size_t start = 0; start < o->nmirrors;) {
        pc_fetch_opts one = *o;
        one.mirrors = o->mirrors + start;
        one.nmirrors = o->nmirrors - start;
        one.demoted = o->demoted ? o->demoted + start : NULL;
        size_t used = 0;
        if ((st = pc_fetch_buffer(&one, rel, (size_t)size, buf, len, &used, e)) != PC_OK)
            return st; /* every remaining mirror failed */
        uint8_t got[32];
        pc_sha256(*buf, *len, got);
        if (*len == size && memcmp(got, sha256, 32) == 0)
            return PC_OK;
        free(*buf);
        *buf = NULL;
        *len = 0;
        st = pc_fail(e, PC_ERR_HASH, "%s: content differs from the metadata on %s", rel,
                     o->mirrors[start + used]);
        start += used + 1; /* that mirror serves other bytes: the next one */
    }
    return st;
}
