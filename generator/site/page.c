/* page.c — write the files of site-template/ into a site: the values of the
 * human page from repo.json, the cache rules from rules.tsv. */
#include "page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "jsonv.h"
#include "route.h"

/* At most this many older versions are listed under each version: the page
 * stays small on sites with thousands of versions (repo.json has them all). */
#define PAGE_MAX_FROM 20

static void size_txt(uint64_t n, char out[32])
{
    if (n >= 1000000000)
        snprintf(out, 32, "%.2f GB", (double)n / 1e9);
    else if (n >= 1000000)
        snprintf(out, 32, "%.1f MB", (double)n / 1e6);
    else if (n >= 1000)
        snprintf(out, 32, "%.1f kB", (double)n / 1e3);
    else
        snprintf(out, 32, "%llu B", (unsigned long long)n);
}

static void set_size(pc_tctx *c, uint64_t n)
{
    char sz[32];
    size_txt(n, sz);
    pc_tctx_set(c, "size", sz);
    pc_tctx_setf(c, "bytes", "%llu", (unsigned long long)n);
}

static void set_full(pc_tctx *c, const pc_version_info *v)
{
    char sz[32], t[21];
    size_txt(v->full_bytes, sz);
    pc_tctx_set(c, "full_size", sz);
    pc_tctx_setf(c, "full_bytes", "%llu", (unsigned long long)v->full_bytes);
    pc_format_time(v->released, t);
    pc_tctx_setf(c, "released", "%.10s", t);
    pc_tctx_set(c, "released_iso", t);
}

/* "2025-06-01 12:00 UTC" */
static void set_time(pc_tctx *c, const char *name, int64_t when)
{
    char t[21];
    pc_format_time(when, t);
    pc_tctx_setf(c, name, "%.10s %.5s UTC", t, t + 11);
}

/* "2026-12-10", or "2026-12-10 14:00 UTC" when not at midnight. */
static void day_txt(int64_t when, char out[32])
{
    char t[21];
    pc_format_time(when, t);
    if (!strcmp(t + 11, "00:00:00Z"))
        snprintf(out, 32, "%.10s", t);
    else
        snprintf(out, 32, "%.10s %.5s UTC", t, t + 11);
}

/* A percentage rounded down to a tenth: 99.96 shows as 99.9, never as 100. */
static void percent_txt(double p, char out[16])
{
    double t = floor(p * 10.0 + 1e-9) / 10.0;
    snprintf(out, 16, t == floor(t) ? "%.0f" : "%.1f", t);
}

/* A version's release settings (all names set, empty when unset). The
 * rollout is shown as it stands at `now`, the build: the page is static. */
static void set_release(pc_tctx *vc, const pc_version_info *v, int64_t now)
{
    const pc_release_policy *rp = &v->release;
    pc_tctx_set(vc, "withdrawn", rp->withdrawn ? "1" : "");
    pc_tctx_set(vc, "withdrawn_reason", rp->withdrawn_reason);
    pc_tctx_set(vc, "critical", rp->critical ? "1" : "");
    pc_tctx_set(vc, "minimum_version", rp->minimum_version);
    pc_tctx_set(vc, "rollout", "");
    pc_tctx_set(vc, "rollout_detail", "");
    if (!rp->has_rollout)
        return;
    char pct[16], start_pct[16], start[32], end[32], detail[128] = "";
    percent_txt(pc_release_percent(rp, v->released, now), pct);
    percent_txt(rp->percent, start_pct);
    int64_t from = rp->start ? rp->start : v->released;
    day_txt(from, start);
    day_txt(from + (int64_t)rp->ramp, end);
    if (rp->start && now < rp->start)
        snprintf(detail, sizeof detail, "starts at %s %% on %s%s%s", start_pct, start,
                 rp->ramp ? ", ramp to 100 % by " : "", rp->ramp ? end : "");
    else if (rp->ramp && now < from + (int64_t)rp->ramp)
        snprintf(detail, sizeof detail, "ramp to 100 %% by %s", end);
    else if (rp->ramp)
        snprintf(detail, sizeof detail, "ramp to 100 %% completed on %s", end);
    pc_tctx_set(vc, "rollout", pct);
    pc_tctx_set(vc, "rollout_detail", detail);
}

/* The rows "update to v from each older version": the cheapest chain of
 * patches, as the client's planner chooses it. */
