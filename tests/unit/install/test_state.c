/* test_state.c — ROOT/state.json: round trip, history cap, malformed files. */
#include <unistd.h>

#include "fileio.h"
#include "state.h"
#include "test.h"

static char dir[] = "/tmp/pc-state-XXXXXX";
static char path[300];

static void missing_is_empty(void)
{
    pc_state s;
    pc_err e = {0};
    CHECK(pc_state_load(&s, "/nonexistent/state.json", &e) == PC_OK);
    CHECK(s.last_serial == 0 && s.current == NULL && s.ninstalled == 0);
}

static void roundtrip(void)
{
    pc_state s = {0}, t;
    pc_err e = {0};
    s.last_serial = 42;
    CHECK(pc_state_set(&s.current, "1.2.0", &e) == PC_OK);
    CHECK(pc_state_set(&s.previous, "1.1.0", &e) == PC_OK);
    CHECK(pc_state_add_installed(&s, "1.1.0", &e) == PC_OK);
    CHECK(pc_state_add_installed(&s, "1.2.0", &e) == PC_OK);
    CHECK(pc_state_add_installed(&s, "1.2.0", &e) == PC_OK);
    CHECK(s.ninstalled == 2);
    CHECK(pc_state_log(&s, "install", NULL, "1.1.0", 1000, &e) == PC_OK);
    CHECK(pc_state_log(&s, "update", "1.1.0", "1.2.0", 77, &e) == PC_OK);
    CHECK(pc_state_save(&s, path, &e) == PC_OK);
    CHECKF(pc_state_load(&t, path, &e) == PC_OK, "%s", e.msg);
    CHECK(t.last_serial == 42);
    CHECK_STR(t.current, "1.2.0");
    CHECK_STR(t.previous, "1.1.0");
    CHECK(t.ninstalled == 2 && !strcmp(t.installed[1], "1.2.0"));
    CHECK(t.nhistory == 2 && t.history[0].from == NULL && t.history[1].downloaded == 77);
    CHECK_STR(t.history[1].action, "update");
    CHECK(t.history[1].time == s.history[1].time);
    pc_state_remove_installed(&t, "1.1.0");
    CHECK(t.ninstalled == 1 && !strcmp(t.installed[0], "1.2.0"));
    pc_state_free(&s);
    pc_state_free(&t);
}

/* Serials and root versions up to 2^53-1 are written digit for digit: cJSON
 * printed 9007199254740989 as 9.00719925474099e+15, which reads back as
 * ...990, so a client refused the very repo.json it had just taken (a
 * "rollback" from ...989 to ...990). */
static void large_integers_exact(void)
{
    static const uint64_t vals[] = {9007199254740991ull, 9007199254740989ull,
                                    4503599627370497ull, 1000000000000006ull};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        pc_state s = {0}, t;
        pc_err e = {0};
        s.last_serial = vals[i];
        CHECK(pc_state_set_root(&s, 7, "{}", "sig", "aa", false, &e) == PC_OK);
        CHECK(pc_state_set_root(&s, vals[i], "{}", "sig", "bb", true, &e) == PC_OK);
        CHECK(pc_state_save(&s, path, &e) == PC_OK);
        CHECKF(pc_state_load(&t, path, &e) == PC_OK, "%s", e.msg);
        CHECKF(t.last_serial == vals[i], "last_serial %llu written, %llu read",
               (unsigned long long)vals[i], (unsigned long long)t.last_serial);
        CHECK(t.root_version == vals[i]);
        CHECK(t.nrotations == 2 && t.rotations[1].from == 7 && t.rotations[1].to == vals[i]);
        CHECK(t.rotations[1].reset_serial);
        CHECK(t.root_pin && !strcmp(t.root_pin, "bb")); /* the pin it grew from */
        char *text;
        size_t len;
        CHECK(pc_read_file(path, 1 << 20, &text, &len, &e) == PC_OK);
        char want[40];
        snprintf(want, sizeof want, "\"last_serial\":\t%llu,", (unsigned long long)vals[i]);
        CHECKF(strstr(text, want) != NULL, "state.json lacks '%s':\n%s", want, text);
        free(text);
        pc_state_free(&s);
        pc_state_free(&t);
    }
}

static void history_capped(void)
{
    pc_state s = {0};
    pc_err e = {0};
    for (int i = 0; i < PC_STATE_HISTORY_MAX + 10; i++) {
        char v[16];
        snprintf(v, sizeof v, "1.0.%d", i);
        CHECK(pc_state_log(&s, "update", NULL, v, (uint64_t)i, &e) == PC_OK);
    }
    CHECK(s.nhistory == PC_STATE_HISTORY_MAX);
    CHECK(s.history[0].downloaded == 10);
    pc_state_free(&s);
}

