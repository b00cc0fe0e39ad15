/* op.c — the frame of every client operation: lock, state, verified
 * metadata, and content-addressed metadata downloads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "hex.h"
#include "jsonv.h"
#include "sha256.h"
#include "sig.h"
#include "op.h"

void pc_op_progress(pc_op *op, const char *step, const char *detail, uint64_t done,
                    uint64_t total)
{
    if (op->c->progress == NULL)
        return;
    pc_progress p = {done, total, op->step, op->nsteps, step, detail ? detail : ""};
    op->c->progress(op->c->progress_ud, &p);
}

static void fetch_progress(void *ud, uint64_t done, uint64_t total)
{
    pc_op_progress(ud, "download", "", done, total);
}

static bool same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* The state after a switch to op->current it does not record yet (a kill
 * between the switch and the state write), the release lifecycle as the
 * switch left it (update.c, note_switch): a way back (to the previous or
 * last good version) is not pending; the first install is good; any other
 * switch was an update or apply-staged, and its version is pending, the one
 * it replaced the last good one unless it failed a start itself. */
static pc_status follow_link(pc_op *op)
{
    pc_state *s = &op->state;
    pc_err *e = &op->c->err;
    const char *to = op->current;
    char *was = s->current; /* owned here from now */
    s->current = NULL;
    bool back = same(to, s->previous) || same(to, s->last_good);
    bool was_failing = same(was, s->pending) && s->attempts > 0;
    pc_status st = pc_state_set(&s->current, to, e);
    if (st == PC_OK && was)
        st = pc_state_set(&s->previous, was, e);
    if (st == PC_OK)
        st = pc_state_add_installed(s, to, e);
    if (st == PC_OK && same(s->staged, to))
        st = pc_state_set(&s->staged, NULL, e);
    if (st == PC_OK && (back || !was)) {
        st = pc_state_set(&s->pending, NULL, e);
        if (st == PC_OK && !was)
            st = pc_state_set(&s->last_good, to, e);
    } else if (st == PC_OK) {
        if (!was_failing)
            st = pc_state_set(&s->last_good, was, e);
        if (st == PC_OK)
            st = pc_state_set(&s->pending, to, e);
        s->attempts = 0;
    }
    free(was);
    return st;
}

