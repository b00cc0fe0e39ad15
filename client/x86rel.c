/* x86rel.c — pcz mode 2's filter of x86-64 code: at each position a scan
 * (restarting at every PC_X86_BLOCK bytes) looks for `E8 rel32` (call),
 * `REX 8B/8D modrm rel32` (mov/lea RIP-relative) and `80/83 3D rel32`
 * (cmp against a RIP-relative global); an operand x with -2^k <= x < 2^k
 * becomes ((x + a + 2^k) mod 2^(k+1)) - 2^k, a being the file position
 * after the operand, and the scan resumes after it. The opcode bytes are
 * never changed, so the reverse scan makes the same decisions. */
#include "x86rel.h"

#include <string.h>

typedef uint8_t v16 __attribute__((vector_size(16)));

/* Bit i set for each of the 16 positions p + i where a pattern may start
 * (its first two or three bytes match); reads p[0, 18). */
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

size_t pc_x86_filter(uint8_t *p, size_t n, uint64_t pos, unsigned k, bool encode, bool end)
{
    size_t c = 0;
    while (c < n) {
        size_t be = c + (size_t)(PC_X86_BLOCK - (pos + c) % PC_X86_BLOCK);
        bool whole = end || be <= n;
        size_t lim = be < n ? be : n;
        /* Without the rest of the block, a position needs 7 bytes. */
        size_t stop = whole ? lim : n >= 6 ? n - 6 : 0;
        while (c < stop) {
            if (c + 18 <= lim) { /* 16 positions at a time */
                size_t base = c;
                unsigned m = candidates(p + c);
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
                        convert(p + op, pos + op + 4, k, encode);
                        c = op + 4;
                    }
                }
                if (c >= stop)
                    break;
                if (c < base + 16)
                    c = base + 16;
                continue;
            }
            size_t op = match(p, c, lim);
            if (op) {
                convert(p + op, pos + op + 4, k, encode);
                c = op + 4;
            } else {
                c++;
            }
        }
        if (!whole)
            return c;
        c = lim;
    }
    return n;
}

void pc_x86_view_init(pc_x86_view *v, const uint8_t *old, uint64_t size, unsigned k)
{
    v->old = old;
    v->size = size;
    v->k = k;
    memset(v->blk, 0, sizeof v->blk);
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
        size_t off = (size_t)((uint64_t)at - start), slot = (size_t)(b % PC_X86_CACHED);
        if (v->blk[slot] != b + 1) {
            memcpy(v->buf[slot], v->old + start, len);
            pc_x86_filter(v->buf[slot], len, start, v->k, true, true);
            v->blk[slot] = b + 1;
        }
        size_t take = len - off < n - i ? len - off : n - i;
        memcpy(dst + i, v->buf[slot] + off, take);
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