static pc_status add_updates(pc_tctx *vc, const pc_repo *r, size_t to, const pc_route_edge *g,
                             size_t ng, size_t *path, unsigned max_hops, pc_err *e)
{
    const pc_version_info *v = &r->versions[to];
    size_t first = to > PAGE_MAX_FROM ? to - PAGE_MAX_FROM : 0;
    pc_tctx_list(vc, "updates");
    pc_tctx_set(vc, "has_updates", to > 0 ? "1" : "");
    if (first > 0)
        pc_tctx_setf(vc, "older_unlisted", "%zu", first);
    else
        pc_tctx_set(vc, "older_unlisted", "");
    for (size_t from = to; from-- > first;) {
        pc_tctx *u = pc_tctx_item(vc, "updates");
        pc_tctx_set(u, "from", r->versions[from].name);
        unsigned hops = 0;
        uint64_t cost = 0;
        pc_err re = {0};
        pc_status st = pc_route_find(r->nversions, g, ng, from, to, max_hops, path, &hops,
                                     &cost, &re);
        if (st != PC_OK && st != PC_ERR_NOT_FOUND)
            return pc_fail(e, st, "%s", re.msg);
        if (st == PC_ERR_NOT_FOUND || cost >= v->full_bytes) {
            set_size(u, v->full_bytes);
            pc_tctx_set(u, "saving", "");
            pc_tctx_set(u, "route", st == PC_ERR_NOT_FOUND ? "no patch chain" : "patches are not smaller");
            continue;
        }
        set_size(u, cost);
        /* Rounded down: 99.96 % shows as 99.9, never as 100. */
        double permille = floor(1000.0 * (double)(v->full_bytes - cost) / (double)v->full_bytes);
        pc_tctx_setf(u, "saving", "%.1f", permille / 10.0);
        if (hops == 1) {
            pc_tctx_set(u, "route", "one patch");
            continue;
        }
        char route[400];
        size_t n = (size_t)snprintf(route, sizeof route, "%u patches, via", hops);
        for (unsigned k = 0; k + 1 < hops && n < sizeof route; k++)
            n += (size_t)snprintf(route + n, sizeof route - n, "%s %s", k ? " →" : "",
                                  r->versions[g[path[k]].to].name);
        pc_tctx_set(u, "route", route);
    }
    return PC_OK;
}

static pc_status page_values(pc_tctx *c, const pc_repo *r, const pc_seckey *key,
                             const char *trusted_comment, pc_err *e)
{
    pc_tctx_set(c, "product", r->product);
    pc_tctx_set(c, "generator_version", PC_VERSION_STRING);
    pc_tctx_setf(c, "serial", "%llu", (unsigned long long)r->serial);
    pc_tctx_setf(c, "nversions", "%zu", r->nversions);
    set_time(c, "created", r->created);
    set_time(c, "expires", r->expires);
    pc_tctx_set(c, "trusted_comment", trusted_comment);
    pc_tctx_set(c, "pubkey", "");
    if (key) {
        char b64[64];
        pc_pubkey pk;
        memcpy(pk.keynum, key->keynum, sizeof pk.keynum);
        memcpy(pk.pk, key->sk + 32, sizeof pk.pk);
        pc_pubkey_base64(&pk, b64, sizeof b64);
        pc_tctx_set(c, "pubkey", b64);
    }
    pc_tctx_list(c, "channels");
    for (size_t i = 0; i < r->nchannels; i++) {
        pc_tctx *ch = pc_tctx_item(c, "channels");
        pc_tctx_set(ch, "name", r->channels[i].name);
        pc_tctx_set(ch, "version", r->channels[i].version);
        const pc_version_info *v = pc_repo_version(r, r->channels[i].version, NULL);
        pc_tctx_set(ch, "withdrawn", v && v->release.withdrawn ? "1" : "");
        if (v)
            set_full(ch, v);
    }
    /* The edge graph by version index, for the routes. */
    unsigned max_hops = r->max_patch_chain_length ? r->max_patch_chain_length : 5;
    pc_route_edge *g = calloc(r->nedges ? r->nedges : 1, sizeof *g);
    size_t *path = calloc(max_hops, sizeof *path), ng = 0;
    pc_status st = g && path ? PC_OK : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == PC_OK && i < r->nedges; i++)
        if (pc_repo_version(r, r->edges[i].from, &g[ng].from) &&
            pc_repo_version(r, r->edges[i].to, &g[ng].to))
            g[ng++].bytes = r->edges[i].bytes;
    pc_tctx_list(c, "versions");
    for (size_t i = r->nversions; st == PC_OK && i-- > 0;) {
        const pc_version_info *v = &r->versions[i];
        pc_tctx *vc = pc_tctx_item(c, "versions");
        pc_tctx_set(vc, "name", v->name);
        pc_tctx_setf(vc, "files", "%llu", (unsigned long long)v->files);
        /* Notes without their final newlines (shown with white-space: pre-wrap). */
        size_t nl = v->notes ? strlen(v->notes) : 0;
        while (nl && (v->notes[nl - 1] == '\n' || v->notes[nl - 1] == '\r'))
            nl--;
        pc_tctx_setf(vc, "notes", "%.*s", (int)nl, v->notes ? v->notes : "");
        set_full(vc, v);
        set_release(vc, v, r->created);
        pc_tctx_list(vc, "channels_here");
        for (size_t k = 0; k < r->nchannels; k++)
            if (!strcmp(r->channels[k].version, v->name))
                pc_tctx_set(pc_tctx_item(vc, "channels_here"), "channel", r->channels[k].name);
        st = add_updates(vc, r, i, g, ng, path, max_hops, e);
    }
    free(g);
    free(path);
    return st;
}

