/* test_client.c — the pc_client handle through the public API alone:
 * argument errors name themselves (never an earlier failure's detail), and
 * a pc_client_cancel() made just before an operation cancels it, once. The
 * site is made by the real patchcast-gen ($BUILD/patchcast-gen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patchcast.h"
#include "test.h"

static char dir[256];

static int sh(const char *fmt, const char *a)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, a, a, a, a, a);
    return system(cmd);
}

/* Two releases of one file, a key and a site in dir. */
static int make_site(void)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char gen[512];
    snprintf(gen, sizeof gen, "%s%s/patchcast-gen", build[0] == '/' ? "" : "./", build);
    snprintf(dir, sizeof dir, "%s/pcclient.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (sh("mkdir -p %s/rel/1.0.0 %s/rel/1.1.0 && head -c 30000 /dev/urandom >%s/rel/1.0.0/app && "
           "cp %s/rel/1.0.0/app %s/rel/1.1.0/app && printf x >>%s/rel/1.1.0/app", dir) != 0)
        return -1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s keygen -W -p %s/k.pub -s %s/k.key >/dev/null && "
             "%s build -q %s/rel -o %s/site -s %s/k.key >/dev/null 2>&1",
             gen, dir, dir, gen, dir, dir, dir);
    return system(cmd);
}

static pc_client *client_for(const char *root)
{
    pc_client *c = NULL;
    char p[512];
    if (pc_client_new(&c) != PC_OK)
        return NULL;
    snprintf(p, sizeof p, "%s/%s", dir, root);
    pc_client_set_root(c, p);
    snprintf(p, sizeof p, "%s/site", dir);
    pc_client_add_repo(c, p);
    snprintf(p, sizeof p, "%s/k.pub", dir);
    if (pc_client_add_pubkey_file(c, p) != PC_OK) {
        pc_client_free(c);
        return NULL;
    }
    return c;
}

static char *current_of(pc_client *c)
{
    pc_install_state *s = NULL;
    char *v = NULL;
    if (pc_client_status(c, &s) == PC_OK && s->current)
        v = strdup(s->current);
    pc_client_status_free(s);
    return v;
}

static void argument_errors_name_themselves(void)
{
    pc_client *c = NULL;
    CHECK(pc_client_new(&c) == PC_OK);
    /* A failure first, so that a stale message would show. */
    CHECK(pc_client_update(c, NULL, NULL) != PC_OK);
    CHECKF(strstr(pc_client_errmsg(c), "root") != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_set_keep_versions(c, 0) == PC_ERR_INVALID);
    CHECKF(strstr(pc_client_errmsg(c), "keep at least 1") != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_add_repo(c, "") == PC_ERR_INVALID);
    CHECKF(strstr(pc_client_errmsg(c), "repository URL") != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_set_low_speed(c, -1, 5) == PC_ERR_INVALID);
    CHECKF(strstr(pc_client_errmsg(c), "negative") != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_set_transfers(c, 17) == PC_ERR_INVALID);
    CHECKF(strstr(pc_client_errmsg(c), "1 to 16") != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_set_transfers(c, 1) == PC_OK);
    /* A good call clears the message. */
    CHECK(pc_client_set_keep_versions(c, 3) == PC_OK);
    CHECK_STR(pc_client_errmsg(c), "");
    pc_client_free(c);
}

/* Mistakes in a repository URL are refused when it is added, naming the
 * fix, instead of failing later as a missing folder or file. */
static void repository_urls_checked(void)
{
    static const struct {
        const char *url, *says;
    } bad[] = {
        {"127.0.0.1:8765/x", "write http://127.0.0.1:8765/x"},
        {"localhost:8080", "write http://localhost:8080"},
        {"ftp://example.com/site", "unsupported scheme 'ftp'"},
        {"https://example.com/site/repo.json", "give the site's folder (https://example.com/site)"},
        {"http://example.com/site/repo.json.minisig?x=1", "site's repo.json.minisig"},
        {"site/repo.json/", "give the site's folder (site)"},
        {"repo.json", "give the site's folder instead"},
        {"../a://b", "not a URL"},
        {"https://example.com/site#top", "a fragment (#) cannot be part"},
        {"http://", "no host after http://"},
        {"https:///srv/site", "no host after https://"},
    };
    static const char *const good[] = {"HTTPS://example.com/site",
                                       "http://127.0.0.1:8765/x",
                                       "file:///srv/site",
                                       "/srv/site",
                                       "https://example.com/repo.json-archive",
                                       "https://example.com/site?from=repo.json"};
    pc_client *c = NULL;
    CHECK(pc_client_new(&c) == PC_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_status st = pc_client_add_repo(c, bad[i].url);
        CHECKF(st == PC_ERR_INVALID && strstr(pc_client_errmsg(c), bad[i].says),
               "%s: status %d, message '%s'", bad[i].url, st, pc_client_errmsg(c));
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        pc_status st = pc_client_add_repo(c, good[i]);
        CHECKF(st == PC_OK, "%s: status %d: %s", good[i], st, pc_client_errmsg(c));
    }
    pc_client_free(c);
}

/* A relative folder is saved as an absolute path: the configuration then
 * works from any working directory. */
