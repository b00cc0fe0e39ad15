/* update.c — the operations of the public API that change or read the
 * install root: check and update (plan, stage, then the atomic switch of
 * ROOT/current), rollback, repair and status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hold.h"
#include "object.h"
#include "plan.h"
#include "stage.h"
#include "treecheck.h"
#include "update.h"

/* ---- the switch ---------------------------------------------------------- */

/* Keep the newest `keep` installed versions, never current or previous,
 * nor a version a running program holds (it is left for a later update).
 * true when it removed one (the state then changed). */
static bool prune(pc_op *op)
{
    size_t before = op->state.ninstalled;
    unsigned keep = op->c->keep_versions ? op->c->keep_versions : 2;
    for (size_t i = 0; op->state.ninstalled > keep && i < op->state.ninstalled;) {
        const char *v = op->state.installed[i];
        int claim;
        if ((op->state.current && !strcmp(v, op->state.current)) ||
            (op->state.previous && !strcmp(v, op->state.previous)) ||
            (op->state.staged && !strcmp(v, op->state.staged)) ||
            (op->state.last_good && !strcmp(v, op->state.last_good)) ||
            !pc_hold_claim(&op->lay, v, &claim)) {
            i++;
            continue;
        }
        char name[80];
        snprintf(name, sizeof name, "%s.json", v);
        char *dir = pc_layout_path(&op->lay, "versions", v, NULL);
        char *man = pc_layout_path(&op->lay, "manifests", name, NULL);
        pc_err scratch = {0};
        if (dir)
            pc_rmtree(dir, &scratch);
        if (man)
            unlink(man);
        free(dir);
        free(man);
        pc_hold_drop(&op->lay, v, claim);
        char *copy = strdup(v);
        pc_state_remove_installed(&op->state, copy ? copy : v);
        free(copy);
    }
    return op->state.ninstalled != before;
}

/* Remove installed version v (folder, manifest, hold, state entry) unless
 * it is current, previous, the last good one or held: a staged version
 * that will never be switched to. */
static void discard(pc_op *op, const char *v)
{
    int claim;
    if ((op->state.current && !strcmp(v, op->state.current)) ||
        (op->state.previous && !strcmp(v, op->state.previous)) ||
        (op->state.last_good && !strcmp(v, op->state.last_good)) ||
        !pc_hold_claim(&op->lay, v, &claim))
        return;
    char name[80];
    snprintf(name, sizeof name, "%s.json", v);
    char *dir = pc_layout_path(&op->lay, "versions", v, NULL);
    char *man = pc_layout_path(&op->lay, "manifests", name, NULL);
    pc_err scratch = {0};
    if (dir)
        pc_rmtree(dir, &scratch);
    if (man)
        unlink(man);
    free(dir);
    free(man);
    pc_hold_drop(&op->lay, v, claim);
    char *copy = strdup(v);
    pc_state_remove_installed(&op->state, copy ? copy : v);
    free(copy);
}

pc_status pc_update_unstage(pc_op *op)
{
    char *v = op->state.staged;
    if (v == NULL)
        return PC_OK;
    op->state.staged = NULL;
    pc_status st = pc_state_save(&op->state, op->state_path, &op->c->err);
    if (st == PC_OK) {
        discard(op, v);
        st = pc_state_save(&op->state, op->state_path, &op->c->err);
        free(v);
    } else {
        op->state.staged = v;
    }
    return st;
}

/* The state's lifecycle after a switch to `to` (docs/guide.md, "Releasing
 * safely"): the first install is good by definition, a version installed
 * by an update is pending until marked good, and the version it replaced is
 * the last good one (unless it failed a start itself); a staged version is
 * spent (switched to) or stale (another switch), and goes. */
