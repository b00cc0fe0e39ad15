/* lifecycle.c — after the download: apply a staged version, mark a version
 * good, skip a version, and the launcher's health accounting with its
 * automatic rollback (docs/guide.md, "Releasing safely"). */
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "update.h"

static bool is(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Switch to the staged version, its tree checked first. */
static pc_status apply_staged(pc_op *op, pc_update_info **out)
{
    pc_err *e = &op->c->err;
    char *v = op->state.staged ? strdup(op->state.staged) : NULL;
    if (op->state.staged == NULL)
        return pc_fail(e, PC_ERR_NOT_FOUND, "nothing is staged");
    if (v == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_manifest *m = pc_op_local_manifest(op, v);
    pc_status st = PC_OK;
    unsigned nbad = 0, fixed = 0;
    if (m == NULL)
        st = pc_fail(e, PC_ERR_STATE, "staged version %s is no longer installed", v);
    else if ((st = pc_update_check_fix(op, v, m, &nbad, &fixed)) != PC_OK)
        pc_fail_prefix(e, "staged version %s has %u damaged entr%s, not switching to it: ", v,
                       nbad, nbad == 1 ? "y" : "ies");
    pc_manifest_free(m);
    if (st != PC_OK) {
        /* Unusable: forgotten (its folder goes with the next prune). */
        pc_err later = {0};
        if (pc_state_set(&op->state.staged, NULL, &later) == PC_OK)
            (void)pc_state_save(&op->state, op->state_path, &later);
        free(v);
        return st;
    }
    pc_update_info *info = out ? calloc(1, sizeof *info) : NULL;
    if (out && (info == NULL || (op->current && !(info->from = strdup(op->current))) ||
                !(info->to = strdup(v)))) {
        pc_update_info_free(info);
        free(v);
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    pc_op_progress(op, "switch", v, 0, 0);
    if (is(v, op->current)) {
        if ((st = pc_state_set(&op->state.staged, NULL, e)) == PC_OK)
            st = pc_state_save(&op->state, op->state_path, e);
    } else
        st = pc_update_switch(op, v, 0, "apply-staged", true);
    free(v);
    if (st == PC_OK && out) {
        info->rollout_bucket = -1;
        info->up_to_date = info->from && !strcmp(info->from, info->to);
        *out = info;
    } else {
        pc_update_info_free(info);
    }
    return st;
}

pc_status pc_client_apply_staged(pc_client *c, pc_update_info **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (out)
        *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    op.step = op.nsteps = 1;
    if (st == PC_OK)
        st = apply_staged(&op, out);
    pc_op_end(&op);
    return st;
}

/* Version v (installed, current) is good: not pending, the launcher's way
 * back from now on. Saved. */
static pc_status mark_good(pc_op *op, const char *v)
{
    pc_err *e = &op->c->err;
    if (!is(v, op->current) || (is(v, op->state.last_good) && !op->state.pending))
        return PC_OK; /* only the version running now can prove itself */
    pc_status st = PC_OK;
    bool was_pending = is(v, op->state.pending);
    if (was_pending)
        st = pc_state_set(&op->state.pending, NULL, e);
    op->state.attempts = 0;
    if (st == PC_OK)
        st = pc_state_set(&op->state.last_good, v, e);
    /* Rolled back once, installed by name since, and good now: no longer
     * kept from automatic updates. */
    pc_state_list_remove(op->state.bad, &op->state.nbad, v);
    if (st == PC_OK && was_pending)
        st = pc_state_log(&op->state, "mark-good", NULL, v, 0, e);
    return st == PC_OK ? pc_state_save(&op->state, op->state_path, e) : st;
}

pc_status pc_client_mark_good(pc_client *c, const char *version)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    if (st == PC_OK && version == NULL && op.current == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "nothing is installed");
    if (st == PC_OK)
        st = mark_good(&op, version ? version : op.current);
    pc_op_end(&op);
    return st;
}

pc_status pc_client_skip_version(pc_client *c, const char *version, int skip)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (version == NULL || !pc_version_name_ok(version))
        return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: '%s' is not a version name",
                       version ? version : "(null)");
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    if (st == PC_OK && skip)
        st = pc_state_list_add(&op.state.skipped, &op.state.nskipped, version, &c->err);
    else if (st == PC_OK)
        pc_state_list_remove(op.state.skipped, &op.state.nskipped, version);
    /* Skipped while staged: not switched to at the next start either. */
    if (st == PC_OK && skip && is(op.state.staged, version))
        st = pc_update_unstage(&op);
    if (st == PC_OK)
        st = pc_state_save(&op.state, op.state_path, &c->err);
    pc_op_end(&op);
    return st;
}

