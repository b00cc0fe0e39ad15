/* curlapi.c — load libcurl on first use (see curlapi.h). */
#define PC_CURLAPI_IMPL
#include "curlapi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pc_curl_api pc_curl;

/* 7.85.0: CURLOPT_PROTOCOLS_STR. */
#define PC_CURL_MIN_VERSION 0x075500

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512]; /* empty when loaded */

static void load(void)
{
    /* Not from the environment of a set-uid or set-gid program. */
    const char *name = secure_getenv("PATCHCAST_LIBCURL");
    if (name == NULL || *name == '\0')
        name = "libcurl.so.4";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(load_error, sizeof load_error, "cannot load libcurl (%s): %s", name, dlerror());
        return;
    }
    static const struct {
        const char *sym;
        size_t off;
    } syms[] = {
#define SYM(field, name) {name, offsetof(pc_curl_api, field)}
        SYM(global_init, "curl_global_init"),
        SYM(easy_init, "curl_easy_init"),
        SYM(easy_setopt, "curl_easy_setopt"),
        SYM(easy_getinfo, "curl_easy_getinfo"),
        SYM(easy_perform, "curl_easy_perform"),
        SYM(easy_cleanup, "curl_easy_cleanup"),
        SYM(easy_strerror, "curl_easy_strerror"),
        SYM(multi_init, "curl_multi_init"),
        SYM(multi_setopt, "curl_multi_setopt"),
        SYM(multi_add_handle, "curl_multi_add_handle"),
        SYM(multi_remove_handle, "curl_multi_remove_handle"),
        SYM(multi_perform, "curl_multi_perform"),
        SYM(multi_poll, "curl_multi_poll"),
        SYM(multi_info_read, "curl_multi_info_read"),
        SYM(multi_cleanup, "curl_multi_cleanup"),
        SYM(multi_strerror, "curl_multi_strerror"),
#undef SYM
    };
    pc_curl_api api;
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *f = dlsym(h, syms[i].sym);
        if (f == NULL) {
            snprintf(load_error, sizeof load_error, "%s: no %s (libcurl 7.85 or later needed)",
                     name, syms[i].sym);
            dlclose(h);
            return;
        }
        memcpy((char *)&api + syms[i].off, &f, sizeof f);
    }
    /* CURLOPT_PROTOCOLS_STR (the http/https/file restriction) came in 7.85:
     * an older libcurl would ignore it, so it is refused here. */
    curl_version_info_data *(*version_info)(CURLversion) = NULL;
    void *vi = dlsym(h, "curl_version_info");
    memcpy(&version_info, &vi, sizeof vi);
    const curl_version_info_data *ver = version_info ? version_info(CURLVERSION_NOW) : NULL;
    if (ver == NULL || ver->version_num < PC_CURL_MIN_VERSION) {
        snprintf(load_error, sizeof load_error,
                 "%s: libcurl %s is too old: 7.85.0 or later is needed (protocol restriction)",
                 name, ver && ver->version ? ver->version : "(unknown version)");
        dlclose(h);
        return;
    }
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "libcurl: %s", api.easy_strerror(rc));
        return;
    }
    pc_curl = api; /* the library stays loaded for the life of the process */
}

pc_status pc_curl_load(pc_err *e)
{
    pthread_once(&once, load);
    if (load_error[0])
        return pc_fail(e, PC_ERR_NETWORK, "%s", load_error);
    return PC_OK;
}
