/* request.h — what every download shares, whether into memory
 * (fetch_buffer.c) or into files (fetch.c): a curl handle set up for one
 * URL, the words for its failure, and when to try again. Private to net/. */
#ifndef PC_REQUEST_H
#define PC_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curlapi.h"
#include "net.h"

/* Milliseconds on the monotonic clock. */
uint64_t pc_request_now_ms(void);

/* Wait ms milliseconds (resumed if a signal interrupts the wait). */
void pc_request_sleep_ms(uint64_t ms);

/* Set h up to fetch url with o's limits (timeouts, low speed, CA file):
 * http, https and file only, redirects to http(s) only, failing on HTTP
 * errors, no transparent decompression. errbuf (CURL_ERROR_SIZE bytes)
 * receives curl's message and is emptied here. PC_ERR_NETWORK, naming the
 * URL, if libcurl refuses any setting the transfer's safety rests on. */
pc_status pc_request_setup(CURL *h, const pc_fetch_opts *o, const char *url, char *errbuf,
                           pc_err *e);

/* "url: why" into out (n bytes), in curl's words (errbuf if it holds any);
 * a timeout says so first. */
void pc_request_describe(char *out, size_t n, const char *url, CURLcode rc, const char *errbuf);

/* Extra attempts per mirror: o->retries, 3 if not set. */
unsigned pc_request_retries(const pc_fetch_opts *o);

/* The delay before retry attempt + 1: the first delay doubled attempt times,
 * plus random jitter of up to half as much again. */
uint64_t pc_request_backoff_ms(const pc_fetch_opts *o, unsigned attempt);

/* true for a failure to reach the server at all (name not resolved, no
 * connection): together, on every mirror, they mean "offline". */
bool pc_request_unreachable(CURLcode rc);

/* true for HTTP answers that mean the file is not there (or not for us) on
 * this mirror, so retrying it there is pointless. */
bool pc_request_permanent_http(long code);

#endif
