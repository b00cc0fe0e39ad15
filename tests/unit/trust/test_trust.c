/* test_trust.c — root metadata (client/trust/trust.c): the canonical text
 * round trip, malformed documents each refused with the status and a
 * message naming the field, the counting of distinct signers against a
 * threshold, and the rules of a root step (pc_root_accept). */
#include <sodium.h>

#include "seckey.h"
#include "sig.h"
#include "test.h"
#include "trust.h"

#define NK 20
static pc_seckey sk[NK];
static pc_pubkey pk[NK];
static char b64[NK][64];

/* 2026-01-01T00:00:00Z and a year later. */
#define T0 1767225600
#define T1 (T0 + 365 * 86400)

static void set_keys(pc_keyset *s, const int *idx, size_t n, unsigned t)
{
    s->nkeys = n;
    s->threshold = t;
    for (size_t i = 0; i < n; i++)
        s->keys[i] = pk[idx[i]];
}

/* Root version v: root keys idx (threshold t), repository keys 10, 11
 * (threshold 1). */
static pc_root mk(uint64_t v, const int *idx, size_t n, unsigned t)
{
    static const int repo[] = {10, 11};
    pc_root r = {.version = v, .created = T0, .expires = T1};
    set_keys(&r.root, idx, n, t);
    set_keys(&r.repo, repo, 2, 1);
    return r;
}

static char *text_of(const pc_root *r)
{
    char *t = NULL;
    size_t len;
    pc_err e = {0};
    if (pc_root_write(r, &t, &len, &e) != PC_OK)
        return NULL;
    return t;
}

/* The signature file of the keys idx over text: one block each, as
 * `patchcast-gen root sign` makes it. */
static char *sign_by(const char *text, const int *idx, size_t n, const char *tc)
{
    char *all = calloc(1, 1);
    size_t al = 0;
    for (size_t i = 0; i < n; i++) {
        char *s = NULL;
        if (pc_sign_buffer(&sk[idx[i]], text, strlen(text), tc ? tc : "patchcast-root", NULL, &s,
                           NULL) != PC_OK) {
            free(all);
            return NULL;
        }
        size_t l = strlen(s);
        all = realloc(all, al + l + 1);
        memcpy(all + al, s, l + 1);
        al += l;
        free(s);
    }
    return all;
}

static void setup(void)
{
    for (int i = 0; i < NK; i++) {
        pc_seckey_generate(&sk[i], &pk[i], NULL);
        pc_pubkey_base64(&pk[i], b64[i], sizeof b64[i]);
    }
}

/* --- the canonical text ------------------------------------------------------ */

static void write_parse_roundtrip(void)
{
    static const int rk[] = {0, 1, 2};
    pc_root r = mk(7, rk, 3, 2), back;
    r.reset_serial = true;
    char *t = text_of(&r);
    CHECK(t);
    pc_err e = {0};
    CHECKF(pc_root_parse(t, strlen(t), &back, &e) == PC_OK, "%s", e.msg);
    CHECK(back.version == 7 && back.created == T0 && back.expires == T1 && back.reset_serial);
    CHECK(back.root.nkeys == 3 && back.root.threshold == 2);
    CHECK(back.repo.nkeys == 2 && back.repo.threshold == 1);
    for (int i = 0; i < 3; i++)
        CHECK(!memcmp(&back.root.keys[i], &pk[i], sizeof pk[i]));
    CHECK(!memcmp(&back.repo.keys[1], &pk[11], sizeof pk[11]));
    /* Writing what was read gives the same bytes. */
    char *t2 = text_of(&back);
    CHECK(t2);
    CHECK_STR(t2, t);
    CHECK(strstr(t, "\"type\":\t\"patchcast-root\"") && strstr(t, "\"reset_serial\":\ttrue"));
    CHECK(strstr(t, "\"created\":\t\"2026-01-01T00:00:00Z\""));
    CHECK(strstr(t, b64[2]) && strstr(t, b64[10]));
    free(t);
    free(t2);
    /* reset_serial false, and absent (it is optional) reads as false. */
    r.reset_serial = false;
    CHECK((t = text_of(&r)));
    CHECK(pc_root_parse(t, strlen(t), &back, &e) == PC_OK && !back.reset_serial);
    char *p = strstr(t, ",\n\t\"reset_serial\"");
    CHECK(p);
    strcpy(p, "\n}\n");
    CHECKF(pc_root_parse(t, strlen(t), &back, &e) == PC_OK, "%s", e.msg);
    CHECK(!back.reset_serial);
    free(t);
}