/* The current version failed max_attempts starts: back to the last good
 * version (else the previous one), and never again automatically. */
static pc_status roll_back_bad(pc_op *op, char **rolled_back)
{
    pc_err *e = &op->c->err;
    const char *to = op->state.last_good;
    if (!to || is(to, op->current) ||
        !pc_state_list_has(op->state.installed, op->state.ninstalled, to))
        to = op->state.previous;
    if (!to || is(to, op->current))
        return pc_fail(e, PC_ERR_STATE, "%s failed %u starts but no good version is installed "
                       "to roll back to", op->current, op->state.attempts);
    char *bad = strdup(op->current), *dest = strdup(to);
    pc_status st = bad && dest ? PC_OK : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    /* Recorded bad before the switch: killed after it, the version is
     * still never installed automatically again. */
    if (st == PC_OK)
        st = pc_state_list_add(&op->state.bad, &op->state.nbad, bad, e);
    if (st == PC_OK)
        st = pc_state_save(&op->state, op->state_path, e);
    if (st == PC_OK)
        st = pc_update_roll(op, dest, "auto-rollback", NULL);
    if (st != PC_OK && bad && pc_state_list_has(op->state.bad, op->state.nbad, bad)) {
        /* Still current: not rolled back (the record says so). */
        pc_err later = {0};
        pc_state_list_remove(op->state.bad, &op->state.nbad, bad);
        (void)pc_state_save(&op->state, op->state_path, &later);
    }
    if (st == PC_OK && rolled_back) {
        *rolled_back = bad;
        bad = NULL;
    }
    free(bad);
    free(dest);
    return st;
}

static bool pending_now(const pc_op *op)
{
    return op->current && is(op->state.pending, op->current);
}

pc_status pc_client_start_run(pc_client *c, unsigned max_attempts, unsigned flags,
                              char **rolled_back, pc_hold **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (rolled_back)
        *rolled_back = NULL;
    if (out == NULL || max_attempts == 0)
        return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: %s",
                       out ? "max_attempts is 0" : "no place for the hold");
    *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    char *run = NULL;
    if (st == PC_OK && op.state.staged) {
        pc_err keep = c->err;
        if (apply_staged(&op, NULL) != PC_OK) /* a start is not held up by it */
            c->err = keep;
        free(op.current);
        op.current = op.state.current ? strdup(op.state.current) : NULL;
    }
    if (st == PC_OK && pending_now(&op) && op.state.attempts >= max_attempts &&
        roll_back_bad(&op, rolled_back) != PC_OK)
        st = PC_OK; /* nothing to go back to: the start goes on, counted */
    if (st == PC_OK && pending_now(&op)) {
        /* Bounded: with nothing to roll back to, starts go on. */
        if (op.state.attempts < PC_STATE_ATTEMPTS_MAX)
            op.state.attempts++;
        st = pc_state_save(&op.state, op.state_path, &c->err);
    }
    if (st == PC_OK && op.state.current && (run = strdup(op.state.current)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    pc_op_end(&op);
    /* A root this user cannot write, or an update under way: the program
     * starts all the same, without accounting. */
    if (st == PC_ERR_PERMISSION || st == PC_ERR_BUSY)
        st = PC_OK;
    if (st == PC_OK)
        st = pc_client_hold_version(c, run, flags, out);
    free(run);
    return st;
}

pc_status pc_client_end_run(pc_client *c, const char *version, int healthy,
                            unsigned max_attempts, char **rolled_back)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (rolled_back)
        *rolled_back = NULL;
    if (version == NULL || max_attempts == 0)
        return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: no version or max_attempts");
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    if (st == PC_OK && healthy > 0) {
        st = mark_good(&op, version);
    } else if (st == PC_OK && healthy < 0) {
        /* Stopped from outside: this start, counted when it began, is not. */
        if (pending_now(&op) && is(version, op.current) && op.state.attempts > 0) {
            op.state.attempts--;
            st = pc_state_save(&op.state, op.state_path, &c->err);
        }
    } else if (st == PC_OK && pending_now(&op) && is(version, op.current) &&
               op.state.attempts >= max_attempts) {
        st = roll_back_bad(&op, rolled_back);
    }
    pc_op_end(&op);
    return st;
}