static pc_status note_switch(pc_op *op, const char *to, bool by_update, pc_err *e)
{
    pc_status st = PC_OK;
    char *stale = op->state.staged && strcmp(op->state.staged, to) ? strdup(op->state.staged)
                                                                    : NULL;
    bool cur_pending = op->state.pending && op->current && !strcmp(op->state.pending, op->current);
    bool known_good = op->state.last_good && !strcmp(op->state.last_good, to);
    if ((st = pc_state_set(&op->state.staged, NULL, e)) != PC_OK)
        goto out;
    if (by_update && op->current && !known_good) {
        /* The version updated from is the way back, unless it is itself
         * pending and failed a start: then the last good one stays. */
        if (!cur_pending || op->state.attempts == 0)
            st = pc_state_set(&op->state.last_good, op->current, e);
        if (st == PC_OK)
            st = pc_state_set(&op->state.pending, to, e);
        op->state.attempts = 0;
    } else if (by_update && !op->current) {
        if ((st = pc_state_set(&op->state.last_good, to, e)) == PC_OK)
            st = pc_state_set(&op->state.pending, NULL, e);
    } else {
        st = pc_state_set(&op->state.pending, NULL, e);
    }
out:
    if (stale) {
        /* previous and current are updated by the caller before this */
        discard(op, stale);
        free(stale);
    }
    return st;
}

pc_status pc_update_switch(pc_op *op, const char *to, uint64_t transferred, const char *action,
                           bool by_update)
{
    pc_err *e = &op->c->err;
    pc_status st = pc_hold_create(&op->lay, to, e);
    if (st == PC_OK)
        st = pc_layout_switch(&op->lay, to, e);
    if (st != PC_OK)
        return st;
    /* From here the new version is current: the update has happened and is
     * reported so. The state follows; should writing it fail (a full disk),
     * the next operation rewrites it from the link (pc_op_begin), and the
     * old versions are pruned then. */
    pc_err later = {0};
    if (pc_state_set(&op->state.previous, op->current, &later) ||
        pc_state_set(&op->state.current, to, &later) ||
        pc_state_add_installed(&op->state, to, &later) ||
        note_switch(op, to, by_update, &later) ||
        pc_state_log(&op->state, action, op->current, to, transferred, &later))
        return PC_OK;
    /* Old versions go only once the state saying so is on disk. */
    if (pc_state_save(&op->state, op->state_path, &later) == PC_OK && prune(op))
        (void)pc_state_save(&op->state, op->state_path, &later);
    /* What was downloaded is now in the version: the cache keeps partial
     * and failed downloads between runs, not the files of past updates. */
    static const char *const kept[] = {"objects", "patches", "meta"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        char *dir = pc_layout_path(&op->lay, "cache", kept[i], NULL);
        if (dir)
            (void)pc_rmtree(dir, &later);
        free(dir);
    }
    return PC_OK;
}

/* Install the planned version's folder (stage: the applied tree; NULL: it
 * is installed already) and switch to it, or with stage_only record it as
 * staged, discarding a version staged before. */
