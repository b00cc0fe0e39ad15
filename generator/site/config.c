/* config.c — parse and validate patchcast.json, the generator's settings. */
#include "config.h"

#include <cJSON.h>
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "jsonv.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define MIB (1024ull * 1024)

void pc_config_defaults(pc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->skip_edges = 3;
    cfg->max_patch_chain_length = 5;
    cfg->fallback_threshold = 0.7;
    cfg->max_patch_size = 10 * MIB;
    cfg->patch_retention_days = 30;
    cfg->patch_format = PC_PATCH_PCZ;
    cfg->object_level = 19;
    cfg->expires_seconds = 30ull * 86400;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void pc_config_free(pc_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->product);
    for (size_t i = 0; i < cfg->nchannels; i++)
        free(cfg->channels[i].name);
    free(cfg->channels);
    free_strv(cfg->hot_swap_modules, cfg->nhot);
    free_strv(cfg->critical_files, cfg->ncritical);
    for (size_t i = 0; i < cfg->nmodules; i++) {
        free(cfg->modules[i].name);
        free_strv(cfg->modules[i].depends, cfg->modules[i].ndepends);
    }
    free(cfg->modules);
    for (size_t i = 0; i < cfg->nversions; i++) {
        pc_version_cfg *v = &cfg->versions[i];
        free(v->name);
        free(v->parent);
        free(v->notes);
        free_strv(v->channels, v->nchannels);
        pc_release_clear(&v->release);
    }
    free(cfg->versions);
    pc_config_defaults(cfg);
}

bool pc_parse_size(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    while (*end == ' ')
        end++;
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"", 1},      {"B", 1},          {"K", 1024},       {"KB", 1024},
                 {"KiB", 1024}, {"M", MIB},       {"MB", MIB},       {"MiB", MIB},
                 {"G", MIB * 1024}, {"GB", MIB * 1024}, {"GiB", MIB * 1024}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit))
            return !__builtin_mul_overflow((uint64_t)v, units[i].mul, out);
    return false;
}

bool pc_parse_duration(const char *s, uint64_t *seconds)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul;
    if (!strcmp(end, "s"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60;
    else if (!strcmp(end, "h"))
        mul = 3600;
    else if (!strcmp(end, "d"))
        mul = 86400;
    else
        return false;
    return v > 0 && !__builtin_mul_overflow((uint64_t)v, mul, seconds);
}

/* Helpers that name the key in every message. */

static pc_status bad(pc_err *e, const char *what, const char *key, const char *problem)
{
    return pc_fail(e, PC_ERR_FORMAT, "%s: %s: %s", what, key, problem);
}

static pc_status get_uint(const cJSON *v, const char *what, const char *key, uint64_t min,
                          uint64_t max, uint64_t *out, pc_err *e)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        char msg[128];
        snprintf(msg, sizeof msg, "expected an integer from %llu to %llu",
                 (unsigned long long)min, (unsigned long long)max);
        return bad(e, what, key, msg);
    }
    *out = (uint64_t)v->valuedouble;
    return PC_OK;
}

static pc_status get_size(const cJSON *v, const char *what, const char *key, uint64_t *out,
                          pc_err *e)
{
    if (cJSON_IsString(v)) {
        if (!pc_parse_size(v->valuestring, out))
            return bad(e, what, key, "expected a size such as 10485760, \"10MiB\" or \"4GiB\"");
        return PC_OK;
    }
    return get_uint(v, what, key, 0, (1ull << 53) - 1, out, e);
}

static pc_status dup_string(const cJSON *v, const char *what, const char *key, char **out,
                            pc_err *e)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return bad(e, what, key, "expected a non-empty string");
    free(*out);
    *out = strdup(v->valuestring);
    return *out ? PC_OK : pc_fail(e, PC_ERR_NOMEM, "out of memory");
}

static pc_status get_strv(const cJSON *v, const char *what, const char *key, char ***out,
                          size_t *n, pc_err *e)
{
    if (!cJSON_IsArray(v))
        return bad(e, what, key, "expected an array of strings");
    free_strv(*out, *n);
    *out = NULL;
    *n = 0;
    size_t count = (size_t)cJSON_GetArraySize(v);
    if (count == 0)
        return PC_OK;
    *out = calloc(count, sizeof **out);
    if (*out == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s[%zu]", key, *n);
        pc_status st = dup_string(it, what, sub, &(*out)[*n], e);
        if (st != PC_OK)
            return st;
        (*n)++;
    }
    return PC_OK;
}

