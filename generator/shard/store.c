/* store.c — the result store of a sharded build: a folder (temporary name,
 * then a rename that never replaces what another copy of a job put first)
 * or an S3 prefix through the AWS CLI, run without a shell, its keys listed
 * once when the store is opened. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"

extern char **environ;

#define LIST_MAX (1ull << 30) /* bytes of `aws s3 ls` output read at most */

struct pc_store {
    char *name;
    char *root;             /* a folder store; NULL for S3 */
    char *bucket, *prefix;  /* S3 */
    char *endpoint;         /* $S3_ENDPOINT_URL, or NULL */
    char *scratch;          /* S3: our temporary folder */
    char **keys;            /* S3: the keys under the prefix (relative), sorted */
    size_t nkeys, capkeys;
    unsigned long counter;
    pthread_mutex_t mu;
};

const char *pc_store_name(const pc_store *s)
{
    return s->name;
}

/* ---- S3 URLs and listings --------------------------------------------------- */

bool pc_store_parse_s3(const char *url, char **bucket, char **prefix, const char **why)
{
    *bucket = *prefix = NULL;
    if (strncmp(url, "s3://", 5) != 0)
        return *why = "expected s3://BUCKET[/PREFIX]", false;
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl < 3 || bl > 63)
        return *why = "the bucket name must have 3 to 63 characters", false;
    for (size_t i = 0; i < bl; i++)
        if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
              b[i] == '-'))
            return *why = "the bucket name may hold only a-z, 0-9, '.' and '-'", false;
    const char *p = slash ? slash + 1 : "";
    size_t pl = strlen(p);
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    for (size_t i = 0; i < pl; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f)
            return *why = "the prefix may not hold spaces or control characters", false;
    /* components: none empty, "." or ".." */
    for (size_t i = 0; i < pl;) {
        size_t j = i;
        while (j < pl && p[j] != '/')
            j++;
        size_t n = j - i;
        if (n == 0 || (n == 1 && p[i] == '.') || (n == 2 && p[i] == '.' && p[i + 1] == '.'))
            return *why = "the prefix may not have empty, '.' or '..' parts", false;
        i = j + 1;
    }
    *bucket = strndup(b, bl);
    *prefix = strndup(p, pl);
    if (!*bucket || !*prefix) {
        free(*bucket);
        free(*prefix);
        *bucket = *prefix = NULL;
        return *why = "out of memory", false;
    }
    return true;
}