pc_status pc_op_begin(pc_op *op, pc_client *c, pc_op_mode mode)
{
    memset(op, 0, sizeof *op);
    op->c = c;
    op->lay.lock_fd = -1;
    op->readonly = mode == PC_OP_READ;
    bool create = mode == PC_OP_CREATE;
    pc_err_clear(&c->err);
    /* The cancel flag is not reset here: a pc_client_cancel() made just
     * before the operation began cancels it. pc_op_end() resets it. */
    if (c->root == NULL)
        return pc_fail(&c->err, PC_ERR_INVALID, "no install root set");
    pc_status st = pc_layout_open(&op->lay, c->root, create, &c->err);
    if (st == PC_OK)
        st = op->readonly ? pc_layout_lock_shared(&op->lay, &c->err)
                          : pc_layout_lock(&op->lay, c->wait_seconds, &c->err);
    if (st == PC_OK && (op->state_path = pc_layout_path(&op->lay, "state.json", NULL, NULL)) == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        st = pc_state_load(&op->state, op->state_path, &c->err);
    if (st == PC_OK)
        st = pc_layout_current(&op->lay, &op->current, &c->err);
    /* After a crash between the switch and the state write, the link wins. */
    if (st == PC_OK && op->current &&
        (op->state.current == NULL || strcmp(op->state.current, op->current) != 0) &&
        (st = follow_link(op)) == PC_OK && !op->readonly)
        st = pc_state_save(&op->state, op->state_path, &c->err);
    /* The install id (rollout bucket), made by the first writer: init. */
    if (st == PC_OK && !op->readonly && op->state.install_id == NULL &&
        (st = pc_state_make_install_id(&op->state, &c->err)) == PC_OK)
        st = pc_state_save(&op->state, op->state_path, &c->err);
    /* Leftovers of an interrupted run: staging is disposable. */
    if (st == PC_OK && !op->readonly) {
        char *stg = pc_layout_path(&op->lay, "staging", NULL, NULL);
        if (stg == NULL)
            return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        pc_err scratch = {0};
        if (pc_rmtree(stg, &scratch) == PC_OK && create)
            mkdir(stg, 0755);
        free(stg);
    }
    op->fo.mirrors = (const char *const *)c->repos;
    op->fo.nmirrors = c->nrepos;
    op->fo.parallel = c->parallel;
    op->fo.ca_file = c->ca_file;
    op->fo.low_speed_bytes = c->low_speed_bytes;
    op->fo.low_speed_seconds = c->low_speed_seconds;
    op->fo.progress = fetch_progress;
    op->fo.progress_ud = op;
    op->fo.cancel = &c->cancel;
    op->fo.demoted = op->demoted;
    return st;
}

/* What a reader saw is recorded after all when the root can be changed
 * at once: the serial ratchet and product pin of the state, so that a
 * later replay of older metadata is refused as after an update. The
 * state is read again under the exclusive lock, so that two readers never
 * write over each other. Busy, read-only or another user's root: skipped. */
static void record_seen(pc_op *op)
{
    pc_err ignored = {0};
    pc_layout w;
    if (op->repo == NULL || pc_layout_open(&w, op->lay.root, false, &ignored) != PC_OK)
        return;
    pc_layout_close(&op->lay); /* the shared lock: a reader cannot upgrade it */
    pc_state s = {0};
    if (pc_layout_lock(&w, 0, &ignored) == PC_OK &&
        pc_state_load(&s, op->state_path, &ignored) == PC_OK &&
        (s.product == NULL || !strcmp(s.product, op->repo->product)) &&
        (s.product == NULL || op->repo->serial > s.last_serial)) {
        if (op->repo->serial > s.last_serial)
            s.last_serial = op->repo->serial;
        if (s.product != NULL || pc_state_set(&s.product, op->repo->product, &ignored) == PC_OK)
            (void)pc_state_save(&s, op->state_path, &ignored);
    }
    pc_state_free(&s);
    pc_layout_close(&w);
}

void pc_op_end(pc_op *op)
{
    if (op->readonly && op->state_path)
        record_seen(op);
    if (op->c)
        __atomic_store_n(&op->c->cancel, 0, __ATOMIC_SEQ_CST);
    pc_repo_free(op->repo);
    pc_state_free(&op->state);
    free(op->root_json);
    free(op->root_sig);
    free(op->state_path);
    free(op->current);
    pc_layout_close(&op->lay);
}

/* "patchcast-repo serial:<n> product:<p> expires:<t>" must match the JSON. */
static pc_status check_comment(pc_op *op, const char *tc)
{
    char want[400], exp[21];
    pc_format_time(op->repo->expires, exp);
    snprintf(want, sizeof want, "patchcast-repo serial:%llu product:%s expires:%s",
             (unsigned long long)op->repo->serial, op->repo->product, exp);
    if (strcmp(tc, want) != 0)
        return pc_fail(&op->c->err, PC_ERR_SIGNATURE,
                       "repo.json: the signed comment '%.200s' does not match the document "
                       "(expected '%.200s')",
                       tc, want);
    return PC_OK;
}

/* A verified repo.json from one mirror, judged: parsed, its signed comment
 * matched, not expired, not older than what was seen before. On success
 * op->repo holds it. */
static pc_status accept_repo(pc_op *op, const char *json, size_t len, const char *tc)
{
    pc_client *c = op->c;
    pc_repo *r = NULL;
    pc_status st = pc_repo_parse(json, len, &r, &c->err);
    if (st != PC_OK)
        return st;
    pc_repo_free(op->repo);
    op->repo = r;
    if ((st = check_comment(op, tc)) != PC_OK)
        return st;
    int64_t now = (int64_t)time(NULL);
    if (now >= r->expires) {
        char exp[21];
        pc_format_time(r->expires, exp);
        return pc_fail(&c->err, PC_ERR_EXPIRED,
                       "repo.json expired at %s: the mirror serves stale metadata (or this "
                       "machine's clock is wrong)",
                       exp);
    }
    /* One root follows one product: a key that signs several cannot have
     * another product's site installed here, nor its serial recorded. */
    if (op->state.product && strcmp(r->product, op->state.product) != 0)
        return pc_fail(&c->err, PC_ERR_STATE,
                       "repo.json is the site of product '%s', but this install follows '%s' "
                       "(a mirror of another product?)",
                       r->product, op->state.product);
    if ((st = pc_op_check_root_ref(op, r)) != PC_OK)
        return st;
    /* A root crossed that resets the ratchet: a serial fast-forwarded by
     * a stolen key is forgotten (docs/format.md §13), for a repo.json
     * published under that root (or a later one) only. */
    bool reset = op->root_reset && r->root_version >= op->root_reset_at;
    if (r->serial < op->state.last_serial && !reset)
        return pc_fail(&c->err, PC_ERR_ROLLBACK,
                       "repo.json has serial %llu, older than serial %llu seen before: refusing "
                       "a replayed or rolled-back repository",
                       (unsigned long long)r->serial, (unsigned long long)op->state.last_serial);
    return PC_OK;
}

pc_status pc_op_fetch_repo(pc_op *op)
{
    pc_client *c = op->c;
    if (c->nrepos == 0)
        return pc_fail(&c->err, PC_ERR_INVALID, "no repository configured");
    if (c->nkeys == 0 && c->trust_json == NULL)
        return pc_fail(&c->err, PC_ERR_INVALID, "no public key or root of trust pinned");
    char *json = NULL, *sig = NULL, *tc = NULL;
    size_t len = 0, slen = 0, mi = 0;
    pc_status st = PC_OK;
    char refused[PC_ERRMSG_MAX] = ""; /* each mirror passed over, and why */
    pc_op_progress(op, "metadata", "repo.json", 0, 0);
    if ((st = pc_op_walk_roots(op)) != PC_OK)
        return st;
    /* Try mirrors in order; a mirror whose metadata fails verification, is
     * expired or is older than what was seen is skipped like one that is
     * down, and the error names each mirror's problem. */
    for (size_t start = 0; start < c->nrepos; start = mi + 1) {
        pc_fetch_opts fo = op->fo;
        fo.mirrors = (const char *const *)c->repos + start;
        fo.nmirrors = c->nrepos - start;
        fo.demoted = op->demoted + start;
        free(json);
        free(sig);
        free(tc);
        json = sig = tc = NULL;
        size_t used = 0;
        st = pc_fetch_buffer(&fo, "repo.json", PC_REPO_MAX_BYTES, &json, &len, &used, &c->err);
        if (st != PC_OK)
            break; /* every remaining mirror failed */
        mi = start + used;
        fo.mirrors = (const char *const *)c->repos + mi;
        fo.nmirrors = 1;
        fo.demoted = op->demoted + mi;
        st = pc_fetch_buffer(&fo, "repo.json.minisig", PC_SIG_FILE_MAX, &sig, &slen, NULL,
                             &c->err);
        if (st == PC_OK)
            st = pc_op_verify_repo(op, json, len, sig, slen, &tc);
        if (st == PC_OK)
            st = accept_repo(op, json, len, tc);
        if (st == PC_OK)
            break;
        size_t l = strlen(refused);
        if (snprintf(refused + l, sizeof refused - l, "%s%s: %s", l ? "; " : "", c->repos[mi],
                     c->err.msg) < 0)
            refused[l] = '\0';
        pc_fail_prefix(&c->err, "%s/repo.json: ", c->repos[mi]);
    }
    if (st != PC_OK) {
        pc_repo_free(op->repo);
        op->repo = NULL;
        /* Several mirrors were passed over: say what was wrong with each. */
        if (refused[0] && strchr(refused, ';'))
            pc_fail(&c->err, st, "no mirror has usable metadata: %s", refused);
        goto out;
    }
    if (op->readonly)
        goto out; /* judged against the state; recorded by the next change */
    bool pin = op->state.product == NULL;
    if (pin && (st = pc_state_set(&op->state.product, op->repo->product, &c->err)) != PC_OK)
        goto out;
    uint64_t root_before = op->state.root_version;
    if ((st = pc_op_record_root(op)) != PC_OK)
        goto out;
    if (pin || op->repo->serial > op->state.last_serial || op->state.root_version != root_before) {
        if (op->repo->serial > op->state.last_serial)
            op->state.last_serial = op->repo->serial;
        st = pc_state_save(&op->state, op->state_path, &c->err);
    }
out:
    free(json);
    free(sig);
    free(tc);
    return st;
}

pc_status pc_op_fetch_doc(pc_op *op, const char *site_rel, const pc_hashref *ref, char **text,
                          size_t *len)
{
    pc_client *c = op->c;
    if (op->readonly) {
        pc_fetch_opts fo = op->fo;
        fo.progress = NULL;
        return pc_fetch_buffer_sha(&fo, site_rel, ref->size, ref->sha256, text, len, &c->err);
    }
    char hex[65];
    pc_hex_encode(ref->sha256, 32, hex);
    char *dir = pc_layout_path(&op->lay, "cache", "meta", NULL);
    char *dest = pc_layout_path(&op->lay, "cache", "meta", hex);
    pc_status st = PC_OK;
    if (!dir || !dest) {
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    pc_err ignored = {0};
    (void)pc_mkdirs(dir, false, &ignored); /* cache/ too: it may have been deleted */
    pc_fetch_item it = {.rel = site_rel, .dest = dest, .size = ref->size};
    memcpy(it.sha256, ref->sha256, 32);
    pc_fetch_opts fo = op->fo;
    fo.progress = NULL; /* metadata: small, part of the "metadata" step */
    if ((st = pc_fetch_files(&fo, &it, 1, &c->err)) == PC_OK)
        st = pc_read_file(dest, (size_t)ref->size, text, len, &c->err);
    /* The bytes a parser will read are the ones hashed: checked again in
     * memory, so that the file cannot change between the check and here. */
    if (st == PC_OK && !pc_hashref_matches(ref, *text, *len)) {
        free(*text);
        *text = NULL;
        unlink(dest);
        st = pc_fail(&c->err, PC_ERR_HASH, "%s: changed after it was checked", dest);
    }
out:
    free(dir);
    free(dest);
    return st;
}

pc_manifest *pc_op_local_manifest(pc_op *op, const char *version)
{
    char name[80];
    snprintf(name, sizeof name, "%s.json", version);
    char *p = pc_layout_path(&op->lay, "manifests", name, NULL);
    if (p == NULL)
        return NULL;
    char *text;
    size_t len;
    pc_err scratch = {0};
    pc_manifest *m = NULL;
    if (pc_read_file(p, PC_MANIFEST_MAX_BYTES, &text, &len, &scratch) == PC_OK) {
        if (pc_manifest_parse(text, len, &m, &scratch) != PC_OK)
            m = NULL;
        free(text);
    }
    free(p);
    return m;
}
