/* client.c — the pc_client handle: pinned keys, error detail, verification. */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileio.h"
#include "sig.h"

pc_status pc_client_new(pc_client **out)
{
    if (out == NULL)
        return PC_ERR_INVALID;
    *out = calloc(1, sizeof **out);
    return *out ? PC_OK : PC_ERR_NOMEM;
}

void pc_client_free(pc_client *c)
{
    if (c == NULL)
        return;
    free(c->root);
    for (size_t i = 0; i < c->nrepos; i++)
        free(c->repos[i]);
    free(c->channel);
    free(c->ca_file);
    free(c->trust_json);
    free(c->trust_sig);
    free(c);
}

/* A bad argument: the handle's message says which, so that it never shows
 * the detail of an earlier failure. */
static pc_status bad_arg(pc_client *c, const char *what)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: %s", what);
}

static pc_status set_str(pc_client *c, char **field, const char *v)
{
    char *copy = NULL;
    if (v && (copy = strdup(v)) == NULL)
        return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    free(*field);
    *field = copy;
    return PC_OK;
}

pc_status pc_client_set_root(pc_client *c, const char *root)
{
    if (c == NULL || root == NULL || root[0] == '\0')
        return bad_arg(c, "the install root is empty");
    pc_err_clear(&c->err);
    return set_str(c, &c->root, root);
}

/* The length of url's scheme ("https" of "https://…"), 0 if it has none:
 * a letter, then letters, digits, '+', '-' or '.', then "://". */
static size_t scheme_len(const char *url)
{
    size_t n = 0;
    if (!isalpha((unsigned char)url[0]))
        return 0;
    while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
        n++;
    return strncmp(url + n, "://", 3) == 0 ? n : 0;
}

/* PC_OK if url can be a repository; else PC_ERR_INVALID saying why. These
 * mistakes would otherwise surface later as a confusing download error: a
 * host without a scheme reads as a relative folder ("127.0.0.1:8765/x"),
 * and the URL of the site's repo.json as a folder holding repo.json/. */
static pc_status check_repo(pc_client *c, const char *url)
{
    size_t n = scheme_len(url);
    if (n &&
        !((n == 4 && !strncasecmp(url, "http", 4)) || (n == 5 && !strncasecmp(url, "https", 5)) ||
          (n == 4 && !strncasecmp(url, "file", 4))))
        return pc_fail(&c->err, PC_ERR_INVALID,
                       "repository '%s': unsupported scheme '%.*s' (use https://, http:// or "
                       "file://, or a folder)",
                       url, (int)n, url);
    if (n == 0 && strstr(url, "://"))
        return pc_fail(&c->err, PC_ERR_INVALID,
                       "repository '%s': not a URL (a scheme is a letter, then letters, digits, "
                       "'+', '-' or '.', then ://)",
                       url);
    const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
    if (n == 0 && colon && (slash == NULL || colon < slash))
        return pc_fail(&c->err, PC_ERR_INVALID,
                       "repository '%s' has no scheme and would be read as a folder: write "
                       "http://%s (or https://), or ./%s for a folder",
                       url, url, url);
    /* The path's last name, before a query or fragment and trailing slashes. */
    size_t end = n ? strcspn(url, "?#") : strlen(url);
    while (end > 1 && url[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && url[start - 1] != '/')
        start--;
    size_t len = end - start, folder = start > 1 ? start - 1 : start; /* "/repo.json": "/" */
    if ((len == 9 && !memcmp(url + start, "repo.json", 9)) ||
        (len == 17 && !memcmp(url + start, "repo.json.minisig", 17)))
        return pc_fail(&c->err, PC_ERR_INVALID,
                       "repository '%s' names the site's %.*s: give the site's folder%s%.*s%s", url,
                       (int)len, url + start, folder ? " (" : " instead", (int)folder, url,
                       folder ? ")" : "");
    /* Every file's path is appended to the URL: after a fragment, which
     * is never sent, every file would be fetched from the same address. */
    if (n && strchr(url, '#'))
        return pc_fail(&c->err, PC_ERR_INVALID,
                       "repository '%s': a fragment (#) cannot be part of a repository URL "
                       "(the site's files are fetched below it)",
                       url);
    if (n >= 4 && strncasecmp(url, "file", 4) && (url[n + 3] == '\0' || url[n + 3] == '/'))
        return pc_fail(&c->err, PC_ERR_INVALID, "repository '%s': no host after %.*s://", url,
                       (int)n, url);
    return PC_OK;
}

/* A relative folder joined to the working directory; NULL on failure. */
static char *absolute_folder(const char *path)
{
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        return NULL;
    while (path[0] == '.' && path[1] == '/')
        for (path += 2; path[0] == '/'; path++)
            ;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", cwd, strcmp(path, ".") && path[0] ? "/" : "",
                 strcmp(path, ".") ? path : "");
    free(cwd);
    return out;
}

