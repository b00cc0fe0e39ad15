/* test_layout.c — install root: creation, lock, atomic current switch,
 * committing a staged version, tree removal. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hold.h"
#include "layout.h"
#include "test.h"

static char dir[] = "/tmp/pc-layout-XXXXXX";
static char root[300];

static void open_creates(void)
{
    pc_layout l;
    pc_err e = {0};
    CHECK(pc_layout_open(&l, root, false, &e) == PC_ERR_NOT_FOUND);
    CHECK(pc_layout_open(&l, root, true, &e) == PC_OK);
    char *p = pc_layout_path(&l, "versions", "1.0", "bin/x");
    CHECKF(p && strcmp(p + strlen(root), "/versions/1.0/bin/x") == 0, "%s", p);
    free(p);
    struct stat sb;
    p = pc_layout_path(&l, "staging", NULL, NULL);
    CHECK(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
    free(p);
    pc_layout_close(&l);
}

static void lock_is_exclusive(void)
{
    pc_layout a, b;
    pc_err e = {0};
    CHECK(pc_layout_open(&a, root, true, &e) == PC_OK);
    CHECK(pc_layout_open(&b, root, true, &e) == PC_OK);
    CHECK(pc_layout_lock(&a, 0, &e) == PC_OK);
    CHECK(pc_layout_lock(&b, 0, &e) == PC_ERR_BUSY);
    CHECK(strstr(e.msg, "another patchcast process") != NULL);
    pc_layout_close(&a);
    CHECK(pc_layout_lock(&b, 0, &e) == PC_OK);
    pc_layout_close(&b);
}

/* Readers share the lock; a writer cannot start under a reader, and a
 * reader that finds a writer reads unlocked and says so. */
static void readers_share_the_lock(void)
{
    pc_layout r1, r2, w;
    pc_err e = {0};
    CHECK(pc_layout_open(&r1, root, true, &e) == PC_OK);
    CHECK(pc_layout_open(&r2, root, false, &e) == PC_OK);
    CHECK(pc_layout_open(&w, root, false, &e) == PC_OK);
    CHECK(pc_layout_lock_shared(&r1, &e) == PC_OK && r1.lock_fd >= 0 && !r1.writer_busy);
    CHECK(pc_layout_lock_shared(&r2, &e) == PC_OK && r2.lock_fd >= 0 && !r2.writer_busy);
    CHECK(pc_layout_lock(&w, 0, &e) == PC_ERR_BUSY);
    pc_layout_close(&r1);
    pc_layout_close(&r2);
    CHECK(pc_layout_open(&r1, root, false, &e) == PC_OK);
    CHECK(pc_layout_lock(&w, 0, &e) == PC_OK);
    CHECK(pc_layout_lock_shared(&r1, &e) == PC_OK && r1.lock_fd < 0 && r1.writer_busy);
    pc_layout_close(&r1);
    pc_layout_close(&w);
}

/* A writer given time waits for the holder to finish; without it, busy. */
static void writer_waits_for_the_lock(void)
{
    pc_layout a, b;
    pc_err e = {0};
    CHECK(pc_layout_open(&a, root, false, &e) == PC_OK);
    CHECK(pc_layout_open(&b, root, false, &e) == PC_OK);
    CHECK(pc_layout_lock(&a, 0, &e) == PC_OK);
    pid_t pid = fork();
    if (pid == 0) { /* the holder: lets go after 300 ms */
        usleep(300 * 1000);
        _exit(0);
    }
    /* The child has the descriptor too: the lock is gone once both closed. */
    pc_layout_close(&a);
    CHECK(pc_layout_lock(&b, 0, &e) == PC_ERR_BUSY);
    CHECKF(pc_layout_lock(&b, 30, &e) == PC_OK, "%s", e.msg);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    pc_layout_close(&b);
}

