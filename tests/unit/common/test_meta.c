/* test_meta.c — the metadata model: the fixtures (docs/format.md's examples)
 * parse, round-trip byte for byte, and malformed documents are each refused
 * with the expected status and a message naming the JSON path. */
#include "fileio.h"
#include "meta.h"
#include "test.h"

static char *repo_doc, *manifest_doc, *delta_doc;
static size_t repo_len, manifest_len, delta_len;

static void roundtrip_repo(void)
{
    pc_repo *r = NULL;
    pc_err e = {0};
    CHECKF(pc_repo_parse(repo_doc, repo_len, &r, &e) == PC_OK, "%s", e.msg);
    CHECK_STR(r->product, "demo");
    CHECK(r->serial == 3 && r->nversions == 3 && r->nedges == 3 && r->nchannels == 2);
    CHECK(r->max_patch_chain_length == 5 && r->fallback_threshold == 0.7);
    CHECK(r->versions[0].parent == NULL && !strcmp(r->versions[1].parent, "1.0.0"));
    CHECK(r->edges[2].from_idx == 0 && r->edges[2].to_idx == 2);
    CHECK_STR(pc_repo_channel(r, "beta"), "1.2.0-rc.1");
    CHECK(pc_repo_channel(r, "nightly") == NULL);
    CHECK(r->expires - r->created == 30 * 86400);
    char *text;
    size_t len;
    CHECKF(pc_repo_write(r, &text, &len, &e) == PC_OK, "%s", e.msg);
    /* The fixture is in canonical form: writing gives the same bytes. */
    CHECKF(len == repo_len && memcmp(text, repo_doc, len) == 0, "canonical text differs:\n%s", text);
    pc_repo *r2 = NULL;
    CHECK(pc_repo_parse(text, len, &r2, &e) == PC_OK);
    char *text2;
    size_t len2;
    CHECK(pc_repo_write(r2, &text2, &len2, &e) == PC_OK);
    CHECK(len2 == len && memcmp(text, text2, len) == 0);
    free(text);
    free(text2);
    pc_repo_free(r);
    pc_repo_free(r2);
}

/* A serial near 2^53 is written as its digits (cJSON alone printed
 * 9007199254740989 as 9.00719925474099e+15: the trusted comment, made from
 * the number, no longer matched the document). */
static void large_serial_exact(void)
{
    static const uint64_t vals[] = {9007199254740991ull, 9007199254740989ull, 4503599627370497ull};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        pc_repo *r = NULL, *r2 = NULL;
        pc_err e = {0};
        CHECKF(pc_repo_parse(repo_doc, repo_len, &r, &e) == PC_OK, "%s", e.msg);
        r->serial = vals[i];
        char *text;
        size_t len;
        CHECKF(pc_repo_write(r, &text, &len, &e) == PC_OK, "%s", e.msg);
        char want[40];
        snprintf(want, sizeof want, "\"serial\":\t%llu,", (unsigned long long)vals[i]);
        CHECKF(strstr(text, want) != NULL, "no '%s' in:\n%.300s", want, text);
        CHECK(pc_repo_parse(text, len, &r2, &e) == PC_OK && r2->serial == vals[i]);
        free(text);
        pc_repo_free(r);
        pc_repo_free(r2);
    }
}

static void roundtrip_manifest(void)
{
    pc_manifest *m = NULL;
    pc_err e = {0};
    CHECKF(pc_manifest_parse(manifest_doc, manifest_len, &m, &e) == PC_OK, "%s", e.msg);
    CHECK(m->nfiles == 7);
    const pc_file_entry *f = pc_manifest_file(m, "bin/demo");
    CHECK(f && f->type == PC_FT_FILE && f->mode == 0755 && f->flags == PC_FLAG_CRITICAL);
    f = pc_manifest_file(m, "modules/greeter.so");
    CHECK(f && f->flags == PC_FLAG_HOT && f->ndepends == 1);
    CHECK_STR(f->depends[0], "modules/util.so");
    f = pc_manifest_file(m, "share/latest");
    CHECK(f && f->type == PC_FT_SYMLINK && !strcmp(f->target, "caf\xc3\xa9.txt"));
    CHECK(pc_manifest_file(m, "share/caf\xc3\xa9.txt")->size == 0);
    char *text;
    size_t len;
    CHECKF(pc_manifest_write(m, &text, &len, &e) == PC_OK, "%s", e.msg);
    pc_manifest *m2 = NULL;
    CHECK(pc_manifest_parse(text, len, &m2, &e) == PC_OK);
    char *text2;
    size_t len2;
    CHECK(pc_manifest_write(m2, &text2, &len2, &e) == PC_OK);
    CHECK(len2 == len && memcmp(text, text2, len) == 0);
    CHECK(m2->nfiles == m->nfiles && memcmp(m2->files[1].sha256, m->files[1].sha256, 32) == 0);
    free(text);
    free(text2);
    pc_manifest_free(m);
    pc_manifest_free(m2);
}