static void relative_repo_saved_absolute(void)
{
    char root[256], cwd[4096], want[4400], *text = NULL;
    snprintf(root, sizeof root, "%s/pcroot.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(root) != NULL);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    pc_client *c = NULL;
    CHECK(pc_client_new(&c) == PC_OK);
    CHECK(pc_client_set_root(c, root) == PC_OK);
    CHECK(pc_client_add_repo(c, "./some/site") == PC_OK);
    CHECK(pc_client_save_config(c) == PC_OK);
    pc_client_free(c);
    char path[300];
    snprintf(path, sizeof path, "%s/config.json", root);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        text = calloc(1, 65536);
        n = text ? fread(text, 1, 65535, f) : 0;
        fclose(f);
    }
    sh("rm -rf %s", root);
    snprintf(want, sizeof want, "\"%s/some/site\"", cwd);
    int found = n > 0 && strstr(text, want) != NULL;
    free(text);
    CHECKF(found, "config.json does not hold %.900s", want);
}

static void cancel_before_operation_cancels_it(void)
{
    CHECKF(make_site() == 0, "could not make the site in %s", dir);
    pc_client *c = client_for("root");
    CHECK(c != NULL);
    pc_status st = pc_client_update(c, "1.0.0", NULL);
    CHECKF(st == PC_OK, "install: %s", pc_client_errmsg(c));
    pc_client_cancel(c);
    st = pc_client_update(c, "1.1.0", NULL);
    char *cur = current_of(c);
    CHECKF(st == PC_ERR_CANCELLED, "status %d: %s", st, pc_client_errmsg(c));
    CHECKF(cur && strcmp(cur, "1.0.0") == 0, "current %s", cur ? cur : "(none)");
    free(cur);
    /* The cancel applied once: the next update goes through. */
    st = pc_client_update(c, "1.1.0", NULL);
    cur = current_of(c);
    CHECKF(st == PC_OK, "status %d: %s", st, pc_client_errmsg(c));
    CHECKF(cur && strcmp(cur, "1.1.0") == 0, "current %s", cur ? cur : "(none)");
    free(cur);
    pc_client_free(c);
}

/* A held version is listed as held until released; holding names its
 * folder, and refuses versions that are not installed or not names. */
static void hold_through_the_api(void)
{
    pc_client *c = client_for("hold");
    CHECK(c != NULL);
    pc_hold *h = NULL;
    CHECK(pc_client_hold_version(c, NULL, 0, &h) == PC_ERR_NOT_FOUND); /* no root yet */
    CHECKF(pc_client_update(c, "1.0.0", NULL) == PC_OK, "%s", pc_client_errmsg(c));
    CHECKF(pc_client_hold_version(c, NULL, 0, &h) == PC_OK, "%s", pc_client_errmsg(c));
    CHECK_STR(pc_hold_version(h), "1.0.0");
    const char *d = pc_hold_dir(h);
    CHECKF(strlen(d) > 15 && !strcmp(d + strlen(d) - 15, "/versions/1.0.0"), "%s", d);
    pc_install_state *s = NULL;
    CHECK(pc_client_status(c, &s) == PC_OK);
    CHECKF(s->nheld == 1 && !strcmp(s->held[0], "1.0.0"), "%zu held", s->nheld);
    pc_client_status_free(s);
    pc_hold *h2 = NULL;
    CHECK(pc_client_hold_version(c, "1.1.0", 0, &h2) == PC_ERR_NOT_FOUND && h2 == NULL);
    CHECKF(strstr(pc_client_errmsg(c), "not installed"), "%s", pc_client_errmsg(c));
    CHECK(pc_client_hold_version(c, "../x", 0, &h2) == PC_ERR_INVALID && h2 == NULL);
    pc_hold_release(h);
    CHECK(pc_client_status(c, &s) == PC_OK);
    CHECKF(s->nheld == 0, "%zu held", s->nheld);
    pc_client_status_free(s);
    pc_hold_release(NULL);
    pc_client_free(c);
}

/* A file of the installed version changed by hand is downloaded whole by
 * the next update, which says so. */
static void damaged_local_file_listed(void)
{
    pc_client *c = client_for("damaged");
    CHECK(c != NULL);
    CHECKF(pc_client_update(c, "1.0.0", NULL) == PC_OK, "%s", pc_client_errmsg(c));
    CHECK(sh("printf XY | dd of=%s/damaged/current/app bs=1 seek=100 conv=notrunc status=none",
             dir) == 0);
    pc_update_info *info = NULL;
    pc_status st = pc_client_update(c, "1.1.0", &info);
    CHECKF(st == PC_OK, "%s", pc_client_errmsg(c));
    CHECKF(info->nrefetched == 1 && !strcmp(info->refetched[0], "app"), "%zu refetched",
           info->nrefetched);
    CHECKF(info->download_bytes > 0, "%llu", (unsigned long long)info->download_bytes);
    pc_update_info_free(info);
    pc_client_free(c);
}

int main(void)
{
    t_suite = "client";
    RUN(argument_errors_name_themselves);
    RUN(repository_urls_checked);
    RUN(relative_repo_saved_absolute);
    RUN(cancel_before_operation_cancels_it);
    RUN(hold_through_the_api);
    RUN(damaged_local_file_listed);
    if (dir[0])
        sh("rm -rf %s", dir);
    return t_nfail != 0;
}
