/* url.c — where a file is fetched from: a mirror base and a site path
 * joined into a URL, plain folders turned into file:// URLs (net.h). */
#include "net.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *pc_fetch_url(const char *base, const char *rel)
{
    static const char hexd[] = "0123456789ABCDEF";
    bool is_url = strstr(base, "://") != NULL;
    char *cwd = NULL;
    if (!is_url && base[0] != '/') {
        cwd = getcwd(NULL, 0);
        if (cwd == NULL)
            return NULL;
    }
    size_t blen = strlen(base);
    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    size_t cap = (cwd ? strlen(cwd) * 3 + 1 : 0) + blen * 3 + strlen(rel) * 3 + 16;
    char *out = malloc(cap);
    if (out == NULL) {
        free(cwd);
        return NULL;
    }
    size_t o = 0;
    /* Encode a local path component-safely for a file:// URL. */
#define PUT_ENCODED(s, n)                                                                    \
    for (size_t i_ = 0; i_ < (n); i_++) {                                                    \
        unsigned char c_ = (unsigned char)(s)[i_];                                           \
        if ((c_ >= 'a' && c_ <= 'z') || (c_ >= 'A' && c_ <= 'Z') || (c_ >= '0' && c_ <= '9') || \
            c_ == '-' || c_ == '.' || c_ == '_' || c_ == '~' || c_ == '/')                   \
            out[o++] = (char)c_;                                                             \
        else {                                                                               \
            out[o++] = '%';                                                                  \
            out[o++] = hexd[c_ >> 4];                                                        \
            out[o++] = hexd[c_ & 15];                                                        \
        }                                                                                    \
    }
    if (is_url) {
        memcpy(out, base, blen);
        o = blen;
    } else {
        memcpy(out, "file://", 7);
        o = 7;
        if (cwd) {
            PUT_ENCODED(cwd, strlen(cwd));
            out[o++] = '/';
        }
        PUT_ENCODED(base, blen);
    }
    if (o == 0 || out[o - 1] != '/')
        out[o++] = '/';
    PUT_ENCODED(rel, strlen(rel));
#undef PUT_ENCODED
    out[o] = '\0';
    free(cwd);
    return out;
}
