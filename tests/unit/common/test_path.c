/* test_path.c — the central path, symlink-target and version-name checks. */
#include "path.h"
#include "test.h"

static const char *good[] = {"a", "bin/app", "a/b/c/d.txt", ".hidden", "a/.b", "..a", "a..",
                             "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", "with space/x y",
                             "emoji-\xf0\x9f\x98\x80"};

static const struct {
    const char *path, *why;
} bad[] = {
    {"", "empty path"},
    {"/etc/passwd", "absolute"},
    {"..", "'..' is not allowed"},
    {"a/../b", "'..' is not allowed"},
    {"a/..", "'..' is not allowed"},
    {"./a", "'.' is not allowed"},
    {"a/./b", "'.' is not allowed"},
    {"a//b", "empty path component"},
    {"a/", "trailing '/'"},
    {"a\\b", "backslash"},
    {"a\nb", "control characters"},
    {"a\tb", "control characters"},
    {"a\x7f", "control characters"},
    {"bad\xff", "UTF-8"},
    {"overlong\xc0\xaf", "UTF-8"},
    {"surrogate\xed\xa0\x80", "UTF-8"},
    {"cut\xe6\x97", "UTF-8"},
};

static void good_paths(void)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECKF(pc_path_problem(good[i]) == NULL, "'%s': %s", good[i], pc_path_problem(good[i]));
}

static void bad_case(size_t i)
{
    const char *why = pc_path_problem(bad[i].path);
    CHECKF(why && strstr(why, bad[i].why), "'%s': got %s", bad[i].path, why ? why : "accepted");
}

static void length_caps(void)
{
    char p[5000];
    memset(p, 'a', 255);
    p[255] = '\0';
    CHECK(pc_path_problem(p) == NULL);
    p[255] = 'a';
    p[256] = '\0';
    CHECK(pc_path_problem(p) && strstr(pc_path_problem(p), "255"));
    /* 4096 bytes in components of 100 is fine; 4097 is not. */
    size_t n = 0;
    while (n < 4096) {
        size_t k = 4096 - n >= 101 ? 100 : 4096 - n;
        memset(p + n, 'b', k);
        n += k;
        if (n < 4096)
            p[n++] = '/';
    }
    p[n] = '\0';
    CHECKF(pc_path_problem(p) == NULL, "%s", pc_path_problem(p));
    p[n] = 'c';
    p[n + 1] = '\0';
    CHECK(pc_path_problem(p) && strstr(pc_path_problem(p), "4096"));
}

static void symlink_targets(void)
{
    CHECK(pc_symlink_problem("bin/link", "app") == NULL);
    CHECK(pc_symlink_problem("a/b/link", "../../top") == NULL);
    CHECK(pc_symlink_problem("a/b/link", "./x/../y") == NULL);
    CHECK(pc_symlink_problem("link", "../outside") != NULL);
    CHECK(pc_symlink_problem("a/link", "../../outside") != NULL);
    CHECK(pc_symlink_problem("a/link", "x/../../../y") != NULL);
    CHECK(pc_symlink_problem("link", "/etc/passwd") != NULL);
    CHECK(pc_symlink_problem("link", "") != NULL);
    CHECK(pc_symlink_problem("link", "a\\b") != NULL);
}

static void version_names(void)
{
    const char *ok[] = {"1.0.0", "1.0.0-rc.1", "2024.10", "v2", "1.0.0+build_7", "a"};
    const char *no[] = {"", "-1", ".1", "1..2", "1/2", "1 2", "1.0\n",
                        "12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECKF(pc_version_name_ok(ok[i]), "'%s' refused", ok[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECKF(!pc_version_name_ok(no[i]), "'%s' accepted", no[i]);
}

int main(void)
{
    t_suite = "path";
    RUN(good_paths);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "bad_%zu", i);
        RUN_CASE(bad_case, i, name);
    }
    RUN(length_caps);
    RUN(symlink_targets);
    RUN(version_names);
    TEST_MAIN_END();
}