static void roundtrip_delta(void)
{
    pc_delta *d = NULL;
    pc_err e = {0};
    CHECKF(pc_delta_parse(delta_doc, delta_len, &d, &e) == PC_OK, "%s", e.msg);
    CHECK(d->npatches == 2 && d->patches[0].format == PC_PF_PCZ && d->patches[1].size == 900);
    CHECK(d->release && d->release->nfiles == 2 && d->release->reference_size == 40960 &&
          d->release->to_size == 34200 && d->release->size == 2600 &&
          d->release->files[1].size == 16000 && d->release->files[1].sha256[0] == 0xbb);
    char *text;
    size_t len;
    CHECK(pc_delta_write(d, &text, &len, &e) == PC_OK);
    CHECKF(len == delta_len && memcmp(text, delta_doc, len) == 0, "%s", text);
    free(text);
    pc_delta_free(d);
}

/* The generator's note x-release-size: read and written back when it is
 * an integer; any other value is an x- key like others, ignored. */
static void release_note_key(void)
{
    const char *vals[] = {"123", "\"abc\"", "-4", "1.5"};
    for (size_t k = 0; k < 4; k++) {
        char *doc = malloc(delta_len + 64);
        memcpy(doc, delta_doc, delta_len - 2); /* without "}\n" */
        int n = sprintf(doc + delta_len - 2, ",\"x-release-size\":%s}\n", vals[k]);
        size_t len = delta_len - 2 + (size_t)n;
        pc_delta *d = NULL;
        pc_err e = {0};
        CHECKF(pc_delta_parse(doc, len, &d, &e) == PC_OK, "%s: %s", vals[k], e.msg);
        CHECKF(d->release_left_out == (k == 0 ? 123u : 0u), "%s: %llu", vals[k],
               (unsigned long long)d->release_left_out);
        char *text;
        size_t tl;
        CHECK(pc_delta_write(d, &text, &tl, &e) == PC_OK);
        CHECK((strstr(text, "\"x-release-size\":123}") != NULL) == (k == 0));
        free(text);
        free(doc);
        pc_delta_free(d);
    }
}

static void site_paths(void)
{
    uint8_t a[32], b[32];
    memset(a, 0xab, 32);
    memset(b, 0x01, 32);
    char p[PC_SITE_PATH_MAX];
    pc_site_object_path(a, p);
    CHECK_STR(p, "objects/ab/abababababababababababababababababababababababababababababababab");
    pc_site_patch_path(a, b, p);
    CHECK(strncmp(p, "patches/ab/abab", 15) == 0 && strstr(p, "-0101") && strlen(p) == 11 + 129);
    pc_site_manifest_path(b, p);
    CHECK_STR(p, "manifests/0101010101010101010101010101010101010101010101010101010101010101.json");
}

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Malformed documents: a valid fixture with one substring replaced. */
typedef struct bad_case {
    char doc;              /* 'r' repo, 'm' manifest, 'd' delta */
    const char *from, *to; /* replace the first `from` with `to` */
    pc_status want;
    const char *msg;
} bad_case;

