/* test_sig.c — signature and key parsing, buffer verification, key
 * rotation, and the secret-key round trip (generator side). */
#include <sodium.h>
#include <unistd.h>

#include "patchcast.h"
#include "seckey.h"
#include "sig.h"
#include "test.h"

static pc_seckey sk1, sk2;
static pc_pubkey pk1, pk2;
static char pub1[64], pub2[64];

static void setup(void)
{
    pc_seckey_generate(&sk1, &pk1, NULL);
    pc_seckey_generate(&sk2, &pk2, NULL);
    pc_pubkey_base64(&pk1, pub1, sizeof pub1);
    pc_pubkey_base64(&pk2, pub2, sizeof pub2);
}

static void buffer_sign_verify(void)
{
    const char *msg = "{\"format\": 1, \"serial\": 7}";
    char *sig = NULL;
    CHECK(pc_sign_buffer(&sk1, msg, strlen(msg), "patchcast repo.json serial:7", NULL, &sig,
                         NULL) == PC_OK);
    pc_client *c;
    CHECK(pc_client_new(&c) == PC_OK);
    CHECK(pc_client_add_pubkey(c, pub1) == PC_OK);
    char *tc = NULL;
    pc_status st = pc_client_verify_buffer(c, msg, strlen(msg), sig, strlen(sig), 0, &tc);
    CHECKF(st == PC_OK, "%s", pc_client_errmsg(c));
    CHECK_STR(tc, "patchcast repo.json serial:7");
    free(tc);
    /* One byte changed in the data. */
    char *alt = strdup(msg);
    alt[20] = '8';
    CHECK(pc_client_verify_buffer(c, alt, strlen(alt), sig, strlen(sig), 0, &tc) ==
          PC_ERR_SIGNATURE);
    CHECK(tc == NULL);
    free(alt);
    pc_client_free(c);
    free(sig);
}

/* A signature file of two blocks (docs/format.md §2: the new document's,
 * then the previous one's, while a site is published): the content
 * verifies if either signature does, with that signature's trusted comment. */
static void two_signature_file(void)
{
    const char *old = "{\"serial\": 1}", *new = "{\"serial\": 2}";
    char *s_old = NULL, *s_new = NULL, *s_other = NULL;
    CHECK(pc_sign_buffer(&sk1, old, strlen(old), "serial:1", NULL, &s_old, NULL) == PC_OK);
    CHECK(pc_sign_buffer(&sk1, new, strlen(new), "serial:2", NULL, &s_new, NULL) == PC_OK);
    CHECK(pc_sign_buffer(&sk2, new, strlen(new), "serial:2", NULL, &s_other, NULL) == PC_OK);
    char pair[4096], wrong[4096], three[8192], many[16384] = "";
    snprintf(pair, sizeof pair, "%s%s", s_new, s_old);
    snprintf(wrong, sizeof wrong, "%s%s", s_other, s_old);
    snprintf(three, sizeof three, "%s%s%s", s_old, s_other, s_new);
    for (int i = 0; i <= PC_SIG_MAX_BLOCKS; i++)
        strcat(many, s_old);
    pc_client *c;
    CHECK(pc_client_new(&c) == PC_OK);
    CHECK(pc_client_add_pubkey(c, pub1) == PC_OK);
    char *tc = NULL;
    /* Before repo.json is replaced: the old document, by the second block. */
    pc_status st = pc_client_verify_buffer(c, old, strlen(old), pair, strlen(pair), 0, &tc);
    CHECKF(st == PC_OK, "%s", pc_client_errmsg(c));
    CHECK_STR(tc, "serial:1");
    free(tc);
    /* After: the new one, by the first. */
    st = pc_client_verify_buffer(c, new, strlen(new), pair, strlen(pair), 0, &tc);
    CHECKF(st == PC_OK, "%s", pc_client_errmsg(c));
    CHECK_STR(tc, "serial:2");
    free(tc);
    /* Neither: the first block's reason is reported. */
    tc = NULL;
    CHECK(pc_client_verify_buffer(c, "x", 1, pair, strlen(pair), 0, &tc) == PC_ERR_SIGNATURE);
    CHECK(tc == NULL);
    CHECK(pc_client_verify_buffer(c, new, strlen(new), wrong, strlen(wrong), 0, NULL) == PC_ERR_KEY);
    CHECKF(strstr(pc_client_errmsg(c), "key id") != NULL, "%s", pc_client_errmsg(c));
    /* A block per signing key: the third of three verifies (the others are
     * another document's and another key's); more than PC_SIG_MAX_BLOCKS
     * are not a signature file; nor are two for pc_sig_parse. */
    tc = NULL;
    st = pc_client_verify_buffer(c, new, strlen(new), three, strlen(three), 0, &tc);
    CHECKF(st == PC_OK, "%s", pc_client_errmsg(c));
    CHECK_STR(tc, "serial:2");
    free(tc);
    CHECK(strlen(many) < PC_SIG_FILE_MAX);
    CHECK(pc_client_verify_buffer(c, old, strlen(old), many, strlen(many), 0, NULL) == PC_ERR_FORMAT);
    CHECKF(strstr(pc_client_errmsg(c), "expected 4 lines per signature, found more"),
           "%s", pc_client_errmsg(c));
    pc_sig sg;
    pc_err e = {0};
    CHECK(pc_sig_parse(pair, strlen(pair), "s", &sg, &e) == PC_ERR_FORMAT);
    /* A bad second block is named by its line. */
    char bad[4096];
    snprintf(bad, sizeof bad, "%suntrusted comment: x\nnot base64\ntrusted comment: t\nAAAA\n", s_new);
    CHECK(pc_client_verify_buffer(c, new, strlen(new), bad, strlen(bad), 0, NULL) == PC_ERR_FORMAT);
    CHECKF(strstr(pc_client_errmsg(c), "line 6") != NULL, "%s", pc_client_errmsg(c));
    pc_client_free(c);
    free(s_old);
    free(s_new);
    free(s_other);
}

