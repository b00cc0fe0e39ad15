/* lzprice.c — zstd's sequence codes and the prices the parse of pcz mode 1
 * gives them (lzprice.h). */
#include "lzprice.h"

#include <math.h>
#include <string.h>

/* RFC 8878 §3.1.1.3.2.1: the first value of each code and its extra bits;
 * below code 16 (literal lengths) and 32 (match lengths) a code is its value. */
static const uint32_t ll_base[LZ_LL_CODES] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,  12,   13,   14,   15,   16,    18,
    20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
const uint8_t lz_ll_bits[LZ_LL_CODES] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,  1,  1,
                                         1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint32_t ml_base[LZ_ML_CODES] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  12,  13,  14,  15,   16,   17,   18,   19,   20,
    21, 22, 23, 24, 25, 26, 27, 28, 29,  30,  31,  32,  33,   34,   35,   37,   39,   41,
    43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
const uint8_t lz_ml_bits[LZ_ML_CODES] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,
    0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static unsigned code_of(const uint32_t *base, unsigned n, uint32_t v)
{
    unsigned c = n - 1;
    while (c > 0 && base[c] > v)
        c--;
    return c;
}

unsigned lz_ll_code(uint32_t ll)
{
    return ll < 16 ? ll : code_of(ll_base, LZ_LL_CODES, ll);
}

unsigned lz_ml_code(uint32_t ml)
{
    return ml < 35 ? ml - 3 : code_of(ml_base, LZ_ML_CODES, ml);
}

void lz_prices_init(lz_prices *p, const uint8_t *sample, int64_t n)
{
    memset(p, 0, sizeof *p);
    for (int64_t i = 0; i < n; i += 7)
        p->nlit[sample[i]] += 1;
    for (int i = 0; i < LZ_LL_CODES; i++)
        p->nll[i] = i < 16 ? 4 : 1;
    for (int i = 0; i < LZ_ML_CODES; i++)
        p->nml[i] = i < 32 ? 4 : 1;
    for (int i = 0; i < LZ_OF_CODES; i++)
        p->nof[i] = 2;
    lz_prices_refresh(p);
}

void lz_prices_count(lz_prices *p, const uint8_t *lits, uint32_t ll, uint32_t offbase,
                     uint32_t ml)
{
    for (uint32_t i = 0; i < ll; i++)
        p->nlit[lits[i]] += 1;
    p->nll[lz_ll_code(ll)] += 1;
    p->nml[lz_ml_code(ml)] += 1;
    p->nof[lz_highbit(offbase)] += 1;
}

/* -log2 of each symbol's share, an unseen symbol counted as a half. */
static void shares(uint32_t *count, unsigned n, float *price, float cap)
{
    double total = 0;
    for (unsigned i = 0; i < n; i++)
        total += count[i] + 0.5;
    for (unsigned i = 0; i < n; i++) {
        float f = (float)log2(total / (count[i] + 0.5));
        price[i] = f < cap ? f : cap;
        count[i] /= 2;
    }
}

void lz_prices_refresh(lz_prices *p)
{
    /* A diff leaves few literals a block: zstd stores them raw, or with a
     * Huffman table that costs as much; a literal costs 8 bits at least
     * (measured: pricing them by their spread alone made typescript.js's
     * frame 0.3% larger). */
    shares(p->nlit, 256, p->lit, 12);
    for (int i = 0; i < 256; i++)
        p->lit[i] = p->lit[i] < 8 ? 8 : p->lit[i];
    shares(p->nll, LZ_LL_CODES, p->llc, 16);
    shares(p->nml, LZ_ML_CODES, p->mlc, 16);
    shares(p->nof, LZ_OF_CODES, p->of, 16);
    for (uint32_t i = 0; i < LZ_PRICE_TAB; i++) {
        unsigned c = lz_ll_code(i);
        p->ll[i] = p->llc[c] + lz_ll_bits[c];
        if (i >= 3) {
            c = lz_ml_code(i);
            p->ml[i] = p->mlc[c] + lz_ml_bits[c];
        }
    }
}