static void large_version_exact(void)
{
    static const int rk[] = {0};
    pc_root r = mk(9007199254740991ull, rk, 1, 1), back;
    char *t = text_of(&r);
    CHECK(t);
    pc_err e = {0};
    CHECKF(pc_root_parse(t, strlen(t), &back, &e) == PC_OK, "%s", e.msg);
    CHECKF(back.version == 9007199254740991ull, "version %llu", (unsigned long long)back.version);
    free(t);
    r.version = 9007199254740992ull;
    CHECK(pc_root_write(&r, &t, &(size_t){0}, &e) == PC_ERR_FORMAT);
    CHECK(t == NULL);
}

static void site_path(void)
{
    char p[64];
    pc_root_site_path(1, p);
    CHECK_STR(p, "roots/1.root.json");
    pc_root_site_path(9007199254740991ull, p);
    CHECK_STR(p, "roots/9007199254740991.root.json");
}

/* --- malformed documents ----------------------------------------------------- */

/* A document from a template: %R the root keys' array, %P the repository
 * keys' (b64[0..2] and b64[10]). */
static char *doc(const char *tmpl)
{
    char rk[300], pkeys[100], *out = malloc(8192);
    snprintf(rk, sizeof rk, "[\"%s\", \"%s\", \"%s\"]", b64[0], b64[1], b64[2]);
    snprintf(pkeys, sizeof pkeys, "[\"%s\"]", b64[10]);
    size_t o = 0;
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '%' && (p[1] == 'R' || p[1] == 'P')) {
            const char *s = p[1] == 'R' ? rk : pkeys;
            memcpy(out + o, s, strlen(s));
            o += strlen(s);
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

#define HEAD "{\"format\": 1, \"type\": \"patchcast-root\", \"version\": 2, "
#define TIMES "\"created\": \"2026-01-01T00:00:00Z\", \"expires\": \"2027-01-01T00:00:00Z\", "
#define ROOTK "\"root_keys\": {\"threshold\": 2, \"keys\": %R}, "
#define REPOK "\"repo_keys\": {\"threshold\": 1, \"keys\": %P}"

static const struct {
    const char *name;
    const char *tmpl;
    pc_status want;
    const char *msg;
} bad_docs[] = {
    {"valid", HEAD TIMES ROOTK REPOK "}", PC_OK, ""},
    {"not_json", "{\"format\": 1,", PC_ERR_FORMAT, "not valid JSON"},
    {"not_object", "[1, 2]", PC_ERR_FORMAT, "expected a JSON object"},
    {"unknown_type",
     "{\"format\": 1, \"type\": \"patchcast-repo\", \"version\": 2, " TIMES ROOTK REPOK "}",
     PC_ERR_FORMAT, "type: 'patchcast-repo', expected 'patchcast-root'"},
    {"no_type", "{\"format\": 1, \"version\": 2, " TIMES ROOTK REPOK "}", PC_ERR_FORMAT, "type"},
    {"format_2",
     "{\"format\": 2, \"type\": \"patchcast-root\", \"version\": 2, " TIMES ROOTK REPOK "}",
     PC_ERR_UNSUPPORTED, "format 2 (this client reads 1)"},
    {"unknown_key", HEAD TIMES ROOTK REPOK ", \"extra\": 1}", PC_ERR_FORMAT, "extra: unknown key"},
    {"unknown_key_in_set",
     HEAD TIMES "\"root_keys\": {\"threshold\": 2, \"keys\": %R, \"x\": 0}, " REPOK "}",
     PC_ERR_FORMAT, "root_keys.x: unknown key"},
    {"version_0",
     "{\"format\": 1, \"type\": \"patchcast-root\", \"version\": 0, " TIMES ROOTK REPOK "}",
     PC_ERR_FORMAT, "version: out of range"},
    {"version_fraction",
     "{\"format\": 1, \"type\": \"patchcast-root\", \"version\": 2.5, " TIMES ROOTK REPOK "}",
     PC_ERR_FORMAT, "version"},
    {"version_string",
     "{\"format\": 1, \"type\": \"patchcast-root\", \"version\": \"2\", " TIMES ROOTK REPOK "}",
     PC_ERR_FORMAT, "version: expected an integer"},
    {"expires_before_created",
     HEAD
     "\"created\": \"2027-01-01T00:00:00Z\", \"expires\": \"2026-01-01T00:00:00Z\", " ROOTK REPOK
     "}",
     PC_ERR_FORMAT, "expires: must be later than created"},
    {"expires_equal_created",
     HEAD
     "\"created\": \"2027-01-01T00:00:00Z\", \"expires\": \"2027-01-01T00:00:00Z\", " ROOTK REPOK
     "}",
     PC_ERR_FORMAT, "expires: must be later than created"},
    {"bad_time",
     HEAD "\"created\": \"yesterday\", \"expires\": \"2027-01-01T00:00:00Z\", " ROOTK REPOK "}",
     PC_ERR_FORMAT, "created: expected a UTC time"},
    {"threshold_0", HEAD TIMES "\"root_keys\": {\"threshold\": 0, \"keys\": %R}, " REPOK "}",
     PC_ERR_FORMAT, "root_keys.threshold: out of range"},
    {"threshold_above_keys",
     HEAD TIMES "\"root_keys\": {\"threshold\": 4, \"keys\": %R}, " REPOK "}", PC_ERR_FORMAT,
     "root_keys.threshold: 4, but must be 1 to 3"},
    {"threshold_above_16",
     HEAD TIMES "\"root_keys\": {\"threshold\": 17, \"keys\": %R}, " REPOK "}", PC_ERR_FORMAT,
     "root_keys.threshold: out of range"},
    {"repo_threshold_above_keys",
     HEAD TIMES ROOTK "\"repo_keys\": {\"threshold\": 2, \"keys\": %P}}", PC_ERR_FORMAT,
     "repo_keys.threshold: 2, but must be 1 to 1"},
    {"no_threshold", HEAD TIMES "\"root_keys\": {\"keys\": %R}, " REPOK "}", PC_ERR_FORMAT,
     "root_keys.threshold: missing"},
    {"no_keys", HEAD TIMES "\"root_keys\": {\"threshold\": 1, \"keys\": []}, " REPOK "}",
     PC_ERR_FORMAT, "root_keys.keys: 1 to 16 keys"},
    {"keys_not_array", HEAD TIMES "\"root_keys\": {\"threshold\": 1, \"keys\": \"k\"}, " REPOK "}",
     PC_ERR_FORMAT, "root_keys.keys: expected an array"},
    {"key_not_string", HEAD TIMES "\"root_keys\": {\"threshold\": 1, \"keys\": [1]}, " REPOK "}",
     PC_ERR_FORMAT, "root_keys.keys[0]: expected a minisign public key"},
    {"key_not_base64", HEAD TIMES ROOTK "\"repo_keys\": {\"threshold\": 1, \"keys\": [\"RWQ!!\"]}}",
     PC_ERR_FORMAT, "repo_keys.keys[0]: public key: invalid base64"},
    {"no_root_keys", HEAD TIMES REPOK "}", PC_ERR_FORMAT, "root_keys: missing"},
    {"no_repo_keys", HEAD TIMES "\"root_keys\": {\"threshold\": 2, \"keys\": %R}}", PC_ERR_FORMAT,
     "repo_keys: missing"},
    {"set_not_object", HEAD TIMES "\"root_keys\": [], " REPOK "}", PC_ERR_FORMAT,
     "root_keys: expected an object"},
    {"reset_serial_not_bool", HEAD TIMES ROOTK REPOK ", \"reset_serial\": 1}", PC_ERR_FORMAT,
     "reset_serial: expected true or false"},
    {"duplicate_member", HEAD TIMES ROOTK REPOK ", \"version\": 3}", PC_ERR_FORMAT,
     "version: duplicate key"},
};

static void bad_doc(size_t i)
{
    char *d = doc(bad_docs[i].tmpl);
    pc_root r;
    pc_err e = {0};
    pc_status st = pc_root_parse(d, strlen(d), &r, &e);
    free(d);
    CHECKF(st == bad_docs[i].want, "status %d, want %d: %s", st, bad_docs[i].want, e.msg);
    if (st != PC_OK)
        CHECKF(strstr(e.msg, "root metadata") && strstr(e.msg, bad_docs[i].msg), "%s", e.msg);
}

/* Duplicate keys (the same key twice, or another key with the same key
 * id), more than 16 keys, a document over 64 KiB. */
static void bad_key_lists(void)
{
    char rk[2048] = "";
    pc_err e = {0};
    pc_root r;
    /* The same key twice. */
    char d[8192];
    snprintf(d, sizeof d,
             HEAD TIMES "\"root_keys\": {\"threshold\": 1, \"keys\": [\"%s\", \"%s\"]}, "
                        "\"repo_keys\": {\"threshold\": 1, \"keys\": [\"%s\"]}}",
             b64[0], b64[0], b64[10]);
    CHECK(pc_root_parse(d, strlen(d), &r, &e) == PC_ERR_FORMAT);
    char id[17];
    pc_keyid_hex(pk[0].keynum, id);
    CHECKF(strstr(e.msg, "root_keys.keys: key id") && strstr(e.msg, id) &&
               strstr(e.msg, "listed twice"),
           "%s", e.msg);
    /* Another key with the same key id: one key id names one key. */
    pc_pubkey twin = pk[1];
    memcpy(twin.keynum, pk[10].keynum, PC_KEYNUM_LEN);
    char tb[64];
    pc_pubkey_base64(&twin, tb, sizeof tb);
    snprintf(d, sizeof d,
             HEAD TIMES "\"root_keys\": {\"threshold\": 1, \"keys\": [\"%s\"]}, "
                        "\"repo_keys\": {\"threshold\": 1, \"keys\": [\"%s\", \"%s\"]}}",
             b64[0], b64[10], tb);
    CHECK(pc_root_parse(d, strlen(d), &r, &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "repo_keys.keys: key id") && strstr(e.msg, "listed twice"), "%s", e.msg);
    /* 16 keys parse; 17 do not. */
    for (int i = 0; i < 16; i++)
        snprintf(rk + strlen(rk), sizeof rk - strlen(rk), "%s\"%s\"", i ? ", " : "", b64[i]);
    snprintf(d, sizeof d,
             HEAD TIMES "\"root_keys\": {\"threshold\": 16, \"keys\": [%s]}, "
                        "\"repo_keys\": {\"threshold\": 1, \"keys\": [\"%s\"]}}",
             rk, b64[16]);
    CHECKF(pc_root_parse(d, strlen(d), &r, &e) == PC_OK, "%s", e.msg);
    CHECK(r.root.nkeys == 16 && r.root.threshold == 16);
    snprintf(rk + strlen(rk), sizeof rk - strlen(rk), ", \"%s\"", b64[17]);
    snprintf(d, sizeof d,
             HEAD TIMES "\"root_keys\": {\"threshold\": 2, \"keys\": [%s]}, "
                        "\"repo_keys\": {\"threshold\": 1, \"keys\": [\"%s\"]}}",
             rk, b64[16]);
    CHECK(pc_root_parse(d, strlen(d), &r, &e) == PC_ERR_FORMAT);
    CHECKF(strstr(e.msg, "root_keys.keys: more than 16 keys"), "%s", e.msg);
    /* Oversize: refused by its length, before parsing. */
    size_t big = PC_ROOT_MAX_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    CHECK(pc_root_parse(huge, big, &r, &e) == PC_ERR_TOO_LARGE);
    CHECKF(strstr(e.msg, "more than 65536"), "%s", e.msg);
    /* At the cap it is read (and then found wanting). */
    CHECK(pc_root_parse(huge, big - 1, &r, &e) == PC_ERR_FORMAT);
    free(huge);
    /* A NUL byte inside: not JSON text. */
    char *v = doc(bad_docs[0].tmpl);
    size_t vl = strlen(v);
    v[10] = '\0';
    CHECK(pc_root_parse(v, vl, &r, &e) == PC_ERR_FORMAT);
    free(v);
}

/* pc_root_validate on models, and pc_root_write refusing what it rejects. */
static void validate_models(void)
{
    static const int rk[] = {0, 1, 2};
    pc_err e = {0};
    pc_root r = mk(1, rk, 3, 2);
    CHECK(pc_root_validate(&r, &e) == PC_OK);
    pc_root x;
    char *t = NULL;
    size_t len;
#define BAD(edit, want)                                                                            \
    do {                                                                                           \
        x = r;                                                                                     \
        edit;                                                                                      \
        CHECKF(pc_root_validate(&x, &e) == PC_ERR_FORMAT, "accepted: " #edit);                     \
        CHECKF(strstr(e.msg, want), "%s: %s", #edit, e.msg);                                       \
        CHECK(pc_root_write(&x, &t, &len, &e) == PC_ERR_FORMAT && t == NULL);                      \
    } while (0)
    BAD(x.version = 0, "version: 1 to 2^53-1");
    BAD(x.version = 9007199254740992ull, "version: 1 to 2^53-1");
    BAD(x.expires = x.created, "expires: must be later than created");
    BAD(x.root.nkeys = 0, "root_keys.keys: 1 to 16 keys");
    BAD(x.repo.nkeys = PC_ROOT_MAX_KEYS + 1, "repo_keys.keys: 1 to 16 keys");
    BAD(x.root.threshold = 0, "root_keys.threshold: 0, but must be 1 to 3");
    BAD(x.root.threshold = 4, "root_keys.threshold: 4, but must be 1 to 3");
    BAD(x.repo.threshold = 3, "repo_keys.threshold: 3, but must be 1 to 2");
    BAD(x.root.keys[2] = x.root.keys[0], "root_keys.keys: key id");
    /* The same public key under another key id: one holder's block
     * relabelled would count twice towards the threshold. */
    BAD((x.root.keys[2] = x.root.keys[0], x.root.keys[2].keynum[0] ^= 1),
        "root_keys.keys: one public key listed twice");
    BAD((x.repo.keys[1] = x.repo.keys[0], x.repo.keys[1].keynum[3] ^= 0x80),
        "repo_keys.keys: one public key listed twice");
#undef BAD
}

static void keyset_find(void)
{
    static const int rk[] = {3, 4, 5};
    pc_keyset s;
    set_keys(&s, rk, 3, 2);
    CHECK(pc_keyset_find(&s, &pk[3]) == 0);
    CHECK(pc_keyset_find(&s, &pk[5]) == 2);
    CHECK(pc_keyset_find(&s, &pk[6]) == -1);
    /* The key id alone is not the key. */
    pc_pubkey twin = pk[6];
    memcpy(twin.keynum, pk[4].keynum, PC_KEYNUM_LEN);
    CHECK(pc_keyset_find(&s, &twin) == -1);
}

/* --- counting signers --------------------------------------------------------- */

static void keyset_check_counts(void)
{
    static const int rk[] = {0, 1, 2};
    const char *data = "root text";
    size_t dl = strlen(data);
    pc_keyset s;
    set_keys(&s, rk, 3, 2);
    pc_err e = {0};
    char *tc = NULL;
    /* 2 of 3: met; the trusted comment returned. */
    static const int two[] = {0, 2};
    char *sig = sign_by(data, two, 2, "tc one");
    CHECK(sig);
    pc_status st = pc_keyset_check(&s, "root", sig, strlen(sig), "root version 2", data, dl, &tc,
                                   &e);
    CHECKF(st == PC_OK, "%s", e.msg);
    CHECK(tc && !strcmp(tc, "tc one"));
    free(tc);
    free(sig);
    /* 1 of 3: below; no comment returned; the message counts. */
    static const int one[] = {1};
    sig = sign_by(data, one, 1, NULL);
    tc = (char *)"untouched";
    st = pc_keyset_check(&s, "root", sig, strlen(sig), "root version 2", data, dl, &tc, &e);
    CHECK(st == PC_ERR_SIGNATURE && tc == NULL);
    CHECKF(strstr(e.msg, "root version 2: signed by 1 of the 3 root keys, but 2 must sign"), "%s",
           e.msg);
    free(sig);
    /* One key signing twice (two blocks) counts once. */
    static const int twice[] = {1, 1};
    sig = sign_by(data, twice, 2, NULL);
    st = pc_keyset_check(&s, "root", sig, strlen(sig), "w", data, dl, NULL, &e);
    CHECK(st == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 1 of the 3"), "%s", e.msg);
    free(sig);
    /* ... and so with three blocks, two of them the same key's: 2 of 3. */
    static const int thrice[] = {1, 1, 2};
    sig = sign_by(data, thrice, 3, NULL);
    CHECK(pc_keyset_check(&s, "root", sig, strlen(sig), "w", data, dl, NULL, &e) == PC_OK);
    free(sig);
    /* Keys outside the set are not counted, however many. */
    static const int outside[] = {1, 6, 7, 8};
    sig = sign_by(data, outside, 4, NULL);
    st = pc_keyset_check(&s, "root", sig, strlen(sig), "w", data, dl, NULL, &e);
    CHECK(st == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 1 of the 3 root keys, but 2 must sign"), "%s", e.msg);
    free(sig);
    /* A block over other content is not counted. */
    char *s0 = sign_by("other text", rk, 1, NULL);
    char *s1 = sign_by(data, rk + 1, 1, NULL);
    char both[4096];
    snprintf(both, sizeof both, "%s%s", s0, s1);
    st = pc_keyset_check(&s, "root", both, strlen(both), "w", data, dl, NULL, &e);
    CHECK(st == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 1 of the 3"), "%s", e.msg);
    free(s0);
    free(s1);
    /* Two blocks that verify with different trusted comments: refused
     * when the caller reads the comment (repo.json), counted when it does
     * not (root metadata). */
    s0 = sign_by(data, rk, 1, "comment a");
    s1 = sign_by(data, rk + 1, 1, "comment b");
    snprintf(both, sizeof both, "%s%s", s0, s1);
    char *tcx = NULL;
    st = pc_keyset_check(&s, "repository", both, strlen(both), "w", data, dl, &tcx, &e);
    CHECK(st == PC_ERR_SIGNATURE && tcx == NULL);
    CHECKF(strstr(e.msg, "different trusted comments"), "%s", e.msg);
    st = pc_keyset_check(&s, "root", both, strlen(both), "w", data, dl, NULL, &e);
    CHECKF(st == PC_OK, "%s", e.msg);
    free(s0);
    free(s1);
    /* None counted, threshold 1: the first block's own reason. */
    pc_keyset one_of;
    set_keys(&one_of, rk, 1, 1);
    sig = sign_by(data, (const int[]){9}, 1, NULL);
    st = pc_keyset_check(&one_of, "repository", sig, strlen(sig), "repo.json", data, dl, NULL, &e);
    char id[17];
    pc_keyid_hex(pk[9].keynum, id);
    CHECK(st == PC_ERR_KEY);
    CHECKF(strstr(e.msg, "signed with key id") && strstr(e.msg, id), "%s", e.msg);
    free(sig);
    /* None counted, threshold 2: the count, then the first reason. */
    sig = sign_by(data, (const int[]){9}, 1, NULL);
    st = pc_keyset_check(&s, "root", sig, strlen(sig), "w", data, dl, NULL, &e);
    CHECK(st == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 0 of the 3 root keys, but 2 must sign: ") && strstr(e.msg, id),
           "%s", e.msg);
    free(sig);
    /* A malformed signature file is an error of its own. */
    st = pc_keyset_check(&s, "root", "junk\n", 5, "w", data, dl, NULL, &e);
    CHECK(st == PC_ERR_FORMAT);
    /* All 16 keys of a set, threshold 16. */
    static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    pc_keyset big;
    set_keys(&big, all, 16, 16);
    sig = sign_by(data, all, 16, NULL);
    CHECKF(pc_keyset_check(&big, "root", sig, strlen(sig), "w", data, dl, NULL, &e) == PC_OK, "%s",
           e.msg);
    free(sig);
    sig = sign_by(data, all, 15, NULL);
    CHECK(pc_keyset_check(&big, "root", sig, strlen(sig), "w", data, dl, NULL, &e) ==
          PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 15 of the 16"), "%s", e.msg);
    free(sig);
}

/* --- a root step ------------------------------------------------------------- */

static const int K012[] = {0, 1, 2}, K123[] = {1, 2, 3}, K0123[] = {0, 1, 2, 3};

static void accept_pinned(void)
{
    pc_root r = mk(1, K012, 3, 2), out;
    char *t = text_of(&r), *sig = sign_by(t, K012 + 1, 2, NULL);
    pc_err e = {0};
    CHECKF(pc_root_accept(NULL, t, strlen(t), sig, strlen(sig), &out, &e) == PC_OK, "%s", e.msg);
    CHECK(out.version == 1 && out.root.threshold == 2);
    free(sig);
    sig = sign_by(t, K012, 1, NULL);
    CHECK(pc_root_accept(NULL, t, strlen(t), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "root version 1: signed by 1 of the 3 root keys, but 2 must sign"), "%s",
           e.msg);
    free(sig);
    /* A pinned root may be any version (a client installed later). */
    pc_root r5 = mk(5, K012, 3, 1);
    char *t5 = text_of(&r5);
    sig = sign_by(t5, K012, 1, NULL);
    CHECK(pc_root_accept(NULL, t5, strlen(t5), sig, strlen(sig), &out, &e) == PC_OK &&
          out.version == 5);
    free(sig);
    free(t5);
    /* Pinned, not yet signed by a key of its own: parsed first, then refused. */
    CHECK(pc_root_accept(NULL, "{", 1, "x", 1, &out, &e) == PC_ERR_FORMAT);
    free(t);
}

static void accept_next(void)
{
    pc_root r1 = mk(1, K012, 3, 2), out;
    pc_err e = {0};
    /* Version 2: r3 joins, r0 leaves, threshold 2 of {1,2,3}. Signed by 1
     * and 2 (both roots' keys): trusted. */
    pc_root r2 = mk(2, K123, 3, 2);
    r2.reset_serial = true;
    char *t2 = text_of(&r2), *sig = sign_by(t2, K123, 2, NULL);
    CHECKF(pc_root_accept(&r1, t2, strlen(t2), sig, strlen(sig), &out, &e) == PC_OK, "%s", e.msg);
    CHECK(out.version == 2 && out.reset_serial && !memcmp(&out.root.keys[2], &pk[3], sizeof pk[3]));
    free(sig);
    /* Signed by 0 and 3: one of the old root's keys, one of the new's. */
    sig = sign_by(t2, (const int[]){0, 3}, 2, NULL);
    CHECK(pc_root_accept(&r1, t2, strlen(t2), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(
        strstr(
            e.msg,
            "root version 2: signed by 1 of the 3 root (of root version 1) keys, but 2 must sign"),
        "%s", e.msg);
    free(sig);
    /* Signed by 3 and 2 then 0: 2 old (0, 2), 2 new (2, 3). */
    sig = sign_by(t2, (const int[]){3, 2, 0}, 3, NULL);
    CHECKF(pc_root_accept(&r1, t2, strlen(t2), sig, strlen(sig), &out, &e) == PC_OK, "%s", e.msg);
    free(sig);
    /* Only the old keys (0 and 1) sign: the new threshold is not met. */
    sig = sign_by(t2, K012, 2, NULL);
    CHECK(pc_root_accept(&r1, t2, strlen(t2), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "root version 2: signed by 1 of the 3 root keys, but 2 must sign"), "%s",
           e.msg);
    free(sig);
    free(t2);
    /* A raised threshold: 4 keys, 3 must sign; 2 suffice for the old. */
    pc_root r2b = mk(2, K0123, 4, 3);
    char *tb = text_of(&r2b);
    sig = sign_by(tb, K0123, 2, NULL);
    CHECK(pc_root_accept(&r1, tb, strlen(tb), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 2 of the 4 root keys, but 3 must sign"), "%s", e.msg);
    free(sig);
    sig = sign_by(tb, K0123, 3, NULL);
    CHECKF(pc_root_accept(&r1, tb, strlen(tb), sig, strlen(sig), &out, &e) == PC_OK, "%s", e.msg);
    free(sig);
    free(tb);
    /* Expiry is the caller's: an expired step is accepted here. */
    pc_root old = mk(2, K012, 3, 2);
    old.created = 1000;
    old.expires = 2000;
    char *to = text_of(&old);
    sig = sign_by(to, K012, 2, NULL);
    CHECK(pc_root_accept(&r1, to, strlen(to), sig, strlen(sig), &out, &e) == PC_OK &&
          out.expires == 2000);
    free(sig);
    free(to);
}

static void accept_version_rules(void)
{
    pc_root r3 = mk(3, K012, 3, 2), out;
    pc_err e = {0};
    /* The same version again, an older one: a rollback. */
    for (uint64_t v = 1; v <= 3; v++) {
        pc_root x = mk(v, K012, 3, 2);
        char *t = text_of(&x), *sig = sign_by(t, K012, 3, NULL);
        pc_status st = pc_root_accept(&r3, t, strlen(t), sig, strlen(sig), &out, &e);
        free(t);
        free(sig);
        CHECKF(st == PC_ERR_ROLLBACK, "version %llu: status %d", (unsigned long long)v, st);
        char want[80];
        snprintf(want, sizeof want,
                 "root version 4: the file says version %llu: an older root replayed",
                 (unsigned long long)v);
        CHECKF(strstr(e.msg, want), "%s", e.msg);
    }
    /* Versions 5 and 2^53-1: skipped versions. */
    static const uint64_t skip[] = {5, 9007199254740991ull};
    for (size_t i = 0; i < 2; i++) {
        pc_root x = mk(skip[i], K012, 3, 2);
        char *t = text_of(&x), *sig = sign_by(t, K012, 3, NULL);
        pc_status st = pc_root_accept(&r3, t, strlen(t), sig, strlen(sig), &out, &e);
        free(t);
        free(sig);
        CHECK(st == PC_ERR_SIGNATURE);
        CHECKF(strstr(e.msg, "versions may not be skipped"), "%s", e.msg);
    }
    /* The next after the largest version there can be. */
    pc_root last = mk(9007199254740991ull, K012, 3, 2);
    pc_root x = mk(1, K012, 3, 2);
    char *t = text_of(&x), *sig = sign_by(t, K012, 3, NULL);
    CHECK(pc_root_accept(&last, t, strlen(t), sig, strlen(sig), &out, &e) == PC_ERR_ROLLBACK);
    free(t);
    free(sig);
}

/* Nothing is parsed before it is known to be signed by the old root: an
 * unsigned document, malformed or not, is a signature failure. */
static void accept_checks_signature_first(void)
{
    pc_root r1 = mk(1, K012, 3, 2), out;
    pc_err e = {0};
    const char *junk = "{\"format\": 99, not json";
    char *sig = sign_by(junk, (const int[]){7}, 1, NULL);
    CHECK(pc_root_accept(&r1, junk, strlen(junk), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 0 of the 3 root (of root version 1) keys"), "%s", e.msg);
    free(sig);
    /* Signed by the old root's keys, it is then parsed (and refused). */
    sig = sign_by(junk, K012, 2, NULL);
    CHECK(pc_root_accept(&r1, junk, strlen(junk), sig, strlen(sig), &out, &e) == PC_ERR_FORMAT);
    free(sig);
    /* A document signed by the old keys whose signatures were made over
     * other bytes (a byte changed after signing). */
    pc_root r2 = mk(2, K012, 3, 2);
    char *t = text_of(&r2);
    sig = sign_by(t, K012, 3, NULL);
    char *p = strstr(t, "\"threshold\":\t2");
    CHECK(p);
    p[13] = '1';
    CHECK(pc_root_accept(&r1, t, strlen(t), sig, strlen(sig), &out, &e) == PC_ERR_SIGNATURE);
    CHECKF(strstr(e.msg, "signed by 0 of the 3 root (of root version 1) keys"), "%s", e.msg);
    free(sig);
    free(t);
}

int main(void)
{
    t_suite = "trust";
    if (sodium_init() < 0)
        return 2;
    setup();
    RUN(write_parse_roundtrip);
    RUN(large_version_exact);
    RUN(site_path);
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++)
        RUN_CASE(bad_doc, i, bad_docs[i].name);
    RUN(bad_key_lists);
    RUN(validate_models);
    RUN(keyset_find);
    RUN(keyset_check_counts);
    RUN(accept_pinned);
    RUN(accept_next);
    RUN(accept_version_rules);
    RUN(accept_checks_signature_first);
    TEST_MAIN_END();
}
