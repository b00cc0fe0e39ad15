/* test_config.c — generator configuration: defaults, every key, and bad
 * documents each rejected with a message naming the key. */
#include "config.h"
#include "jsonv.h"
#include "test.h"

static void defaults(void)
{
    pc_config c;
    pc_err e = {0};
    pc_config_defaults(&c);
    CHECK(pc_config_parse(&c, "{}", 2, "cfg", &e) == PC_OK);
    CHECK(c.skip_edges == 3 && c.max_patch_chain_length == 5);
    CHECK(c.fallback_threshold == 0.7);
    CHECK(c.max_patch_size == 10u << 20);
    CHECK(c.patch_retention_days == 30 && c.workers == 0);
    CHECK(c.patch_format == PC_PATCH_PCZ && !c.no_release_patches);
    CHECK(c.nchannels == 2);
    CHECK_STR(c.channels[0].name, "stable");
    CHECK(!c.channels[0].prereleases);
    CHECK_STR(c.channels[1].name, "beta");
    CHECK(c.channels[1].prereleases);
    pc_config_free(&c);
}

static void every_key(void)
{
    const char *doc =
        "{\"product\": \"demo\", \"channels\": {\"stable\": {\"prereleases\": false},"
        " \"nightly\": {\"prereleases\": true}}, \"skip_edges\": 2,"
        " \"max_patch_chain_length\": 4, \"fallback_threshold\": 0.5,"
        " \"max_patch_size\": \"2MiB\", \"hot_swap_modules\": [\"modules/*.so\"],"
        " \"critical_files\": [\"bin/app\", \"*.exe\"],"
        " \"modules\": {\"modules/b.so\": {\"depends\": [\"modules/a.so\"]}},"
        " \"versions\": {\"1.1.0\": {\"parent\": \"1.0.0\", \"notes\": \"Faster\","
        " \"channels\": [\"nightly\"]}}, \"patch_retention_days\": 7, \"workers\": 2,"
        " \"memory_budget\": \"1GiB\", \"patch_format\": \"bsdiff40\", \"object_level\": 9,"
        " \"expires\": \"12h\", \"release_patches\": false}";
    pc_config c;
    pc_err e = {0};
    pc_config_defaults(&c);
    CHECKF(pc_config_parse(&c, doc, strlen(doc), "cfg", &e) == PC_OK, "%s", e.msg);
    CHECK_STR(c.product, "demo");
    CHECK(c.nchannels == 2 && c.channels[1].prereleases);
    CHECK(c.skip_edges == 2 && c.max_patch_chain_length == 4 && c.fallback_threshold == 0.5);
    CHECK(c.max_patch_size == 2u << 20);
    CHECK(c.nhot == 1 && c.ncritical == 2);
    CHECK(pc_config_match(c.hot_swap_modules, c.nhot, "modules/x.so"));
    CHECK(!pc_config_match(c.hot_swap_modules, c.nhot, "lib/x.so"));
    CHECK(pc_config_match(c.critical_files, c.ncritical, "bin/app"));
    CHECK(pc_config_match(c.critical_files, c.ncritical, "deep/dir/tool.exe"));
    CHECK(!pc_config_match(c.critical_files, c.ncritical, "bin/app2"));
    CHECK(c.nmodules == 1 && c.modules[0].ndepends == 1);
    CHECK_STR(c.modules[0].depends[0], "modules/a.so");
    const pc_version_cfg *v = pc_config_version(&c, "1.1.0");
    CHECK(v && v->parent && !strcmp(v->parent, "1.0.0") && v->nchannels == 1);
    CHECK_STR(v->notes, "Faster");
    CHECK(pc_config_version(&c, "9.9.9") == NULL);
    CHECK(c.patch_retention_days == 7 && c.workers == 2 && c.memory_budget == 1u << 30);
    CHECK(c.patch_format == PC_PATCH_BSDIFF40 && c.object_level == 9);
    CHECK(c.expires_seconds == 12 * 3600 && c.no_release_patches);
    pc_config_free(&c);
}

/* A version's release settings (issue 17): stored as the model's policy,
 * dates and durations converted, unset keys left zero. */
