/* x86rel.c — pcz mode 2's filter of x86-64 code: at each position a scan
 * (restarting at every PC_X86_BLOCK bytes) looks for `E8 rel32` (call),
 * `REX 8B/8D modrm rel32` (mov/lea RIP-relative) and `80/83 3D rel32`
 * (cmp against a RIP-relative global); an operand x with -2^k <= x < 2^k
 * becomes ((x + a + 2^k) mod 2^(k+1)) - 2^k, a being the file position
 * after the operand, and the scan resumes after it. The opcode bytes are
 * never changed, so the reverse scan makes the same decisions. */
#include "x86rel.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Bit i set for each of the 16 positions p + i where a pattern may start
 * (its first two or three bytes match); reads p[0, 18). */
#ifdef __SSE2__
static inline unsigned candidates(const uint8_t *p)
{
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
    __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
    __m128i call = _mm_cmpeq_epi8(a, _mm_set1_epi8((char)0xE8));
    __m128i rex = _mm_and_si128(
        _mm_cmpeq_epi8(_mm_and_si128(a, _mm_set1_epi8((char)0xF0)), _mm_set1_epi8(0x40)),
        _mm_and_si128(
            _mm_cmpeq_epi8(_mm_or_si128(b, _mm_set1_epi8(0x06)), _mm_set1_epi8((char)0x8F)),
            _mm_cmpeq_epi8(_mm_and_si128(d, _mm_set1_epi8((char)0xC7)), _mm_set1_epi8(0x05))));
    __m128i cmp = _mm_and_si128(
        _mm_cmpeq_epi8(_mm_and_si128(a, _mm_set1_epi8((char)0xFC)), _mm_set1_epi8((char)0x80)),
        _mm_cmpeq_epi8(b, _mm_set1_epi8(0x3D)));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(call, _mm_or_si128(rex, cmp)));
}
#else
typedef uint8_t v16 __attribute__((vector_size(16)));

static inline unsigned candidates(const uint8_t *p)
{
    v16 a, b, d;
    memcpy(&a, p, 16);
    memcpy(&b, p + 1, 16);
    memcpy(&d, p + 2, 16);
    v16 m = (v16)(a == 0xE8) |
            ((v16)((a & 0xF0) == 0x40) & (v16)((b | 0x06) == 0x8F) & (v16)((d & 0xC7) == 0x05)) |
            ((v16)((a & 0xFC) == 0x80) & (v16)(b == 0x3D));
    uint64_t w[2];
    memcpy(w, &m, 16);
    /* one bit from each byte (0 or 0xFF) */
    const uint64_t gather = 0x0102040810204080ull;
    return (unsigned)(((w[0] & 0x0101010101010101ull) * gather) >> 56) |
           (unsigned)(((w[1] & 0x0101010101010101ull) * gather) >> 56) << 8;
}
#endif

/* The operand's offset if a pattern starts at c and its operand ends by
 * lim, else 0. */
static inline size_t match(const uint8_t *p, size_t c, size_t lim)
{
    size_t op = 0;
    uint8_t b = p[c];
    if (b == 0xE8)
        op = c + 1;
    else if ((b & 0xF0) == 0x40 && c + 2 < lim && (p[c + 1] == 0x8B || p[c + 1] == 0x8D) &&
             (p[c + 2] & 0xC7) == 0x05)
        op = c + 3;
    else if ((b == 0x80 || b == 0x83) && c + 1 < lim && p[c + 1] == 0x3D)
        op = c + 2;
    return op && op + 4 <= lim ? op : 0;
}

static inline void convert(uint8_t *q, uint64_t a, unsigned k, bool encode)
{
    int64_t r = (int64_t)1 << k;
    uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    int64_t x = (int32_t)u;
    if (x < -r || x >= r)
        return;
    uint64_t v = (uint64_t)(x + r);
    v = (encode ? v + a : v - a) & ((uint64_t)2 * (uint64_t)r - 1);
    u = (uint32_t)(int32_t)((int64_t)v - r);
    q[0] = (uint8_t)u;
    q[1] = (uint8_t)(u >> 8);
    q[2] = (uint8_t)(u >> 16);
    q[3] = (uint8_t)(u >> 24);
}

/* The scan over p[0, n) (file position pos), converting into w (p itself,
 * or NULL to only scan). marks (the view's, for a scan inside one block):
 * for each multiple of PC_X86_MARK into the block that the scan passes,
 * 1 + how far past it the scan resumes (0 to 6: inside a pattern). Returns
 * how many bytes are final, as pc_x86_filter. */
