/* curlapi.h — libcurl, loaded when the first download starts rather than
 * when a program linking libpatchcast starts: an app that embeds the
 * library, and every command that downloads nothing (apply, status,
 * rollback, verify), does not map libcurl and its 28 dependencies.
 * The transport's files include this (through request.h) after
 * <curl/curl.h>; the curl_* names below then call through the loaded table. */
#ifndef PC_CURLAPI_H
#define PC_CURLAPI_H

#include <curl/curl.h>

#include "error.h"

typedef struct pc_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *h);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd *fds, unsigned n, int timeout_ms,
                            int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_cleanup)(CURLM *m);
    const char *(*multi_strerror)(CURLMcode rc);
} pc_curl_api;

/* The table, valid once pc_curl_load has succeeded. */
extern pc_curl_api pc_curl;

/* Load libcurl (once; later calls return the first result): the library
 * named by $PATCHCAST_LIBCURL, else libcurl.so.4; then curl_global_init.
 * Errors: PC_ERR_NETWORK naming the library and what failed. */
pc_status pc_curl_load(pc_err *e);

#ifndef PC_CURLAPI_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init pc_curl.global_init
#define curl_easy_init pc_curl.easy_init
#define curl_easy_setopt pc_curl.easy_setopt
#define curl_easy_getinfo pc_curl.easy_getinfo
#define curl_easy_perform pc_curl.easy_perform
#define curl_easy_cleanup pc_curl.easy_cleanup
#define curl_easy_strerror pc_curl.easy_strerror
#define curl_multi_init pc_curl.multi_init
#define curl_multi_setopt pc_curl.multi_setopt
#define curl_multi_add_handle pc_curl.multi_add_handle
#define curl_multi_remove_handle pc_curl.multi_remove_handle
#define curl_multi_perform pc_curl.multi_perform
#define curl_multi_poll pc_curl.multi_poll
#define curl_multi_info_read pc_curl.multi_info_read
#define curl_multi_cleanup pc_curl.multi_cleanup
#define curl_multi_strerror pc_curl.multi_strerror
#endif

#endif