static void release_settings(void)
{
    const char *doc = "{\"versions\": {\"1.0.0\": {\"notes\": \"plain\"},"
                      " \"1.1.0\": {\"rollout\": {\"percent\": 12.5, \"start\": \"2026-12-01\","
                      " \"ramp\": \"7d\"}, \"critical\": true, \"minimum_version\": \"1.0.0\"},"
                      " \"1.2.0\": {\"withdrawn_reason\": \"data loss\", \"withdrawn\": true,"
                      " \"rollout\": {\"percent\": 0, \"start\": \"2026-12-01T09:30:00Z\"}},"
                      " \"1.3.0\": {\"rollout\": {\"percent\": 100, \"ramp\": \"12h\"},"
                      " \"withdrawn\": false, \"critical\": false}}}";
    pc_config c;
    pc_err e = {0};
    pc_config_defaults(&c);
    CHECKF(pc_config_parse(&c, doc, strlen(doc), "cfg", &e) == PC_OK, "%s", e.msg);
    const pc_release_policy *r = &pc_config_version(&c, "1.0.0")->release;
    CHECK(!r->has_rollout && !r->withdrawn && !r->critical && r->start == 0 && r->ramp == 0);
    CHECK(r->withdrawn_reason == NULL && r->minimum_version == NULL);
    int64_t t;
    r = &pc_config_version(&c, "1.1.0")->release;
    CHECK(r->has_rollout && r->percent == 12.5 && r->ramp == 7 * 86400);
    CHECK(pc_parse_time("2026-12-01T00:00:00Z", &t) && r->start == t);
    CHECK(r->critical && !r->withdrawn);
    CHECK_STR(r->minimum_version, "1.0.0");
    r = &pc_config_version(&c, "1.2.0")->release;
    CHECK(r->has_rollout && r->percent == 0 && r->ramp == 0);
    CHECK(pc_parse_time("2026-12-01T09:30:00Z", &t) && r->start == t);
    CHECK(r->withdrawn && !r->critical);
    CHECK_STR(r->withdrawn_reason, "data loss");
    r = &pc_config_version(&c, "1.3.0")->release;
    CHECK(r->has_rollout && r->percent == 100 && r->ramp == 12 * 3600 && r->start == 0);
    CHECK(!r->withdrawn && !r->critical && r->withdrawn_reason == NULL);
    pc_config_free(&c);
}

static const struct {
    const char *name, *doc, *msg;
} bad_cases[] = {
    {"not_json", "{\"skip_edges\": 3", "not valid JSON"},
    {"top_not_object", "[1,2]", "top level"},
    {"unknown_key", "{\"skip_edge\": 3}", "unknown key 'skip_edge'"},
    {"skip_edges_negative", "{\"skip_edges\": -1}", "skip_edges: expected an integer"},
    {"skip_edges_fraction", "{\"skip_edges\": 1.5}", "skip_edges: expected an integer"},
    {"skip_edges_string", "{\"skip_edges\": \"3\"}", "skip_edges: expected an integer"},
    {"chain_zero", "{\"max_patch_chain_length\": 0}", "max_patch_chain_length"},
    {"threshold_zero", "{\"fallback_threshold\": 0}", "fallback_threshold"},
    {"threshold_above_one", "{\"fallback_threshold\": 1.2}", "fallback_threshold"},
    {"patch_size_unit", "{\"max_patch_size\": \"10 parsecs\"}", "max_patch_size"},
    {"hot_not_array", "{\"hot_swap_modules\": \"*.so\"}", "hot_swap_modules"},
    {"hot_item_number", "{\"hot_swap_modules\": [\"a\", 3]}", "hot_swap_modules[1]"},
    {"critical_empty_string", "{\"critical_files\": [\"\"]}", "critical_files[0]"},
    {"channels_empty", "{\"channels\": {}}", "at least one channel"},
    {"channel_unknown_key", "{\"channels\": {\"stable\": {\"pre\": true}}}",
     "channels.stable: unknown key 'pre'"},
    {"channel_bool_type", "{\"channels\": {\"beta\": {\"prereleases\": 1}}}", "prereleases"},
    {"module_depends_type", "{\"modules\": {\"a.so\": {\"depends\": \"b.so\"}}}",
     "modules.a.so.depends"},
    {"version_unknown_key", "{\"versions\": {\"1.0.0\": {\"parnet\": \"0.9\"}}}",
     "versions.1.0.0: unknown key 'parnet'"},
    {"version_parent_type", "{\"versions\": {\"1.0.0\": {\"parent\": 3}}}",
     "versions.1.0.0.parent"},
    {"workers_zero", "{\"workers\": 0}", "workers"},
    {"memory_budget_tiny", "{\"memory_budget\": 1024}", "memory_budget: must be at least"},
    {"patch_format_unknown", "{\"patch_format\": \"xdelta\"}", "patch_format"},
    {"object_level_high", "{\"object_level\": 22}", "object_level"},
    {"release_patches_type", "{\"release_patches\": \"no\"}", "release_patches"},
    {"expires_bad", "{\"expires\": \"soon\"}", "expires"},
    {"product_empty", "{\"product\": \"\"}", "product"},
    {"rollout_not_object", "{\"versions\": {\"1.0.0\": {\"rollout\": 25}}}",
     "versions.1.0.0.rollout: expected an object"},
    {"rollout_percent_negative", "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": -1}}}}",
     "versions.1.0.0.rollout.percent: expected a number from 0 to 100"},
    {"rollout_percent_above_100", "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 101}}}}",
     "versions.1.0.0.rollout.percent: expected a number from 0 to 100"},
    {"rollout_percent_string", "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": \"abc\"}}}}",
     "versions.1.0.0.rollout.percent: expected a number from 0 to 100"},
    {"rollout_percent_missing", "{\"versions\": {\"1.0.0\": {\"rollout\": {\"ramp\": \"7d\"}}}}",
     "versions.1.0.0.rollout: percent: required"},
    {"rollout_start_month_13",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": \"2026-13-01\"}}}}",
     "versions.1.0.0.rollout.start: expected a UTC date or time"},
    {"rollout_start_feb_31",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": \"2026-02-31\"}}}}",
     "versions.1.0.0.rollout.start"},
    {"rollout_start_no_zone",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": "
     "\"2026-12-01T09:00:00\"}}}}",
     "versions.1.0.0.rollout.start"},
    {"rollout_start_word",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": \"tomorrow\"}}}}",
     "versions.1.0.0.rollout.start"},
    {"rollout_start_number",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": 1767225600}}}}",
     "versions.1.0.0.rollout.start"},
    {"rollout_start_epoch",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"start\": \"1970-01-01\"}}}}",
     "versions.1.0.0.rollout.start"},
    {"rollout_ramp_no_unit",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp\": \"7\"}}}}",
     "versions.1.0.0.rollout.ramp: expected a duration"},
    {"rollout_ramp_weeks",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp\": \"2w\"}}}}",
     "versions.1.0.0.rollout.ramp"},
    {"rollout_ramp_zero",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp\": \"0d\"}}}}",
     "versions.1.0.0.rollout.ramp"},
    {"rollout_ramp_number",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp\": 604800}}}}",
     "versions.1.0.0.rollout.ramp"},
    {"rollout_ramp_over_ten_years",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp\": \"3651d\"}}}}",
     "versions.1.0.0.rollout.ramp"},
    {"rollout_unknown_key",
     "{\"versions\": {\"1.0.0\": {\"rollout\": {\"percent\": 5, \"ramp_seconds\": 60}}}}",
     "versions.1.0.0.rollout: unknown key 'ramp_seconds'"},
    {"withdrawn_not_bool", "{\"versions\": {\"1.0.0\": {\"withdrawn\": \"yes\"}}}",
     "versions.1.0.0.withdrawn: expected true or false"},
    {"withdrawn_reason_alone", "{\"versions\": {\"1.0.0\": {\"withdrawn_reason\": \"broken\"}}}",
     "versions.1.0.0: withdrawn_reason: only for a withdrawn version"},
    {"withdrawn_reason_with_false",
     "{\"versions\": {\"1.0.0\": {\"withdrawn_reason\": \"broken\", \"withdrawn\": false}}}",
     "versions.1.0.0: withdrawn_reason: only for a withdrawn version"},
    {"withdrawn_reason_number",
     "{\"versions\": {\"1.0.0\": {\"withdrawn\": true, \"withdrawn_reason\": 3}}}",
     "versions.1.0.0.withdrawn_reason: expected a non-empty string"},
    {"critical_not_bool", "{\"versions\": {\"1.0.0\": {\"critical\": 1}}}",
     "versions.1.0.0.critical: expected true or false"},
    {"minimum_version_empty", "{\"versions\": {\"1.0.0\": {\"minimum_version\": \"\"}}}",
     "versions.1.0.0.minimum_version: expected a non-empty string"},
};

