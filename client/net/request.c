/* request.c — what every download shares: a curl handle set up for one URL,
 * the words for its failure, and the retry policy (see request.h). */
#include "request.h"

#include <errno.h>

#include <stdio.h>
#include <sys/random.h>
#include <time.h>

uint64_t pc_request_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pc_request_sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

pc_status pc_request_setup(CURL *h, const pc_fetch_opts *o, const char *url, char *errbuf,
                           pc_err *e)
{
    errbuf[0] = '\0';
    /* What the security of a transfer rests on is checked: a libcurl that
     * refused one of these would run the transfer without it. */
    CURLcode rc;
    if ((rc = curl_easy_setopt(h, CURLOPT_URL, url)) ||
        (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file")) ||
        (rc = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")) ||
        (rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                               o->connect_timeout_s ? o->connect_timeout_s : 15L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                               o->low_speed_bytes ? o->low_speed_bytes : 1024L)) ||
        (rc = curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                               o->low_speed_seconds ? o->low_speed_seconds : 30L)) ||
        (o->ca_file && (rc = curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file))) ||
        /* Content is checked by hash; a transparent decompression would
         * only confuse the byte counts. */
        (rc = curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL)))
        return pc_fail(e, PC_ERR_NETWORK, "%s: libcurl refused a transfer setting: %s", url,
                       curl_easy_strerror(rc));
    /* Conveniences: a libcurl without them works the same. */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "patchcast/" PC_VERSION_STRING);
    return PC_OK;
}

void pc_request_describe(char *out, size_t n, const char *url, CURLcode rc, const char *errbuf)
{
    snprintf(out, n, "%s: %s%s", url, rc == CURLE_OPERATION_TIMEDOUT ? "timed out: " : "",
             errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

unsigned pc_request_retries(const pc_fetch_opts *o)
{
    return o->retries_set ? o->retries : (o->retries ? o->retries : 3);
}

uint64_t pc_request_backoff_ms(const pc_fetch_opts *o, unsigned attempt)
{
    uint64_t base = o->backoff_ms ? o->backoff_ms : 250;
    uint64_t d = base << (attempt > 10 ? 10 : attempt);
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)pc_request_now_ms();
    return d + r % (d / 2 + 1); /* jitter: up to half as much again */
}

bool pc_request_unreachable(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
           rc == CURLE_COULDNT_CONNECT;
}

bool pc_request_permanent_http(long code)
{
    return code == 404 || code == 403 || code == 410 || code == 401;
}
