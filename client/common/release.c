/* release.c — a version's release settings and the rollout arithmetic. */
#include "release.h"

#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static const char *const ROLLOUT_KEYS[] = {"percent", "start", "ramp_seconds", NULL};

static pc_status parse_rollout(const cJSON *it, pc_release_policy *out, const char *what,
                               const pc_jpath *p, pc_err *e)
{
    const cJSON *ro = NULL;
    pc_jpath rp;
    pc_jpath_key(&rp, p, "rollout");
    pc_status st = pc_jget_object(it, "rollout", false, &ro, what, p, e);
    if (st != PC_OK || ro == NULL)
        return st;
    if ((st = pc_jcheck_keys(ro, ROLLOUT_KEYS, what, &rp, e)) != PC_OK)
        return st;
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(ro, "percent");
    if (!cJSON_IsNumber(pct) || !(pct->valuedouble >= 0 && pct->valuedouble <= 100))
        return pc_jfail(e, what, &rp, "percent: expected a number from 0 to 100");
    out->has_rollout = true;
    out->percent = pct->valuedouble;
    if ((st = pc_jget_time(ro, "start", false, &out->start, what, &rp, e)) != PC_OK)
        return st;
    return pc_jget_u64(ro, "ramp_seconds", false, 1, PC_RAMP_MAX, &out->ramp, what, &rp, e);
}

static pc_status get_bool(const cJSON *it, const char *key, bool *out, const char *what,
                          const pc_jpath *p, pc_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);
    if (v == NULL)
        return PC_OK;
    if (!cJSON_IsBool(v))
        return pc_jfail(e, what, p, "%s: expected true or false", key);
    *out = cJSON_IsTrue(v);
    return PC_OK;
}

pc_status pc_release_parse(const cJSON *it, pc_release_policy *out, const char *what,
                           const pc_jpath *p, pc_err *e)
{
    pc_status st;
    if ((st = parse_rollout(it, out, what, p, e)) ||
        (st = get_bool(it, "withdrawn", &out->withdrawn, what, p, e)) ||
        (st = pc_jget_string(it, "withdrawn_reason", false, PC_REASON_MAX,
                             &out->withdrawn_reason, what, p, e)) ||
        (st = get_bool(it, "critical", &out->critical, what, p, e)) ||
        (st = pc_jget_string(it, "minimum_version", false, 64, &out->minimum_version, what, p,
                             e)))
        return st;
    const char *why = pc_release_problem(out);
    return why ? pc_jfail(e, what, p, "%s", why) : PC_OK;
}

const char *pc_release_problem(const pc_release_policy *r)
{
    if (r->has_rollout && !(r->percent >= 0 && r->percent <= 100))
        return "rollout.percent: expected a number from 0 to 100";
    if (r->ramp > PC_RAMP_MAX)
        return "rollout.ramp_seconds: at most ten years";
    if ((r->start || r->ramp) && !r->has_rollout)
        return "rollout: start and ramp need a percent";
    if (r->withdrawn_reason && !r->withdrawn)
        return "withdrawn_reason: only for a withdrawn version";
    if (r->withdrawn_reason && strlen(r->withdrawn_reason) > PC_REASON_MAX)
        return "withdrawn_reason: longer than 1024 bytes";
    return NULL;
}

bool pc_release_write(cJSON *o, const pc_release_policy *r)
{
    bool ok = true;
    if (r->has_rollout) {
        cJSON *ro = cJSON_AddObjectToObject(o, "rollout");
        ok = ro && cJSON_AddNumberToObject(ro, "percent", r->percent) &&
             (!r->start || pc_jadd_time(ro, "start", r->start)) &&
             (!r->ramp || pc_jadd_u64(ro, "ramp_seconds", r->ramp));
    }
    return ok && (!r->withdrawn || cJSON_AddTrueToObject(o, "withdrawn")) &&
           (!r->withdrawn_reason ||
            cJSON_AddStringToObject(o, "withdrawn_reason", r->withdrawn_reason)) &&
           (!r->critical || cJSON_AddTrueToObject(o, "critical")) &&
           (!r->minimum_version ||
            cJSON_AddStringToObject(o, "minimum_version", r->minimum_version));
}

void pc_release_clear(pc_release_policy *r)
{
    free(r->withdrawn_reason);
    free(r->minimum_version);
    memset(r, 0, sizeof *r);
}

double pc_release_percent(const pc_release_policy *r, int64_t released, int64_t now)
{
    if (!r->has_rollout)
        return 100.0;
    int64_t start = r->start ? r->start : released;
    if (r->start && now < r->start)
        return 0.0;
    if (r->ramp == 0 || now <= start)
        return r->percent;
    double done = (double)(now - start) / (double)r->ramp;
    double p = r->percent + (100.0 - r->percent) * done;
    return p < 100.0 ? p : 100.0;
}

double pc_release_bucket(const char *install_id)
{
    static const char tag[] = "patchcast-rollout:";
    size_t n = strlen(install_id);
    char *buf = malloc(sizeof tag - 1 + n);
    uint8_t h[32];
    if (buf == NULL)
        return 99.99; /* admitted to nothing partial */
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, install_id, n);
    pc_sha256(buf, sizeof tag - 1 + n, h);
    free(buf);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | h[i];
    return (double)(x % 10000) / 100.0;
}
