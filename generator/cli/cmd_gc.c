/* cmd_gc.c — `patchcast-gen gc SITE`: remove objects, patches, manifests and
 * deltas that the current repo.json no longer references, once they have
 * been unreferenced for patch_retention_days (clients holding an older
 * repo.json may still need them). SITE/.gc-state remembers since when each
 * file has been unreferenced. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "config.h"
#include "fileio.h"
#include "gen_cli.h"
#include "meta.h"

typedef struct strset {
    char **v;
    int64_t *t;
    size_t n, cap;
} strset;

static int add(strset *s, const char *p, int64_t t)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        char **nv = realloc(s->v, nc * sizeof *nv);
        int64_t *nt = realloc(s->t, nc * sizeof *nt);
        if (nv)
            s->v = nv;
        if (nt)
            s->t = nt;
        if (!nv || !nt)
            return -1;
        s->cap = nc;
    }
    if ((s->v[s->n] = strdup(p)) == NULL)
        return -1;
    s->t[s->n++] = t;
    return 0;
}

static ssize_t find(const strset *s, const char *p)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], p))
            return (ssize_t)i;
    return -1;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s->t);
}

static char *slurp(const char *site, const char *rel, size_t *len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", site, rel);
    char *t = NULL;
    pc_err e = {0};
    if (pc_read_file(path, PC_MANIFEST_MAX_BYTES, &t, len, &e) != PC_OK)
        return NULL;
    return t;
}

/* Every site file the current repo.json reaches. */
static int referenced(const char *site, strset *ref, pc_err *e)
{
    size_t len;
    char *text = slurp(site, "repo.json", &len);
    pc_repo *r = NULL;
    if (text == NULL || pc_repo_parse(text, len, &r, e) != PC_OK) {
        free(text);
        if (e->msg[0] == '\0')
            pc_fail(e, PC_ERR_NOT_FOUND, "%s/repo.json: missing or unreadable", site);
        return -1;
    }
    free(text);
    char rel[PC_SITE_PATH_MAX];
    int rc = 0;
    for (size_t i = 0; i < r->nversions && rc == 0; i++) {
        pc_site_manifest_path(r->versions[i].manifest.sha256, rel);
        rc = add(ref, rel, 0);
        pc_manifest *m = NULL;
        if ((text = slurp(site, rel, &len)) && pc_manifest_parse(text, len, &m, e) == PC_OK)
            for (size_t k = 0; k < m->nfiles && rc == 0; k++)
                if (m->files[k].type == PC_FT_FILE) {
                    pc_site_object_path(m->files[k].sha256, rel);
                    rc = add(ref, rel, 0);
                }
        free(text);
        pc_manifest_free(m);
    }
    for (size_t i = 0; i < r->nedges && rc == 0; i++) {
        pc_site_delta_path(r->edges[i].delta.sha256, rel);
        rc = add(ref, rel, 0);
        pc_delta *d = NULL;
        if ((text = slurp(site, rel, &len)) && pc_delta_parse(text, len, &d, e) != PC_OK)
            d = NULL;
        if (d != NULL) {
            for (size_t k = 0; k < d->npatches && rc == 0; k++) {
                pc_site_patch_path(d->patches[k].from, d->patches[k].to, rel);
                rc = add(ref, rel, 0);
            }
            if (d->release && rc == 0) {
                pc_site_patch_path(d->release->from, d->release->to, rel);
                rc = add(ref, rel, 0);
            }
        }
        free(text);
        pc_delta_free(d);
    }
    pc_repo_free(r);
    return rc;
}

static void walk(const char *site, const char *sub, strset *out)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", site, sub);
    /* A folder that is a symlink is not walked: gc removes files of the
     * site, not of wherever a planted link points. */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char rel[2048];
        if (snprintf(rel, sizeof rel, "%s/%s", sub, de->d_name) >= (int)sizeof rel ||
            snprintf(path, sizeof path, "%s/%s", site, rel) >= (int)sizeof path)
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk(site, rel, out);
        else if (S_ISREG(sb.st_mode))
            add(out, rel, (int64_t)sb.st_mtime);
    }
    closedir(d);
}

static const char gcusage[] =
    "usage: patchcast-gen gc SITE [--config FILE] [--dry-run]\n"
    "\n"
    "Remove objects, patches, manifests and deltas that the current repo.json\n"
    "no longer references, once they have been unreferenced for\n"
    "patch_retention_days (config, default 30): clients holding an older\n"
    "repo.json may still need them. Leftover temporary files of interrupted\n"
    "builds older than a day are removed too.\n";