static const bad_case bad[] = {
    {'r', "\"format\":\t1", "\"format\":\t2", PC_ERR_UNSUPPORTED, "format 2 is not supported"},
    {'r', "\"format\":\t1", "\"format\":\t\"1\"", PC_ERR_FORMAT, "format: expected an integer"},
    {'r', "\"product\":\t\"demo\",", "", PC_ERR_FORMAT, "product: missing"},
    {'r', "\"product\":\t\"demo\"", "\"product\":\t\"de/mo\"", PC_ERR_FORMAT, "product"},
    {'r', "\"serial\":\t3", "\"serial\":\t0", PC_ERR_FORMAT, "serial: out of range"},
    {'r', "\"serial\":\t3", "\"serial\":\t-3", PC_ERR_FORMAT, "serial: out of range"},
    {'r', "\"serial\":\t3", "\"serial\":\t3.5", PC_ERR_FORMAT, "serial: expected an integer"},
    {'r', "\"serial\":\t3", "\"serial\":\t9007199254740993", PC_ERR_FORMAT, "serial: out of range"},
    {'r', "\"serial\":\t3,", "", PC_ERR_FORMAT, "serial: missing"},
    {'r', "\"expires\":\t\"2026-12-25T04:00:00Z\"", "\"expires\":\t\"2026-11-25T04:00:00Z\"",
     PC_ERR_FORMAT, "expires: must be later than created"},
    {'r', "2026-12-25T04:00:00Z", "2026-12-25 04:00:00", PC_ERR_FORMAT, "expires: expected a UTC time"},
    {'r', "2026-12-25T04:00:00Z", "2026-02-31T04:00:00Z", PC_ERR_FORMAT, "expires: expected a UTC time"},
    {'r', "\"max_patch_chain_length\":\t5", "\"max_patch_chain_length\":\t0", PC_ERR_FORMAT,
     "settings.max_patch_chain_length: out of range"},
    {'r', "\"fallback_threshold\":\t0.7", "\"fallback_threshold\":\t1.5", PC_ERR_FORMAT,
     "settings.fallback_threshold"},
    {'r', "\"fallback_threshold\":\t0.7", "\"fallback\":\t0.7", PC_ERR_FORMAT,
     "settings.fallback: unknown key"},
    {'r', "\"product\":", "\"colour\": \"red\", \"product\":", PC_ERR_FORMAT, "colour: unknown key"},
    {'r', "\"product\":", "\"serial\": 4, \"product\":", PC_ERR_FORMAT, "serial: duplicate key"},
    {'r', "\"stable\":\t\"1.1.0\"", "\"stable\":\t\"9.9.9\"", PC_ERR_FORMAT,
     "channels.stable: no such version"},
    {'r', "\"stable\":\t\"1.1.0\"", "\"Stable!\":\t\"1.1.0\"", PC_ERR_FORMAT, "channels.Stable!"},
    {'r', "\"name\":\t\"1.1.0\"", "\"name\":\t\"1.0.0\"", PC_ERR_FORMAT,
     "versions[1].name: duplicate version"},
    {'r', "\"name\":\t\"1.1.0\"", "\"name\":\t\"../1.1\"", PC_ERR_FORMAT,
     "versions[1].name: not a valid version name"},
    {'r', "\"parent\":\t\"1.0.0\"", "\"parent\":\t\"0.9.0\"", PC_ERR_FORMAT,
     "versions[1].parent: no such version"},
    {'r', "\"parent\":\tnull", "\"parent\":\t\"1.1.0\"", PC_ERR_FORMAT, "parents form a cycle"},
    {'r', "\"sha256\":\t\"2222222222222222222222222222222222222222222222222222222222222222\"",
     "\"sha256\":\t\"22222222222222222222222222222222222222222222222222222222222222\"", PC_ERR_FORMAT,
     "versions[1].manifest.sha256: expected 64 lower-case hex digits"},
    {'r', "\"sha256\":\t\"2222222222222222222222222222222222222222222222222222222222222222\"",
     "\"sha256\":\t\"222222222222222222222222222222222222222222222222222222222222222A\"", PC_ERR_FORMAT,
     "versions[1].manifest.sha256"},
    {'r', "\"size\":\t845", "\"size\":\t999999999999", PC_ERR_FORMAT,
     "versions[1].manifest.size: out of range"},
    {'r', "\"files\":\t3", "\"files\":\t\"3\"", PC_ERR_FORMAT, "versions[0].files: expected an integer"},
    {'r', "\"notes\":\t\"First release.\"", "\"notes\":\t7", PC_ERR_FORMAT,
     "versions[0].notes: expected a string"},
    {'r', "\"to\":\t\"1.1.0\"", "\"to\":\t\"1.0.0\"", PC_ERR_FORMAT, "edges[0]: an edge from a version to itself"},
    {'r', "\"to\":\t\"1.1.0\"", "\"to\":\t\"7.0\"", PC_ERR_FORMAT, "edges[0].to: no such version"},
    {'r', "\"bytes\":\t20480", "\"bytes\":\t-1", PC_ERR_FORMAT, "edges[0].bytes: out of range"},
    {'r', "\"bytes\":\t20480,", "", PC_ERR_FORMAT, "edges[0].bytes: missing"},
    {'r', "\"edges\":", "\"edgez\":", PC_ERR_FORMAT, "edgez: unknown key"},
    {'r', "\"versions\":\t[{", "\"versions\":\t{\"a\": [{", PC_ERR_FORMAT, "not valid JSON"},
    {'r', "{", "[", PC_ERR_FORMAT, "not valid JSON"},
    {'m', "\"format\":1", "\"format\":7", PC_ERR_UNSUPPORTED, "format 7 is not supported"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"bin/../demo\"", PC_ERR_FORMAT,
     "files[1].path: '..' is not allowed"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"/bin/demo\"", PC_ERR_FORMAT,
     "files[1].path: absolute paths are not allowed"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"bin\\\\demo\"", PC_ERR_FORMAT,
     "files[1].path: backslash is not allowed"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"bin/de\\u0000mo\"", PC_ERR_FORMAT, "NUL"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"bin/de\\nmo\"", PC_ERR_FORMAT,
     "files[1].path: control characters"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"\"", PC_ERR_FORMAT, "files[1].path: empty path"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"bin\"", PC_ERR_FORMAT, "files[1].path: duplicate path"},
    {'m', "\"path\":\"bin/demo\"", "\"path\":\"zzz\"", PC_ERR_FORMAT, "not sorted"},
    {'m', "\"path\":\"bin\",\"type\":\"dir\"", "\"path\":\"bin\",\"type\":\"symlink\",\"target\":\"x\"",
     PC_ERR_FORMAT, "files[1].path: lies below the symlink bin"},
    {'m', "\"type\":\"dir\"", "\"type\":\"fifo\"", PC_ERR_FORMAT, "files[0].type"},
    {'m', "\"mode\":\"755\"", "\"mode\":\"4755\"", PC_ERR_FORMAT, "files[1].mode"},
    {'m', "\"mode\":\"755\",", "", PC_ERR_FORMAT, "files[1].mode: missing"},
    {'m', "\"size\":18200", "\"size\":-5", PC_ERR_FORMAT, "files[1].size: out of range"},
    {'m', "\"object_size\":7100", "\"object_size\":0", PC_ERR_FORMAT, "files[1].object_size: out of range"},
    {'m', ",\"object_sha256\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"", "", PC_ERR_FORMAT,
     "files[1].object_sha256: missing: the site was made by a patchcast-gen from before 2026-12-03"},
    {'m', "\"object_sha256\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"", "\"object_sha256\":\"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\"", PC_ERR_FORMAT,
     "files[1].object_sha256"},
    {'m', "\"sha256\":\"aaaa", "\"sha256\":\"AAAA", PC_ERR_FORMAT, "files[1].sha256: expected 64"},
    {'m', "\"flags\":[\"critical\"]", "\"flags\":[\"urgent\"]", PC_ERR_FORMAT, "files[1].flags"},
    {'m', "\"flags\":[\"critical\"]", "\"flags\":[\"critical\",\"critical\"]", PC_ERR_FORMAT,
     "files[1].flags"},
    {'m', "\"target\":\"caf\\u00e9.txt\"", "\"target\":\"../../etc/passwd\"", PC_ERR_FORMAT,
     "files[6].target: symlink target points outside the tree"},
    {'m', "\"target\":\"caf\\u00e9.txt\"", "\"target\":\"/etc/passwd\"", PC_ERR_FORMAT,
     "files[6].target: absolute"},
    {'m', "\"path\":\"modules\",\"type\":\"dir\"", "\"path\":\"modules\",\"type\":\"dir\",\"size\":3",
     PC_ERR_FORMAT, "files[2].size: only files have this member"},
    {'m', "\"depends\":[\"modules/util.so\"]", "\"depends\":[\"modules/none.so\"]", PC_ERR_FORMAT,
     "files[3].module.depends: not a hot module of this version"},
    {'m', "\"module\":{\"depends\"", "\"module\":{\"needs\"", PC_ERR_FORMAT,
     "files[3].module.needs: unknown key"},
    {'m', "\"version\":\"1.2.0-rc.1\"", "\"version\":\"1.2.0 rc\"", PC_ERR_FORMAT, "version"},
    {'m', "\"files\":[", "\"files\":{\"a\":[", PC_ERR_FORMAT, "not valid JSON"},
    {'d', "\"from\":\"1.1.0\"", "\"from\":\"\"", PC_ERR_FORMAT, "from: not a valid version name"},
    {'d', "\"format\":\"pcz\"", "\"format\":\"xdelta\"", PC_ERR_FORMAT, "patches[0].format"},
    {'d', "\"size\":2100", "\"size\":0", PC_ERR_FORMAT, "patches[0].size: out of range"},
    /* Every downloaded file is named by its hash: a site without them is refused by name. */
    {'d', ",\"sha256\":\"f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1\"", "", PC_ERR_FORMAT,
     "patches[0].sha256: missing: the site was made by a patchcast-gen from before 2026-12-03"},
    {'d', "\"sha256\":\"f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1\"", "\"sha256\":\"F1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1\"", PC_ERR_FORMAT, "patches[0].sha256"},
    {'d', "\"to_size\":18200,", "", PC_ERR_FORMAT, "patches[0].to_size: missing: the site was made"},
    {'d', "\"to_size\":18200", "\"to_size\":-1", PC_ERR_FORMAT, "patches[0].to_size"},
    {'d', "\"path\":\"bin/demo\"", "\"path\":\"../bin/demo\"", PC_ERR_FORMAT,
     "patches[0].path: '..' is not allowed"},
    {'d', "\"from_sha256\":\"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
     "\"from_sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", PC_ERR_FORMAT,
     "patches[0]: from and to are the same"},
    {'d', "\"to_sha256\":\"aaaa", "\"to_sha256\":\"zzzz", PC_ERR_FORMAT,
     "patches[0].to_sha256: expected 64"},
    /* The whole-release patch (an old client says "unknown key" of it all). */
    {'d', "\"release\":{", "\"release\":{\"format\":\"pcz\",", PC_ERR_FORMAT,
     "release.format: unknown key"},
    {'d', "\"reference_size\":40960", "\"reference_size\":40961", PC_ERR_FORMAT,
     "release.reference_size: not a multiple of 4096"},
    {'d', "\"to_size\":34200", "\"to_size\":34201", PC_ERR_FORMAT,
     "release.to_size: not the sum of the files' sizes"},
    {'d', "{\"sha256\":\"" B64 "\"", "{\"sha256\":\"" A64 "\"", PC_ERR_FORMAT,
     "release.files[1]: duplicate content"},
    {'d', "\"size\":2600", "\"size\":0", PC_ERR_FORMAT, "release.size: out of range"},
    {'d', "\"files\":[{\"sha256\":\"aaaa", "\"files\":[{\"sha\":\"aaaa", PC_ERR_FORMAT,
     "release.files[0].sha: unknown key"},
    {'d', "\"release\":{", "\"release\":[{", PC_ERR_FORMAT, "not valid JSON"},
};