static void malformed(void)
{
    static const char *docs[][2] = {
        {"not json", "not valid JSON"},
        {"[]", "expected a JSON object"},
        {"{\"format\": 2}", "format"},
        {"{\"format\": 1, \"last_serial\": -1}", "last_serial"},
        {"{\"format\": 1, \"last_serial\": 1.5}", "last_serial"},
        {"{\"format\": 1, \"current\": 3}", "current"},
        {"{\"format\": 1, \"installed\": [1]}", "installed"},
        {"{\"format\": 1, \"history\": [{\"action\": \"x\"}]}", "history[0]"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(docs[i][0], f);
        fclose(f);
        pc_state s;
        pc_err e = {0};
        CHECKF(pc_state_load(&s, path, &e) == PC_ERR_STATE, "doc %zu accepted", i);
        CHECKF(strstr(e.msg, docs[i][1]) && strstr(e.msg, path), "doc %zu: %s", i, e.msg);
    }
}

/* The lifecycle keys: kept across a save and load; names that are not
 * version names (they become paths) refused; the lists capped. */
static void lifecycle(void)
{
    pc_state s = {0}, t;
    pc_err e = {0};
    CHECK(pc_state_make_install_id(&s, &e) == PC_OK && strlen(s.install_id) == 32);
    char *id = strdup(s.install_id);
    CHECK(pc_state_make_install_id(&s, &e) == PC_OK && !strcmp(s.install_id, id)); /* once */
    CHECK(pc_state_set(&s.staged, "1.3.0", &e) == PC_OK &&
          pc_state_set(&s.pending, "1.2.0", &e) == PC_OK &&
          pc_state_set(&s.last_good, "1.1.0", &e) == PC_OK);
    s.attempts = 2;
    CHECK(pc_state_list_add(&s.bad, &s.nbad, "1.0.1", &e) == PC_OK);
    CHECK(pc_state_list_add(&s.skipped, &s.nskipped, "1.4.0", &e) == PC_OK);
    CHECK(pc_state_list_add(&s.skipped, &s.nskipped, "1.4.0", &e) == PC_OK && s.nskipped == 1);
    CHECK(pc_state_save(&s, path, &e) == PC_OK && pc_state_load(&t, path, &e) == PC_OK);
    CHECK(!strcmp(t.install_id, id) && !strcmp(t.staged, "1.3.0") && !strcmp(t.pending, "1.2.0") &&
          t.attempts == 2 && !strcmp(t.last_good, "1.1.0") && t.nbad == 1 &&
          !strcmp(t.bad[0], "1.0.1") && t.nskipped == 1 && pc_state_list_has(t.skipped, 1, "1.4.0"));
    pc_state_list_remove(t.skipped, &t.nskipped, "1.4.0");
    CHECK(t.nskipped == 0 && !pc_state_list_has(t.skipped, t.nskipped, "1.4.0"));
    for (int i = 0; i < PC_STATE_LIST_MAX + 5; i++) {
        char v[16];
        snprintf(v, sizeof v, "2.0.%d", i);
        CHECK(pc_state_list_add(&t.bad, &t.nbad, v, &e) == PC_OK);
    }
    CHECK(t.nbad == PC_STATE_LIST_MAX && !pc_state_list_has(t.bad, t.nbad, "1.0.1"));
    pc_state_free(&t);
    pc_state_free(&s);
    free(id);
    static const char *const bad[] = {
        "{\"format\": 1, \"staged\": \"../../etc\"}",
        "{\"format\": 1, \"last_good\": \"a/b\"}",
        "{\"format\": 1, \"pending\": {\"version\": \"..\", \"attempts\": 0}}",
        "{\"format\": 1, \"pending\": {\"version\": \"1.0.0\"}}",
        "{\"format\": 1, \"bad\": [\"x/../y\"]}",
        "{\"format\": 1, \"installed\": [\"../v\"]}",
        "{\"format\": 1, \"skipped\": \"1.0.0\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(pc_write_file_atomic(path, bad[i], strlen(bad[i]), 0644, &e) == PC_OK);
        CHECKF(pc_state_load(&t, path, &e) == PC_ERR_STATE, "%s accepted", bad[i]);
    }
}

int main(void)
{
    t_suite = "state";
    if (!mkdtemp(dir))
        return 2;
    snprintf(path, sizeof path, "%s/state.json", dir);
    RUN(missing_is_empty);
    RUN(roundtrip);
    RUN(large_integers_exact);
    RUN(history_capped);
    RUN(malformed);
    RUN(lifecycle);
    unlink(path);
    rmdir(dir);
    TEST_MAIN_END();
}
