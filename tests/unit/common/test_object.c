/* test_object.c — compressed objects: pack/unpack round trips, interop with
 * the zstd command both ways, and hostile objects (wrong size, wrong hash,
 * truncated, trailing data, oversized window, not zstd). */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "object.h"
#include "objpack.h"
#include "sha256.h"
#include "test.h"

static char dir[] = "/tmp/pc-object-XXXXXX";
static char p_src[256], p_obj[256], p_out[256];

static uint8_t rnd(void)
{
    return (uint8_t)t_rnd();
}

static int write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(b, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static int same_file(const char *a, const char *b)
{
    uint8_t ha[32], hb[32];
    uint64_t sa, sb;
    if (pc_sha256_file(a, ha, &sa) || pc_sha256_file(b, hb, &sb))
        return 0;
    return sa == sb && memcmp(ha, hb, 32) == 0;
}

/* Pack a buffer, unpack it, compare. */
static void roundtrip_case(size_t kind)
{
    static const size_t sizes[] = {0, 1, 100, 131072, 3 << 20, 12 << 20};
    size_t n = sizes[kind];
    uint8_t *b = malloc(n ? n : 1);
    CHECK(b);
    for (size_t i = 0; i < n; i++)
        b[i] = kind % 2 ? rnd() : (uint8_t)("patchcast "[i % 10] ^ (i / 4096));
    CHECK(write_bytes(p_src, b, n) == 0);
    uint8_t sha[32];
    pc_sha256(b, n, sha);
    free(b);
    pc_err e = {0};
    uint64_t csize = 0;
    CHECKF(pc_object_pack_file(p_src, p_obj, 3, &csize, &e) == PC_OK, "pack: %s", e.msg);
    struct stat sb;
    CHECK(stat(p_obj, &sb) == 0 && (uint64_t)sb.st_size == csize);
    unlink(p_out);
    CHECKF(pc_object_unpack_file(p_obj, p_out, 0755, n, sha, &e) == PC_OK, "unpack: %s", e.msg);
    CHECK(same_file(p_src, p_out));
    CHECK(stat(p_out, &sb) == 0 && (sb.st_mode & 0777) == 0755);
}

static void interop_zstd_cli(void)
{
    uint8_t *b = malloc(1 << 20);
    CHECK(b);
    for (size_t i = 0; i < (1 << 20); i++)
        b[i] = (uint8_t)(i % 251 < 200 ? i % 7 : rnd());
    CHECK(write_bytes(p_src, b, 1 << 20) == 0);
    uint8_t sha[32];
    pc_sha256(b, 1 << 20, sha);
    free(b);
    pc_err e = {0};
    uint64_t csize;
    /* Ours decompresses with zstd -d ... */
    CHECK(pc_object_pack_file(p_src, p_obj, 19, &csize, &e) == PC_OK);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "zstd -q -d -f %s -o %s", p_obj, p_out);
    CHECK(system(cmd) == 0);
    CHECK(same_file(p_src, p_out));
    /* ... and zstd -19's output unpacks in ours. */
    snprintf(cmd, sizeof cmd, "zstd -q -19 -f %s -o %s", p_src, p_obj);
    CHECK(system(cmd) == 0);
    unlink(p_out);
    CHECKF(pc_object_unpack_file(p_obj, p_out, 0644, 1 << 20, sha, &e) == PC_OK, "%s", e.msg);
    CHECK(same_file(p_src, p_out));
}

/* Build an object from b[0..n) with libzstd at the given window log. */
static int make_object(const uint8_t *b, size_t n, int wlog, int checksum)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
    size_t cap = ZSTD_compressBound(n);
    uint8_t *o = malloc(cap);
    size_t r = ZSTD_compress2(c, o, cap, b, n);
    ZSTD_freeCCtx(c);
    int rc = ZSTD_isError(r) ? -1 : write_bytes(p_obj, o, r);
    free(o);
    return rc;
}

struct hostile {
    const char *name;
    pc_status want;
    const char *msg;
};