/* ---- cache rules ------------------------------------------------------------ */

static bool glob_ok(const char *s, size_t n)
{
    if (n == 0 || s[0] == '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("._/-", s[i]) ||
              (s[i] == '*' && i == n - 1)))
            return false;
    return true;
}

/* A header value safe in every output: printable ASCII, nothing that quotes
 * or expands in nginx's or JSON's syntax. */
static bool value_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || strchr("\"\\${}", s[i]))
            return false;
    return true;
}

pc_status pc_page_rules(pc_tctx *c, pc_err *e)
{
    const pc_tmpl_file *f = pc_tmpl_find("rules.tsv");
    if (f == NULL)
        return pc_fail(e, PC_ERR_INVALID, "site-template/rules.tsv is not built in");
    pc_tctx_list(c, "rules");
    pc_tctx *last = NULL;
    unsigned line = 0;
    for (const char *p = f->data, *end = f->data + f->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *l = p;
        p += n + (nl != NULL);
        line++;
        if (n == 0 || l[0] == '#')
            continue;
        const char *t1 = memchr(l, '\t', n), *t2 = t1 ? memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - l)) : NULL;
        size_t gl = t1 ? (size_t)(t1 - l) : 0, cl = t2 ? (size_t)(t2 - t1 - 1) : 0;
        size_t tl = t2 ? n - (size_t)(t2 + 1 - l) : 0;
        if (!t2 || memchr(t2 + 1, '\t', tl) || !glob_ok(l, gl) || !value_ok(t1 + 1, cl) ||
            !value_ok(t2 + 1, tl))
            return pc_fail(e, PC_ERR_INVALID,
                           "site-template/rules.tsv:%u: expected GLOB<TAB>CACHE-CONTROL<TAB>CONTENT-TYPE "
                           "(a glob of letters, digits, ._/- and a final *; printable values)",
                           line);
        pc_tctx *it = pc_tctx_item(c, "rules");
        bool prefix = l[gl - 1] == '*';
        pc_tctx_setf(it, "glob", "%.*s", (int)gl, l);
        pc_tctx_setf(it, "url", "/%.*s", (int)gl, l);
        pc_tctx_setf(it, "cache_control", "%.*s", (int)cl, t1 + 1);
        pc_tctx_setf(it, "content_type", "%.*s", (int)tl, t2 + 1);
        pc_tctx_set(it, "last", "");
        /* A directory's index page is also served at the directory's URL. */
        static const char idx[] = "index.html";
        size_t il = sizeof idx - 1;
        bool is_index = gl >= il && !memcmp(l + gl - il, idx, il) && (gl == il || l[gl - il - 1] == '/');
        if (is_index)
            pc_tctx_setf(it, "dir_url", "/%.*s", (int)(gl - il), l);
        else
            pc_tctx_set(it, "dir_url", "");
        /* nginx: a regex on the end of the URL, so any path prefix works. */
        char re[300];
        size_t k = 0;
        re[k++] = '/';
        for (size_t i = 0; i < gl - prefix && k + 3 < sizeof re; i++) {
            if (l[i] == '.')
                re[k++] = '\\';
            re[k++] = l[i];
        }
        if (!prefix)
            re[k++] = '$';
        re[k] = '\0';
        pc_tctx_set(it, "nginx_regex", re);
        last = it;
    }
    pc_tctx_set(last, "last", "1");
    return PC_OK;
}

/* ---- writing ---------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

pc_status pc_page_write(const char *root, const pc_repo *r, const pc_seckey *key,
                        const char *trusted_comment, pc_err *e)
{
    pc_tctx *c = pc_tctx_new();
    if (c == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = page_values(c, r, key, trusted_comment, e);
    if (st == PC_OK)
        st = pc_page_rules(c, e);
    for (const pc_tmpl_file *f = pc_tmpl_files; st == PC_OK && f->name; f++) {
        if (!strcmp(f->name, "rules.tsv"))
            continue;
        char *text = NULL, *path = NULL;
        size_t len = f->len;
        bool tmpl = ends_with(f->name, ".in");
        if (asprintf(&path, "%s/%.*s", root, (int)(strlen(f->name) - (tmpl ? 3 : 0)), f->name) < 0) {
            st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        if (tmpl) {
            pc_tesc esc = ends_with(f->name, ".html.in")   ? PC_TESC_HTML
                          : ends_with(f->name, ".json.in") ? PC_TESC_JSON
                                                           : PC_TESC_NONE;
            st = pc_tmpl_render(f->name, f->data, f->len, c, esc, &text, &len, e);
        }
        if (st == PC_OK)
            st = pc_write_file_atomic(path, tmpl ? text : f->data, len, 0644, e);
        free(text);
        free(path);
    }
    pc_tctx_free(c);
    return st;
}