static pc_status parse_channels(pc_config *cfg, const cJSON *v, const char *what, pc_err *e)
{
    if (!cJSON_IsObject(v))
        return bad(e, what, "channels", "expected an object of channel names");
    size_t count = (size_t)cJSON_GetArraySize(v);
    if (count == 0)
        return bad(e, what, "channels", "at least one channel is needed");
    cfg->channels = calloc(count, sizeof *cfg->channels);
    if (cfg->channels == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *ch;
    cJSON_ArrayForEach(ch, v)
    {
        char key[300];
        snprintf(key, sizeof key, "channels.%s", ch->string);
        pc_channel_cfg *c = &cfg->channels[cfg->nchannels];
        if ((c->name = strdup(ch->string)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        cfg->nchannels++;
        if (!cJSON_IsObject(ch))
            return bad(e, what, key, "expected an object such as {\"prereleases\": false}");
        const cJSON *f;
        cJSON_ArrayForEach(f, ch)
        {
            if (!strcmp(f->string, "prereleases")) {
                if (!cJSON_IsBool(f))
                    return bad(e, what, key, "prereleases: expected true or false");
                c->prereleases = cJSON_IsTrue(f);
            } else {
                return pc_fail(e, PC_ERR_FORMAT, "%s: %s: unknown key '%s'", what, key,
                               f->string);
            }
        }
    }
    return PC_OK;
}

static pc_status parse_modules(pc_config *cfg, const cJSON *v, const char *what, pc_err *e)
{
    if (!cJSON_IsObject(v))
        return bad(e, what, "modules", "expected an object: module path -> {\"depends\": [...]}");
    size_t count = (size_t)cJSON_GetArraySize(v);
    cfg->modules = calloc(count ? count : 1, sizeof *cfg->modules);
    if (cfg->modules == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        char key[300];
        snprintf(key, sizeof key, "modules.%s", m->string);
        pc_module_cfg *mc = &cfg->modules[cfg->nmodules];
        if ((mc->name = strdup(m->string)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        cfg->nmodules++;
        if (!cJSON_IsObject(m))
            return bad(e, what, key, "expected an object such as {\"depends\": [\"lib/a.so\"]}");
        const cJSON *f;
        cJSON_ArrayForEach(f, m)
        {
            if (!strcmp(f->string, "depends")) {
                char sub[320];
                snprintf(sub, sizeof sub, "%s.depends", key);
                pc_status st = get_strv(f, what, sub, &mc->depends, &mc->ndepends, e);
                if (st != PC_OK)
                    return st;
            } else {
                return pc_fail(e, PC_ERR_FORMAT, "%s: %s: unknown key '%s'", what, key,
                               f->string);
            }
        }
    }
    return PC_OK;
}

/* A rollout's "start": a date ("2026-12-01", midnight UTC) or a UTC time;
 * after the epoch, whose 0 the model reads as "no start". */
static bool parse_start(const char *s, int64_t *out)
{
    char full[21];
    size_t n = strlen(s);
    if (n == 10) {
        memcpy(full, s, 10);
        memcpy(full + 10, "T00:00:00Z", 11);
        s = full;
    }
    return pc_parse_time(s, out) && *out > 0;
}

static pc_status parse_rollout(pc_release_policy *r, const cJSON *v, const char *what,
                               const char *key, pc_err *e)
{
    if (!cJSON_IsObject(v))
        return bad(e, what, key, "expected an object such as {\"percent\": 10, \"ramp\": \"7d\"}");
    bool percent = false;
    r->has_rollout = false; /* a repeated "rollout" replaces the first */
    r->percent = 0;
    r->start = 0;
    r->ramp = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, v)
    {
        char sub[340];
        snprintf(sub, sizeof sub, "%s.%s", key, f->string);
        if (!strcmp(f->string, "percent")) {
            if (!cJSON_IsNumber(f) || !(f->valuedouble >= 0 && f->valuedouble <= 100))
                return bad(e, what, sub, "expected a number from 0 to 100");
            r->percent = f->valuedouble;
            percent = true;
        } else if (!strcmp(f->string, "start")) {
            if (!cJSON_IsString(f) || !parse_start(f->valuestring, &r->start))
                return bad(e, what, sub,
                           "expected a UTC date or time such as \"2026-12-01\" or "
                           "\"2026-12-01T09:00:00Z\"");
        } else if (!strcmp(f->string, "ramp")) {
            if (!cJSON_IsString(f) || !pc_parse_duration(f->valuestring, &r->ramp) ||
                r->ramp > PC_RAMP_MAX)
                return bad(e, what, sub,
                           "expected a duration such as \"7d\" or \"12h\", at most 3650d");
        } else {
            return pc_fail(e, PC_ERR_FORMAT, "%s: %s: unknown key '%s'", what, key, f->string);
        }
    }
    if (!percent)
        return bad(e, what, key, "percent: required (the share of installs offered it at start)");
    r->has_rollout = true;
    return PC_OK;
}

static pc_status get_bool(const cJSON *v, const char *what, const char *key, bool *out, pc_err *e)
{
    if (!cJSON_IsBool(v))
        return bad(e, what, key, "expected true or false");
    *out = cJSON_IsTrue(v);
    return PC_OK;
}

static pc_status parse_versions(pc_config *cfg, const cJSON *v, const char *what, pc_err *e)
{
    if (!cJSON_IsObject(v))
        return bad(e, what, "versions", "expected an object: version name -> settings");
    size_t count = (size_t)cJSON_GetArraySize(v);
    cfg->versions = calloc(count ? count : 1, sizeof *cfg->versions);
    if (cfg->versions == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const cJSON *ver;
    cJSON_ArrayForEach(ver, v)
    {
        char key[300];
        snprintf(key, sizeof key, "versions.%s", ver->string);
        pc_version_cfg *vc = &cfg->versions[cfg->nversions];
        if ((vc->name = strdup(ver->string)) == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
        cfg->nversions++;
        if (!cJSON_IsObject(ver))
            return bad(e, what, key,
                       "expected an object with parent, notes, channels, rollout, withdrawn, "
                       "withdrawn_reason, critical or minimum_version");
        const cJSON *f;
        cJSON_ArrayForEach(f, ver)
        {
            char sub[320];
            snprintf(sub, sizeof sub, "%s.%s", key, f->string);
            pc_status st;
            if (!strcmp(f->string, "parent"))
                st = dup_string(f, what, sub, &vc->parent, e);
            else if (!strcmp(f->string, "notes"))
                st = cJSON_IsString(f) ? dup_string(f, what, sub, &vc->notes, e)
                                       : bad(e, what, sub, "expected a string");
            else if (!strcmp(f->string, "channels"))
                st = get_strv(f, what, sub, &vc->channels, &vc->nchannels, e);
            else if (!strcmp(f->string, "rollout"))
                st = parse_rollout(&vc->release, f, what, sub, e);
            else if (!strcmp(f->string, "withdrawn"))
                st = get_bool(f, what, sub, &vc->release.withdrawn, e);
            else if (!strcmp(f->string, "withdrawn_reason"))
                st = dup_string(f, what, sub, &vc->release.withdrawn_reason, e);
            else if (!strcmp(f->string, "critical"))
                st = get_bool(f, what, sub, &vc->release.critical, e);
            else if (!strcmp(f->string, "minimum_version"))
                st = dup_string(f, what, sub, &vc->release.minimum_version, e);
            else
                st = pc_fail(e, PC_ERR_FORMAT, "%s: %s: unknown key '%s'", what, key, f->string);
            if (st != PC_OK)
                return st;
        }
        /* Across keys, in any order: withdrawn_reason needs withdrawn, etc. */
        const char *why = pc_release_problem(&vc->release);
        if (why)
            return bad(e, what, key, why);
    }
    return PC_OK;
}

static pc_status set_default_channels(pc_config *cfg, pc_err *e)
{
    cfg->channels = calloc(2, sizeof *cfg->channels);
    if (cfg->channels == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    cfg->channels[0].name = strdup("stable");
    cfg->channels[1].name = strdup("beta");
    cfg->channels[1].prereleases = true;
    cfg->nchannels = 2;
    if (!cfg->channels[0].name || !cfg->channels[1].name)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    return PC_OK;
}

static pc_status parse_root(pc_config *cfg, const cJSON *root, const char *what, pc_err *e)
{
    if (!cJSON_IsObject(root))
        return pc_fail(e, PC_ERR_FORMAT, "%s: expected a JSON object at the top level", what);
    const cJSON *v;
    cJSON_ArrayForEach(v, root)
    {
        const char *k = v->string;
        uint64_t u = 0;
        pc_status st = PC_OK;
        if (!strcmp(k, "product")) {
            st = dup_string(v, what, k, &cfg->product, e);
        } else if (!strcmp(k, "channels")) {
            st = parse_channels(cfg, v, what, e);
        } else if (!strcmp(k, "skip_edges")) {
            if ((st = get_uint(v, what, k, 0, 100, &u, e)) == PC_OK)
                cfg->skip_edges = (unsigned)u;
        } else if (!strcmp(k, "max_patch_chain_length")) {
            if ((st = get_uint(v, what, k, 1, 64, &u, e)) == PC_OK)
                cfg->max_patch_chain_length = (unsigned)u;
        } else if (!strcmp(k, "fallback_threshold")) {
            if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 1)
                st = bad(e, what, k, "expected a number greater than 0 and at most 1");
            else
                cfg->fallback_threshold = v->valuedouble;
        } else if (!strcmp(k, "max_patch_size")) {
            st = get_size(v, what, k, &cfg->max_patch_size, e);
        } else if (!strcmp(k, "hot_swap_modules")) {
            st = get_strv(v, what, k, &cfg->hot_swap_modules, &cfg->nhot, e);
        } else if (!strcmp(k, "critical_files")) {
            st = get_strv(v, what, k, &cfg->critical_files, &cfg->ncritical, e);
        } else if (!strcmp(k, "modules")) {
            st = parse_modules(cfg, v, what, e);
        } else if (!strcmp(k, "versions")) {
            st = parse_versions(cfg, v, what, e);
        } else if (!strcmp(k, "patch_retention_days")) {
            if ((st = get_uint(v, what, k, 0, 36500, &u, e)) == PC_OK)
                cfg->patch_retention_days = (unsigned)u;
        } else if (!strcmp(k, "workers")) {
            if ((st = get_uint(v, what, k, 1, 1024, &u, e)) == PC_OK)
                cfg->workers = (unsigned)u;
        } else if (!strcmp(k, "memory_budget")) {
            st = get_size(v, what, k, &cfg->memory_budget, e);
            if (st == PC_OK && cfg->memory_budget < 16 * MIB)
                st = bad(e, what, k, "must be at least 16MiB");
        } else if (!strcmp(k, "patch_format")) {
            if (cJSON_IsString(v) && !strcmp(v->valuestring, "pcz"))
                cfg->patch_format = PC_PATCH_PCZ;
            else if (cJSON_IsString(v) && !strcmp(v->valuestring, "bsdiff40"))
                cfg->patch_format = PC_PATCH_BSDIFF40;
            else
                st = bad(e, what, k, "expected \"pcz\" or \"bsdiff40\"");
        } else if (!strcmp(k, "release_patches")) {
            bool on = true;
            if ((st = get_bool(v, what, k, &on, e)) == PC_OK)
                cfg->no_release_patches = !on;
        } else if (!strcmp(k, "object_level")) {
            if ((st = get_uint(v, what, k, 1, 19, &u, e)) == PC_OK)
                cfg->object_level = (int)u;
        } else if (!strcmp(k, "expires")) {
            if (!cJSON_IsString(v) || !pc_parse_duration(v->valuestring, &cfg->expires_seconds))
                st = bad(e, what, k, "expected a duration such as \"30d\", \"12h\"");
        } else {
            st = pc_fail(e, PC_ERR_FORMAT, "%s: unknown key '%s'", what, k);
        }
        if (st != PC_OK)
            return st;
    }
    if (cfg->nchannels == 0)
        return set_default_channels(cfg, e);
    return PC_OK;
}

pc_status pc_config_parse(pc_config *cfg, const char *json, size_t len, const char *what,
                          pc_err *e)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        return pc_fail(e, PC_ERR_FORMAT, "%s: not valid JSON (near byte %zu)", what, off);
    }
    pc_status st = parse_root(cfg, root, what, e);
    cJSON_Delete(root);
    if (st != PC_OK)
        pc_config_free(cfg);
    return st;
}

pc_status pc_config_load(pc_config *cfg, const char *path, pc_err *e)
{
    char *buf;
    size_t len;
    pc_status st = pc_read_file(path, CONFIG_MAX_BYTES, &buf, &len, e);
    if (st != PC_OK)
        return pc_fail_prefix(e, "config: ");
    st = pc_config_parse(cfg, buf, len, path, e);
    free(buf);
    return st;
}

const pc_version_cfg *pc_config_version(const pc_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nversions; i++)
        if (!strcmp(cfg->versions[i].name, name))
            return &cfg->versions[i];
    return NULL;
}

bool pc_config_match(char *const *patterns, size_t n, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < n; i++) {
        if (fnmatch(patterns[i], path, 0) == 0)
            return true;
        if (strchr(patterns[i], '/') == NULL && fnmatch(patterns[i], base, 0) == 0)
            return true;
    }
    return false;
}
