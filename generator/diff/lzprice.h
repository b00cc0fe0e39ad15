/* lzprice.h — what a zstd sequence is likely to cost, in bits, for the
 * price-based parse of pcz mode 1 (lzparse.c): zstd's literal-length,
 * match-length and offset codes (RFC 8878 §3.1.1.3.2.1) with their extra
 * bits, the codes and literals priced by the statistics of the sequences
 * chosen so far. */
#ifndef PC_LZPRICE_H
#define PC_LZPRICE_H

#include <stdint.h>

#define LZ_LL_CODES 36
#define LZ_ML_CODES 53
#define LZ_OF_CODES 32
#define LZ_PRICE_TAB 1024 /* lengths below this are priced from a table */

typedef struct lz_prices {
    /* what was chosen since the last refresh (and, halved, before) */
    uint32_t nlit[256], nll[LZ_LL_CODES], nml[LZ_ML_CODES], nof[LZ_OF_CODES];
    uint32_t block_lits; /* literals counted since the last refresh */
    float lit[256];               /* a literal byte */
    float ll[LZ_PRICE_TAB];       /* a literal length: its code and extra bits */
    float ml[LZ_PRICE_TAB];       /* a match length (>= 3) */
    float of[LZ_OF_CODES];        /* an offset code, without its extra bits */
    float llc[LZ_LL_CODES], mlc[LZ_ML_CODES];
} lz_prices;

unsigned lz_ll_code(uint32_t ll);
unsigned lz_ml_code(uint32_t ml); /* ml >= 3 */
extern const uint8_t lz_ll_bits[LZ_LL_CODES], lz_ml_bits[LZ_ML_CODES];

static inline unsigned lz_highbit(uint32_t x)
{
    return 31 - (unsigned)__builtin_clz(x | 1);
}

/* Start from a model: literals as distributed in sample[0..n), the codes
 * flat but for a mild preference for short lengths. */
void lz_prices_init(lz_prices *p, const uint8_t *sample, int64_t n);

/* Count one sequence (offbase as zstd codes it: 1-3 a repeat, else offset
 * + 3) and its literals. */
void lz_prices_count(lz_prices *p, const uint8_t *lits, uint32_t ll, uint32_t offbase,
                     uint32_t ml);

/* Prices from the counts (then halve the counts: recent blocks weigh most). */
void lz_prices_refresh(lz_prices *p);

static inline float lz_price_ll(const lz_prices *p, uint32_t ll)
{
    if (ll < LZ_PRICE_TAB)
        return p->ll[ll];
    unsigned c = lz_ll_code(ll);
    return p->llc[c] + lz_ll_bits[c];
}

static inline float lz_price_match(const lz_prices *p, uint32_t offbase, uint32_t ml)
{
    unsigned oc = lz_highbit(offbase);
    float f = p->of[oc] + (float)oc;
    if (ml < LZ_PRICE_TAB)
        return f + p->ml[ml];
    unsigned c = lz_ml_code(ml);
    return f + p->mlc[c] + lz_ml_bits[c];
}

#endif