static void bad_case(size_t i)
{
    pc_config c;
    pc_err e = {0};
    pc_config_defaults(&c);
    pc_status st = pc_config_parse(&c, bad_cases[i].doc, strlen(bad_cases[i].doc), "my.json", &e);
    CHECKF(st == PC_ERR_FORMAT, "status %d", st);
    CHECKF(strstr(e.msg, bad_cases[i].msg) != NULL, "message '%s' lacks '%s'", e.msg,
           bad_cases[i].msg);
    CHECKF(strncmp(e.msg, "my.json: ", 9) == 0, "message '%s' does not name the file", e.msg);
    /* The config was reset: nothing leaks, defaults are back. */
    CHECK(c.nchannels == 0 && c.product == NULL && c.skip_edges == 3);
}

static void sizes_and_durations(void)
{
    uint64_t v;
    CHECK(pc_parse_size("0", &v) && v == 0);
    CHECK(pc_parse_size("512K", &v) && v == 512 * 1024);
    CHECK(pc_parse_size("3 GiB", &v) && v == 3ull << 30);
    CHECK(!pc_parse_size("-1", &v));
    CHECK(!pc_parse_size("1TB", &v));
    CHECK(!pc_parse_size("99999999999999999999G", &v));
    CHECK(pc_parse_duration("30d", &v) && v == 30 * 86400);
    CHECK(pc_parse_duration("90m", &v) && v == 5400);
    CHECK(!pc_parse_duration("0d", &v));
    CHECK(!pc_parse_duration("30", &v));
}

int main(void)
{
    t_suite = "config";
    RUN(defaults);
    RUN(every_key);
    RUN(sizes_and_durations);
    RUN(release_settings);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        RUN_CASE(bad_case, i, bad_cases[i].name);
    TEST_MAIN_END();
}
