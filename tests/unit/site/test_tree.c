/* test_tree.c — scanning release folders: types, modes, hashes, order,
 * symlink containment, refused special files. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sha256.h"
#include "test.h"
#include "tree.h"

static char root[] = "/tmp/pc-tree-XXXXXX";

static void put(const char *rel, const char *content, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd >= 0) {
        if (write(fd, content, strlen(content)) < 0)
            perror("write");
        fchmod(fd, mode);
        close(fd);
    }
}

static void sub(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0755);
}

static void link_to(const char *rel, const char *target)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    unlink(p);
    if (symlink(target, p) != 0)
        perror("symlink");
}

static void scan_fixture(void)
{
    sub("bin");
    sub("empty");
    sub("a");
    sub("a/b");
    sub("a/b/c");
    sub("a/b/c/d");
    put("bin/app", "#!/bin/sh\necho hi\n", 0755);
    put("README", "hello\n", 0644);
    put("a/b/c/d/deep.txt", "deep", 0600);
    put("a-c", "sorts after a/... bytewise? no: '-' < '/'", 0644);
    put("zero", "", 0644);
    put("\xc3\xa9t\xc3\xa9.txt", "unicode name", 0644);
    link_to("bin/link", "app");
    link_to("a/b/up", "../../README");
    pc_tree t;
    pc_err e = {0};
    CHECKF(pc_tree_scan(root, &t, &e) == PC_OK, "%s", e.msg);
    for (size_t i = 1; i < t.n; i++)
        CHECKF(strcmp(t.entries[i - 1].path, t.entries[i].path) < 0, "order %s, %s",
               t.entries[i - 1].path, t.entries[i].path);
    const pc_tree_entry *x = pc_tree_find(&t, "bin/app");
    CHECK(x && x->type == PC_ENTRY_FILE && x->mode == 0755 && x->size == 18);
    uint8_t want[32];
    pc_sha256("#!/bin/sh\necho hi\n", 18, want);
    CHECK(memcmp(x->sha256, want, 32) == 0);
    x = pc_tree_find(&t, "a/b/c/d/deep.txt");
    CHECK(x && x->mode == 0644 && x->size == 4);
    x = pc_tree_find(&t, "zero");
    CHECK(x && x->type == PC_ENTRY_FILE && x->size == 0);
    pc_sha256("", 0, want);
    CHECK(memcmp(x->sha256, want, 32) == 0);
    x = pc_tree_find(&t, "empty");
    CHECK(x && x->type == PC_ENTRY_DIR);
    x = pc_tree_find(&t, "bin/link");
    CHECK(x && x->type == PC_ENTRY_SYMLINK && !strcmp(x->target, "app"));
    x = pc_tree_find(&t, "a/b/up");
    CHECK(x && x->type == PC_ENTRY_SYMLINK && !strcmp(x->target, "../../README"));
    CHECK(pc_tree_find(&t, "\xc3\xa9t\xc3\xa9.txt") != NULL);
    CHECK(pc_tree_find(&t, "nope") == NULL);
    CHECK(t.n == 14); /* 6 folders, 6 files, 2 links */
    CHECK(t.total_bytes == 18 + 6 + 4 + strlen("sorts after a/... bytewise? no: '-' < '/'") + 12);
    pc_tree_free(&t);
}

static void refuse(const char *what, const char *msg)
{
    pc_tree t;
    pc_err e = {0};
    pc_status st = pc_tree_scan(root, &t, &e);
    CHECKF(st != PC_OK, "%s accepted", what);
    CHECKF(strstr(e.msg, msg) != NULL, "%s: message '%s' lacks '%s'", what, e.msg, msg);
    CHECK(t.n == 0 && t.entries == NULL);
}

static void escaping_symlink_absolute(void)
{
    link_to("bad", "/etc/passwd");
    refuse("absolute link", "bad: symlink to '/etc/passwd': absolute symlink targets");
    unlink("bad");
    char p[512];
    snprintf(p, sizeof p, "%s/bad", root);
    unlink(p);
}

static void escaping_symlink_relative(void)
{
    link_to("a/b/esc", "../../../outside");
    refuse("relative escape", "a/b/esc: symlink to '../../../outside': symlink target points outside the tree");
    char p[512];
    snprintf(p, sizeof p, "%s/a/b/esc", root);
    unlink(p);
}

static void fifo_refused(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/pipe", root);
    CHECK(mkfifo(p, 0644) == 0);
    refuse("fifo", "pipe: is a FIFO");
    unlink(p);
}

static void socket_refused(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/sock", root);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%.100s", p);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    close(s);
    refuse("socket", "sock: is a socket");
    unlink(p);
}

static void unreadable_refused(void)
{
    if (geteuid() == 0) {
        /* root reads anything; make the folder itself vanish instead. */
        pc_tree t;
        pc_err e = {0};
        CHECK(pc_tree_scan("/nonexistent/releases/1.0", &t, &e) == PC_ERR_NOT_FOUND);
        CHECK(strstr(e.msg, "/nonexistent/releases/1.0") != NULL);
        return;
    }
    put("secret", "x", 0000);
    refuse("unreadable", "secret: cannot read");
}

static void not_a_folder(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/README", root);
    pc_tree t;
    pc_err e = {0};
    CHECK(pc_tree_scan(p, &t, &e) != PC_OK);
    CHECKF(strstr(e.msg, "not a folder") != NULL, "%s", e.msg);
}

int main(void)
{
    t_suite = "tree";
    if (!mkdtemp(root))
        return 2;
    RUN(scan_fixture);
    RUN(escaping_symlink_absolute);
    RUN(escaping_symlink_relative);
    RUN(fifo_refused);
    RUN(socket_refused);
    RUN(unreadable_refused);
    RUN(not_a_folder);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