pc_status pc_client_add_repo(pc_client *c, const char *url)
{
    if (c == NULL || url == NULL || url[0] == '\0')
        return bad_arg(c, "the repository URL is empty");
    pc_err_clear(&c->err);
    if (c->nrepos == PC_MAX_REPOS)
        return pc_fail(&c->err, PC_ERR_TOO_LARGE, "more than %d repositories", PC_MAX_REPOS);
    pc_status st = check_repo(c, url);
    if (st != PC_OK)
        return st;
    char *copy;
    if (scheme_len(url) == 0 && url[0] != '/') {
        if ((copy = absolute_folder(url)) == NULL)
            return errno == ENOMEM ? pc_fail(&c->err, PC_ERR_NOMEM, "out of memory")
                                   : pc_fail(&c->err, pc_errno_status(errno),
                                             "repository '%s': the working directory: %s", url,
                                             strerror(errno));
    } else if ((copy = strdup(url)) == NULL) {
        return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    }
    c->repos[c->nrepos++] = copy;
    return PC_OK;
}

pc_status pc_client_set_channel(pc_client *c, const char *channel)
{
    if (c == NULL || channel == NULL || channel[0] == '\0')
        return bad_arg(c, "the channel name is empty");
    pc_err_clear(&c->err);
    return set_str(c, &c->channel, channel);
}

pc_status pc_client_set_ca_file(pc_client *c, const char *path)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    pc_err_clear(&c->err);
    return set_str(c, &c->ca_file, path);
}

pc_status pc_client_set_update_flags(pc_client *c, unsigned flags)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (flags & ~(PC_UPDATE_IGNORE_ROLLOUT | PC_UPDATE_ALLOW_DOWNGRADE))
        return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: unknown update flags %#x",
                       flags);
    c->update_flags = flags;
    return PC_OK;
}

pc_status pc_client_set_keep_versions(pc_client *c, unsigned n)
{
    if (c == NULL || n < 1)
        return bad_arg(c, "keep at least 1 version");
    pc_err_clear(&c->err);
    c->keep_versions = n;
    return PC_OK;
}

pc_status pc_client_set_wait(pc_client *c, int seconds)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    pc_err_clear(&c->err);
    c->wait_seconds = seconds;
    return PC_OK;
}

pc_status pc_client_set_low_speed(pc_client *c, long bytes_per_second, long seconds)
{
    if (c == NULL || bytes_per_second < 0 || seconds < 0)
        return bad_arg(c, "a low-speed limit is negative");
    pc_err_clear(&c->err);
    c->low_speed_bytes = bytes_per_second;
    c->low_speed_seconds = seconds;
    return PC_OK;
}

pc_status pc_client_set_transfers(pc_client *c, unsigned n)
{
    if (c == NULL || n > 16)
        return bad_arg(c, "transfers at once: expected 1 to 16 (0: the default)");
    pc_err_clear(&c->err);
    c->parallel = n;
    return PC_OK;
}

void pc_client_set_progress(pc_client *c, pc_progress_fn fn, void *ud)
{
    if (c) {
        c->progress = fn;
        c->progress_ud = ud;
    }
}

void pc_client_cancel(pc_client *c)
{
    if (c)
        __atomic_store_n(&c->cancel, 1, __ATOMIC_SEQ_CST);
}

const char *pc_client_errmsg(const pc_client *c)
{
    return c ? c->err.msg : "";
}

static pc_status add_key(pc_client *c, const pc_pubkey *k)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (memcmp(c->keys[i].keynum, k->keynum, PC_KEYNUM_LEN) == 0) {
            if (memcmp(c->keys[i].pk, k->pk, PC_PK_LEN) != 0)
                return pc_fail(&c->err, PC_ERR_KEY, "two different keys with the same key id");
            return PC_OK;
        }
    if (c->nkeys == PC_MAX_KEYS)
        return pc_fail(&c->err, PC_ERR_TOO_LARGE, "more than %d pinned keys", PC_MAX_KEYS);
    c->keys[c->nkeys++] = *k;
    return PC_OK;
}

pc_status pc_client_add_pubkey(pc_client *c, const char *key)
{
    if (c == NULL || key == NULL)
        return bad_arg(c, "no key given");
    pc_err_clear(&c->err);
    pc_pubkey k;
    pc_status st = pc_pubkey_parse(key, strlen(key), &k, &c->err);
    return st != PC_OK ? st : add_key(c, &k);
}

pc_status pc_client_add_pubkey_file(pc_client *c, const char *path)
{
    if (c == NULL || path == NULL)
        return bad_arg(c, "no key file given");
    pc_err_clear(&c->err);
    pc_pubkey k;
    pc_status st = pc_pubkey_load(path, &k, &c->err);
    return st != PC_OK ? st : add_key(c, &k);
}

/* A signature file holds one signature per signing key, and twice as many
 * while a site is being published (docs/format.md §2); the content
 * verifies if any block does by a pinned key, and the trusted comment is
 * that block's. */