static void bad_doc(size_t i)
{
    const bad_case *c = &bad[i];
    const char *src = c->doc == 'r' ? repo_doc : c->doc == 'm' ? manifest_doc : delta_doc;
    const char *at = strstr(src, c->from);
    CHECKF(at != NULL, "fixture lacks '%s'", c->from);
    size_t n = strlen(src) - strlen(c->from) + strlen(c->to);
    char *doc = malloc(n + 1);
    size_t pre = (size_t)(at - src);
    memcpy(doc, src, pre);
    memcpy(doc + pre, c->to, strlen(c->to));
    strcpy(doc + pre + strlen(c->to), at + strlen(c->from));
    pc_err e = {0};
    pc_status st;
    if (c->doc == 'r') {
        pc_repo *r = NULL;
        st = pc_repo_parse(doc, n, &r, &e);
        CHECK(r == NULL);
    } else if (c->doc == 'm') {
        pc_manifest *m = NULL;
        st = pc_manifest_parse(doc, n, &m, &e);
        CHECK(m == NULL);
    } else {
        pc_delta *d = NULL;
        st = pc_delta_parse(doc, n, &d, &e);
        CHECK(d == NULL);
    }
    free(doc);
    CHECKF(st == c->want, "status %d (%s), want %d", st, e.msg, c->want);
    CHECKF(strstr(e.msg, c->msg) != NULL, "message '%s' lacks '%s'", e.msg, c->msg);
}

