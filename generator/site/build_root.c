/* build_root.c — the root of trust of a site (docs/format.md §13): the
 * root that repo.json names is published into SITE/roots/ only when it
 * follows the site's newest root (signed by a threshold of that root's
 * keys and of its own), and repo.json is signed only by keys the root
 * lists as repository keys, at least its threshold of them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_int.h"
#include "fileio.h"
#include "jsonv.h"

void build_free_trust(builder *b)
{
    free(b->root_json);
    free(b->root_sig);
    b->root_json = b->root_sig = NULL;
}

/* Root version v of the site, if it is there: its text, signatures and
 * model, checked against its own keys. PC_ERR_NOT_FOUND if absent. */
static pc_status site_root(builder *b, uint64_t v, char **json, char **sig, pc_root *r)
{
    char rel[64], srel[80];
    pc_root_site_path(v, rel);
    snprintf(srel, sizeof srel, "%s.minisig", rel);
    char *p = pc_site_file(&b->site, rel), *sp = pc_site_file(&b->site, srel);
    size_t len = 0, slen = 0;
    pc_err scratch = {0};
    pc_status st = PC_OK;
    if (!p || !sp)
        st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    else if ((st = pc_read_file(p, PC_ROOT_MAX_BYTES, json, &len, &scratch)) == PC_ERR_NOT_FOUND)
        st = PC_ERR_NOT_FOUND;
    else if (st != PC_OK)
        *b->e = scratch;
    else if ((st = pc_read_file(sp, PC_SIG_FILE_MAX, sig, &slen, b->e)) == PC_OK &&
             (st = pc_root_accept(NULL, *json, len, *sig, slen, r, b->e)) == PC_OK &&
             r->version != v)
        st = pc_fail(b->e, PC_ERR_FORMAT, "says version %" PRIu64, r->version);
    if (st != PC_OK && st != PC_ERR_NOT_FOUND)
        pc_fail_prefix(b->e, "%s: ", p ? p : rel);
    free(p);
    free(sp);
    return st;
}

/* The site's newest root (version 0 when it has none). */
static pc_status newest_site_root(builder *b, char **json, char **sig, pc_root *r)
{
    memset(r, 0, sizeof *r);
    *json = *sig = NULL;
    for (uint64_t v = 1; v <= 65536; v++) {
        char *j = NULL, *s = NULL;
        pc_root x;
        pc_status st = site_root(b, v, &j, &s, &x);
        if (st == PC_ERR_NOT_FOUND) {
            free(j);
            free(s);
            return PC_OK;
        }
        if (st != PC_OK) {
            free(j);
            free(s);
            return st;
        }
        free(*json);
        free(*sig);
        *json = j;
        *sig = s;
        *r = x;
    }
    return pc_fail(b->e, PC_ERR_TOO_LARGE, "%s/roots: too many root versions", b->site.root);
}

/* The --trust root, checked against the site's newest. */
static pc_status given_root(builder *b, char *site_json, char *site_sig, const pc_root *site)
{
    const char *path = b->o->trust;
    char *sp = NULL;
    size_t len = 0, slen = 0;
    pc_status st = asprintf(&sp, "%s.minisig", path) < 0 ? pc_fail(b->e, PC_ERR_NOMEM, "out of memory")
                                                         : PC_OK;
    if (st == PC_OK)
        st = pc_read_file(path, PC_ROOT_MAX_BYTES, &b->root_json, &len, b->e);
    if (st == PC_OK && (st = pc_read_file(sp, PC_SIG_FILE_MAX, &b->root_sig, &slen, b->e)) ==
                           PC_ERR_NOT_FOUND)
        pc_fail(b->e, st, "%s: not found: sign the root first (patchcast-gen root sign)", sp);
    pc_root r;
    if (st == PC_OK && (st = pc_root_accept(NULL, b->root_json, len, b->root_sig, slen, &r, b->e)))
        pc_fail_prefix(b->e, "--trust %s: ", path);
    free(sp);
    if (st != PC_OK)
        return st;
    b->root = r;
    if (site->version == 0 && r.version != 1)
        return pc_fail(b->e, PC_ERR_INVALID,
                       "--trust %s: root version %" PRIu64 ", but the site has no root metadata "
                       "yet: its first root must be version 1",
                       path, r.version);
    if (site->version > r.version)
        return pc_fail(b->e, PC_ERR_INVALID,
                       "--trust %s: root version %" PRIu64 ", but the site already has version %"
                       PRIu64 " (roots/%" PRIu64 ".root.json)",
                       path, r.version, site->version, site->version);
    if (r.version > site->version + 1)
        return pc_fail(b->e, PC_ERR_INVALID,
                       "--trust %s: root version %" PRIu64 ", but the site's newest root is "
                       "version %" PRIu64 ": publish version %" PRIu64
                       " first (versions may not be skipped)",
                       path, r.version, site->version, site->version + 1);
    if (r.version == site->version) {
        if (strcmp(site_json, b->root_json) != 0)
            return pc_fail(b->e, PC_ERR_INVALID,
                           "--trust %s: root version %" PRIu64 " differs from the one the site "
                           "has: a published root version never changes (make version %" PRIu64
                           ")",
                           path, r.version, r.version + 1);
        /* Signatures added since: kept if they still pass the step from
         * the version before (checked by build_write_root's caller). */
        b->root_publish = strcmp(site_sig, b->root_sig) != 0;
        if (b->root_publish && r.version > 1) {
            char *pj = NULL, *ps = NULL;
            pc_root prev, again;
            if ((st = site_root(b, r.version - 1, &pj, &ps, &prev)) == PC_OK &&
                (st = pc_root_accept(&prev, b->root_json, len, b->root_sig, slen, &again, b->e)))
                pc_fail_prefix(b->e, "--trust %s: ", path);
            free(pj);
            free(ps);
        }
        return st;
    }
    b->root_publish = true;
    if (site->version > 0) {
        pc_root again;
        if ((st = pc_root_accept(site, b->root_json, len, b->root_sig, slen, &again, b->e)))
            pc_fail_prefix(b->e, "--trust %s: ", path);
        (void)site_sig;
    }
    return st;
}

