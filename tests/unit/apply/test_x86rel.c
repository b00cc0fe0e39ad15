/* test_x86rel.c — pcz mode 2's filter: hand-checked conversions (range,
 * block edges, operands that hide an opcode), the reverse scan undoing the
 * forward one whatever the pieces it is fed, the old-file view against the
 * whole filtered file, and the x86-64 header check. */
#include <stdint.h>

#include "test.h"
#include "x86rel.h"


static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Code-like bytes: the three patterns with near and far operands, opcode
 * bytes inside operands, everything else random. */
static void code_like(uint8_t *b, size_t n)
{
    static const uint8_t pats[][3] = {{0xE8, 0, 0}, {0x48, 0x8D, 0x05}, {0x4C, 0x8B, 0x3D},
                                      {0x83, 0x3D, 0}, {0x80, 0x3D, 0}, {0x48, 0x89, 0x05}};
    static const size_t plen[] = {1, 3, 3, 2, 2, 3};
    for (size_t i = 0; i < n;) {
        uint64_t r = t_rnd();
        if (r % 3 == 0 && i + 7 <= n) {
            int k = (int)((r >> 8) % 6);
            memcpy(b + i, pats[k], plen[k]);
            i += plen[k];
            uint32_t v = (r >> 16) % 4 == 0 ? (uint32_t)t_rnd() : (uint32_t)((int32_t)(t_rnd() % 200000) - 100000);
            if ((r >> 20) % 7 == 0)
                v = 0xE8E8E8E8u; /* an operand full of call opcodes */
            put32(b + i, v);
            i += 4;
        } else {
            b[i++] = (uint8_t)(r >> 24);
        }
    }
}

static void conversions(void)
{
    uint8_t b[PC_X86_BLOCK + 64];
    memset(b, 0x90, sizeof b);
    /* A call at 100 to +0x20: operand ends at 105, becomes 105 + 0x20. */
    b[100] = 0xE8;
    put32(b + 101, 0x20);
    /* Its operand looks like a call: not a pattern, it is inside one. */
    b[200] = 0xE8;
    put32(b + 201, 0xE800u);
    /* lea rax, [rip - 8] at 300; a far operand (outside 2^16) at 400. */
    memcpy(b + 300, "\x48\x8D\x05", 3);
    put32(b + 303, (uint32_t)-8);
    memcpy(b + 400, "\x48\x8B\x0D", 3);
    put32(b + 403, 0x00100000u);
    /* cmp dword [rip + 4], 0 at 500. */
    memcpy(b + 500, "\x83\x3D", 2);
    put32(b + 502, 4);
    /* A call whose operand would cross the block's end: left alone. */
    b[PC_X86_BLOCK - 3] = 0xE8;
    put32(b + PC_X86_BLOCK - 2, 7);
    /* A call just after the block's start: the scan restarts there. */
    b[PC_X86_BLOCK + 2] = 0xE8;
    put32(b + PC_X86_BLOCK + 3, 1);
    uint8_t f[sizeof b];
    memcpy(f, b, sizeof b);
    CHECK(pc_x86_filter(f, sizeof f, 0, 16, true, true) == sizeof f);
    CHECKF(le32(f + 101) == 105 + 0x20, "call operand %#x", le32(f + 101));
    CHECKF(le32(f + 201) == 205 + 0xE800, "second call operand %#x", le32(f + 201));
    CHECKF(le32(f + 303) == 307 - 8, "lea operand %#x", le32(f + 303));
    CHECK(le32(f + 403) == 0x00100000u);
    CHECK(le32(f + 502) == 506 + 4);
    CHECK(le32(f + PC_X86_BLOCK - 2) == 7);
    CHECK(le32(f + PC_X86_BLOCK + 3) == (uint32_t)(PC_X86_BLOCK + 7 + 1));
    /* Wrapping inside the range: (x + a + R) mod 2R - R. */
    memset(b, 0x90, 64);
    b[10] = 0xE8;
    put32(b + 11, 65530);
    memcpy(f, b, 64);
    pc_x86_filter(f, 64, 0, 16, true, true);
    CHECKF((int32_t)le32(f + 11) == 65530 + 15 - 131072, "wrapped operand %d",
           (int32_t)le32(f + 11));
    pc_x86_filter(f, 64, 0, 16, false, true);
    CHECK(memcmp(f, b, 64) == 0);
}