static void key_rotation(void)
{
    const char *msg = "rotate";
    char *sig1 = NULL, *sig2 = NULL;
    CHECK(pc_sign_buffer(&sk1, msg, 6, NULL, NULL, &sig1, NULL) == PC_OK);
    CHECK(pc_sign_buffer(&sk2, msg, 6, NULL, NULL, &sig2, NULL) == PC_OK);
    pc_client *c;
    CHECK(pc_client_new(&c) == PC_OK);
    CHECK(pc_client_verify_buffer(c, msg, 6, sig1, strlen(sig1), 0, NULL) == PC_ERR_INVALID);
    CHECK(pc_client_add_pubkey(c, pub1) == PC_OK);
    CHECK(pc_client_verify_buffer(c, msg, 6, sig2, strlen(sig2), 0, NULL) == PC_ERR_KEY);
    char id[17];
    pc_keyid_hex(pk2.keynum, id);
    CHECKF(strstr(pc_client_errmsg(c), id) != NULL, "%s", pc_client_errmsg(c));
    CHECK(pc_client_add_pubkey(c, pub2) == PC_OK);
    CHECK(pc_client_verify_buffer(c, msg, 6, sig1, strlen(sig1), 0, NULL) == PC_OK);
    CHECK(pc_client_verify_buffer(c, msg, 6, sig2, strlen(sig2), 0, NULL) == PC_OK);
    pc_client_free(c);
    free(sig1);
    free(sig2);
}

static void parse_pubkey_forms(void)
{
    pc_pubkey k;
    char file[200];
    snprintf(file, sizeof file, "untrusted comment: minisign public key\n%s\n", pub1);
    CHECK(pc_pubkey_parse(file, strlen(file), &k, NULL) == PC_OK);
    CHECK(memcmp(&k, &pk1, sizeof k) == 0);
    snprintf(file, sizeof file, "untrusted comment: x\r\n%s\r\n", pub1);
    CHECK(pc_pubkey_parse(file, strlen(file), &k, NULL) == PC_OK);
    CHECK(pc_pubkey_parse(pub1, strlen(pub1), &k, NULL) == PC_OK);
    pc_err e = {0};
    CHECK(pc_pubkey_parse("RWQ", 3, &k, &e) == PC_ERR_FORMAT);
    CHECK(strstr(e.msg, "invalid base64") != NULL);
    snprintf(file, sizeof file, "comment: x\n%s\n", pub1);
    CHECK(pc_pubkey_parse(file, strlen(file), &k, &e) == PC_ERR_FORMAT);
    CHECK(strstr(e.msg, "untrusted comment") != NULL);
    /* Base64 of "Ex" + 40 bytes: right length, wrong algorithm. */
    uint8_t raw[42] = {'E', 'x'};
    char b64[80];
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    CHECK(pc_pubkey_parse(b64, strlen(b64), &k, &e) == PC_ERR_UNSUPPORTED);
}

