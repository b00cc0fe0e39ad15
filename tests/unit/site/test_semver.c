/* test_semver.c — release ordering by semantic-version precedence. */
#include <stdlib.h>

#include "semver.h"
#include "test.h"

static int cmp_ptr(const void *a, const void *b)
{
    return pc_semver_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* SemVer 2.0.0 §11's example chain, plus numeric-field cases. */
static void precedence_chain(void)
{
    const char *chain[] = {"0.9.9",         "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta",
                           "1.0.0-beta",    "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
                           "1.0.0",         "1.0.1",        "1.2.0",         "1.9.0",
                           "1.10.0",        "2.0.0",        "10.0.0"};
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i + 1 < n; i++) {
        CHECKF(pc_semver_cmp(chain[i], chain[i + 1]) < 0, "%s < %s", chain[i], chain[i + 1]);
        CHECKF(pc_semver_cmp(chain[i + 1], chain[i]) > 0, "%s > %s", chain[i + 1], chain[i]);
    }
    for (size_t i = 0; i < n; i++)
        CHECK(pc_semver_cmp(chain[i], chain[i]) == 0);
}

static void sort_shuffled(void)
{
    const char *names[] = {"0.25.0", "0.23.1", "0.24.2", "0.24.0", "0.23.0", "0.24.1", "0.24.10"};
    const char *want[] = {"0.23.0", "0.23.1", "0.24.0", "0.24.1", "0.24.2", "0.24.10", "0.25.0"};
    qsort(names, 7, sizeof names[0], cmp_ptr);
    for (int i = 0; i < 7; i++)
        CHECK_STR(names[i], want[i]);
}

static void build_metadata_and_prefix(void)
{
    /* Build metadata does not change precedence; ties are broken by name so
     * the order stays total. */
    CHECK(pc_semver_cmp("1.0.0+build.1", "1.0.0+build.2") < 0);
    CHECK(pc_semver_cmp("1.0.0-rc.1+b", "1.0.0") < 0);
    CHECK(pc_semver_cmp("v1.2.0", "1.10.0") < 0);
    CHECK(pc_semver_cmp("1.0", "1.0.1") < 0);
    CHECK(pc_semver_cmp("2024.10", "2024.9") > 0);
    CHECK(pc_semver_cmp("1.01.0", "1.1.0") != 0); /* distinct names never compare equal */
}

static void prerelease_flag(void)
{
    CHECK(pc_semver_is_prerelease("1.0.0-rc.1"));
    CHECK(pc_semver_is_prerelease("v2.0.0-beta"));
    CHECK(!pc_semver_is_prerelease("1.0.0"));
    CHECK(!pc_semver_is_prerelease("1.0.0+build-7"));
}

int main(void)
{
    t_suite = "semver";
    RUN(precedence_chain);
    RUN(sort_shuffled);
    RUN(build_metadata_and_prefix);
    RUN(prerelease_flag);
    TEST_MAIN_END();
}
