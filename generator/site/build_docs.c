/* build_docs.c — the site build's documents: each edge's delta document
 * (a patch where it pays off, else the object), then repo.json, its
 * signature and the human page, written last so an interrupted build
 * leaves the previous site valid. */
#include "build_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "jsonv.h"
#include "page.h"
#include "publish.h"
#include "seckey.h"
#include "sha256.h"

/* ---- delta documents ----------------------------------------------------- */

/* Choose per file: the patch if it pays off, else the object. */
pc_status build_finish_edge(builder *b, edge_plan *ep)
{
    const pc_config *cfg = b->o->cfg;
    const pc_manifest *tm = &ep->to->man;
    ep->delta.from = ep->from->name;
    ep->delta.to = ep->to->name;
    ep->delta.patches = calloc(ep->n ? ep->n : 1, sizeof *ep->delta.patches);
    if (ep->delta.patches == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    bool *patched = calloc(tm->nfiles ? tm->nfiles : 1, sizeof *patched);
    if (patched == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < ep->n; k++) {
        const job *j = &b->jobs[ep->jobs[k]];
        const pc_file_entry *t = &tm->files[ep->files[k]];
        if ((double)j->patch_size > cfg->fallback_threshold * (double)t->object_size ||
            j->patch_size > cfg->max_patch_size)
            continue;
        bool dup = false;
        for (size_t q = 0; q < ep->delta.npatches && !dup; q++)
            dup = !memcmp(ep->delta.patches[q].from, j->from, 32) &&
                  !memcmp(ep->delta.patches[q].to, j->to, 32);
        patched[ep->files[k]] = true;
        if (dup)
            continue;
        pc_patch_ref *p = &ep->delta.patches[ep->delta.npatches++];
        p->path = t->path;
        memcpy(p->from, j->from, 32);
        memcpy(p->to, j->to, 32);
        p->to_size = j->to_size;
        p->size = j->patch_size;
        memcpy(p->sha256, j->patch_sha, 32);
        p->format = j->format;
        ep->bytes += j->patch_size;
    }
    /* Objects for what has neither a local copy nor a patch (each content once). */
    for (size_t i = 0; i < tm->nfiles; i++) {
        const pc_file_entry *t = &tm->files[i];
        if (t->type != PC_FT_FILE || patched[i] || build_has_content(ep->from, t->sha256))
            continue;
        bool seen = false;
        for (size_t q = 0; q < i && !seen; q++)
            seen = tm->files[q].type == PC_FT_FILE && !patched[q] &&
                   !memcmp(tm->files[q].sha256, t->sha256, 32);
        if (seen)
            continue;
        ep->bytes += t->object_size;
        ep->objects++;
    }
    free(patched);
    build_choose_release(b, ep);
    char *text;
    size_t len;
    pc_status st = pc_delta_write(&ep->delta, &text, &len, b->e);
    if (st != PC_OK)
        return st;
    pc_sha256(text, len, ep->ref.sha256);
    ep->ref.size = len;
    char relp[PC_SITE_PATH_MAX];
    pc_site_delta_path(ep->ref.sha256, relp);
    bool written;
    st = pc_site_put(&b->site, relp, text, len, &written, b->e);
    free(text);
    return st;
}

/* ---- repo.json ----------------------------------------------------------- */

pc_status build_load_previous(builder *b, pc_repo **prev)
{
    *prev = NULL;
    char *p = pc_site_file(&b->site, "repo.json");
    if (p == NULL)
        return pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
    char *text;
    size_t len;
    pc_err scratch = {0};
    if (pc_read_file(p, PC_REPO_MAX_BYTES, &text, &len, &scratch) == PC_OK) {
        if (pc_repo_parse(text, len, prev, &scratch) != PC_OK && !b->o->quiet)
            fprintf(stderr, "warning: %s is not a valid repo.json (%s); starting at serial 1\n", p,
                    scratch.msg);
        free(text);
    }
    free(p);
    return PC_OK;
}

pc_status build_write_repo(builder *b, edge_plan *eps, size_t neps, const pc_repo *prev)
{
    const pc_config *cfg = b->o->cfg;
    int64_t now = b->o->now ? b->o->now : (int64_t)time(NULL);
    pc_repo r = {0};
    r.product = cfg->product;
    r.serial = prev ? prev->serial + 1 : 1;
    r.created = now;
    r.expires = now + (int64_t)cfg->expires_seconds;
    r.max_patch_chain_length = cfg->max_patch_chain_length;
    r.fallback_threshold = cfg->fallback_threshold;
    r.versions = calloc(b->nv, sizeof *r.versions);
    r.channels = calloc(cfg->nchannels ? cfg->nchannels : 1, sizeof *r.channels);
    r.edges = calloc(neps ? neps : 1, sizeof *r.edges);
    pc_status st = PC_OK;
    if (!r.versions || !r.channels || !r.edges) {
        st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->nv; i++) {
        rel *v = &b->v[i];
        pc_version_info *vi = &r.versions[r.nversions++];
        vi->name = v->name;
        vi->parent = (char *)v->parent;
        const pc_version_info *old = prev ? pc_repo_version(prev, v->name, NULL) : NULL;
        vi->released = old ? old->released : now;
        vi->manifest = v->man_ref;
        vi->full_bytes = v->full_bytes;
        vi->files = v->files;
        vi->notes = v->notes;
        const pc_version_cfg *vc = pc_config_version(cfg, v->name);
        if (vc)
            vi->release = vc->release; /* borrowed, like the names: r is freed shallowly */
    }
    for (size_t c = 0; c < cfg->nchannels; c++) {
        const rel *newest = NULL;
        for (size_t i = 0; i < b->nv; i++)
            if (build_in_channel(b, &b->v[i], &cfg->channels[c]))
                newest = &b->v[i];
        if (newest) {
            r.channels[r.nchannels].name = cfg->channels[c].name;
            r.channels[r.nchannels++].version = newest->name;
        }
    }
    for (size_t i = 0; i < neps; i++) {
        pc_edge *ed = &r.edges[r.nedges++];
        ed->from = eps[i].from->name;
        ed->to = eps[i].to->name;
        ed->bytes = eps[i].bytes;
        ed->delta = eps[i].ref;
    }
    if (b->root_json) {
        r.root_version = b->root.version;
        r.root.size = strlen(b->root_json);
        pc_sha256(b->root_json, r.root.size, r.root.sha256);
    }
    char *text = NULL, *sig = NULL;
    size_t len;
    if ((st = pc_repo_write(&r, &text, &len, b->e)) != PC_OK)
        goto out;
    char tc[300], exp[21];
    pc_format_time(r.expires, exp);
    snprintf(tc, sizeof tc, "patchcast-repo serial:%llu product:%s expires:%s",
             (unsigned long long)r.serial, r.product, exp);
    /* One signature block per key (docs/format.md §2). */
    pc_pubkey pks[PC_ROOT_MAX_KEYS];
    size_t npk = 0, slen = 0;
    for (size_t i = 0; st == PC_OK && i < b->o->nkeys; i++) {
        bool dup = false;
        for (size_t j = 0; j < npk; j++)
            dup |= !memcmp(pks[j].keynum, b->o->keys[i].keynum, PC_KEYNUM_LEN);
        if (dup)
            continue;
        if (npk == PC_ROOT_MAX_KEYS) {
            st = pc_fail(b->e, PC_ERR_INVALID, "more than %d signing keys", PC_ROOT_MAX_KEYS);
            break;
        }
        memcpy(pks[npk].keynum, b->o->keys[i].keynum, PC_KEYNUM_LEN);
        memcpy(pks[npk].pk, b->o->keys[i].sk + 32, PC_PK_LEN);
        npk++;
        char *one = NULL;
        if ((st = pc_sign_buffer(&b->o->keys[i], text, len, tc, "signature from patchcast-gen",
                                 &one, b->e)) != PC_OK)
            break;
        size_t ol = strlen(one);
        char *grown = realloc(sig, slen + ol + 1);
        if (grown == NULL)
            st = pc_fail(b->e, PC_ERR_NOMEM, "out of memory");
        else {
            memcpy(grown + slen, one, ol + 1);
            sig = grown;
            slen += ol;
        }
        free(one);
    }
    if (st != PC_OK)
        goto out_text;
    /* The root first (the upload order, format.md §8), then repo.json and
     * its signature in three atomic steps (format.md §2), so that the pair
     * verifies at every instant: a kill or a full disk leaves the old site
     * or the new. The old repo.json's signatures are recognised by these
     * keys (after a key rotation they are not, and the old pair is then
     * not carried). */
    st = build_write_root(b);
    if (st == PC_OK)
        st = pc_publish_repo(b->site.root, text, len, sig, slen, pks, npk, b->e);
    b->res->serial = r.serial;
    if (st == PC_OK)
        st = pc_page_write(b->site.root, &r, &b->o->keys[0], tc, b->e);
out_text:
    free(text);
    free(sig);
out:
    free(r.versions);
    free(r.channels);
    free(r.edges);
    return st;
}