static const struct {
    const char *name;
    int line;            /* which line to replace (1-4), 0: none */
    const char *with;
    pc_status want;
    const char *msg;
} sig_cases[] = {
    {"no_untrusted_prefix", 1, "comment: hi", PC_ERR_FORMAT, "line 1"},
    {"sig_not_base64", 2, "!!!!", PC_ERR_FORMAT, "line 2: invalid base64"},
    {"sig_short", 2, "RUQAAAAA", PC_ERR_FORMAT, "line 2"},
    {"no_trusted_prefix", 3, "trusted: x", PC_ERR_FORMAT, "line 3"},
    {"global_not_base64", 4, "%%%", PC_ERR_FORMAT, "line 4"},
    {"global_short", 4, "AAAA", PC_ERR_FORMAT, "line 4"},
};

static char *line_replaced(const char *text, int line, const char *with)
{
    char *out = malloc(strlen(text) + strlen(with) + 2);
    size_t o = 0;
    int cur = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *src = cur == line ? with : p;
        size_t slen = cur == line ? strlen(with) : len;
        memcpy(out + o, src, slen);
        o += slen;
        out[o++] = '\n';
        p += len + (nl ? 1 : 0);
        cur++;
    }
    out[o] = '\0';
    return out;
}

static void sig_case(size_t i)
{
    char *sig = NULL;
    CHECK(pc_sign_buffer(&sk1, "x", 1, NULL, NULL, &sig, NULL) == PC_OK);
    char *bad = line_replaced(sig, sig_cases[i].line, sig_cases[i].with);
    pc_sig s;
    pc_err e = {0};
    pc_status st = pc_sig_parse(bad, strlen(bad), "t.minisig", &s, &e);
    free(bad);
    free(sig);
    CHECKF(st == sig_cases[i].want, "status %d: %s", st, e.msg);
    CHECKF(strstr(e.msg, sig_cases[i].msg) && strstr(e.msg, "t.minisig"), "%s", e.msg);
}

static void sig_structure(void)
{
    pc_sig s;
    pc_err e = {0};
    CHECK(pc_sig_parse("", 0, "s", &s, &e) == PC_ERR_FORMAT);
    CHECK(pc_sig_parse("a\nb\nc\nd\ne\nf\n", 12, "s", &s, &e) == PC_ERR_FORMAT);
    CHECK(strstr(e.msg, "expected 4 lines") != NULL);
    char big[PC_SIG_FILE_MAX + 2];
    memset(big, 'A', sizeof big);
    CHECK(pc_sig_parse(big, sizeof big, "s", &s, &e) == PC_ERR_TOO_LARGE);
    char nul[] = "untrusted comment: a\0b\nx\ny\nz\n";
    CHECK(pc_sig_parse(nul, sizeof nul - 1, "s", &s, &e) == PC_ERR_FORMAT);
    /* A trusted comment at the cap parses; one byte more does not. */
    char *tc = malloc(PC_TRUSTED_COMMENT_MAX + 2);
    memset(tc, 'c', PC_TRUSTED_COMMENT_MAX + 1);
    tc[PC_TRUSTED_COMMENT_MAX] = '\0';
    char *sig = NULL;
    CHECK(pc_sign_buffer(&sk1, "x", 1, tc, NULL, &sig, NULL) == PC_OK);
    CHECK(pc_sig_parse(sig, strlen(sig), "s", &s, &e) == PC_OK);
    pc_sig_free(&s);
    free(sig);
    tc[PC_TRUSTED_COMMENT_MAX] = 'c';
    tc[PC_TRUSTED_COMMENT_MAX + 1] = '\0';
    CHECK(pc_sign_buffer(&sk1, "x", 1, tc, NULL, &sig, &e) == PC_ERR_INVALID);
    free(tc);
}

