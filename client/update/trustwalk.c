/* trustwalk.c — the root of trust in an operation (docs/format.md §13):
 * from the pinned root, or the newer one the state keeps, up the site's
 * roots/<v>.root.json one version at a time; then repo.json judged by the
 * newest root's repository keys. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "jsonv.h"
#include "sha256.h"
#include "op.h"

static pc_status keep_text(char **field, const char *text, size_t len, pc_err *e)
{
    char *copy = strndup(text, len);
    if (copy == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(*field);
    *field = copy;
    return PC_OK;
}

/* The pin: the hex SHA-256 of the pinned root's text. */
static void pin_of(const pc_client *c, char out[65])
{
    uint8_t sha[32];
    pc_sha256(c->trust_json, strlen(c->trust_json), sha);
    pc_hex_encode(sha, 32, out);
}

/* Where the walk starts: the root the state keeps when it grew from this
 * pin, is newer than the pinned one and still verifies against its own
 * keys; else the pinned root (the walk then checks every step again). A
 * root kept under another pin (the application re-pinned, e.g. to a new
 * chain after its root keys were lost) is forgotten: what grew from the
 * old pin no longer counts, in either direction. */
static pc_status start(pc_op *op)
{
    pc_client *c = op->c;
    pc_state *s = &op->state;
    char pin[65];
    pin_of(c, pin);
    if (s->root_version && (s->root_pin == NULL || strcmp(s->root_pin, pin) != 0))
        pc_state_forget_root(s);
    op->root = c->trust;
    const char *json = c->trust_json, *sig = c->trust_sig;
    if (s->root_version > c->trust.version && s->root_json && s->root_sig) {
        pc_root kept;
        pc_err ignored = {0};
        if (pc_root_accept(NULL, s->root_json, strlen(s->root_json), s->root_sig,
                           strlen(s->root_sig), &kept, &ignored) == PC_OK &&
            kept.version == s->root_version) {
            op->root = kept;
            json = s->root_json;
            sig = s->root_sig;
        }
    }
    pc_status st = keep_text(&op->root_json, json, strlen(json), &c->err);
    return st != PC_OK ? st : keep_text(&op->root_sig, sig, strlen(sig), &c->err);
}

/* One step of the walk: roots/<v+1> from each mirror in turn until one
 * serves a version the current root accepts. A mirror that serves a root
 * that is refused is passed over like one that is down (a hostile mirror
 * cannot stop the walk while another serves the real root); when none
 * serves one and some say it does not exist, the current root is the
 * newest (PC_ERR_NOT_FOUND). Else the first refusal, or the network error. */
static pc_status step(pc_op *op, const pc_fetch_opts *fo, pc_root *next, char **json,
                      size_t *len, char **sig, size_t *slen)
{
    pc_client *c = op->c;
    uint64_t v = op->root.version + 1;
    char rel[64], srel[80];
    pc_root_site_path(v, rel);
    snprintf(srel, sizeof srel, "%s.minisig", rel);
    bool missing = false;
    pc_err refused = {0}, other = {0};
    for (size_t m = 0; m < fo->nmirrors; m++) {
        pc_fetch_opts one = *fo;
        one.mirrors = fo->mirrors + m;
        one.nmirrors = 1;
        one.demoted = fo->demoted ? fo->demoted + m : NULL;
        pc_err e = {0};
        pc_status st = pc_fetch_buffer_if_any(&one, rel, PC_ROOT_MAX_BYTES, json, len, &e);
        if (st == PC_ERR_NOT_FOUND) {
            missing = true;
            continue;
        }
        if (st == PC_OK) {
            st = pc_fetch_buffer_if_any(&one, srel, PC_SIG_FILE_MAX, sig, slen, &e);
            if (st == PC_ERR_NOT_FOUND) /* a root no one signed is not trusted */
                st = e.code = PC_ERR_SIGNATURE;
            if (st != PC_OK)
                pc_fail_prefix(&e, "root version %" PRIu64 " has no signatures: ", v);
        }
        if (st == PC_OK && (st = pc_root_accept(&op->root, *json, *len, *sig, *slen, next, &e)) ==
                               PC_OK)
            return PC_OK;
        free(*json);
        free(*sig);
        *json = *sig = NULL;
        pc_fail_prefix(&e, "%s on %s: ", rel, fo->mirrors[m]);
        pc_err *keep = st == PC_ERR_NETWORK ? &other : &refused;
        if (keep->code == PC_OK)
            *keep = e;
    }
    /* Missing on a mirror (refused on another, maybe): nothing newer is
     * trusted, and repo.json must then be one the current root accepts. */
    if (missing)
        return PC_ERR_NOT_FOUND;
    c->err = refused.code != PC_OK ? refused : other;
    if (c->err.code == PC_OK)
        return pc_fail(&c->err, PC_ERR_NETWORK, "%s: no mirror to fetch it from", rel);
    return c->err.code;
}

