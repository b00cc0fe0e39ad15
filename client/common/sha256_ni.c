/* sha256_ni.c — the SHA-256 block function on the x86 SHA extensions
 * (SHA-NI), about 4-5x mbedTLS's portable C where the CPU has them.
 * sha256.c asks pc_sha256_ni_usable() once and otherwise stays on mbedTLS;
 * the result is the same digest either way (tests/unit/common/test_sha256.c
 * compares the two on every length up to a few blocks and on NIST vectors). */
#include "sha256.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

bool pc_sha256_ni_usable(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return ssse3 && sse41 && (b & (1u << 29)); /* leaf 7 EBX bit 29: SHA */
}

/* One group of four rounds: two sha256rnds2 on W+K of the group. */
#define ROUNDS4(w, j)                                                              \
    do {                                                                           \
        __m128i m_ = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&K[4 * (j)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m_);                              \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m_, 0x0E));     \
    } while (0)

/* W[4j..4j+3] from the four groups before it: w0 holds group j-4 and
 * becomes group j. */
#define SCHEDULE(w0, w1, w2, w3)                                                   \
    (w0) = _mm_sha256msg2_epu32(                                                   \
        _mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

__attribute__((target("sha,sse4.1,ssse3"))) void pc_sha256_ni_blocks(uint32_t h[8], const uint8_t *p,
                                                                    size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* h is a b c d e f g h; the instructions want ABEF and CDGH. */
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
    __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
    __m128i abef = _mm_alignr_epi8(t, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, t, 0xF0);

    for (; nblocks > 0; nblocks--, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        ROUNDS4(w0, 0);
        ROUNDS4(w1, 1);
        ROUNDS4(w2, 2);
        ROUNDS4(w3, 3);
        for (int j = 4; j < 16; j += 4) {
            SCHEDULE(w0, w1, w2, w3);
            ROUNDS4(w0, j);
            SCHEDULE(w1, w2, w3, w0);
            ROUNDS4(w1, j + 1);
            SCHEDULE(w2, w3, w0, w1);
            ROUNDS4(w2, j + 2);
            SCHEDULE(w3, w0, w1, w2);
            ROUNDS4(w3, j + 3);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }

    t = _mm_shuffle_epi32(abef, 0x1B);      /* F E B A */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);   /* D C H G */
    abef = _mm_blend_epi16(t, cdgh, 0xF0);  /* D C B A */
    cdgh = _mm_alignr_epi8(cdgh, t, 8);     /* H G F E */
    _mm_storeu_si128((__m128i *)&h[0], abef);
    _mm_storeu_si128((__m128i *)&h[4], cdgh);
}

#else

bool pc_sha256_ni_usable(void)
{
    return false;
}

void pc_sha256_ni_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    (void)h, (void)p, (void)nblocks;
}

#endif
