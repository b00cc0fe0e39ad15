/* test_choose.c — which version an update goes to (choose.c) and the
 * rollout arithmetic (release.c), on repositories built in memory: each rule
 * of docs/format.md §3 "Release settings" with the case on both sides. */
#include <math.h>

#include "choose.h"
#include "patchcast.h"
#include "test.h"

/* A line 1.0.0 <- 1.1.0 <- 1.2.0 <- 1.3.0; channel stable -> head. */
static pc_version_info V[4];
static pc_channel CH[2];
static pc_repo R;
static const int64_t NOW = 1800000000;

static void reset(const char *head)
{
    static const char *const names[] = {"1.0.0", "1.1.0", "1.2.0", "1.3.0"};
    memset(V, 0, sizeof V);
    for (int i = 0; i < 4; i++) {
        V[i].name = (char *)names[i];
        V[i].parent = i ? (char *)names[i - 1] : NULL;
        V[i].released = NOW - 86400;
    }
    CH[0] = (pc_channel){(char *)"stable", (char *)head};
    CH[1] = (pc_channel){(char *)"old", (char *)"1.1.0"};
    R = (pc_repo){.versions = V, .nversions = 4, .channels = CH, .nchannels = 2};
}

static pc_status pick(const pc_state *st, const char *cur, const char *ch, const char *ver,
                      unsigned flags, pc_choice *out)
{
    pc_err e = {0};
    return pc_choose(&R, st, cur, ch, ver, flags, NOW, out, &e);
}