static pc_status commit(pc_op *op, pc_plan *p, const char *stage, uint64_t transferred,
                        const char *action, bool stage_only)
{
    pc_err *e = &op->c->err;
    /* The last moment a cancel (from the progress callback of this step,
     * or another thread) is honoured: after it, the switch happens. */
    pc_op_progress(op, "switch", p->to, 0, 0);
    if (__atomic_load_n(&op->c->cancel, __ATOMIC_SEQ_CST))
        return pc_fail(e, PC_ERR_CANCELLED, "update cancelled before the switch: %s is still "
                       "current", op->current ? op->current : "nothing");
    char name[80];
    snprintf(name, sizeof name, "%s.json", p->to);
    char *man = pc_layout_path(&op->lay, "manifests", name, NULL);
    if (man == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_write_file_atomic(man, p->target_text, p->target_len, 0644, e);
    free(man);
    if (st == PC_OK && stage)
        st = pc_layout_commit_version(&op->lay, stage, p->to, e);
    if (st != PC_OK || !stage_only)
        return st != PC_OK ? st : pc_update_switch(op, p->to, transferred, action, true);
    /* Staged: installed beside the current version, switched to later. */
    char *old = op->state.staged && strcmp(op->state.staged, p->to) ? strdup(op->state.staged)
                                                                     : NULL;
    if ((st = pc_hold_create(&op->lay, p->to, e)) == PC_OK &&
        (st = pc_state_add_installed(&op->state, p->to, e)) == PC_OK &&
        (st = pc_state_set(&op->state.staged, p->to, e)) == PC_OK &&
        (st = pc_state_log(&op->state, "stage", op->current, p->to, transferred, e)) == PC_OK &&
        (st = pc_state_save(&op->state, op->state_path, e)) == PC_OK && old) {
        discard(op, old);
        st = pc_state_save(&op->state, op->state_path, e);
    }
    free(old);
    return st;
}

/* ---- public operations ------------------------------------------------------ */

static pc_status check_and_fix(pc_op *op, const char *v, const pc_manifest *m, unsigned *nbad,
                               unsigned *fixed);

/* Target version still installed with the planned manifest (an update back
 * to a version kept by --keep, or held by a running program; the plan read
 * its manifest from the install root): its folder is checked and put right
 * in place, never replaced, so a program running from it keeps its files. */
static bool installed_as_planned(pc_op *op, const pc_plan *p)
{
    bool listed = false;
    for (size_t i = 0; i < op->state.ninstalled && !listed; i++)
        listed = !strcmp(op->state.installed[i], p->to);
    if (!listed || !p->target_installed)
        return false;
    char *dir = pc_layout_path(&op->lay, "versions", p->to, NULL);
    struct stat sb;
    bool there = dir && lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(dir);
    return there;
}

/* The damaged local files an update downloaded whole, into info (as many
 * as memory allows: the update itself has happened). */
static void list_refetched(const pc_plan *p, const bool *refetched, pc_update_info *info)
{
    size_t n = 0;
    for (size_t i = 0; i < p->target->nfiles; i++)
        n += refetched[i];
    if (n == 0 || (info->refetched = calloc(n, sizeof *info->refetched)) == NULL)
        return;
    for (size_t i = 0; i < p->target->nfiles; i++)
        if (refetched[i] &&
            (info->refetched[info->nrefetched] = strdup(p->target->files[i].path)) != NULL)
            info->nrefetched++;
}

static pc_status run(pc_client *c, const char *version, bool apply, bool stage_only,
                     pc_update_info **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (out)
        *out = NULL;
    pc_op op;
    pc_plan p = {0};
    pc_status st = pc_op_begin(&op, c, apply ? PC_OP_CREATE : PC_OP_READ);
    op.nsteps = apply ? 4 : 1;
    op.step = 1;
    if (st == PC_OK)
        st = pc_op_fetch_repo(&op);
    if (st == PC_OK)
        st = pc_plan_make(&op, version, &p);
    /* A version staged before that this update would not choose now (since
     * withdrawn, skipped, no longer rolled out here, or the channel moved
     * on): never switched to at the next start. */
    if (st == PC_OK && apply && op.state.staged && strcmp(op.state.staged, p.to))
        st = pc_update_unstage(&op);
    bool *refetched = NULL;
    bool moving = st == PC_OK && apply && !(p.from && !strcmp(p.from, p.to));
    if (moving && stage_only && op.state.staged && !strcmp(op.state.staged, p.to) &&
        installed_as_planned(&op, &p)) {
        moving = false; /* staged already: checked again when switched to */
        p.download = 0;
    }
    if (moving && installed_as_planned(&op, &p)) {
        unsigned nbad = 0, fixed = 0;
        op.step = 3;
        st = check_and_fix(&op, p.to, p.target, &nbad, &fixed);
        op.step = 4;
        if (st == PC_OK)
            st = commit(&op, &p, NULL, 0, p.from ? "update" : "install", stage_only);
        p.download = 0;
        moving = false;
    }
    if (moving) {
        uint64_t transferred = 0;
        char *stage = pc_layout_path(&op.lay, "staging", p.to, NULL);
        refetched = calloc(p.target->nfiles ? p.target->nfiles : 1, sizeof *refetched);
        if (stage == NULL || refetched == NULL)
            st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        op.step = 2;
        if (st == PC_OK)
            st = pc_stage_download(&op, &p, NULL, &transferred);
        op.step = 3;
        if (st == PC_OK)
            st = pc_stage_apply(&op, &p, stage, refetched, &transferred);
        op.step = 4;
        if (st == PC_OK)
            st = commit(&op, &p, stage, transferred, p.from ? "update" : "install", stage_only);
        if (st != PC_OK && stage) {
            pc_err scratch = {0};
            pc_rmtree(stage, &scratch);
        }
        free(stage);
        p.download = transferred;
    }
    if (st == PC_OK && out)
        st = pc_plan_info(&op, &p, out);
    if (st == PC_OK && out && refetched)
        list_refetched(&p, refetched, *out);
    free(refetched);
    pc_plan_free(&p);
    pc_op_end(&op);
    return st;
}

pc_status pc_client_check(pc_client *c, const char *version, pc_update_info **out)
{
    return run(c, version, false, false, out);
}

pc_status pc_client_update(pc_client *c, const char *version, pc_update_info **out)
{
    return run(c, version, true, false, out);
}

pc_status pc_client_stage(pc_client *c, const char *version, pc_update_info **out)
{
    if (c && c->root == NULL)
        return pc_fail(&c->err, PC_ERR_INVALID, "no install root set");
    return run(c, version, true, true, out);
}

/* Put right every damaged entry of installed version v (damage from
 * pc_tree_check): folders, links and modes in place, files from their
 * objects, downloaded and checked. *fixed counts the entries. */
static pc_status fix_version(pc_op *op, const char *v, const pc_manifest *m,
                             const unsigned char *damage, unsigned *fixed)
{
    pc_client *c = op->c;
    char *vdir = pc_layout_path(&op->lay, "versions", v, NULL);
    char *dir = pc_layout_path(&op->lay, "cache", "objects", NULL);
    size_t nobj = 0;
    pc_fetch_item *items = calloc(m->nfiles ? m->nfiles : 1, sizeof *items);
    char (*rels)[PC_SITE_PATH_MAX] = calloc(m->nfiles ? m->nfiles : 1, sizeof *rels);
    pc_status st = PC_OK;
    if (!vdir || !dir || !items || !rels)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    /* Folders first (the manifest lists a folder before what is in it),
     * with links and modes; the files' objects are gathered meanwhile. */
    for (size_t i = 0; st == PC_OK && i < m->nfiles; i++) {
        const pc_file_entry *f = &m->files[i];
        if (damage[i] == PC_TREE_OK)
            continue;
        if (f->type != PC_FT_FILE || damage[i] == PC_TREE_MODE) {
            if ((st = pc_tree_fix(vdir, f, (pc_tree_damage)damage[i], &c->err)) == PC_OK)
                (*fixed)++;
            continue;
        }
        pc_site_object_path(f->sha256, rels[nobj]);
        items[nobj] = (pc_fetch_item){.rel = rels[nobj], .size = f->object_size};
        memcpy(items[nobj].sha256, f->object_sha256, 32);
        if ((items[nobj].dest = pc_stage_cache_object(op, f->sha256)) == NULL)
            st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        nobj++;
    }
    pc_err ignored = {0};
    if (st == PC_OK && nobj) {
        (void)pc_mkdirs(dir, false, &ignored);
        st = pc_fetch_files(&op->fo, items, nobj, &c->err);
    }
    for (size_t i = 0; st == PC_OK && i < m->nfiles; i++) {
        const pc_file_entry *f = &m->files[i];
        if (damage[i] == PC_TREE_OK || f->type != PC_FT_FILE || damage[i] == PC_TREE_MODE)
            continue;
        if ((st = pc_tree_clear(vdir, f, &c->err)) == PC_OK &&
            (st = pc_stage_restore(op, v, f, &c->err)) == PC_OK)
            (*fixed)++;
    }
    for (size_t i = 0; i < nobj; i++)
        free((char *)items[i].dest);
    free(items);
    free(rels);
    free(vdir);
    free(dir);
    return st;
}

/* Check installed version v's whole tree and put right what differs. */
static pc_status check_and_fix(pc_op *op, const char *v, const pc_manifest *m, unsigned *nbad,
                               unsigned *fixed)
{
    unsigned char *damage = calloc(m->nfiles ? m->nfiles : 1, 1);
    char *vdir = pc_layout_path(&op->lay, "versions", v, NULL);
    pc_status st = damage && vdir ? PC_OK : pc_fail(&op->c->err, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        st = pc_tree_check(vdir, m, damage, nbad, &op->c->err);
    if (st == PC_OK && *nbad)
        st = fix_version(op, v, m, damage, fixed);
    free(damage);
    free(vdir);
    return st;
}

pc_status pc_update_check_fix(pc_op *op, const char *v, const pc_manifest *m, unsigned *nbad,
                              unsigned *fixed)
{
    return check_and_fix(op, v, m, nbad, fixed);
}

pc_status pc_update_roll(pc_op *op, const char *to, const char *action, pc_update_info **out)
{
    pc_client *c = op->c;
    pc_manifest *m = pc_op_local_manifest(op, to);
    pc_status st = PC_OK;
    if (m == NULL)
        return pc_fail(&c->err, PC_ERR_STATE, "version %s is no longer installed", to);
    /* The version switched to is whole: what was damaged in it is put
     * right first (a download for a file's content), or nothing switches. */
    unsigned nbad = 0, fixed = 0;
    if ((st = check_and_fix(op, to, m, &nbad, &fixed)) != PC_OK)
        pc_fail_prefix(&c->err, "version %s has %u damaged entr%s, not switching to it: ", to,
                       nbad, nbad == 1 ? "y" : "ies");
    char *from = NULL, *dest = NULL;
    if (st == PC_OK && (!(from = strdup(op->current)) || !(dest = strdup(to))))
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    /* Everything that can fail for want of memory before the switch: after
     * it, the rollback has happened and is reported so. */
    pc_update_info *info = NULL;
    if (st == PC_OK && out && (info = calloc(1, sizeof *info)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        st = pc_layout_switch(&op->lay, dest, &c->err);
    if (st == PC_OK) {
        /* The state follows best effort; the next operation rewrites it
         * from the link should this fail (a full disk). A version rolled
         * back to is not pending, and a staged one is stale. */
        pc_err later = {0};
        char *stale = op->state.staged && strcmp(op->state.staged, dest)
                          ? strdup(op->state.staged) : NULL;
        if (!pc_state_set(&op->state.current, dest, &later) &&
            !pc_state_set(&op->state.previous, from, &later) &&
            !pc_state_set(&op->state.pending, NULL, &later) &&
            !pc_state_set(&op->state.staged, NULL, &later) &&
            !pc_state_log(&op->state, action, from, dest, 0, &later) &&
            pc_state_save(&op->state, op->state_path, &later) == PC_OK && stale) {
            discard(op, stale);
            (void)pc_state_save(&op->state, op->state_path, &later);
        }
        free(stale);
        if (info) {
            info->from = from;
            info->to = dest;
            info->rollout_bucket = -1;
            from = dest = NULL;
            *out = info;
            info = NULL;
        }
    }
    free(info);
    free(from);
    free(dest);
    pc_manifest_free(m);
    return st;
}

pc_status pc_client_rollback(pc_client *c, pc_update_info **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (out)
        *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    const char *prev = op.state.previous;
    if (st == PC_OK && (prev == NULL || op.current == NULL))
        st = pc_fail(&c->err, PC_ERR_STATE, "no previous version to roll back to");
    if (st == PC_OK) {
        char *to = strdup(prev);
        st = to ? pc_update_roll(&op, to, "rollback", out)
                : pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        if (st != PC_OK && !strncmp(c->err.msg, "version ", 8))
            pc_fail_prefix(&c->err, "previous ");
        free(to);
    }
    pc_op_end(&op);
    return st;
}

pc_status pc_client_repair(pc_client *c, unsigned *fixed)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    if (fixed)
        *fixed = 0;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_CHANGE);
    op.step = op.nsteps = 1;
    pc_manifest *m = NULL;
    if (st == PC_OK && op.current == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "nothing is installed");
    if (st == PC_OK && (m = pc_op_local_manifest(&op, op.current)) == NULL)
        st = pc_fail(&c->err, PC_ERR_STATE, "the manifest of %s is missing", op.current);
    unsigned nbad = 0, done = 0;
    if (st == PC_OK)
        st = check_and_fix(&op, op.current, m, &nbad, &done);
    if (fixed)
        *fixed = done;
    if (st == PC_OK && nbad &&
        !(st = pc_state_log(&op.state, "repair", op.current, op.current, 0, &c->err)))
        st = pc_state_save(&op.state, op.state_path, &c->err);
    pc_manifest_free(m);
    pc_op_end(&op);
    return st;
}

/* A copy of v (NULL stays NULL); false when out of memory. */
static bool dup_or_null(char **dst, const char *v)
{
    *dst = v ? strdup(v) : NULL;
    return v == NULL || *dst != NULL;
}

static pc_install_state *install_state_of(const pc_op *op)
{
    pc_install_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    bool ok = dup_or_null(&s->current, op->current) &&
              dup_or_null(&s->previous, op->state.previous) &&
              (s->installed = calloc(op->state.ninstalled ? op->state.ninstalled : 1,
                                     sizeof *s->installed)) != NULL;
    for (size_t i = 0; ok && i < op->state.ninstalled; i++)
        ok = (s->installed[s->ninstalled++] = strdup(op->state.installed[i])) != NULL;
    ok = ok && (s->held = calloc(op->state.ninstalled ? op->state.ninstalled : 1,
                                 sizeof *s->held)) != NULL;
    for (size_t i = 0; ok && i < op->state.ninstalled; i++)
        if (pc_hold_is_held(&op->lay, op->state.installed[i]))
            ok = (s->held[s->nheld++] = strdup(op->state.installed[i])) != NULL;
    s->last_serial = op->state.last_serial;
    s->root_version = op->state.root_version ? op->state.root_version : op->c->trust.version;
    s->busy = op->lay.writer_busy;
    ok = ok && dup_or_null(&s->staged, op->state.staged) &&
         dup_or_null(&s->pending, op->state.pending) &&
         dup_or_null(&s->last_good, op->state.last_good) &&
         (s->bad = calloc(op->state.nbad + 1, sizeof *s->bad)) != NULL &&
         (s->skipped = calloc(op->state.nskipped + 1, sizeof *s->skipped)) != NULL;
    for (size_t i = 0; ok && i < op->state.nbad; i++)
        ok = (s->bad[s->nbad++] = strdup(op->state.bad[i])) != NULL;
    for (size_t i = 0; ok && i < op->state.nskipped; i++)
        ok = (s->skipped[s->nskipped++] = strdup(op->state.skipped[i])) != NULL;
    s->attempts = op->state.pending ? op->state.attempts : 0;
    s->rollout_bucket = op->state.install_id ? pc_release_bucket(op->state.install_id) : -1;
    if (!ok) {
        pc_client_status_free(s);
        return NULL;
    }
    return s;
}

pc_status pc_client_status(pc_client *c, pc_install_state **out)
{
    if (c == NULL || out == NULL)
        return c ? pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: no place for the status")
                 : PC_ERR_INVALID;
    *out = NULL;
    pc_op op;
    pc_status st = pc_op_begin(&op, c, PC_OP_READ);
    if (st == PC_OK && (*out = install_state_of(&op)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    pc_op_end(&op);
    return st;
}

void pc_client_status_free(pc_install_state *s)
{
    if (s == NULL)
        return;
    free(s->current);
    free(s->previous);
    for (size_t i = 0; i < s->ninstalled; i++)
        free(s->installed[i]);
    free(s->installed);
    for (size_t i = 0; i < s->nheld; i++)
        free(s->held[i]);
    free(s->held);
    free(s->staged);
    free(s->pending);
    free(s->last_good);
    for (size_t i = 0; i < s->nbad; i++)
        free(s->bad[i]);
    free(s->bad);
    for (size_t i = 0; i < s->nskipped; i++)
        free(s->skipped[i]);
    free(s->skipped);
    free(s);
}