static void seckey_roundtrip(void)
{
    char dir[] = "/tmp/pc-sig-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[300], pub[300];
    snprintf(path, sizeof path, "%s/k.key", dir);
    snprintf(pub, sizeof pub, "%s/k.pub", dir);
    pc_err e = {0};
    CHECK(pc_seckey_write(&sk1, path, NULL, false, &e) == PC_OK);
    CHECK(pc_seckey_write(&sk1, path, NULL, false, &e) == PC_ERR_INVALID);
    CHECK(pc_pubkey_write(&pk1, pub, false, &e) == PC_OK);
    pc_seckey back;
    bool enc = true;
    CHECK(pc_seckey_load(path, NULL, &back, &enc, &e) == PC_OK);
    CHECK(!enc && memcmp(&back, &sk1, sizeof back) == 0);
    pc_pubkey pk;
    CHECK(pc_pubkey_load(pub, &pk, &e) == PC_OK && memcmp(&pk, &pk1, sizeof pk) == 0);
    /* A flipped bit in the stored key is caught by its checksum. */
    FILE *f = fopen(path, "r+");
    CHECK(f);
    fseek(f, 159, SEEK_SET); /* inside the secret key bytes */
    int ch = fgetc(f);
    fseek(f, 159, SEEK_SET); /* inside the secret key bytes */
    fputc(ch == 'A' ? 'B' : 'A', f);
    fclose(f);
    pc_status st = pc_seckey_load(path, NULL, &back, &enc, &e);
    CHECKF(st == PC_ERR_FORMAT || st == PC_ERR_UNSUPPORTED, "status %d", st);
    unlink(path);
    unlink(pub);
    rmdir(dir);
}

/* The unencrypted key minisign -G -W writes carries no checksum (32 zero
 * bytes): read when the key is whole, refused when its public half is not
 * its seed's. */
static void seckey_without_checksum(void)
{
    char dir[] = "/tmp/pc-sig-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/m.key", dir);
    pc_err e = {0};
    CHECK(pc_seckey_write(&sk2, path, NULL, false, &e) == PC_OK);
    char text[1024];
    FILE *f = fopen(path, "r");
    CHECK(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *b = strchr(text, '\n') + 1;
    uint8_t raw[158];
    size_t got = 0;
    CHECK(sodium_base642bin(raw, sizeof raw, b, strcspn(b, "\n"), NULL, &got, NULL,
                            sodium_base64_VARIANT_ORIGINAL) == 0 && got == sizeof raw);
    for (int variant = 0; variant < 2; variant++) {
        memset(raw + 126, 0, 32); /* the checksum, as minisign -G -W leaves it */
        if (variant == 1)
            raw[100] ^= 1;        /* the public half of the secret key */
        char b64[256];
        sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
        f = fopen(path, "w");
        CHECK(f);
        fprintf(f, "untrusted comment: minisign encrypted secret key\n%s", b64);
        fclose(f);
        pc_seckey back;
        bool enc = true;
        pc_status st = pc_seckey_load(path, NULL, &back, &enc, &e);
        if (variant == 0) {
            CHECKF(st == PC_OK, "%s", e.msg);
            CHECK(!enc && memcmp(&back, &sk2, sizeof back) == 0);
        } else {
            CHECK(st == PC_ERR_FORMAT);
            CHECKF(strstr(e.msg, "corrupt secret key"), "%s", e.msg);
        }
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    t_suite = "sig";
    if (sodium_init() < 0)
        return 2;
    setup();
    RUN(buffer_sign_verify);
    RUN(key_rotation);
    RUN(two_signature_file);
    RUN(parse_pubkey_forms);
    RUN(sig_structure);
    for (size_t i = 0; i < sizeof sig_cases / sizeof sig_cases[0]; i++)
        RUN_CASE(sig_case, i, sig_cases[i].name);
    RUN(seckey_roundtrip);
    RUN(seckey_without_checksum);
    TEST_MAIN_END();
}
