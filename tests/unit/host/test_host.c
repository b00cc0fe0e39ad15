/* test_host.c — the hot-swap host against real modules (tests/modules/testmod.c
 * built in variants by the test): load, swap with state migration, each kind
 * of failure rolling back the whole batch, dependency order, cycles, a swap
 * under concurrent callers, and 100 swaps without growth in handles or maps.
 *   test_host [TEST]   run only the named test (the valgrind run uses this) */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "patchcast_module.h"
#include "test.h"
#include "testmod.h"

static char dir[256], logpath[300];

/* Build tests/modules/testmod.c as sub/name.so with extra flags. */
static int build_mod(const char *sub, const char *name, const char *flags)
{
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/%s && %s -std=c11 -shared -fPIC -O1 -Iinclude -Itests/modules "
             "-DMOD_NAME='\"%s\"' %s -o %s/%s/%s.so tests/modules/testmod.c",
             dir, sub, cc, name, flags, dir, sub, name);
    return system(cmd);
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "%s/pchost.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    setenv("TESTMOD_LOG", logpath, 1);
    static const char *const v[][3] = {
        {"v1", "a", "-DMOD_VERSION=1"},
        {"v2", "a", "-DMOD_VERSION=2"},
        {"v1", "b", "-DMOD_VERSION=1 -DMOD_DEP='\"a\"'"},
        {"v2", "b", "-DMOD_VERSION=2 -DMOD_DEP='\"a\"'"},
        {"v1", "c", "-DMOD_VERSION=1"},
        {"badstart", "a", "-DMOD_VERSION=3 -DFAULT=1"},
        {"badcheck", "a", "-DMOD_VERSION=3 -DFAULT=2"},
        {"badabi", "a", "-DMOD_VERSION=3 -DFAULT=3"},
        {"nosym", "a", "-DMOD_VERSION=3 -DFAULT=4"},
        {"nodesc", "a", "-DMOD_VERSION=3 -DFAULT=5"},
        {"cyc", "x", "-DMOD_VERSION=1 -DMOD_DEP='\"y\"'"},
        {"cyc", "y", "-DMOD_VERSION=1 -DMOD_DEP='\"z\"'"},
        {"cyc", "z", "-DMOD_VERSION=1 -DMOD_DEP='\"x\"'"},
        {"orphan", "d", "-DMOD_VERSION=1 -DMOD_DEP='\"nothere\"'"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (build_mod(v[i][0], v[i][1], v[i][2]) != 0)
            return -1;
    return 0;
}

static char *slurp_log(void)
{
    static char buf[8192];
    FILE *f = fopen(logpath, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

static void clear_log(void)
{
    unlink(logpath);
}

static int value_of(pc_host *h, const char *name)
{
    pc_host_guard g;
    const testmod_api *api = pc_host_acquire(h, pc_host_find(h, name), &g);
    int v = api ? api->value() : -1;
    pc_host_release(h, &g);
    return v;
}

static pc_status swap2(pc_host *h, const char *sub, const char *p1, const char *p2)
{
    char d[300];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    const char *paths[] = {p1, p2};
    return pc_host_swap(h, d, paths, p2 ? 2 : 1);
}

/* a 1 and b 1 (b depends on a) in service. */
static pc_host *host_v1(void)
{
    pc_host *h;
    if (pc_host_new(&h) != PC_OK)
        return NULL;
    if (swap2(h, "v1", "b.so", "a.so") != PC_OK) {
        fprintf(stderr, "%s\n", pc_host_errmsg(h));
        pc_host_free(h);
        return NULL;
    }
    return h;
}

static void test_load_in_dependency_order(void)
{
    clear_log();
    pc_host *h = host_v1();
    CHECK(h);
    /* b was listed first but depends on a: a starts first. */
    char *log = slurp_log();
    CHECKF(strstr(log, "start a 1 prev=0\nstart b 1 prev=0\n") == log, "log: %s", log);
    CHECK(value_of(h, "a") == 1 && value_of(h, "b") == 1);
    pc_host_guard g;
    const testmod_api *b = pc_host_acquire(h, pc_host_find(h, "b"), &g);
    CHECK(b && b->dep_value() == 1);
    pc_host_release(h, &g);
    CHECK(pc_host_find(h, "nope") == -1);
    CHECK(pc_host_generation(h) == 1);
    clear_log();
    pc_host_free(h);
    log = slurp_log();
    CHECKF(!strcmp(log, "stop b 1 prev=0\nstop a 1 prev=0\n"), "free stops dependents first: %s", log);
}

static void test_swap_migrates_state(void)
{
    pc_host *h = host_v1();
    CHECK(h);
    clear_log();
    CHECKF(swap2(h, "v2", "a.so", NULL) == PC_OK, "%s", pc_host_errmsg(h));
    CHECK(value_of(h, "a") == 2);
    pc_host_guard g;
    const testmod_api *a = pc_host_acquire(h, pc_host_find(h, "a"), &g);
    CHECK(a && a->migrated_from() == 1);
    pc_host_release(h, &g);
    /* b was not swapped but reaches the new a through the host. */
    const testmod_api *b = pc_host_acquire(h, pc_host_find(h, "b"), &g);
    CHECK(b && b->value() == 1 && b->dep_value() == 2);
    pc_host_release(h, &g);
    char *log = slurp_log();
    CHECKF(!strcmp(log, "start a 2 prev=1\nstop a 1 prev=0\n"), "log: %s", log);
    CHECK(pc_host_generation(h) == 2);
    pc_host_free(h);
}

static void test_unchanged_file_is_not_swapped(void)
{
    pc_host *h = host_v1();
    CHECK(h);
    clear_log();
    CHECK(swap2(h, "v1", "a.so", NULL) == PC_OK);
    CHECK(!strcmp(slurp_log(), "") && pc_host_generation(h) == 1);
    pc_host_free(h);
}

/* A batch of b 2 and a broken a: b 2 is started and stopped again, a 1 and
 * b 1 keep serving, and the error names the module and the step. */
static void rollback_case(const char *sub, const char *step)
{
    pc_host *h = host_v1();
    CHECK(h);
    char d[300];
    snprintf(d, sizeof d, "%s/v2", dir);
    /* b 2 from v2 with the broken a from sub: two folders, so copy b in. */
    char cmd[900];
    snprintf(cmd, sizeof cmd, "cp %s/v2/b.so %s/%s/b.so", dir, dir, sub);
    CHECK(system(cmd) == 0);
    clear_log();
    pc_status st = swap2(h, sub, "b.so", "a.so");
    const char *msg = pc_host_errmsg(h);
    CHECKF(st == PC_ERR_MODULE, "status %d: %s", st, msg);
    CHECKF(strstr(msg, step) && strstr(msg, "a.so") && strstr(msg, "rolled back"), "message: %s", msg);
    CHECK(value_of(h, "a") == 1 && value_of(h, "b") == 1);
    pc_host_guard g;
    const testmod_api *b = pc_host_acquire(h, pc_host_find(h, "b"), &g);
    CHECK(b && b->dep_value() == 1 && b->migrated_from() == 0);
    pc_host_release(h, &g);
    CHECK(pc_host_generation(h) == 1);
    /* Whatever started was stopped; nothing of the old batch was. */
    char *log = slurp_log();
    CHECKF(!strstr(log, "stop a 1") && !strstr(log, "stop b 1"), "old stopped: %s", log);
    if (strstr(log, "start b 2"))
        CHECKF(strstr(log, "stop b 2"), "new b not stopped: %s", log);
    /* And the host still swaps fine afterwards. */
    CHECK(swap2(h, "v2", "a.so", "b.so") == PC_OK);
    CHECK(value_of(h, "a") == 2 && value_of(h, "b") == 2);
    pc_host_free(h);
}

static void test_rollback_failing_start(void) { rollback_case("badstart", "start failed"); }
static void test_rollback_failing_check(void) { rollback_case("badcheck", "self-check failed"); }
static void test_rollback_wrong_abi(void) { rollback_case("badabi", "ABI version 2, this host speaks 1"); }
static void test_rollback_missing_symbol(void) { rollback_case("nosym", "missing symbol 'testmod_not_there'"); }
static void test_rollback_no_descriptor(void) { rollback_case("nodesc", "not a patchcast module"); }

static void test_host_required_symbol(void)
{
    pc_host *h;
    CHECK(pc_host_new(&h) == PC_OK);
    const char *need[] = {"testmod_value", "testmod_frobnicate", NULL};
    CHECK(pc_host_require(h, "a", need) == PC_OK);
    pc_status st = swap2(h, "v1", "a.so", NULL);
    CHECKF(st == PC_ERR_MODULE && strstr(pc_host_errmsg(h), "'testmod_frobnicate' the host requires"),
           "%d %s", st, pc_host_errmsg(h));
    CHECK(pc_host_acquire(h, pc_host_find(h, "a"), &(pc_host_guard){0}) == NULL);
    pc_host_free(h);
}

static void test_rollback_keeps_first_load_empty(void)
{
    pc_host *h;
    CHECK(pc_host_new(&h) == PC_OK);
    clear_log();
    CHECK(swap2(h, "badcheck", "a.so", NULL) == PC_ERR_MODULE);
    pc_host_guard g;
    CHECK(pc_host_acquire(h, pc_host_find(h, "a"), &g) == NULL);
    CHECKF(strstr(slurp_log(), "stop a 3"), "log: %s", slurp_log());
    pc_host_free(h);
}

static void test_cycle_is_named(void)
{
    pc_host *h;
    CHECK(pc_host_new(&h) == PC_OK);
    char d[300];
    snprintf(d, sizeof d, "%s/cyc", dir);
    const char *paths[] = {"x.so", "y.so", "z.so"};
    clear_log();
    pc_status st = pc_host_swap(h, d, paths, 3);
    const char *msg = pc_host_errmsg(h);
    CHECKF(st == PC_ERR_FORMAT && strstr(msg, "dependency cycle: x -> y -> z -> x"), "%d %s", st, msg);
    CHECK(!strcmp(slurp_log(), "")); /* nothing started */
    pc_host_free(h);
}

static void test_missing_dependency(void)
{
    pc_host *h;
    CHECK(pc_host_new(&h) == PC_OK);
    pc_status st = swap2(h, "orphan", "d.so", NULL);
    CHECKF(st == PC_ERR_MODULE && strstr(pc_host_errmsg(h), "depends on 'nothere', which is not loaded"),
           "%s", pc_host_errmsg(h));
    pc_host_free(h);
}

static void test_load_dir_and_bad_paths(void)
{
    pc_host *h;
    CHECK(pc_host_new(&h) == PC_OK);
    char d[300];
    snprintf(d, sizeof d, "%s", dir);
    CHECKF(pc_host_load_dir(h, d, "v1") == PC_OK, "%s", pc_host_errmsg(h));
    CHECK(value_of(h, "a") == 1 && value_of(h, "b") == 1 && value_of(h, "c") == 1);
    CHECK(pc_host_load_dir(h, d, "missing") == PC_ERR_NOT_FOUND);
    CHECK(swap2(h, "v2", "../v2/a.so", NULL) == PC_ERR_INVALID);
    CHECK(swap2(h, "v2", "/etc/passwd", NULL) == PC_ERR_INVALID);
    CHECK(swap2(h, "v2", "a.so", "a.so") == PC_ERR_INVALID);
    CHECK(value_of(h, "a") == 1);
    pc_host_free(h);
}

static void on_files(void *ud, const char *d, const char *const *paths, size_t n)
{
    (void)d;
    int *seen = ud;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(paths[i], "share/ui.txt"))
            (*seen)++;
}

static void test_apply_update_splits_modules_and_files(void)
{
    pc_host *h = host_v1();
    CHECK(h);
    int seen = 0;
    pc_host_set_files_callback(h, on_files, &seen);
    char *hot[] = {"a.so", "share/ui.txt"};
    pc_update_info info = {.hot_modules = hot, .nhot = 2};
    char d[300];
    snprintf(d, sizeof d, "%s/v2", dir);
    CHECKF(pc_host_apply_update(h, d, &info) == PC_OK, "%s", pc_host_errmsg(h));
    CHECK(value_of(h, "a") == 2 && seen == 1);
    pc_host_free(h);
}

/* Callers on four threads while the main thread swaps a and b back and forth:
 * every call lands in version 1 or 2, and b sees an a of the same batch. */
static atomic_int stop_flag;
static atomic_long ncalls, nbad;
static pc_host *shared;

static void *caller(void *arg)
{
    (void)arg;
    int ia = pc_host_find(shared, "a"), ib = pc_host_find(shared, "b");
    while (!atomic_load(&stop_flag)) {
        pc_host_guard g1, g2;
        const testmod_api *b = pc_host_acquire(shared, ib, &g1);
        const testmod_api *a = pc_host_acquire(shared, ia, &g2);
        int vb = b ? b->value() : -1, va = a ? a->value() : -1, dep = b ? b->dep_value() : -1;
        pc_host_release(shared, &g2);
        pc_host_release(shared, &g1);
        if ((vb != 1 && vb != 2) || vb != va || dep != va)
            atomic_fetch_add(&nbad, 1);
        atomic_fetch_add(&ncalls, 1);
    }
    return NULL;
}

static void test_swap_under_concurrent_calls(void)
{
    shared = host_v1();
    CHECK(shared);
    pthread_t t[4];
    atomic_store(&stop_flag, 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, caller, NULL) == 0);
    int swaps = 0;
    /* Between swaps, wait for the callers to make 100 more calls (an event,
     * polled); 30 s at most in all, then the checks below fail. */
    time_t deadline = time(NULL) + 30;
    for (int i = 0; i < 40; i++) {
        if (swap2(shared, i % 2 ? "v1" : "v2", "a.so", "b.so") == PC_OK)
            swaps++;
        while (atomic_load(&ncalls) < 100L * (i + 1) && time(NULL) < deadline)
            usleep(100);
    }
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECKF(swaps == 40, "%d swaps", swaps);
    CHECKF(atomic_load(&ncalls) >= 4000, "%ld calls", atomic_load(&ncalls));
    CHECKF(atomic_load(&nbad) == 0, "%ld inconsistent calls of %ld", atomic_load(&nbad),
           atomic_load(&ncalls));
    CHECK(value_of(shared, "a") == 1);
    pc_host_free(shared);
}

/* Mappings of module files (under the test's folder): what dlclose must undo.
 * (The total count is no measure under valgrind, whose own heap grows.) */
static int count_module_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, dir) != NULL;
    if (f)
        fclose(f);
    return n;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* Each swap loads a fresh copy (its own inode, as each installed version has),
 * so a module that is never unloaded shows up as growing mappings. */