static void head_when_nothing_set(void)
{
    reset("1.3.0");
    pc_state st = {0};
    pc_choice c;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    CHECK(!c.critical && !c.downgrade && !c.held_back && c.bucket < 0);
    CHECK(pick(&st, "1.3.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    CHECK(pick(&st, NULL, NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    pc_err e = {0};
    CHECK(pc_choose(&R, &st, NULL, "nope", NULL, 0, NOW, &c, &e) == PC_ERR_NOT_FOUND);
    CHECK(pc_choose(&R, &st, NULL, NULL, "9.9.9", 0, NOW, &c, &e) == PC_ERR_NOT_FOUND);
}

static void rollout_by_bucket(void)
{
    reset("1.3.0");
    char id_low[16] = "", id_high[16] = "";
    for (int n = 0; n < 100000 && (!id_low[0] || !id_high[0]); n++) {
        char id[16];
        snprintf(id, sizeof id, "id%d", n);
        double b = pc_release_bucket(id);
        if (b < 20 && !id_low[0])
            strcpy(id_low, id);
        if (b >= 80 && !id_high[0])
            strcpy(id_high, id);
    }
    V[3].release = (pc_release_policy){.has_rollout = true, .percent = 50};
    pc_state st = {.install_id = id_low};
    pc_choice c;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    st.install_id = id_high;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    CHECK(c.held_back && !strcmp(c.held_back, "1.3.0") && c.bucket >= 80);
    CHECK(pick(&st, "1.0.0", NULL, NULL, PC_UPDATE_IGNORE_ROLLOUT, &c) == PC_OK &&
          !strcmp(c.target, "1.3.0"));
    CHECK(pick(&st, "1.0.0", NULL, "1.3.0", 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    /* No id yet: admitted to nothing partial, everything at 100 %. */
    st.install_id = NULL;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    V[3].release.percent = 100;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    /* Percent 0: nobody, and an install that is on the line's older
     * version stays on it. */
    V[3].release.percent = 0;
    st.install_id = id_low;
    CHECK(pick(&st, "1.2.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
}

static void percent_over_time(void)
{
    pc_release_policy r = {0};
    CHECK(pc_release_percent(&r, 0, NOW) == 100.0);
    r = (pc_release_policy){.has_rollout = true, .percent = 10};
    CHECK(pc_release_percent(&r, 0, NOW) == 10.0);
    r.start = NOW + 1;
    CHECK(pc_release_percent(&r, 0, NOW) == 0.0);
    r.start = NOW - 3 * 86400;
    r.ramp = 6 * 86400;
    CHECKF(fabs(pc_release_percent(&r, 0, NOW) - 55.0) < 1e-9, "%f", pc_release_percent(&r, 0, NOW));
    r.start = NOW - 7 * 86400;
    CHECK(pc_release_percent(&r, 0, NOW) == 100.0);
    /* A ramp without a start runs from the release time. */
    r.start = 0;
    CHECK(fabs(pc_release_percent(&r, NOW - 3 * 86400, NOW) - 55.0) < 1e-9);
    CHECK(pc_release_percent(&r, NOW + 5, NOW) == 10.0);
    /* The bucket: "patchcast-rollout:" + id, SHA-256, 8 bytes, mod 10000. */
    uint8_t h[32];
    pc_sha256("patchcast-rollout:abc", 21, h);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | h[i];
    CHECK(pc_release_bucket("abc") == (double)(x % 10000) / 100.0);
    CHECK(pc_release_bucket("abc") != pc_release_bucket("abd"));
}

static void withdrawn_critical_skipped_bad(void)
{
    reset("1.3.0");
    pc_state st = {0};
    pc_choice c;
    V[3].release.withdrawn = true;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    pc_err e = {0};
    CHECK(pc_choose(&R, &st, "1.0.0", NULL, "1.3.0", 0, NOW, &c, &e) == PC_ERR_STATE &&
          strstr(e.msg, "withdrawn"));
    /* An install on a withdrawn version moves down: the one downgrade. */
    V[3].release.withdrawn_reason = (char *)"breaks saves";
    CHECK(pick(&st, "1.3.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    CHECK(c.downgrade && c.from_withdrawn && !strcmp(c.withdrawn_reason, "breaks saves"));
    /* Bad and skipped versions are passed over; critical ignores skip. */
    char *bad[] = {(char *)"1.2.0"}, *skipped[] = {(char *)"1.1.0"};
    st.bad = bad;
    st.nbad = 1;
    st.skipped = skipped;
    st.nskipped = 1;
    CHECK(pick(&st, "1.3.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.0.0"));
    V[1].release.critical = true;
    CHECK(pick(&st, "1.3.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.1.0"));
    /* Critical bypasses a rollout at 0 %, and makes the update critical. */
    reset("1.3.0");
    pc_state none = {0};
    V[1].release = (pc_release_policy){.has_rollout = true, .percent = 0, .critical = true};
    V[2].release = (pc_release_policy){.has_rollout = true, .percent = 0};
    V[3].release = (pc_release_policy){.has_rollout = true, .percent = 0};
    CHECK(pick(&none, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.1.0"));
    CHECK(c.critical);
    V[2].release.percent = 100;
    CHECK(pick(&none, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    CHECK(c.critical); /* 1.1.0 is crossed */
    CHECK(pick(&none, "1.1.0", NULL, NULL, 0, &c) == PC_OK && !c.critical);
}

/* An install on a side line (a hotfix whose parent is older than the
 * head's): a critical version it already has, a common ancestor, does not
 * make the update to the head critical; one only on the head's line does. */
static void critical_from_side_line(void)
{
    reset("1.3.0");
    V[3].parent = (char *)"1.1.0"; /* 1.2.0 and 1.3.0 both come from 1.1.0 */
    V[0].release.critical = true;
    pc_state st = {0};
    pc_choice c;
    CHECK(pick(&st, "1.2.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    CHECK(!c.critical && !c.downgrade);
    V[0].release.critical = false;
    V[1].release.critical = true;
    CHECK(pick(&st, "1.2.0", NULL, NULL, 0, &c) == PC_OK && !c.critical);
    V[3].release.critical = true;
    CHECK(pick(&st, "1.2.0", NULL, NULL, 0, &c) == PC_OK && c.critical);
}

static void minimum_and_downgrade(void)
{
    reset("1.3.0");
    pc_state st = {0};
    pc_choice c;
    V[3].release.minimum_version = (char *)"1.2.0";
    V[2].release = (pc_release_policy){.has_rollout = true, .percent = 0};
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.1.0"));
    CHECK(c.manual_version && !strcmp(c.manual_version, "1.3.0") &&
          !strcmp(c.minimum_version, "1.2.0"));
    CHECK(pick(&st, "1.1.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.1.0"));
    CHECK(c.manual_version != NULL);
    /* A stepping stone that meets the minimum: no manual update then. */
    V[2].release.percent = 100;
    CHECK(pick(&st, "1.0.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.2.0"));
    CHECK(c.manual_version == NULL);
    CHECK(pick(&st, "1.2.0", NULL, NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    /* A named version ignores the minimum. */
    CHECK(pick(&st, "1.0.0", NULL, "1.3.0", 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    /* Channel "old" points at 1.1.0: from 1.3.0 no silent downgrade. */
    reset("1.3.0");
    CHECK(pick(&st, "1.3.0", "old", NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.3.0"));
    CHECK(c.downgrade_refused && !strcmp(c.downgrade_refused, "1.1.0") && !c.downgrade);
    CHECK(pick(&st, "1.3.0", "old", NULL, PC_UPDATE_ALLOW_DOWNGRADE, &c) == PC_OK &&
          !strcmp(c.target, "1.1.0") && c.downgrade);
    CHECK(pick(&st, "1.0.0", "old", NULL, 0, &c) == PC_OK && !strcmp(c.target, "1.1.0"));
    CHECK(pc_choose_is_ancestor(&R, "1.0.0", "1.3.0") && !pc_choose_is_ancestor(&R, "1.3.0", "1.0.0"));
}

static void release_settings_round_trip(void)
{
    pc_release_policy r = {.has_rollout = true, .percent = 12.5, .start = NOW, .ramp = 3600,
                           .withdrawn = true, .critical = true};
    r.withdrawn_reason = strdup("x");
    r.minimum_version = strdup("1.0.0");
    CHECK(pc_release_problem(&r) == NULL);
    cJSON *o = cJSON_CreateObject();
    CHECK(pc_release_write(o, &r));
    char *text = cJSON_PrintUnformatted(o); /* as written into repo.json */
    cJSON_Delete(o);
    o = cJSON_Parse(text);
    free(text);
    CHECK(o != NULL);
    pc_release_policy back = {0};
    pc_err e = {0};
    pc_jpath p = {"v"};
    CHECKF(pc_release_parse(o, &back, "repo.json", &p, &e) == PC_OK, "%s", e.msg);
    CHECK(back.has_rollout && back.percent == 12.5 && back.start == NOW && back.ramp == 3600 &&
          back.withdrawn && back.critical && !strcmp(back.withdrawn_reason, "x") &&
          !strcmp(back.minimum_version, "1.0.0"));
    pc_release_clear(&back);
    cJSON_Delete(o);
    /* Refusals name the key. */
    static const char *const bad[] = {
        "{\"rollout\": {\"percent\": 101}}", "{\"rollout\": {\"percent\": -1}}",
        "{\"rollout\": {\"percent\": \"5\"}}", "{\"rollout\": {\"percent\": 5, \"x\": 1}}",
        "{\"rollout\": {\"percent\": 5, \"ramp_seconds\": 0}}", "{\"withdrawn\": 1}",
        "{\"withdrawn_reason\": \"why\"}", "{\"rollout\": {}}", "{\"critical\": \"yes\"}",
        "{\"rollout\": {\"percent\": 5, \"start\": \"2026-01-01\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *b = cJSON_Parse(bad[i]);
        pc_release_policy x = {0};
        CHECKF(b && pc_release_parse(b, &x, "repo.json", &p, &e) != PC_OK, "%s accepted",
               bad[i]);
        pc_release_clear(&x);
        cJSON_Delete(b);
    }
    pc_release_clear(&r);
}

int main(void)
{
    t_suite = "choose";
    RUN(head_when_nothing_set);
    RUN(rollout_by_bucket);
    RUN(percent_over_time);
    RUN(withdrawn_critical_skipped_bad);
    RUN(critical_from_side_line);
    RUN(minimum_and_downgrade);
    RUN(release_settings_round_trip);
    TEST_MAIN_END();
}
