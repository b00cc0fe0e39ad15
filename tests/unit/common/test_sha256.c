/* test_sha256.c — SHA-256 on the NIST vectors, streaming, hex codec. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "error.h"
#include "hex.h"
#include "patchcast.h"
#include "sha256.h"
#include "test.h"

static void hex_of(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    pc_sha256(data, len, d);
    pc_sha256_to_hex(d, out);
}

/* FIPS 180-2 appendix B and the NIST CAVS short/long message examples. */
static void nist_vectors(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char got[65];
        hex_of(v[i].msg, strlen(v[i].msg), got);
        CHECKF(strcmp(got, v[i].hex) == 0, "vector %zu: %s", i, got);
    }
}

static void million_a_streamed(void)
{
    /* One million 'a', fed in uneven chunks to exercise block boundaries. */
    char buf[1000];
    memset(buf, 'a', sizeof buf);
    pc_sha256_ctx ctx;
    pc_sha256_init(&ctx);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = step % 997 + 1;
        if (n > 1000000 - done)
            n = 1000000 - done;
        pc_sha256_update(&ctx, buf, n);
        done += n;
        step = step * 31 + 7;
    }
    uint8_t d[32];
    char hex[65];
    pc_sha256_final(&ctx, d);
    pc_sha256_to_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void nist_byte_vectors(void)
{
    /* NIST SHAVS SHA256ShortMsg: Len = 8, Msg = d3; Len = 16, Msg = 11af. */
    const uint8_t m1[] = {0xd3}, m2[] = {0x11, 0xaf};
    char got[65];
    hex_of(m1, 1, got);
    CHECK_STR(got, "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1");
    hex_of(m2, 2, got);
    CHECK_STR(got, "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98");
}

static void hex_roundtrip(void)
{
    uint8_t d[32], back[32];
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(i * 37 + 11);
    char hex[65];
    pc_sha256_to_hex(d, hex);
    CHECK(strlen(hex) == 64);
    CHECK(pc_is_lower_hex(hex, 64));
    CHECK(pc_sha256_from_hex(hex, back) == PC_OK);
    CHECK(memcmp(d, back, 32) == 0);
    /* Upper case is accepted on input. */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
    CHECK(pc_sha256_from_hex(upper, back) == PC_OK);
    CHECK(memcmp(d, back, 32) == 0);
}

static void hex_rejects(void)
{
    uint8_t d[32];
    char s[80];
    memset(s, 'a', 64);
    s[64] = '\0';
    CHECK(pc_sha256_from_hex(s, d) == PC_OK);
    s[63] = '\0'; /* too short */
    CHECK(pc_sha256_from_hex(s, d) == PC_ERR_FORMAT);
    s[63] = 'a';
    s[64] = 'a';
    s[65] = '\0'; /* too long */
    CHECK(pc_sha256_from_hex(s, d) == PC_ERR_FORMAT);
    s[64] = '\0';
    s[10] = 'g'; /* not hex */
    CHECK(pc_sha256_from_hex(s, d) == PC_ERR_FORMAT);
    s[10] = ' ';
    CHECK(pc_sha256_from_hex(s, d) == PC_ERR_FORMAT);
    CHECK(pc_sha256_from_hex("", d) == PC_ERR_FORMAT);
    CHECK(pc_sha256_from_hex(NULL, d) == PC_ERR_INVALID);
    CHECK(!pc_is_lower_hex("ABCD", 4));
    CHECK(pc_is_lower_hex("abcd", 4));
    CHECK(!pc_is_lower_hex("abcde", 4));
}

static void file_missing(void)
{
    uint8_t d[32];
    CHECK(pc_sha256_file("/nonexistent/patchcast/file", d, NULL) == PC_ERR_NOT_FOUND);
}

static void file_matches_buffer(void)
{
    char path[] = "/tmp/pc-sha-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    static uint8_t buf[300000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    FILE *f = fdopen(fd, "wb");
    CHECK(f && fwrite(buf, 1, sizeof buf, f) == sizeof buf);
    fclose(f);
    uint8_t a[32], b[32];
    uint64_t size = 0;
    pc_status st = pc_sha256_file(path, a, &size);
    unlink(path);
    CHECK(st == PC_OK);
    CHECK(size == sizeof buf);
    pc_sha256(buf, sizeof buf, b);
    CHECK(memcmp(a, b, 32) == 0);
}

/* The version the library reports is the header's, in both forms; the
 * status values are ABI and must not move. */