static pc_status verify(pc_client *c, const char *file, const void *data, size_t len,
                        const char *sig_text, size_t sig_len, const char *sig_what,
                        unsigned flags, char **tc)
{
    if (c->nkeys == 0)
        return pc_fail(&c->err, PC_ERR_INVALID, "no public key pinned");
    pc_sig *s = calloc(PC_SIG_MAX_BLOCKS, sizeof *s);
    if (s == NULL)
        return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    size_t n;
    pc_status st = pc_sig_parse_blocks(sig_text, sig_len, sig_what, s, &n, &c->err);
    pc_err first = {0};
    for (size_t i = 0; st == PC_OK && i < n; i++) {
        st = pc_sig_verify(&s[i], c->keys, c->nkeys, file, data, len,
                           (flags & PC_VERIFY_ALLOW_LEGACY) != 0, i == 0 ? &first : &c->err);
        if (st == PC_OK) {
            if (tc) {
                *tc = s[i].trusted_comment;
                s[i].trusted_comment = NULL;
            }
            break;
        }
        if (i + 1 < n)
            st = PC_OK;
    }
    if (st != PC_OK && n > 0) { /* the first signature's reason: it is the newest document's */
        c->err = first;
        st = first.code;
    }
    pc_sig_free_all(s, n);
    free(s);
    return st;
}

pc_status pc_client_verify_file(pc_client *c, const char *path, const char *sig_path,
                                unsigned flags, char **trusted_comment)
{
    if (c == NULL || path == NULL)
        return bad_arg(c, "no file to verify");
    pc_err_clear(&c->err);
    if (trusted_comment)
        *trusted_comment = NULL;
    char *owned = NULL;
    if (sig_path == NULL) {
        size_t n = strlen(path) + sizeof ".minisig";
        if ((owned = malloc(n)) == NULL)
            return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        snprintf(owned, n, "%s.minisig", path);
        sig_path = owned;
    }
    char *text;
    size_t len;
    pc_status st = pc_read_file(sig_path, PC_SIG_FILE_MAX, &text, &len, &c->err);
    if (st == PC_OK) {
        st = verify(c, path, NULL, 0, text, len, sig_path, flags, trusted_comment);
        free(text);
    } else if (st == PC_ERR_TOO_LARGE) {
        pc_fail(&c->err, st, "%s: larger than a signature file's %d bytes", sig_path,
                PC_SIG_FILE_MAX);
    }
    free(owned);
    return st;
}

pc_status pc_client_verify_buffer(pc_client *c, const void *data, size_t len,
                                  const char *sig_text, size_t sig_len, unsigned flags,
                                  char **trusted_comment)
{
    if (c == NULL || (data == NULL && len > 0) || sig_text == NULL)
        return bad_arg(c, data == NULL && len > 0 ? "no data to verify" : "no signature text");
    pc_err_clear(&c->err);
    if (trusted_comment)
        *trusted_comment = NULL;
    return verify(c, NULL, data ? data : "", len, sig_text, sig_len, "signature", flags,
                  trusted_comment);
}

pc_status pc_client_set_trust_root_buffer(pc_client *c, const char *json, size_t len,
                                          const char *sig, size_t slen)
{
    if (c == NULL || json == NULL || sig == NULL)
        return bad_arg(c, "no root metadata or signatures given");
    pc_err_clear(&c->err);
    pc_root r;
    pc_status st = pc_root_accept(NULL, json, len, sig, slen, &r, &c->err);
    if (st != PC_OK)
        return st;
    char *j = strndup(json, len), *s = strndup(sig, slen);
    if (j == NULL || s == NULL || strlen(j) != len || strlen(s) != slen) {
        free(j);
        free(s);
        return pc_fail(&c->err, j && s ? PC_ERR_FORMAT : PC_ERR_NOMEM,
                       j && s ? "root metadata: contains a NUL byte" : "out of memory");
    }
    free(c->trust_json);
    free(c->trust_sig);
    c->trust_json = j;
    c->trust_sig = s;
    c->trust = r;
    return PC_OK;
}

pc_status pc_client_set_trust_root(pc_client *c, const char *path)
{
    if (c == NULL || path == NULL)
        return bad_arg(c, "no root metadata file given");
    pc_err_clear(&c->err);
    char *sp = NULL, *json = NULL, *sig = NULL;
    size_t len = 0, slen = 0;
    if (asprintf(&sp, "%s.minisig", path) < 0)
        return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_read_file(path, PC_ROOT_MAX_BYTES, &json, &len, &c->err);
    if (st == PC_OK)
        st = pc_read_file(sp, PC_SIG_FILE_MAX, &sig, &slen, &c->err);
    if (st == PC_ERR_NOT_FOUND && json)
        pc_fail(&c->err, st, "%s: not found: root metadata is trusted only with its signatures "
                "(patchcast-gen root sign)", sp);
    if (st == PC_OK && (st = pc_client_set_trust_root_buffer(c, json, len, sig, slen)) != PC_OK)
        pc_fail_prefix(&c->err, "%s: ", path);
    free(sp);
    free(json);
    free(sig);
    return st;
}