pc_status pc_op_walk_roots(pc_op *op)
{
    pc_client *c = op->c;
    if (c->trust_json == NULL)
        return PC_OK;
    pc_status st = start(op);
    if (st != PC_OK)
        return st;
    op->has_root = true;
    pc_fetch_opts fo = op->fo;
    fo.progress = NULL;
    for (unsigned steps = 0;; steps++) {
        char *json = NULL, *sig = NULL;
        size_t len = 0, slen = 0;
        pc_root next = {0};
        if (steps == PC_ROOT_MAX_STEPS)
            return pc_fail(&c->err, PC_ERR_TOO_LARGE,
                           "more than %d root versions in one update (the site's newest root "
                           "is above version %" PRIu64 ")",
                           PC_ROOT_MAX_STEPS, op->root.version);
        st = step(op, &fo, &next, &json, &len, &sig, &slen);
        if (st == PC_ERR_NOT_FOUND) {
            pc_err_clear(&c->err);
            break; /* the newest root */
        }
        if (st == PC_OK && next.reset_serial && next.version > op->state.root_version) {
            op->root_reset = true;
            op->root_reset_at = next.version;
        }
        if (st == PC_OK && (st = keep_text(&op->root_json, json, len, &c->err)) == PC_OK &&
            (st = keep_text(&op->root_sig, sig, slen, &c->err)) == PC_OK)
            op->root = next;
        free(json);
        free(sig);
        if (st != PC_OK)
            return st;
    }
    if (op->root.version < op->state.root_version)
        return pc_fail(&c->err, PC_ERR_ROLLBACK,
                       "the newest root of trust the mirrors serve is version %" PRIu64
                       ", older than version %" PRIu64 " this install trusts",
                       op->root.version, op->state.root_version);
    if ((int64_t)time(NULL) >= op->root.expires) {
        char exp[21];
        pc_format_time(op->root.expires, exp);
        return pc_fail(&c->err, PC_ERR_EXPIRED,
                       "root version %" PRIu64 " expired at %s: its key holders must sign a "
                       "new root version (or this machine's clock is wrong)",
                       op->root.version, exp);
    }
    return PC_OK;
}

pc_status pc_op_verify_repo(pc_op *op, const char *json, size_t len, const char *sig,
                            size_t slen, char **tc)
{
    pc_client *c = op->c;
    op->repo_by_root = false;
    if (!op->has_root)
        return pc_client_verify_buffer(c, json, len, sig, slen, 0, tc);
    pc_status st = pc_keyset_check(&op->root.repo, "repository", sig, slen, "repo.json", json,
                                   len, tc, &c->err);
    if (st == PC_OK) {
        op->repo_by_root = true;
        return PC_OK;
    }
    /* Bare keys pinned besides the root: a site that names no root yet,
     * until this install first accepts one that does (checked once
     * parsed, pc_op_check_root_ref). */
    if (c->nkeys > 0 && op->state.root_version == 0) {
        pc_err root_err = c->err;
        if (pc_client_verify_buffer(c, json, len, sig, slen, 0, tc) == PC_OK)
            return PC_OK;
        c->err = root_err;
    }
    return st;
}

pc_status pc_op_check_root_ref(pc_op *op, const pc_repo *r)
{
    pc_client *c = op->c;
    if (!op->has_root)
        return PC_OK;
    uint64_t v = op->root.version;
    if (r->root_version == 0) {
        if (c->nkeys > 0 && op->state.root_version == 0)
            return PC_OK;
        return pc_fail(&c->err, PC_ERR_SIGNATURE,
                       "repo.json names no root of trust, but this install follows one (root "
                       "version %" PRIu64 "): refusing a site without root metadata", v);
    }
    if (!op->repo_by_root)
        return pc_fail(&c->err, PC_ERR_SIGNATURE,
                       "repo.json names root version %" PRIu64 " but is not signed by its "
                       "repository keys", r->root_version);
    /* Published before the newest root (a publish under way uploads the
     * root first): fine as long as the newest root's repository keys
     * signed it, which was checked; a revoked key's signature was not
     * counted. */
    if (r->root_version < v)
        return PC_OK;
    if (r->root_version > v)
        return pc_fail(&c->err, PC_ERR_SIGNATURE,
                       "repo.json was published under root version %" PRIu64 ", but the newest "
                       "root the mirrors serve is version %" PRIu64 " (roots/%" PRIu64
                       ".root.json is missing): refusing new metadata with an old root",
                       r->root_version, v, v + 1);
    if (!pc_hashref_matches(&r->root, op->root_json, strlen(op->root_json)))
        return pc_fail(&c->err, PC_ERR_SIGNATURE,
                       "repo.json names other content for root version %" PRIu64
                       " than the mirrors serve", v);
    return PC_OK;
}

pc_status pc_op_record_root(pc_op *op)
{
    if (!op->has_root || op->repo == NULL || op->repo->root_version == 0 ||
        op->root.version <= op->state.root_version)
        return PC_OK;
    /* A repo.json published before the resetting root (a publish under
     * way, or a mirror replaying an old one): judged by the ratchet, and
     * the root not recorded, so that the reset is not spent on it. */
    if (op->root_reset && op->repo->root_version < op->root_reset_at)
        return PC_OK;
    pc_state *s = &op->state;
    if (op->root_reset)
        s->last_serial = op->repo->serial;
    char pin[65];
    pin_of(op->c, pin);
    return pc_state_set_root(s, op->root.version, op->root_json, op->root_sig, pin,
                             op->root_reset, &op->c->err);
}