static void test_hundred_swaps(void)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "cd %s && for i in $(seq 0 99); do mkdir -p s$i && cp v$((i %% 2 + 1))/a.so v$((i %% 2 + 1))/b.so s$i/; done",
             dir);
    CHECK(system(cmd) == 0);
    pc_host *h = host_v1();
    CHECK(h);
    CHECK(swap2(h, "v2", "a.so", "b.so") == PC_OK);
    int maps = count_module_maps(), fds = count_fds();
    for (int i = 0; i < 100; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "s%d", i);
        pc_status st = swap2(h, sub, "a.so", "b.so");
        CHECKF(st == PC_OK, "swap %d: %s", i, pc_host_errmsg(h));
        CHECK(value_of(h, "b") == i % 2 + 1);
    }
    int maps2 = count_module_maps(), fds2 = count_fds();
    CHECKF(maps > 0 && maps2 <= maps && fds2 <= fds, "maps %d -> %d, fds %d -> %d", maps, maps2, fds, fds2);
    CHECK(pc_host_generation(h) == 102);
    pc_host_free(h);
}

static void test_swap_refused_while_holding_guard(void)
{
    pc_host *h = host_v1();
    CHECK(h);
    pc_host_guard g;
    CHECK(pc_host_acquire(h, pc_host_find(h, "a"), &g));
    CHECK(swap2(h, "v2", "a.so", NULL) == PC_ERR_INVALID);
    pc_host_release(h, &g);
    CHECK(swap2(h, "v2", "a.so", NULL) == PC_OK);
    pc_host_free(h);
}

int main(int argc, char **argv)
{
    t_suite = "host";
    const char *only = argc > 1 ? argv[1] : NULL;
    if (setup() != 0) {
        printf("FAIL host/setup: cannot build the test modules in %s\n", dir);
        return 1;
    }
#define MAYBE(fn)                                                                            \
    if (!only || !strcmp(only, #fn))                                                         \
    RUN(fn)
    MAYBE(test_load_in_dependency_order);
    MAYBE(test_swap_migrates_state);
    MAYBE(test_unchanged_file_is_not_swapped);
    MAYBE(test_rollback_failing_start);
    MAYBE(test_rollback_failing_check);
    MAYBE(test_rollback_wrong_abi);
    MAYBE(test_rollback_missing_symbol);
    MAYBE(test_rollback_no_descriptor);
    MAYBE(test_host_required_symbol);
    MAYBE(test_rollback_keeps_first_load_empty);
    MAYBE(test_cycle_is_named);
    MAYBE(test_missing_dependency);
    MAYBE(test_load_dir_and_bad_paths);
    MAYBE(test_apply_update_splits_modules_and_files);
    MAYBE(test_swap_under_concurrent_calls);
    MAYBE(test_hundred_swaps);
    MAYBE(test_swap_refused_while_holding_guard);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