/* Forward in one go, back in random pieces (as the sink feeds it); the
 * view's random reads match the filtered file. */
static void round_trips(void)
{
    for (int round = 0; round < 40 && !t_cur_failed; round++) {
        size_t n = round < 10 ? t_rnd() % 64 : t_rnd() % (5 * PC_X86_BLOCK);
        unsigned k = PC_X86_K_MIN + (unsigned)(t_rnd() % (PC_X86_K_MAX - PC_X86_K_MIN + 1));
        uint64_t start = (round % 4 == 3) ? 3 * PC_X86_BLOCK : 0;
        uint8_t *b = malloc(n + 1), *f = malloc(n + 1), *g = malloc(n + 1);
        CHECK(b && f && g);
        code_like(b, n);
        memcpy(f, b, n);
        CHECK(pc_x86_filter(f, n, start, k, true, true) == n);
        /* Forward in pieces gives the same bytes. */
        memcpy(g, b, n);
        size_t done = 0, have = 0;
        while (done < n) {
            have += t_rnd() % 3000;
            if (have > n)
                have = n;
            size_t r = pc_x86_filter(g + done, have - done, start + done, k, true, have == n);
            CHECKF(have - done - r <= 6, "held back %zu bytes", have - done - r);
            done += r;
        }
        CHECKF(memcmp(f, g, n) == 0, "round %d: pieces filter differently", round);
        /* Back in pieces. */
        memcpy(g, f, n);
        done = have = 0;
        while (done < n) {
            have += t_rnd() % 5000;
            if (have > n)
                have = n;
            done += pc_x86_filter(g + done, have - done, start + done, k, false, have == n);
        }
        CHECKF(memcmp(g, b, n) == 0, "round %d (n %zu, k %u): not undone", round, n, k);
        if (start == 0 && n > 0) {
            pc_x86_view *v = pc_x86_view_new(b, n, k);
            CHECK(v);
            uint8_t buf[3000];
            for (int i = 0; i < 200; i++) {
                int64_t q = (int64_t)(t_rnd() % (n + 2000)) - 1000;
                size_t m = t_rnd() % sizeof buf;
                pc_x86_view_read(v, q, m, buf);
                for (size_t j = 0; j < m; j++) {
                    int64_t at = q + (int64_t)j;
                    uint8_t want = at >= 0 && (uint64_t)at < n ? f[at] : 0;
                    if (buf[j] != want) {
                        pc_x86_view_free(v);
                        CHECKF(0, "view at %lld differs", (long long)at);
                    }
                }
            }
            pc_x86_view_free(v);
        }
        free(b);
        free(f);
        free(g);
    }
}

static void headers(void)
{
    uint8_t h[256] = {0};
    memcpy(h, "\x7f" "ELF\x02\x01\x01", 7);
    h[18] = 0x3E;
    CHECK(pc_x86_is_x64(h, sizeof h));
    CHECK(!pc_x86_is_x64(h, 19));
    h[18] = 0xB7; /* aarch64 */
    CHECK(!pc_x86_is_x64(h, sizeof h));
    h[18] = 0x3E;
    h[4] = 1; /* 32-bit */
    CHECK(!pc_x86_is_x64(h, sizeof h));
    memset(h, 0, sizeof h);
    memcpy(h, "MZ", 2);
    h[0x3C] = 0x80;
    memcpy(h + 0x80, "PE\0\0\x64\x86", 6);
    CHECK(pc_x86_is_x64(h, sizeof h));
    h[0x84] = 0x4C; /* i386 */
    CHECK(!pc_x86_is_x64(h, sizeof h));
    h[0x3C] = 0xFC; /* header past the end */
    CHECK(!pc_x86_is_x64(h, sizeof h));
    memset(h, 0, sizeof h);
    memcpy(h, "\xCF\xFA\xED\xFE\x07\x00\x00\x01", 8);
    CHECK(pc_x86_is_x64(h, sizeof h));
    h[7] = 0; /* i386 */
    CHECK(!pc_x86_is_x64(h, sizeof h));
    CHECK(!pc_x86_is_x64((const uint8_t *)"", 0));
}

int main(void)
{
    t_rng = 0x9e3779b97f4a7c15ull; /* this suite's seed */
    t_suite = "x86rel";
    RUN(conversions);
    RUN(round_trips);
    RUN(headers);
    TEST_MAIN_END();
}