static void version_and_status_values(void)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", PC_VERSION_MAJOR, PC_VERSION_MINOR, PC_VERSION_PATCH);
    CHECK_STR(pc_version(), want);
    CHECK_STR(PC_VERSION_STRING, want);
    CHECK(pc_version_number() == (unsigned)(PC_VERSION_MAJOR * 10000 + PC_VERSION_MINOR * 100 + PC_VERSION_PATCH));
    CHECK(pc_version_number() == PC_VERSION_NUMBER);
    CHECK(PC_OK == 0 && PC_ERR_NOMEM == 1 && PC_ERR_HASH == 10 && PC_ERR_NETWORK == 12);
    CHECK(PC_ERR_MODULE == 19 && PC_ERR_BUSY == 20 && PC_ERR_NO_SPACE == 21);
    CHECK(PC_ERR_PERMISSION == 22 && PC_ERR_OFFLINE == 23 && PC_ERR_NOT_INITIALISED == 24);
    CHECK(PC_STATUS_COUNT == 25);
}

/* The stable names scripts read: every status has one, each different. */
static void status_codes_are_stable_names(void)
{
    for (int s = 0; s < PC_STATUS_COUNT; s++) {
        const char *a = pc_status_code((pc_status)s);
        CHECKF(strcmp(a, "unknown") != 0, "status %d", s);
        for (int t = 0; t < s; t++)
            CHECKF(strcmp(a, pc_status_code((pc_status)t)) != 0, "%d and %d: %s", s, t, a);
    }
    CHECK_STR(pc_status_code(PC_ERR_BUSY), "busy");
    CHECK_STR(pc_status_code(PC_ERR_NO_SPACE), "no_space");
    CHECK_STR(pc_status_code(PC_ERR_PERMISSION), "permission");
    CHECK_STR(pc_status_code(PC_ERR_OFFLINE), "offline");
    CHECK_STR(pc_status_code(PC_ERR_NOT_INITIALISED), "not_initialised");
    CHECK_STR(pc_status_code(PC_ERR_SIGNATURE), "signature");
    CHECK_STR(pc_status_code((pc_status)999), "unknown");
    CHECK(pc_errno_status(ENOSPC) == PC_ERR_NO_SPACE && pc_errno_status(EDQUOT) == PC_ERR_NO_SPACE);
    CHECK(pc_errno_status(EACCES) == PC_ERR_PERMISSION && pc_errno_status(EROFS) == PC_ERR_PERMISSION);
    CHECK(pc_errno_status(EIO) == PC_ERR_IO);
}

static void strerror_covers_all(void)
{
    for (int s = 0; s < PC_STATUS_COUNT; s++)
        CHECKF(strcmp(pc_strerror((pc_status)s), "unknown status") != 0, "status %d", s);
    CHECK_STR(pc_strerror((pc_status)999), "unknown status");
    CHECK_STR(pc_strerror(PC_OK), "success");
}

/* Both block functions give the same digest: every length across the
 * first blocks, in one piece and fed in uneven chunks, with the SHA
 * extensions (where the CPU has them) against mbedTLS. */
static void extensions_match_mbedtls(void)
{
    static uint8_t buf[4099];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 11);
    size_t lens[320], nl = 0;
    for (size_t n = 0; n <= 260; n++)
        lens[nl++] = n;
    for (size_t n = 4099; nl < 320; n -= 67)
        lens[nl++] = n;
    for (size_t i = 0; i < nl; i++) {
        uint8_t fast[32], slow[32], chunked[32];
        pc_sha256_allow_ni(true);
        pc_sha256(buf, lens[i], fast);
        pc_sha256_ctx c;
        pc_sha256_init(&c);
        for (size_t at = 0, step = i % 7 + 1; at < lens[i]; at += step, step = step * 3 % 131 + 1)
            pc_sha256_update(&c, buf + at, step < lens[i] - at ? step : lens[i] - at);
        pc_sha256_final(&c, chunked);
        pc_sha256_allow_ni(false);
        pc_sha256(buf, lens[i], slow);
        pc_sha256_allow_ni(true);
        CHECKF(memcmp(fast, slow, 32) == 0, "length %zu: one piece differs from mbedTLS", lens[i]);
        CHECKF(memcmp(chunked, slow, 32) == 0, "length %zu: chunked differs from mbedTLS", lens[i]);
    }
    printf("# SHA extensions %s on this CPU\n", pc_sha256_ni_usable() ? "used" : "absent (mbedTLS only)");
}

/* The NIST vectors again with mbedTLS alone, so that path stays covered on a
 * CPU with the SHA extensions. */
static void nist_vectors_mbedtls(void)
{
    pc_sha256_allow_ni(false);
    nist_vectors();
    million_a_streamed();
    pc_sha256_allow_ni(true);
}

int main(void)
{
    t_suite = "sha256";
    RUN(nist_vectors);
    RUN(nist_byte_vectors);
    RUN(million_a_streamed);
    RUN(hex_roundtrip);
    RUN(hex_rejects);
    RUN(file_missing);
    RUN(file_matches_buffer);
    RUN(strerror_covers_all);
    RUN(version_and_status_values);
    RUN(status_codes_are_stable_names);
    RUN(extensions_match_mbedtls);
    RUN(nist_vectors_mbedtls);
    TEST_MAIN_END();
}
