/* cmd_verify.c — `patchcast-gen verify SITE -p PUB`: what CI runs before
 * uploading. Checks the signature, every manifest, delta, object and patch
 * by hash and size, applies every patch once, and lists problems by file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "gen_cli.h"
#include "hex.h"
#include "jsonv.h"
#include "meta.h"
#include "object.h"
#include "patch.h"
#include "patchcast.h"
#include "sha256.h"

typedef struct vctx {
    const char *site;
    char tmp[4200];
    unsigned problems, objects, patches, docs;
    uint8_t (*seen)[32]; /* objects already checked */
    size_t nseen, capseen;
} vctx;

/* True the first time a content hash is offered. */
static bool first_time(vctx *v, const uint8_t sha[32])
{
    for (size_t i = 0; i < v->nseen; i++)
        if (!memcmp(v->seen[i], sha, 32))
            return false;
    if (v->nseen == v->capseen) {
        size_t nc = v->capseen ? v->capseen * 2 : 256;
        uint8_t(*p)[32] = realloc(v->seen, nc * sizeof *p);
        if (p == NULL)
            return true;
        v->seen = p;
        v->capseen = nc;
    }
    memcpy(v->seen[v->nseen++], sha, 32);
    return true;
}

static void problem(vctx *v, const char *file, const char *msg)
{
    v->problems++;
    printf("PROBLEM %s: %s\n", file, msg);
}

static char *site_file(const vctx *v, const char *rel)
{
    size_t n = strlen(v->site) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", v->site, rel);
    return p;
}

/* Read a content-addressed document and check its hash and size. */
static char *read_doc(vctx *v, const char *rel, const pc_hashref *ref, size_t *len)
{
    char *p = site_file(v, rel), *text = NULL;
    pc_err e = {0};
    if (p && pc_read_file(p, PC_MANIFEST_MAX_BYTES, &text, len, &e) != PC_OK) {
        problem(v, rel, e.msg);
        text = NULL;
    } else if (p) {
        uint8_t h[32];
        pc_sha256(text, *len, h);
        if (*len != ref->size || memcmp(h, ref->sha256, 32)) {
            problem(v, rel, "size or SHA-256 differs from repo.json");
            free(text);
            text = NULL;
        }
        v->docs++;
    }
    free(p);
    return text;
}

/* Unpack an object to the scratch file; true if it is valid. */
static bool check_object(vctx *v, const pc_file_entry *f, bool keep)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_object_path(f->sha256, rel);
    char *p = site_file(v, rel);
    struct stat sb;
    pc_err e = {0};
    bool ok = false;
    if (p == NULL)
        return false;
    if (stat(p, &sb) != 0)
        problem(v, rel, "missing");
    else if ((uint64_t)sb.st_size != f->object_size)
        problem(v, rel, "size differs from the manifest's object_size");
    else if (pc_object_unpack_file(p, v->tmp, 0644, f->size, f->sha256, &e) != PC_OK)
        problem(v, rel, e.msg);
    else
        ok = true;
    if (!keep)
        unlink(v->tmp);
    free(p);
    return ok;
}

static const pc_file_entry *file_with(const pc_manifest *m, const uint8_t sha[32])
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].type == PC_FT_FILE && !memcmp(m->files[i].sha256, sha, 32))
            return &m->files[i];
    return NULL;
}

static const char vusage[] =
    "usage: patchcast-gen verify SITE (-p PUBKEY | -P KEY)\n"
    "\n"
    "Check a built site before uploading it: the signature of repo.json, the\n"
    "hash and size of every manifest, delta, object and patch, and that every\n"
    "patch applied to its source produces its target. Problems are listed one\n"
    "per line (PROBLEM <file>: <why>); the exit code is 1 if there is any.\n";

