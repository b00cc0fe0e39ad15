/* path.c — validation of paths, link targets and names from metadata; joining paths. */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s, or 0 if it is not valid (overlong
 * forms, surrogates and code points above U+10FFFF are refused). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

const char *pc_path_problem(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return "empty path";
    if (path[0] == '/')
        return "absolute paths are not allowed";
    size_t total = 0, comp = 0;
    const unsigned char *s = (const unsigned char *)path;
    const unsigned char *start = s;
    for (;;) {
        if (*s == '/' || *s == '\0') {
            size_t len = (size_t)(s - start);
            if (len == 0)
                return *s ? "empty path component ('//')" : "trailing '/' is not allowed";
            if (len == 1 && start[0] == '.')
                return "'.' is not allowed";
            if (len == 2 && start[0] == '.' && start[1] == '.')
                return "'..' is not allowed";
            if (*s == '\0')
                break;
            s++;
            total++;
            start = s;
            comp = 0;
            continue;
        }
        if (*s == '\\')
            return "backslash is not allowed";
        if (*s < 0x20 || *s == 0x7f)
            return "control characters are not allowed";
        size_t n = utf8_len(s);
        if (n == 0)
            return "not valid UTF-8";
        s += n;
        total += n;
        comp += n;
        if (comp > PC_NAME_MAX)
            return "a path component is longer than 255 bytes";
        if (total > PC_PATH_MAX)
            return "longer than 4096 bytes";
    }
    return NULL;
}

const char *pc_symlink_problem(const char *link_path, const char *target)
{
    if (target == NULL || target[0] == '\0')
        return "empty symlink target";
    if (target[0] == '/')
        return "absolute symlink targets are not allowed";
    if (strlen(target) > PC_PATH_MAX)
        return "symlink target longer than 4096 bytes";
    for (const unsigned char *s = (const unsigned char *)target; *s;) {
        if (*s == '\\')
            return "backslash is not allowed in a symlink target";
        if (*s < 0x20 || *s == 0x7f)
            return "control characters are not allowed in a symlink target";
        size_t n = utf8_len(s);
        if (n == 0)
            return "symlink target is not valid UTF-8";
        s += n;
    }
    long depth = 0;
    for (const char *p = link_path; *p; p++)
        if (*p == '/')
            depth++;
    for (const char *s = target; *s;) {
        size_t len = strcspn(s, "/");
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return "symlink target points outside the tree";
        } else if (len > 0 && !(len == 1 && s[0] == '.')) {
            depth++;
        }
        s += len;
        if (*s == '/')
            s++;
    }
    return NULL;
}

bool pc_version_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || (c != '.' && c != '+' && c != '_' && c != '-')))
            return false;
    }
    return strstr(name, "..") == NULL;
}

char *pc_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}
