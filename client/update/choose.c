/* choose.c — which version an update goes to (see choose.h). */
#include "choose.h"

#include <string.h>

#include "patchcast.h"

bool pc_choose_is_ancestor(const pc_repo *r, const char *a, const char *b)
{
    const pc_version_info *v = pc_repo_version(r, b, NULL);
    /* Parents form no cycle (the parser checks): at most nversions steps. */
    for (size_t n = 0; v && v->parent && n < r->nversions; n++) {
        if (!strcmp(v->parent, a))
            return true;
        v = pc_repo_version(r, v->parent, NULL);
    }
    return false;
}

/* Is a older than b? Along parent links when one descends from the other,
 * else by place in repo.json's versions (oldest first, docs/format.md §3). */
static bool older(const pc_repo *r, const char *a, const char *b)
{
    if (pc_choose_is_ancestor(r, a, b))
        return true;
    if (pc_choose_is_ancestor(r, b, a))
        return false;
    size_t ia = 0, ib = 0;
    pc_repo_version(r, a, &ia);
    pc_repo_version(r, b, &ib);
    return ia < ib;
}

/* Any critical version after `from` up to `to` along to's parents, down to
 * from or an ancestor of it (from on another line: the versions the two
 * lines share were installed already); all of them back to the first when
 * from is unknown. */
static bool any_critical(const pc_repo *r, const char *from, const char *to)
{
    bool side = from && !pc_choose_is_ancestor(r, from, to);
    const pc_version_info *v = pc_repo_version(r, to, NULL);
    for (size_t n = 0; v && n < r->nversions; n++) {
        if (from && (!strcmp(v->name, from) || (side && pc_choose_is_ancestor(r, v->name, from))))
            return false;
        if (v->release.critical)
            return true;
        if (!from || !v->parent)
            break;
        v = pc_repo_version(r, v->parent, NULL);
    }
    return false;
}

/* May this install take v automatically? */
static bool admitted(const pc_version_info *v, const pc_state *st, unsigned flags, double bucket,
                     int64_t now)
{
    if (v->release.withdrawn || pc_state_list_has(st->bad, st->nbad, v->name))
        return false;
    if (v->release.critical)
        return true;
    if (pc_state_list_has(st->skipped, st->nskipped, v->name))
        return false;
    if (flags & PC_UPDATE_IGNORE_ROLLOUT)
        return true;
    double pct = pc_release_percent(&v->release, v->released, now);
    return pct >= 100.0 || (bucket >= 0 && bucket < pct);
}

/* The minimum version v needs, when `current` is older than it. */
static const char *needs_manual(const pc_repo *r, const pc_version_info *v, const char *current)
{
    const char *min = v->release.minimum_version;
    if (!current || !min || !strcmp(min, current) || !older(r, current, min))
        return NULL;
    return min;
}

pc_status pc_choose(const pc_repo *r, const pc_state *st, const char *current,
                    const char *channel, const char *version, unsigned flags, int64_t now,
                    pc_choice *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    out->bucket = st->install_id ? pc_release_bucket(st->install_id) : -1;
    const pc_version_info *cur = current ? pc_repo_version(r, current, NULL) : NULL;
    if (cur && cur->release.withdrawn) {
        out->from_withdrawn = true;
        out->withdrawn_reason = cur->release.withdrawn_reason;
    }
    if (version) {
        const pc_version_info *v = pc_repo_version(r, version, NULL);
        if (v == NULL)
            return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no version '%s'", version);
        if (v->release.withdrawn && !(current && !strcmp(current, version)))
            return pc_fail(e, PC_ERR_STATE, "version %s was withdrawn%s%s", version,
                           v->release.withdrawn_reason ? ": " : "",
                           v->release.withdrawn_reason ? v->release.withdrawn_reason : "");
        out->target = v->name;
    } else {
        const char *ch = channel ? channel : "stable";
        const char *head = pc_repo_channel(r, ch);
        if (head == NULL)
            return pc_fail(e, PC_ERR_NOT_FOUND, "repository has no channel '%s'", ch);
        /* Down the channel's line from its head: the first version this
         * install may take, or the installed one (then nothing to do). */
        const pc_version_info *v = pc_repo_version(r, head, NULL);
        for (size_t n = 0; v && n < r->nversions && !out->target; n++) {
            if (cur && v == cur && !out->from_withdrawn)
                out->target = v->name;
            else if (admitted(v, st, flags, out->bucket, now)) {
                const char *min = needs_manual(r, v, current);
                if (min && !out->manual_version) {
                    out->manual_version = v->name;
                    out->minimum_version = min;
                } else if (!min) {
                    out->target = v->name;
                }
            } else if (!out->held_back && !v->release.withdrawn &&
                       !pc_state_list_has(st->bad, st->nbad, v->name) &&
                       !pc_state_list_has(st->skipped, st->nskipped, v->name)) {
                out->held_back = v->name; /* by the rollout alone */
            }
            v = v->parent ? pc_repo_version(r, v->parent, NULL) : NULL;
        }
        if (out->target == NULL && cur)
            out->target = cur->name; /* withdrawn, and nothing else to take */
        if (out->target == NULL)
            return pc_fail(e, PC_ERR_STATE,
                           "no version of channel '%s' may be installed here (withdrawn, "
                           "not yet rolled out, skipped or failed)", ch);
        /* A channel whose newest is older than the installed version: no
         * silent downgrade (a withdrawn installed version is the exception). */
        if (cur && out->target != cur->name && !out->from_withdrawn &&
            older(r, out->target, cur->name) && !(flags & PC_UPDATE_ALLOW_DOWNGRADE)) {
            out->downgrade_refused = out->target;
            out->target = cur->name;
        }
        /* Held back or manual only when the version taken is older. */
        if (out->held_back && !older(r, out->target, out->held_back))
            out->held_back = NULL;
        if (out->manual_version && (!older(r, out->target, out->manual_version) ||
                                    !older(r, out->target, out->minimum_version)))
            out->manual_version = out->minimum_version = NULL; /* a stepping stone */
    }
    if (current && strcmp(out->target, current)) {
        out->downgrade = older(r, out->target, current);
        out->critical = !out->downgrade && any_critical(r, current, out->target);
    }
    return PC_OK;
}