static void switch_and_commit(void)
{
    pc_layout l;
    pc_err e = {0};
    CHECK(pc_layout_open(&l, root, true, &e) == PC_OK);
    char *cur;
    CHECK(pc_layout_current(&l, &cur, &e) == PC_OK && cur == NULL);
    /* Stage a version with nested content, commit it, switch to it. */
    char *stg = pc_layout_path(&l, "staging", "1.0.0", NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/bin && echo v1 > %s/bin/app && ln -s bin/app %s/link",
             stg, stg, stg);
    CHECK(system(cmd) == 0);
    CHECKF(pc_layout_commit_version(&l, stg, "1.0.0", &e) == PC_OK, "%s", e.msg);
    CHECK(access(stg, F_OK) != 0);
    CHECK(pc_layout_switch(&l, "1.0.0", &e) == PC_OK);
    CHECK(pc_layout_current(&l, &cur, &e) == PC_OK && cur && !strcmp(cur, "1.0.0"));
    free(cur);
    char *app = pc_layout_path(&l, "current", "bin", "app");
    CHECK(access(app, R_OK) == 0);
    free(app);
    /* A second version; switching back and forth. */
    snprintf(cmd, sizeof cmd, "mkdir -p %s && echo v2 > %s/app2", stg, stg);
    CHECK(system(cmd) == 0);
    CHECK(pc_layout_commit_version(&l, stg, "1.1.0", &e) == PC_OK);
    CHECK(pc_layout_switch(&l, "1.1.0", &e) == PC_OK);
    CHECK(pc_layout_current(&l, &cur, &e) == PC_OK && !strcmp(cur, "1.1.0"));
    free(cur);
    CHECK(pc_layout_switch(&l, "1.0.0", &e) == PC_OK);
    CHECK(pc_layout_current(&l, &cur, &e) == PC_OK && !strcmp(cur, "1.0.0"));
    free(cur);
    free(stg);
    /* A foreign link is reported, not followed. */
    char *c = pc_layout_path(&l, "current", NULL, NULL);
    unlink(c);
    CHECK(symlink("/etc", c) == 0);
    CHECK(pc_layout_current(&l, &cur, &e) == PC_ERR_STATE);
    CHECK(strstr(e.msg, "not versions/<version>") != NULL);
    /* So is one that climbs out of versions/ by a dot name. */
    static const char *const tampered[] = {"versions/..", "versions/.", "versions/../..", "versions/"};
    for (size_t i = 0; i < sizeof tampered / sizeof *tampered; i++) {
        unlink(c);
        CHECK(symlink(tampered[i], c) == 0);
        cur = NULL;
        CHECKF(pc_layout_current(&l, &cur, &e) == PC_ERR_STATE && cur == NULL, "%s accepted", tampered[i]);
    }
    free(c);
    pc_layout_close(&l);
}

static void rmtree_does_not_follow_links(void)
{
    char cmd[4096], keep[400], tree[400];
    snprintf(keep, sizeof keep, "%s/keep", dir);
    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/a/b %s && echo x > %s/precious && ln -s %s %s/a/link && echo y > %s/a/b/f",
             tree, keep, keep, keep, tree, tree);
    CHECK(system(cmd) == 0);
    pc_err e = {0};
    CHECKF(pc_rmtree(tree, &e) == PC_OK, "%s", e.msg);
    CHECK(access(tree, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "%s/precious", keep);
    CHECK(access(cmd, F_OK) == 0);
    CHECK(pc_rmtree(tree, &e) == PC_OK); /* missing is fine */
}

/* A prune's claim on a version whose hold file is missing makes the file
 * and locks it: a program starting meanwhile waits for the removal, then
 * finds the version gone (it never runs from a folder being deleted). */
static void claim_without_hold_file_blocks_a_start(void)
{
    pc_layout l;
    pc_err e = {0};
    CHECK(pc_layout_open(&l, root, true, &e) == PC_OK);
    char *vdir = pc_layout_path(&l, "versions", "3.0.0", NULL);
    char *holds = pc_layout_path(&l, "holds", NULL, NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && rm -rf %s", vdir, holds);
    CHECK(system(cmd) == 0);
    int claim = -1;
    CHECK(pc_hold_claim(&l, "3.0.0", &claim));
    CHECKF(claim >= 0, "the claim took no lock (fd %d)", claim);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) { /* a program starting: blocks on the claim's lock */
        close(claim); /* (the parent's, inherited: it holds the lock too) */
        pc_err ce = {0};
        int fd = -1;
        pc_status st = pc_hold_take(&l, "3.0.0", false, &fd, &ce);
        char r = st == PC_ERR_NOT_FOUND ? 'n' : st == PC_OK ? 'y' : '?';
        _exit(write(pipefd[1], &r, 1) == 1 ? 0 : 1);
    }
    close(pipefd[1]);
    usleep(200 * 1000);
    /* The removal, as prune does it: the folder, then the hold. */
    snprintf(cmd, sizeof cmd, "rm -rf %s", vdir);
    CHECK(system(cmd) == 0);
    pc_hold_drop(&l, "3.0.0", claim);
    char r = 0;
    CHECK(read(pipefd[0], &r, 1) == 1);
    CHECKF(r == 'n', "the starting program got '%c' (y: it holds a removed version)", r);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    close(pipefd[0]);
    free(vdir);
    free(holds);
    pc_layout_close(&l);
}

int main(void)
{
    t_suite = "layout";
    if (!mkdtemp(dir))
        return 2;
    snprintf(root, sizeof root, "%s/root", dir);
    RUN(open_creates);
    RUN(lock_is_exclusive);
    RUN(readers_share_the_lock);
    RUN(writer_waits_for_the_lock);
    RUN(switch_and_commit);
    RUN(rmtree_does_not_follow_links);
    RUN(claim_without_hold_file_blocks_a_start);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
