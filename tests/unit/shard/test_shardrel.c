/* test_shardrel.c — a release task of a sharded build: its plan from the
 * plan's trees (the sizes jobs.json must carry; refused where a build would
 * make no patch), the files a job checks before it reads them, and the
 * load that names the patch as a one-machine build does (reldiff.c), a
 * changed file refused. Also the store names a job's result may give. The
 * whole path, plan to assembly: tests/e2e/test_shard.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "shardrel.h"
#include "test.h"
#include "tree.h"

static char dir[] = "/tmp/pc-shardrel-XXXXXX";

static void put(const char *version, const char *path, const char *text)
{
    char p[512];
    pc_err e = {0};
    snprintf(p, sizeof p, "%s/%s/%s", dir, version, path);
    pc_mkdirs(p, true, &e);
    pc_write_file_atomic(p, text, strlen(text), 0644, &e);
}

/* A plan of the versions under dir (no jobs): what pc_shard_release_* read. */
static void load_plan(pc_shard_plan *p, const char *const *names, size_t n)
{
    memset(p, 0, sizeof *p);
    p->cfg.product = "demo";
    p->versions = calloc(n, sizeof *p->versions);
    for (size_t i = 0; i < n; i++) {
        char root[300];
        pc_err e = {0};
        snprintf(root, sizeof root, "%s/%s", dir, names[i]);
        p->versions[i].name = (char *)names[i];
        CHECKF(pc_tree_scan(root, &p->versions[i].tree, &e) == PC_OK, "%s", e.msg);
    }
    p->nversions = n;
}

static void free_plan(pc_shard_plan *p)
{
    for (size_t i = 0; i < p->nversions; i++)
        pc_tree_free(&p->versions[i].tree);
    free(p->versions);
}

typedef struct seen {
    size_t n, per_version[3];
} seen;

static pc_status count_file(void *ud, const pc_build_file *f, pc_err *e)
{
    (void)e;
    seen *s = ud;
    s->n++;
    s->per_version[f->version]++;
    return PC_OK;
}

static void test_plan_and_load(void)
{
    static const char *const names[] = {"1.0.0", "1.1.0", "1.2.0"};
    put("1.0.0", "a.txt", "alpha\n");
    put("1.0.0", "b.txt", "beta\n");
    put("1.0.0", "c/b-again.txt", "beta\n"); /* one content twice: once in the reference */
    put("1.1.0", "a.txt", "alpha, changed\n");
    put("1.1.0", "b.txt", "beta\n");
    put("1.1.0", "d.txt", "new\n");
    put("1.1.0", "e.txt", "new\n"); /* one added content twice: made once */
    put("1.2.0", "b.txt", "beta\n");  /* only what 1.1.0 has: adds nothing */
    pc_shard_plan p;
    load_plan(&p, names, 3);
    pc_shard_task t = {.release = true, .in.version = 0, .to.version = 1};
    pc_shard_release r;
    pc_err e = {0};
    CHECKF(pc_shard_release_plan(&p, &t, &r, &e) == PC_OK, "%s", e.msg);
    CHECK(r.rd.nref == 2 && r.rd.ref_size == 2 * 4096);
    CHECK(r.rd.nfiles == 2 && r.rd.to_size == strlen("alpha, changed\n") + strlen("new\n"));
    /* the job checks each file the patch reads, of its version */
    seen s = {0};
    CHECK(pc_shard_release_inputs(&t, &r, count_file, &s, &e) == PC_OK);
    CHECK(s.n == 4 && s.per_version[0] == 2 && s.per_version[1] == 2);
    /* loaded from RELEASES here: named by the reference's and output's hashes */
    char out[PC_SITE_PATH_MAX] = "", want[PC_SITE_PATH_MAX];
    CHECKF(pc_shard_release_load(&p, &t, dir, &r, out, &e) == PC_OK, "%s", e.msg);
    pc_site_patch_path(r.rd.ref_sha, r.rd.to_sha, want);
    CHECK_STR(out, want);
    bool patch = false;
    CHECK(pc_shard_site_name_ok(out, &patch) && patch);
    pc_shard_release_free(&r);
    /* a file changed since the plan: refused, naming it */
    put("1.1.0", "d.txt", "NEW\n");
    CHECK(pc_shard_release_plan(&p, &t, &r, &e) == PC_OK);
    CHECK(pc_shard_release_load(&p, &t, dir, &r, out, &e) == PC_ERR_HASH);
    CHECKF(strstr(e.msg, "1.1.0/d.txt"), "%s", e.msg);
    pc_shard_release_free(&r);
    /* where a build makes none: refused */
    t = (pc_shard_task){.release = true, .in.version = 1, .to.version = 2};
    CHECK(pc_shard_release_plan(&p, &t, &r, &e) == PC_ERR_INVALID);
    CHECKF(strstr(e.msg, "1.1.0 -> 1.2.0: the second adds no content"), "%s", e.msg);
    pc_shard_release_free(&r);
    free_plan(&p);
}

static void test_empty_reference(void)
{
    static const char *const names[] = {"2.0.0", "2.1.0"};
    put("2.0.0", "empty", "");
    put("2.1.0", "empty", "");
    put("2.1.0", "full", "content\n");
    pc_shard_plan p;
    load_plan(&p, names, 2);
    pc_shard_task t = {.release = true, .in.version = 0, .to.version = 1};
    pc_shard_release r;
    pc_err e = {0};
    CHECK(pc_shard_release_plan(&p, &t, &r, &e) == PC_ERR_INVALID);
    CHECKF(strstr(e.msg, "2.0.0 -> 2.1.0: the first has no content"), "%s", e.msg);
    pc_shard_release_free(&r);
    free_plan(&p);
}

static void test_site_names(void)
{
    char hex[65];
    memset(hex, 'a', 64);
    hex[64] = '\0';
    char good[200], bad[200];
    bool patch = true;
    snprintf(good, sizeof good, "objects/aa/%s", hex);
    CHECK(pc_shard_site_name_ok(good, &patch) && !patch);
    snprintf(good, sizeof good, "patches/aa/%s-%s", hex, hex);
    CHECK(pc_shard_site_name_ok(good, &patch) && patch);
    snprintf(bad, sizeof bad, "patches/ab/%s-%s", hex, hex); /* aa is not its digits */
    CHECK(!pc_shard_site_name_ok(bad, &patch));
    snprintf(bad, sizeof bad, "patches/AA/%s-%s", hex, hex);
    CHECK(!pc_shard_site_name_ok(bad, &patch));
    snprintf(bad, sizeof bad, "patches/aa/%s", hex);
    CHECK(!pc_shard_site_name_ok(bad, &patch));
    snprintf(bad, sizeof bad, "patches/aa/../%s-%s", hex, hex);
    CHECK(!pc_shard_site_name_ok(bad, &patch));
}

/* The releases' folder goes with its tests; a failure to remove it fails them. */
static void remove_releases(void)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECKF(system(cmd) == 0, "%s", cmd);
}

int main(void)
{
    t_suite = "shardrel";
    RUN(test_site_names);
    if (!mkdtemp(dir))
        return 2;
    RUN(test_plan_and_load);
    RUN(test_empty_reference);
    RUN(remove_releases);
    TEST_MAIN_END();
}