static const struct hostile hostile_cases[] = {
    {"size_larger_than_manifest", PC_ERR_TOO_LARGE, "larger than"},
    {"size_smaller_than_manifest", PC_ERR_FORMAT, "the manifest says"},
    {"wrong_hash", PC_ERR_HASH, "SHA-256"},
    {"truncated", PC_ERR_FORMAT, "truncated"},
    {"trailing_data", PC_ERR_FORMAT, "after the end"},
    {"window_too_large", PC_ERR_FORMAT, "too much memory"},
    {"not_zstd", PC_ERR_FORMAT, "zstd"},
    {"empty_file", PC_ERR_FORMAT, "truncated"},
    {"missing_object", PC_ERR_NOT_FOUND, "No such file"},
};

static void hostile_case(size_t i)
{
    const struct hostile *h = &hostile_cases[i];
    size_t n = 64 << 10;
    uint8_t *b = malloc(n);
    CHECK(b);
    for (size_t k = 0; k < n; k++)
        b[k] = rnd() & 0x0f;
    uint8_t sha[32];
    pc_sha256(b, n, sha);
    uint64_t expect = n;
    int wlog = 20;
    if (!strcmp(h->name, "window_too_large")) {
        /* A 9 MiB input compressed with a 2^24 window that it really uses. */
        free(b);
        n = 9 << 20;
        b = malloc(n);
        CHECK(b);
        for (size_t k = 0; k < n / 2; k++)
            b[k] = rnd();
        memcpy(b + n / 2, b, n - n / 2);
        pc_sha256(b, n, sha);
        expect = n;
        wlog = 24;
    }
    CHECK(make_object(b, n, wlog, 0) == 0);
    free(b);
    struct stat sb;
    CHECK(stat(p_obj, &sb) == 0);
    if (!strcmp(h->name, "size_larger_than_manifest"))
        expect = n - 1;
    if (!strcmp(h->name, "size_smaller_than_manifest"))
        expect = n + 1;
    if (!strcmp(h->name, "wrong_hash"))
        sha[5] ^= 1;
    if (!strcmp(h->name, "truncated"))
        CHECK(truncate(p_obj, sb.st_size - 3) == 0);
    if (!strcmp(h->name, "trailing_data")) {
        FILE *f = fopen(p_obj, "ab");
        CHECK(f && fwrite("junk", 1, 4, f) == 4);
        fclose(f);
    }
    if (!strcmp(h->name, "not_zstd"))
        CHECK(write_bytes(p_obj, (const uint8_t *)"BSDIFF40 not an object", 22) == 0);
    if (!strcmp(h->name, "empty_file"))
        CHECK(truncate(p_obj, 0) == 0);
    if (!strcmp(h->name, "missing_object"))
        CHECK(unlink(p_obj) == 0);
    unlink(p_out);
    pc_err e = {0};
    pc_status st = pc_object_unpack_file(p_obj, p_out, 0644, expect, sha, &e);
    CHECKF(st == h->want, "status %d (%s), want %d", st, e.msg, h->want);
    CHECKF(strstr(e.msg, h->msg) != NULL, "message '%s' lacks '%s'", e.msg, h->msg);
    /* Nothing is left under the real name, nor a temporary file beside it. */
    CHECK(access(p_out, F_OK) != 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp-", dir);
    CHECK(system(cmd) != 0);
}

int main(void)
{
    t_suite = "object";
    t_rng = 88172645463325252ull; /* this suite's seed */
    if (!mkdtemp(dir))
        return 2;
    snprintf(p_src, sizeof p_src, "%s/src", dir);
    snprintf(p_obj, sizeof p_obj, "%s/obj", dir);
    snprintf(p_out, sizeof p_out, "%s/out", dir);
    static const char *rt_names[] = {"roundtrip_empty", "roundtrip_1B",      "roundtrip_100B",
                                     "roundtrip_128KiB", "roundtrip_3MiB_text", "roundtrip_12MiB"};
    for (size_t i = 0; i < 6; i++)
        RUN_CASE(roundtrip_case, i, rt_names[i]);
    RUN(interop_zstd_cli);
    for (size_t i = 0; i < sizeof hostile_cases / sizeof hostile_cases[0]; i++)
        RUN_CASE(hostile_case, i, hostile_cases[i].name);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