static void size_caps(void)
{
    pc_repo *r;
    pc_manifest *m;
    pc_err e = {0};
    CHECK(pc_repo_parse(repo_doc, PC_REPO_MAX_BYTES + 1, &r, &e) == PC_ERR_TOO_LARGE);
    CHECK(pc_manifest_parse(manifest_doc, PC_MANIFEST_MAX_BYTES + 1, &m, &e) == PC_ERR_TOO_LARGE);
}

/* ---- many versions: the sorted indexes give the answers a scan gave ---- */

static char *vname(size_t i)
{
    char b[32];
    snprintf(b, sizeof b, "1.%zu.%zu", i / 100, i % 100);
    return strdup(b);
}

/* n versions, each the parent of the next, an edge from each to the next
 * and one from each to the one ten later. All strings on the heap. */
static pc_repo *big_repo(size_t n)
{
    pc_repo *r = calloc(1, sizeof *r);
    r->product = strdup("demo");
    r->serial = 1;
    r->created = 1000;
    r->expires = 2000;
    r->max_patch_chain_length = 5;
    r->fallback_threshold = 0.5;
    r->versions = calloc(n, sizeof *r->versions);
    r->edges = calloc(2 * n, sizeof *r->edges);
    r->channels = calloc(1, sizeof *r->channels);
    for (size_t i = 0; i < n; i++) {
        pc_version_info *v = &r->versions[r->nversions++];
        v->name = vname(i);
        v->parent = i ? vname(i - 1) : NULL;
        v->manifest.size = 100;
        v->manifest.sha256[0] = (uint8_t)i;
        for (size_t step = 1; step <= 10 && i >= step; step += 9) {
            pc_edge *ed = &r->edges[r->nedges++];
            ed->from = vname(i - step);
            ed->to = vname(i);
            ed->bytes = step;
            ed->delta.size = 10;
        }
    }
    r->channels[0].name = strdup("stable");
    r->channels[0].version = vname(n - 1);
    r->nchannels = 1;
    return r;
}