static size_t scan(const uint8_t *p, uint8_t *w, size_t n, uint64_t pos, unsigned k, bool encode,
                   bool end, uint8_t *marks)
{
    size_t c = 0;
    while (c < n) {
        size_t be = c + (size_t)(PC_X86_BLOCK - (pos + c) % PC_X86_BLOCK);
        bool whole = end || be <= n;
        size_t lim = be < n ? be : n;
        /* Without the rest of the block, a position needs 7 bytes. */
        size_t stop = whole ? lim : n >= 6 ? n - 6 : 0;
        while (c < stop) {
            size_t base = c;
            unsigned m;
            if (c + 18 <= lim) { /* 16 positions at a time */
                m = candidates(p + c);
            } else {
                m = 1;
            }
            while (m) {
                size_t j = base + (size_t)__builtin_ctz(m);
                m &= m - 1;
                if (j < c) /* inside an operand just converted */
                    continue;
                if (j >= stop) {
                    c = j;
                    break;
                }
                size_t op = match(p, j, lim);
                if (op) {
                    if (w)
                        convert(w + op, pos + op + 4, k, encode);
                    c = op + 4;
                    if (marks) { /* a mark inside the pattern */
                        size_t bo = (size_t)((pos + j) % PC_X86_BLOCK);
                        size_t x = j + (bo / PC_X86_MARK + 1) * PC_X86_MARK - bo;
                        if (x < c)
                            marks[(x - j + bo) / PC_X86_MARK] = (uint8_t)(1 + c - x);
                    }
                }
            }
            if (c >= stop)
                break;
            size_t step = base + 18 <= lim ? 16 : 1;
            if (c < base + step)
                c = base + step;
        }
        if (!whole)
            break;
        c = lim;
    }
    if (marks) { /* the marks passed outside patterns */
        size_t bo = (size_t)(pos % PC_X86_BLOCK);
        for (size_t x = bo / PC_X86_MARK + 1; x * PC_X86_MARK < bo + c; x++)
            if (marks[x] == 0)
                marks[x] = 1;
    }
    return c;
}

size_t pc_x86_filter(uint8_t *p, size_t n, uint64_t pos, unsigned k, bool encode, bool end)
{
    return scan(p, p, n, pos, k, encode, end, NULL);
}

#define MARKS_PER_BLOCK (PC_X86_BLOCK / PC_X86_MARK)

pc_x86_view *pc_x86_view_new(const uint8_t *old, uint64_t size, unsigned k)
{
    pc_x86_view *v = malloc(sizeof *v);
    uint64_t nblocks = size / PC_X86_BLOCK + 1;
    if (v == NULL || (v->marks = calloc(nblocks, MARKS_PER_BLOCK)) == NULL) {
        free(v);
        return NULL;
    }
    v->old = old;
    v->size = size;
    v->k = k;
    return v;
}

void pc_x86_view_free(pc_x86_view *v)
{
    if (v)
        free(v->marks);
    free(v);
}

void pc_x86_view_read(pc_x86_view *v, int64_t q, size_t n, uint8_t *dst)
{
    size_t i = 0;
    while (i < n) {
        int64_t at = q + (int64_t)i;
        if (at < 0 || (uint64_t)at >= v->size) {
            size_t z = n - i;
            if (at < 0 && (uint64_t)-at < z)
                z = (size_t)-at;
            memset(dst + i, 0, z);
            i += z;
            continue;
        }
        uint64_t b = (uint64_t)at / PC_X86_BLOCK, start = b * PC_X86_BLOCK;
        size_t len = v->size - start < PC_X86_BLOCK ? (size_t)(v->size - start) : PC_X86_BLOCK;
        size_t off = (size_t)((uint64_t)at - start), take = len - off < n - i ? len - off : n - i;
        /* Filter a copy from the last point at or before off where the
         * scan is known to resume: the block's start, or a mark that an
         * earlier read passed (the known marks are a prefix: each scan
         * starts at one and records those it passes). */
        uint8_t *mk = v->marks + b * MARKS_PER_BLOCK;
        mk[0] = 1;
        size_t mj = off / PC_X86_MARK;
        while (mk[mj] == 0)
            mj--;
        size_t r = mj * PC_X86_MARK + mk[mj] - 1u;
        if (r > off) { /* off is inside a pattern across the mark */
            mj--;
            r = mj * PC_X86_MARK + mk[mj] - 1u;
        }
        size_t to = off + take + 6 < len ? off + take + 6 : len;
        memcpy(v->scratch, v->old + start + r, to - r);
        scan(v->scratch, v->scratch, to - r, start + r, v->k, true, to == len, mk);
        memcpy(dst + i, v->scratch + (off - r), take);
        i += take;
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool pc_x86_is_x64(const uint8_t *p, size_t n)
{
    if (n >= 20 && memcmp(p, "\x7f" "ELF", 4) == 0) /* 64-bit, little-endian, x86-64 */
        return p[4] == 2 && p[5] == 1 && p[18] == 0x3E && p[19] == 0;
    if (n >= 8 && le32(p) == 0xFEEDFACFu) /* Mach-O 64, CPU_TYPE_X86_64 */
        return le32(p + 4) == 0x01000007u;
    if (n >= 0x40 && p[0] == 'M' && p[1] == 'Z') {
        uint32_t off = le32(p + 0x3C);
        return off <= n - 6 && memcmp(p + off, "PE\0\0", 4) == 0 && p[off + 4] == 0x64 &&
               p[off + 5] == 0x86;
    }
    return false;
}