int gen_cmd_verify(int argc, char **argv)
{
    const char *pub = NULL, *pubkey = NULL;
    int c;
    optind = 1;
    static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "p:P:h", lo, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 'P': pubkey = optarg; break;
        case 'h': fputs(vusage, stdout); return 0;
        default: fputs(vusage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || (!pub && !pubkey)) {
        fprintf(stderr, "patchcast-gen verify: expected SITE and -p PUBKEY\n%s", vusage);
        return 2;
    }
    vctx v = {.site = argv[optind]};
    snprintf(v.tmp, sizeof v.tmp, "%s/.verify-scratch", v.site);
    char tmp2[4300];
    snprintf(tmp2, sizeof tmp2, "%s.out", v.tmp);
    pc_client_t *cl = NULL;
    pc_repo *r = NULL;
    char *json = NULL, *sig = NULL, *tc = NULL;
    size_t len, slen;
    pc_err e = {0};
    int rc = 1;
    char *rp = site_file(&v, "repo.json"), *sp = site_file(&v, "repo.json.minisig");
    if (pc_client_new(&cl) != PC_OK || !rp || !sp)
        goto out;
    pc_status st = pub ? pc_client_add_pubkey_file(cl, pub) : pc_client_add_pubkey(cl, pubkey);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen verify: %s\n", pc_client_errmsg(cl));
        goto out;
    }
    if (pc_read_file(rp, PC_REPO_MAX_BYTES, &json, &len, &e) ||
        pc_read_file(sp, 16384, &sig, &slen, &e)) {
        problem(&v, "repo.json", e.msg);
        goto report;
    }
    if (pc_client_verify_buffer(cl, json, len, sig, slen, 0, &tc) != PC_OK) {
        problem(&v, "repo.json.minisig", pc_client_errmsg(cl));
        goto report;
    }
    if (pc_repo_parse(json, len, &r, &e) != PC_OK) {
        problem(&v, "repo.json", e.msg);
        goto report;
    }
    char want[300], exp[21];
    pc_format_time(r->expires, exp);
    snprintf(want, sizeof want, "patchcast-repo serial:%llu product:%s expires:%s",
             (unsigned long long)r->serial, r->product, exp);
    if (strcmp(tc, want))
        problem(&v, "repo.json.minisig", "trusted comment does not match repo.json");
    pc_manifest **mans = calloc(r->nversions, sizeof *mans);
    if (mans == NULL)
        goto report;
    for (size_t i = 0; i < r->nversions; i++) {
        char rel[PC_SITE_PATH_MAX];
        pc_site_manifest_path(r->versions[i].manifest.sha256, rel);
        char *text = read_doc(&v, rel, &r->versions[i].manifest, &len);
        if (text && pc_manifest_parse(text, len, &mans[i], &e) != PC_OK)
            problem(&v, rel, e.msg);
        free(text);
        if (!mans[i])
            continue;
        uint64_t full = 0;
        for (size_t k = 0; k < mans[i]->nfiles; k++) {
            const pc_file_entry *f = &mans[i]->files[k];
            if (f->type != PC_FT_FILE)
                continue;
            full += f->object_size;
            if (first_time(&v, f->sha256)) {
                check_object(&v, f, false);
                v.objects++;
            }
        }
        if (full != r->versions[i].full_bytes)
            problem(&v, rel, "full_bytes in repo.json differs from the sum of object sizes");
    }
    for (size_t i = 0; i < r->nedges; i++) {
        const pc_edge *ed = &r->edges[i];
        char rel[PC_SITE_PATH_MAX];
        pc_site_delta_path(ed->delta.sha256, rel);
        char *text = read_doc(&v, rel, &ed->delta, &len);
        pc_delta *d = NULL;
        if (text && pc_delta_parse(text, len, &d, &e) != PC_OK)
            problem(&v, rel, e.msg);
        free(text);
        const pc_manifest *from = mans[ed->from_idx], *to = mans[ed->to_idx];
        for (size_t k = 0; d && from && to && k < d->npatches; k++) {
            const pc_patch_ref *pr = &d->patches[k];
            char prel[PC_SITE_PATH_MAX];
            pc_site_patch_path(pr->from, pr->to, prel);
            char *pp = site_file(&v, prel);
            struct stat sb;
            const pc_file_entry *src = file_with(from, pr->from), *dst = file_with(to, pr->to);
            v.patches++;
            if (pp == NULL)
                continue;
            if (stat(pp, &sb) != 0)
                problem(&v, prel, "missing");
            else if ((uint64_t)sb.st_size != pr->size)
                problem(&v, prel, "size differs from the delta document");
            else if (!src || !dst)
                problem(&v, prel, "its source or target is not in the edge's versions");
            else if (check_object(&v, src, true)) {
                pc_patch_expect ex = {.has_size = true, .new_size = dst->size, .has_sha = true};
                memcpy(ex.new_sha256, dst->sha256, 32);
                if (pc_patch_apply_file(v.tmp, pp, tmp2, &ex, &e) != PC_OK)
                    problem(&v, prel, e.msg);
                unlink(tmp2);
                unlink(v.tmp);
            }
            free(pp);
        }
        pc_delta_free(d);
    }
    for (size_t i = 0; i < r->nversions; i++)
        pc_manifest_free(mans[i]);
    free(mans);
report:
    printf("%s: serial %llu, %zu versions, %zu edges; checked %u documents, %u objects, "
           "%u patches: %u problem%s\n",
           v.site, r ? (unsigned long long)r->serial : 0ull, r ? r->nversions : 0,
           r ? r->nedges : 0, v.docs, v.objects, v.patches, v.problems,
           v.problems == 1 ? "" : "s");
    rc = v.problems ? 1 : 0;
out:
    pc_repo_free(r);
    free(json);
    free(sig);
    free(tc);
    free(rp);
    free(sp);
    pc_client_free(cl);
    free(v.seen);
    return rc;
}