bool pc_store_parse_ls_line(const char *line, const char **key, unsigned long long *size)
{
    /* date, time, size, key: the key may hold spaces, so split three times */
    const char *p = line;
    for (int field = 0; field < 2; field++) {
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    *size = strtoull(p, &end, 10);
    if (errno || *end != ' ')
        return false;
    while (*end == ' ')
        end++;
    if (*end == '\0')
        return false;
    *key = end;
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_key(pc_store *s, const char *rel)
{
    pthread_mutex_lock(&s->mu);
    bool found = bsearch(&rel, s->keys, s->nkeys, sizeof *s->keys, cmp_key) != NULL;
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Add rel to the sorted keys (false on no memory). */
static bool add_key_locked(pc_store *s, const char *rel, bool sorted)
{
    if (sorted && bsearch(&rel, s->keys, s->nkeys, sizeof *s->keys, cmp_key))
        return true;
    if (s->nkeys == s->capkeys) {
        size_t nc = s->capkeys ? s->capkeys * 2 : 256;
        char **k = realloc(s->keys, nc * sizeof *k);
        if (k == NULL)
            return false;
        s->keys = k;
        s->capkeys = nc;
    }
    char *copy = strdup(rel);
    if (copy == NULL)
        return false;
    size_t at = s->nkeys;
    if (sorted)
        while (at > 0 && strcmp(s->keys[at - 1], rel) > 0)
            at--;
    memmove(&s->keys[at + 1], &s->keys[at], (s->nkeys - at) * sizeof *s->keys);
    s->keys[at] = copy;
    s->nkeys++;
    return true;
}

/* ---- running the AWS CLI ----------------------------------------------------- */

/* Run `aws s3 ARGS… [--endpoint-url URL]`; its standard output into *out
 * (when out is not NULL; NUL-terminated, caller frees), *rc its exit status.
 * A failure to run it, or a status other than 0 (and than 1 when ok1), is
 * an error naming the command and quoting the end of its standard error. */
static pc_status aws(pc_store *s, const char *const *args, bool ok1, char **out, int *rc,
                     pc_err *e)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "aws";
    argv[n++] = "s3";
    for (size_t i = 0; args[i] && n < 12; i++)
        argv[n++] = args[i];
    if (s->endpoint) {
        argv[n++] = "--endpoint-url";
        argv[n++] = s->endpoint;
    }
    argv[n] = NULL;
    char cmd[600];
    size_t cl = 0;
    for (size_t i = 0; i < n && cl < sizeof cmd; i++)
        cl += (size_t)snprintf(cmd + cl, sizeof cmd - cl, "%s%s", i ? " " : "", argv[i]);
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    pc_status st = PC_OK;
    char *obuf = NULL, ebuf[2048];
    size_t olen = 0, ocap = 0, elen = 0;
    pid_t pid = -1;
    if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "pipe: %s", strerror(errno));
        goto out;
    }
    int err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    if (!err)
        err = posix_spawnp(&pid, "aws", &fa, NULL, (char *const *)argv, environ);
    close(op[1]);
    close(ep[1]);
    op[1] = ep[1] = -1;
    if (err != 0) {
        pid = -1;
        st = pc_fail(e, PC_ERR_NOT_FOUND,
                     "%s: cannot run the AWS CLI (%s): an s3:// store needs `aws` on PATH "
                     "(Debian: apt-get install awscli)",
                     s->name, strerror(err));
        goto out;
    }
    struct pollfd pf[2] = {{.fd = op[0], .events = POLLIN}, {.fd = ep[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            st = pc_fail(e, pc_errno_status(errno), "poll: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[8192];
            ssize_t r = read(pf[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                pf[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 1) { /* keep the end of standard error */
                size_t k = (size_t)r;
                if (k >= sizeof ebuf - 1) {
                    memcpy(ebuf, buf + k - (sizeof ebuf - 1), sizeof ebuf - 1);
                    elen = sizeof ebuf - 1;
                } else {
                    if (elen + k > sizeof ebuf - 1) {
                        size_t drop = elen + k - (sizeof ebuf - 1);
                        memmove(ebuf, ebuf + drop, elen - drop);
                        elen -= drop;
                    }
                    memcpy(ebuf + elen, buf, k);
                    elen += k;
                }
            } else if (out && st == PC_OK) {
                if (olen + (size_t)r + 1 > ocap) {
                    size_t nc = ocap ? ocap * 2 : 65536;
                    while (nc < olen + (size_t)r + 1)
                        nc *= 2;
                    char *g = nc <= LIST_MAX ? realloc(obuf, nc) : NULL;
                    if (g == NULL) {
                        st = pc_fail(e, PC_ERR_TOO_LARGE, "%s: output too large", cmd);
                        continue;
                    }
                    obuf = g;
                    ocap = nc;
                }
                memcpy(obuf + olen, buf, (size_t)r);
                olen += (size_t)r;
            }
        }
    }
out:
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0)
            close(op[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    if (pid > 0) {
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        *rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
        ebuf[elen] = '\0';
        while (elen > 0 && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == '\r'))
            ebuf[--elen] = '\0';
        const char *last = strrchr(ebuf, '\n');
        if (st == PC_OK && *rc == 127 && elen == 0) /* the exec failed in the child */
            st = pc_fail(e, PC_ERR_NOT_FOUND,
                         "%s: cannot run the AWS CLI (exit status 127): an s3:// store needs "
                         "`aws` on PATH (Debian: apt-get install awscli)",
                         s->name);
        else if (st == PC_OK && *rc != 0 && !(ok1 && *rc == 1))
            st = pc_fail(e, PC_ERR_IO, "%s: exit status %d%s%s", cmd, *rc, elen ? ": " : "",
                         last ? last + 1 : ebuf);
    }
    if (st == PC_OK && out) {
        if (obuf == NULL && (obuf = malloc(1)) == NULL)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        else
            obuf[olen] = '\0';
    }
    if (st == PC_OK && out)
        *out = obuf;
    else
        free(obuf);
    return st;
}

/* "s3://bucket/prefix/rel" (prefix may be empty) in buf. */
static void s3_url(const pc_store *s, const char *rel, char *buf, size_t n)
{
    snprintf(buf, n, "s3://%s/%s%s%s", s->bucket, s->prefix, *s->prefix ? "/" : "", rel);
}

/* Every key under the prefix, once. `aws s3 ls` exits 1 when there is none. */
static pc_status s3_list(pc_store *s, pc_err *e)
{
    char url[1200], *text = NULL;
    s3_url(s, "", url, sizeof url);
    int rc = 0;
    const char *args[] = {"ls", "--recursive", url, NULL};
    pc_status st = aws(s, args, true, &text, &rc, e);
    if (st != PC_OK)
        return st;
    size_t pl = strlen(s->prefix);
    for (char *line = text, *nl; st == PC_OK && line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        const char *key;
        unsigned long long size;
        if (!pc_store_parse_ls_line(line, &key, &size))
            continue;
        if (pl && (strncmp(key, s->prefix, pl) != 0 || key[pl] != '/'))
            continue;
        if (!add_key_locked(s, key + (pl ? pl + 1 : 0), false))
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    free(text);
    if (st == PC_OK && s->nkeys > 1)
        qsort(s->keys, s->nkeys, sizeof *s->keys, cmp_key);
    return st;
}

/* ---- the store ------------------------------------------------------------------ */

pc_status pc_store_open(const char *url, pc_store **out, pc_err *e)
{
    *out = NULL;
    pc_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pc_status st = PC_OK;
    size_t l = strlen(url);
    while (l > 1 && url[l - 1] == '/')
        l--;
    if ((s->name = strndup(url, l)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    } else if (strncmp(url, "s3://", 5) == 0) {
        const char *why, *ep = getenv("S3_ENDPOINT_URL");
        const char *tmp = getenv("TMPDIR");
        if (!pc_store_parse_s3(url, &s->bucket, &s->prefix, &why))
            st = pc_fail(e, PC_ERR_INVALID, "store %s: %s", url, why);
        else if (ep && *ep && (s->endpoint = strdup(ep)) == NULL)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        else if (asprintf(&s->scratch, "%s/patchcast-store.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory"), s->scratch = NULL;
        else if (mkdtemp(s->scratch) == NULL) {
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", s->scratch, strerror(errno));
            free(s->scratch);
            s->scratch = NULL;
        } else
            st = s3_list(s, e);
    } else if ((s->root = strdup(s->name)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    } else if ((st = pc_mkdirs(s->root, false, e)) != PC_OK) {
        pc_fail_prefix(e, "store: ");
    }
    if (st != PC_OK) {
        pc_store_free(s);
        return st;
    }
    *out = s;
    return PC_OK;
}

void pc_store_free(pc_store *s)
{
    if (s == NULL)
        return;
    if (s->scratch) {
        /* our own mkdtemp folder: flat, only our files */
        int dfd = open(s->scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            DIR *d = fdopendir(dfd);
            struct dirent *de;
            while (d && (de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                    unlinkat(dfd, de->d_name, 0);
            if (d)
                closedir(d);
            else
                close(dfd);
        }
        rmdir(s->scratch);
        free(s->scratch);
    }
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->name);
    free(s->root);
    free(s->bucket);
    free(s->prefix);
    free(s->endpoint);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A store's own names: objects/…, patches/…, jobs/…; never a temporary one. */
static pc_status check_rel(const pc_store *s, const char *rel, pc_err *e)
{
    if (rel[0] == '/' || strstr(rel, "..") || strstr(rel, ".tmp-") || strlen(rel) > 400)
        return pc_fail(e, PC_ERR_INTERNAL, "store %s: '%s' is not a store file name", s->name, rel);
    return PC_OK;
}

static char *local_path(const pc_store *s, const char *rel)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", s->root, rel) < 0 ? NULL : p;
}

pc_status pc_store_get(pc_store *s, const char *rel, char **path, pc_err *e)
{
    *path = NULL;
    pc_status st = check_rel(s, rel, e);
    if (st != PC_OK)
        return st;
    if (s->root) {
        char *p = local_path(s, rel);
        struct stat sb;
        if (p == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        if (stat(p, &sb) != 0) {
            int err = errno;
            free(p);
            return err == ENOENT ? PC_ERR_NOT_FOUND
                                 : pc_fail(e, pc_errno_status(err), "store %s: %s: %s", s->name,
                                           rel, strerror(err));
        }
        if (!S_ISREG(sb.st_mode)) {
            free(p);
            return pc_fail(e, PC_ERR_INVALID, "store %s: %s is not a file", s->name, rel);
        }
        *path = p;
        return PC_OK;
    }
    if (!has_key(s, rel))
        return PC_ERR_NOT_FOUND;
    char *p = pc_store_scratch(s, rel), url[1200];
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    s3_url(s, rel, url, sizeof url);
    int rc;
    const char *args[] = {"cp", url, p, "--only-show-errors", NULL};
    if ((st = aws(s, args, false, NULL, &rc, e)) != PC_OK) {
        pc_store_done(s, p);
        return st;
    }
    *path = p;
    return PC_OK;
}

void pc_store_done(pc_store *s, char *path)
{
    (void)s;
    if (path == NULL)
        return;
    const char *base = strrchr(path, '/');
    if (strstr(base ? base : path, ".tmp-"))
        unlink(path);
    free(path);
}

char *pc_store_scratch(pc_store *s, const char *rel)
{
    pthread_mutex_lock(&s->mu);
    unsigned long n = ++s->counter;
    pthread_mutex_unlock(&s->mu);
    char *p = NULL;
    if (s->root) {
        char *dst = local_path(s, rel);
        pc_err scratch = {0};
        int err = ENOMEM;
        if (dst && pc_mkdirs(dst, true, &scratch) != PC_OK)
            err = errno;
        else if (dst && asprintf(&p, "%s.tmp-%ld-%lu", dst, (long)getpid(), n) < 0)
            p = NULL;
        free(dst);
        if (p == NULL)
            errno = err;
        return p;
    }
    const char *base = strrchr(rel, '/');
    return asprintf(&p, "%s/%lu-%s.tmp-", s->scratch, n, base ? base + 1 : rel) < 0 ? NULL : p;
}

pc_status pc_store_put(pc_store *s, const char *local, const char *rel, bool keep, bool *existed,
                       pc_err *e)
{
    *existed = false;
    pc_status st = check_rel(s, rel, e);
    if (st != PC_OK)
        return st;
    if (s->root) {
        char *dst = local_path(s, rel);
        if (dst == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        int r = keep ? renameat2(AT_FDCWD, local, AT_FDCWD, dst, RENAME_NOREPLACE)
                     : rename(local, dst);
        if (r != 0 && keep && (errno == EINVAL || errno == ENOSYS)) {
            /* a file system without RENAME_NOREPLACE: link() does not replace either */
            r = link(local, dst);
            if (r == 0 || errno == EEXIST) {
                int err = errno;
                unlink(local);
                errno = err;
            }
        }
        if (r != 0 && errno == EEXIST && keep) {
            *existed = true;
            unlink(local);
        } else if (r != 0) {
            st = pc_fail(e, pc_errno_status(errno), "store %s: %s: %s", s->name, rel,
                         strerror(errno));
            unlink(local);
        } else {
            st = pc_fsync_parent(dst, e);
        }
        free(dst);
        return st;
    }
    if (keep && has_key(s, rel)) {
        *existed = true;
        unlink(local);
        return PC_OK;
    }
    char url[1200];
    s3_url(s, rel, url, sizeof url);
    int rc;
    const char *args[] = {"cp", local, url, "--only-show-errors", NULL};
    st = aws(s, args, false, NULL, &rc, e);
    unlink(local);
    if (st == PC_OK) {
        pthread_mutex_lock(&s->mu);
        if (!add_key_locked(s, rel, true))
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        pthread_mutex_unlock(&s->mu);
    }
    return st;
}