pc_status build_check_trust(builder *b)
{
    char *site_json = NULL, *site_sig = NULL;
    pc_root site;
    pc_status st = newest_site_root(b, &site_json, &site_sig, &site);
    if (st == PC_OK && b->o->trust) {
        st = given_root(b, site_json, site_sig, &site);
        free(site_json);
        free(site_sig);
    } else if (st == PC_OK && site.version > 0) {
        b->root = site; /* the site's newest root goes on */
        b->root_json = site_json;
        b->root_sig = site_sig;
    } else {
        free(site_json);
        free(site_sig);
    }
    if (st != PC_OK || b->root_json == NULL)
        return st;
    /* repo.json's signers: repository keys of this root, enough of them. */
    unsigned listed = 0;
    for (size_t i = 0; i < b->o->nkeys; i++) {
        pc_pubkey pk;
        memcpy(pk.keynum, b->o->keys[i].keynum, PC_KEYNUM_LEN);
        memcpy(pk.pk, b->o->keys[i].sk + 32, PC_PK_LEN);
        if (pc_keyset_find(&b->root.repo, &pk) < 0) {
            char id[17];
            pc_keyid_hex(pk.keynum, id);
            return pc_fail(b->e, PC_ERR_INVALID,
                           "signing key %s (-s, number %zu) is not a repository key of root "
                           "version %" PRIu64,
                           id, i + 1, b->root.version);
        }
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= !memcmp(b->o->keys[j].keynum, pk.keynum, PC_KEYNUM_LEN);
        listed += !dup;
    }
    if (listed < b->root.repo.threshold)
        return pc_fail(b->e, PC_ERR_INVALID,
                       "root version %" PRIu64 " needs %u repository keys to sign repo.json; "
                       "%u given (-s)",
                       b->root.version, b->root.repo.threshold, listed);
    int64_t now = b->o->now ? b->o->now : (int64_t)time(NULL);
    char exp[21];
    pc_format_time(b->root.expires, exp);
    if (now >= b->root.expires)
        return pc_fail(b->e, PC_ERR_EXPIRED,
                       "root version %" PRIu64 " expired at %s: its key holders must sign a new "
                       "root version (patchcast-gen root init --version %" PRIu64 ")",
                       b->root.version, exp, b->root.version + 1);
    if (b->root.expires - now < 30 * 86400 && !b->o->quiet)
        fprintf(stderr, "warning: root version %" PRIu64 " expires at %s: sign version %" PRIu64
                        " before then, or clients stop updating\n",
                b->root.version, exp, b->root.version + 1);
    return PC_OK;
}

pc_status build_write_root(builder *b)
{
    if (b->root_json == NULL || !b->root_publish)
        return PC_OK;
    char rel[64], srel[80];
    pc_root_site_path(b->root.version, rel);
    snprintf(srel, sizeof srel, "%s.minisig", rel);
    char *p = pc_site_file(&b->site, rel), *sp = pc_site_file(&b->site, srel);
    pc_status st = (!p || !sp) ? pc_fail(b->e, PC_ERR_NOMEM, "out of memory")
                               : pc_site_mkdirs(&b->site, rel, b->e);
    /* The signatures first: a root file is never there without them. */
    if (st == PC_OK)
        st = pc_write_file_atomic(sp, b->root_sig, strlen(b->root_sig), 0644, b->e);
    if (st == PC_OK)
        st = pc_write_file_atomic(p, b->root_json, strlen(b->root_json), 0644, b->e);
    free(p);
    free(sp);
    return st;
}