/* Remove the folders a removal left empty (objects/ab/), never the site's
 * top-level folders; rmdir fails harmlessly on one that is not empty. */
static void prune_parents(const char *site, char *path)
{
    size_t top = strlen(site) + 1;
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > top;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (strchr(path + top, '/') == NULL || rmdir(path) != 0)
            break;
    }
}

int gen_cmd_gc(int argc, char **argv)
{
    static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *config = NULL;
    bool dry = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'n': dry = true; break;
        case 'h': fputs(gcusage, stdout); return 0;
        default: fputs(gcusage, stderr); return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "patchcast-gen gc: expected SITE\n%s", gcusage);
        return 2;
    }
    const char *site = argv[optind];
    pc_err e = {0};
    pc_config cfg;
    pc_config_defaults(&cfg);
    if (config && pc_config_load(&cfg, config, &e) != PC_OK) {
        fprintf(stderr, "patchcast-gen gc: %s\n", e.msg);
        return gen_exit_for(e.code);
    }
    int64_t now = (int64_t)time(NULL), keep = (int64_t)cfg.patch_retention_days * 86400;
    pc_config_free(&cfg);
    strset ref = {0}, all = {0}, since = {0}, next = {0};
    if (referenced(site, &ref, &e) != 0) {
        fprintf(stderr, "patchcast-gen gc: %s\n", e.msg[0] ? e.msg : "out of memory");
        strset_free(&ref);
        return e.msg[0] ? gen_exit_for(e.code) : PC_EXIT_FAIL;
    }
    static const char *subs[] = {"objects", "patches", "manifests", "deltas"};
    for (size_t i = 0; i < 4; i++)
        walk(site, subs[i], &all);
    /* .gc-state: "<unix time> <path>" of files found unreferenced before. */
    char state[4400];
    snprintf(state, sizeof state, "%s/.gc-state", site);
    FILE *f = fopen(state, "r");
    if (f) {
        long long t;
        char p[4200];
        while (fscanf(f, "%lld %4199s", &t, p) == 2)
            add(&since, p, (int64_t)t);
        fclose(f);
    }
    unsigned removed = 0, waiting = 0;
    uint64_t freed = 0;
    int site_fd = open(site, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < all.n; i++) {
        const char *p = all.v[i];
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", site, p);
        bool tmp = strstr(p, ".tmp-") != NULL;
        if (!tmp && find(&ref, p) >= 0)
            continue;
        ssize_t k = find(&since, p);
        int64_t t0 = tmp ? all.t[i] : k >= 0 ? since.t[k] : now;
        int64_t limit = tmp ? 86400 : keep;
        struct stat sb;
        if (now - t0 >= limit) {
            /* Its folder opened below the site without following a link,
             * then the file removed there. */
            const char *base;
            pc_err be = {0};
            int dir = site_fd >= 0 ? pc_beneath_parent(site_fd, p, false, &base, &be) : -1;
            if (dir >= 0 && fstatat(dir, base, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                freed += (uint64_t)sb.st_size;
            if (!dry && (dir < 0 || unlinkat(dir, base, 0) != 0))
                fprintf(stderr, "patchcast-gen gc: %s: cannot remove%s%s\n", path,
                        be.msg[0] ? ": " : "", be.msg);
            else if (!dry)
                prune_parents(site, path);
            if (dir >= 0)
                close(dir);
            printf("%s %s\n", dry ? "would remove" : "removed", p);
            removed++;
        } else {
            add(&next, p, t0);
            waiting++;
        }
    }
    if (!dry) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        for (size_t i = 0; m && i < next.n; i++)
            fprintf(m, "%lld %s\n", (long long)next.t[i], next.v[i]);
        if (m)
            fclose(m);
        pc_write_file_atomic(state, text ? text : "", len, 0644, &e);
        free(text);
    }
    printf("%s: %u files %sremoved (%llu bytes), %u unreferenced kept for the retention period\n",
           site, removed, dry ? "would be " : "", (unsigned long long)freed, waiting);
    strset_free(&ref);
    strset_free(&all);
    strset_free(&since);
    strset_free(&next);
    if (site_fd >= 0)
        close(site_fd);
    return 0;
}