static void set_str(char **at, char *v)
{
    free(*at);
    *at = v;
}

/* Validate r; the message must contain want (NULL: must pass). */
static int repo_verdict(const pc_repo *r, const char *want, char *msg, size_t cap)
{
    pc_err e = {0};
    pc_status st = pc_repo_validate(r, &e);
    snprintf(msg, cap, "%s", st == PC_OK ? "(valid)" : e.msg);
    return want == NULL ? st == PC_OK : st == PC_ERR_FORMAT && strstr(e.msg, want) != NULL;
}

static void many_versions_lookups(void)
{
    enum { N = 5000 };
    pc_repo *r = big_repo(N);
    char *text = NULL, msg[PC_ERRMSG_MAX];
    size_t len;
    pc_err e = {0};
    CHECKF(repo_verdict(r, NULL, msg, sizeof msg), "%s", msg);
    CHECKF(pc_repo_write(r, &text, &len, &e) == PC_OK, "%s", e.msg);
    pc_repo *p = NULL;
    CHECKF(pc_repo_parse(text, len, &p, &e) == PC_OK, "%s", e.msg);
    free(text);
    CHECK(p->by_name != NULL && r->by_name == NULL);
    /* Parsed (sorted index) and built in memory (scan): the same answers. */
    for (size_t i = 0; i < N; i++) {
        size_t a = SIZE_MAX, b = SIZE_MAX;
        const pc_version_info *va = pc_repo_version(p, r->versions[i].name, &a);
        const pc_version_info *vb = pc_repo_version(r, r->versions[i].name, &b);
        CHECKF(va == &p->versions[i] && a == i && vb == &r->versions[i] && b == i,
               "version %zu found at %zu / %zu", i, a, b);
    }
    for (size_t i = 0; i < p->nedges; i++) {
        size_t f, t;
        CHECK(pc_repo_version(p, p->edges[i].from, &f) && pc_repo_version(p, p->edges[i].to, &t));
        CHECK(p->edges[i].from_idx == f && p->edges[i].to_idx == t);
        CHECK(t == f + p->edges[i].bytes);
    }
    static const char *const absent[] = {"", "0.0.0", "1.0.00", "1.49.99x", "9.9.9", "1"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        CHECKF(pc_repo_version(p, absent[i], NULL) == NULL, "found '%s'", absent[i]);
    CHECK(pc_repo_version(p, NULL, NULL) == NULL && pc_repo_version(r, NULL, NULL) == NULL);
    CHECK_STR(pc_repo_channel(p, "stable"), "1.49.99");
    pc_repo_free(p);
    pc_repo_free(r);
}

static void many_versions_refusals(void)
{
    enum { N = 3000 };
    char msg[PC_ERRMSG_MAX];
    pc_repo *r = big_repo(N);
    /* The first duplicate in document order is named, however far. */
    set_str(&r->versions[2999].name, vname(5));
    set_str(&r->versions[1500].name, vname(700));
    CHECKF(repo_verdict(r, "versions[1500].name: duplicate version 1.7.0", msg, sizeof msg),
           "%s", msg);
    pc_repo_free(r);
    /* A parent that is not there. */
    r = big_repo(N);
    set_str(&r->versions[2500].parent, strdup("7.7.7"));
    CHECKF(repo_verdict(r, "versions[2500].parent: no such version: 7.7.7", msg, sizeof msg),
           "%s", msg);
    pc_repo_free(r);
    /* A cycle at the end of the chain: its first member is named ... */
    r = big_repo(N);
    set_str(&r->versions[2000].parent, vname(2999));
    CHECKF(repo_verdict(r, "versions[2000].parent: parents form a cycle", msg, sizeof msg),
           "%s", msg);
    /* ... unless an earlier version leads into it. */
    set_str(&r->versions[17].parent, vname(2500));
    CHECKF(repo_verdict(r, "versions[17].parent: parents form a cycle", msg, sizeof msg), "%s",
           msg);
    pc_repo_free(r);
    /* A version that is its own parent. */
    r = big_repo(N);
    set_str(&r->versions[1234].parent, vname(1234));
    CHECKF(repo_verdict(r, "versions[1234].parent: parents form a cycle", msg, sizeof msg),
           "%s", msg);
    pc_repo_free(r);
    /* Parents listed after their children, no cycle: valid. */
    r = big_repo(N);
    for (size_t i = 0; i < N; i++) {
        set_str(&r->versions[i].parent, i + 1 < N ? vname(i + 1) : NULL);
    }
    CHECKF(repo_verdict(r, NULL, msg, sizeof msg), "%s", msg);
    pc_repo_free(r);
    /* Edges: the first repeat is named; an unknown end is named. */
    r = big_repo(N);
    pc_edge *a = &r->edges[4000], *b = &r->edges[100];
    set_str(&a->from, strdup(b->from));
    set_str(&a->to, strdup(b->to));
    CHECKF(repo_verdict(r, "edges[4000]: duplicate edge", msg, sizeof msg), "%s", msg);
    set_str(&r->edges[3999].to, strdup("8.8.8"));
    CHECKF(repo_verdict(r, "edges[3999].to: no such version: 8.8.8", msg, sizeof msg), "%s", msg);
    pc_repo_free(r);
    r = big_repo(N);
    set_str(&r->channels[0].version, strdup("1.30.00"));
    CHECKF(repo_verdict(r, "channels.stable: no such version: 1.30.00", msg, sizeof msg), "%s",
           msg);
    pc_repo_free(r);
}

/* Many members: duplicates are found by sorting, and the first is named. */
static void many_keys(void)
{
    size_t cap = 1 << 20, n = 0;
    char *doc = malloc(cap);
    n += (size_t)snprintf(doc + n, cap - n, "%.*s", (int)(strchr(manifest_doc, '{') - manifest_doc + 1),
                          manifest_doc);
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(doc + n, cap - n, "\"x-%d\": %d, ", i % 2000 == 1999 ? 7 : i, i);
    n += (size_t)snprintf(doc + n, cap - n, "%s", strchr(manifest_doc, '{') + 1);
    pc_manifest *m = NULL;
    pc_err e = {0};
    CHECK(pc_manifest_parse(doc, n, &m, &e) == PC_ERR_FORMAT && m == NULL);
    CHECKF(strstr(e.msg, "manifest: x-7: duplicate key") != NULL, "%s", e.msg);
    /* The same members, all distinct: accepted. */
    n = (size_t)(strchr(manifest_doc, '{') - manifest_doc + 1);
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(doc + n, cap - n, "\"x-%d\": %d, ", i, i);
    n += (size_t)snprintf(doc + n, cap - n, "%s", strchr(manifest_doc, '{') + 1);
    CHECKF(pc_manifest_parse(doc, n, &m, &e) == PC_OK, "%s", e.msg);
    pc_manifest_free(m);
    free(doc);
}

static void many_patches(void)
{
    enum { N = 20000 };
    pc_delta d = {.from = "1.0.0", .to = "1.1.0", .npatches = N};
    d.patches = calloc(N, sizeof *d.patches);
    for (size_t i = 0; i < N; i++) {
        pc_patch_ref *p = &d.patches[i];
        p->path = "bin/app";
        p->size = 1;
        memcpy(p->from, &i, sizeof i);
        memcpy(p->to, &i, sizeof i);
        p->to[31] = 1;
    }
    pc_err e = {0};
    CHECKF(pc_delta_validate(&d, &e) == PC_OK, "%s", e.msg);
    /* Same from, another to: not a duplicate. */
    memcpy(d.patches[19000].from, d.patches[300].from, 32);
    CHECKF(pc_delta_validate(&d, &e) == PC_OK, "%s", e.msg);
    memcpy(d.patches[19000].to, d.patches[300].to, 32);
    memcpy(d.patches[15000].from, d.patches[12].from, 32);
    memcpy(d.patches[15000].to, d.patches[12].to, 32);
    CHECK(pc_delta_validate(&d, &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "patches[15000]: duplicate patch") != NULL, "%s", e.msg);
    free(d.patches);
}

int main(void)
{
    t_suite = "meta";
    pc_err e = {0};
    if (pc_read_file("tests/fixtures/repo.json", 1 << 20, &repo_doc, &repo_len, &e) ||
        pc_read_file("tests/fixtures/manifest.json", 1 << 20, &manifest_doc, &manifest_len, &e) ||
        pc_read_file("tests/fixtures/delta.json", 1 << 20, &delta_doc, &delta_len, &e)) {
        printf("FAIL meta/fixtures: %s\n", e.msg);
        return 1;
    }
    RUN(roundtrip_repo);
    RUN(large_serial_exact);
    RUN(roundtrip_manifest);
    RUN(roundtrip_delta);
    RUN(release_note_key);
    RUN(site_paths);
    RUN(size_caps);
    RUN(many_versions_lookups);
    RUN(many_versions_refusals);
    RUN(many_keys);
    RUN(many_patches);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[80];
        snprintf(name, sizeof name, "malformed_%c%02zu", bad[i].doc, i);
        RUN_CASE(bad_doc, i, name);
    }
    free(repo_doc);
    free(manifest_doc);
    free(delta_doc);
    TEST_MAIN_END();
}
