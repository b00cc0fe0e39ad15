/* test_lzparse.c — pcz mode 1's price-based parse (generator/diff/lzparse.c):
 * frames of generated text pairs decode, with plain libzstd and the old
 * file as the prefix, to the new file — across its windows, blocks and
 * hash spans, and a match running from the old file's end into the new
 * one — and the parse takes what is cheap (repeat offsets, the new file's
 * own past). */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "lzparse.h"
#include "sufsort.h"
#include "test.h"

static char dir[] = "/tmp/pc-lzparse-XXXXXX";


/* Text-like bytes: words of a vocabulary, identifiers, numbers, lines. */
static void text(uint8_t *b, size_t n, int vocab)
{
    static const char *w[2][8] = {
        {"function ", "return ", "const ", "this.", "(node, ", ");\n    ", "if (", "} else {\n"},
        {"<div>", "</p>", "class=\"", "href=", "span ", "\n  <li>", "style", "&amp;"}};
    size_t i = 0;
    while (i < n) {
        char tmp[24];
        const char *s = w[vocab][t_rnd() % 8];
        if (t_rnd() % 3 == 0) {
            snprintf(tmp, sizeof tmp, "x%llu ", (unsigned long long)(t_rnd() % 5000));
            s = tmp;
        }
        for (size_t k = 0; s[k] && i < n; k++)
            b[i++] = (uint8_t)s[k];
    }
}

/* Write b to a file and map it back: the parse drops pages of the new file
 * behind it, which only a file mapping survives. */
static const uint8_t *mapped(const char *name, const uint8_t *b, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
        return NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    return m == MAP_FAILED ? NULL : m;
}

/* Parse new against old; check the frame decodes to new; its size in *len
 * (0: no frame). Returns 0 on success. */
static int frame_of(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t *len,
                    char *why, size_t wl)
{
    const uint8_t *mo = mapped("old", old, on), *mn = mapped("new", nw, nn);
    pc_sa_index ix;
    pc_err e = {0};
    uint8_t *fr = NULL, *out = malloc(nn + 1);
    int rc = -1;
    *len = 0;
    if (!mo || !mn || !out) {
        snprintf(why, wl, "setup failed");
        goto out;
    }
    if (pc_sa_build(&ix, mo, (int64_t)on, &e) != PC_OK) {
        snprintf(why, wl, "suffix array: %s", e.msg);
        goto out;
    }
    pc_status st = pc_lz_frame(&ix, mo, on, mn, nn, &fr, len, &e);
    pc_sa_free(&ix);
    if (st != PC_OK) {
        snprintf(why, wl, "parse: %s", e.msg);
        goto out;
    }
    if (fr == NULL) {
        rc = 0;
        goto out;
    }
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 31);
    size_t r = ZSTD_DCtx_refPrefix(d, old, on);
    if (!ZSTD_isError(r))
        r = ZSTD_decompressDCtx(d, out, nn + 1, fr, *len);
    ZSTD_freeDCtx(d);
    if (ZSTD_isError(r))
        snprintf(why, wl, "zstd: %s", ZSTD_getErrorName(r));
    else if (r != nn || memcmp(out, nw, nn) != 0)
        snprintf(why, wl, "decoded %zu bytes, not the new file (%zu)", r, nn);
    else
        rc = 0;
out:
    if (mo)
        munmap((void *)mo, on);
    if (mn)
        munmap((void *)mn, nn);
    free(fr);
    free(out);
    return rc;
}

/* Edits every few KiB: fresh text (sometimes longer than one programme's
 * window), deletions, same-length changes, copies of the new file's recent
 * past and of far parts of the old file. */
static size_t edit(const uint8_t *old, size_t on, uint8_t *nw, size_t cap)
{
    size_t i = 0, n = 0;
    while (i < on && n + 40000 < cap) {
        size_t keep = 500 + t_rnd() % 30000;
        if (keep > on - i)
            keep = on - i;
        memcpy(nw + n, old + i, keep);
        n += keep;
        i += keep;
        switch (t_rnd() % 6) {
        case 0: { /* fresh text */
            size_t k = t_rnd() % 8 == 0 ? 3000 + t_rnd() % 6000 : 1 + t_rnd() % 80;
            text(nw + n, k, 1);
            n += k;
            break;
        }
        case 1: /* deletion */
            i += 1 + t_rnd() % 200;
            break;
        case 2: /* same-length change */
            for (size_t k = 0; k < 4 && n > k; k++)
                nw[n - 1 - k * 7] ^= 0x20;
            break;
        case 3: { /* a copy of the new file's recent past */
            size_t k = 20 + t_rnd() % 300, back = k + t_rnd() % 60000;
            if (back <= n) {
                memmove(nw + n, nw + n - back, k);
                n += k;
            }
            break;
        }
        default: { /* a block from far away in the old file */
            size_t k = 50 + t_rnd() % 2000, from = t_rnd() % (on - k);
            memcpy(nw + n, old + from, k);
            n += k;
        }
        }
    }
    return n;
}

static void edits_roundtrip(void)
{
    size_t on = 3u << 20;
    uint8_t *old = malloc(on), *nw = malloc(on + on / 2);
    CHECK(old && nw);
    for (int round = 0; round < 2; round++) {
        text(old, on, 0);
        size_t nn = edit(old, on, nw, on + on / 2), len;
        char why[700] = "";
        CHECKF(frame_of(old, on, nw, nn, &len, why, sizeof why) == 0, "round %d: %s", round, why);
        CHECKF(len > 0 && len < nn / 20, "round %d: a %zu-byte frame for %zu bytes", round, len,
               nn);
    }
    free(old);
    free(nw);
}

/* One byte in 500 changed: each change is a literal and a match at the
 * same offset as before (zstd's repeat code), not a new offset (which
 * would cost 5 bytes and more here). */
static void changes_take_repeat_offsets(void)
{
    size_t on = 1u << 20, len, changes = 0;
    uint8_t *old = malloc(on), *nw = malloc(on);
    CHECK(old && nw);
    text(old, on, 0);
    memcpy(nw, old, on);
    for (size_t i = 250; i < on; i += 500, changes++)
        nw[i] ^= 0x55;
    char why[700] = "";
    CHECKF(frame_of(old, on, nw, on, &len, why, sizeof why) == 0, "%s", why);
    CHECKF(len > 0 && len < changes * 7 / 2, "%zu bytes for %zu changes", len, changes);
    free(old);
    free(nw);
}

/* A new file unlike the old one but repeating itself: matches into its
 * own past carry it. */
static void new_file_repeats_itself(void)
{
    size_t on = 200000, nn = 600000, len;
    uint8_t *old = malloc(on), *nw = malloc(nn);
    CHECK(old && nw);
    text(old, on, 0);
    text(nw, 30000, 1);
    for (size_t n = 30000; n < nn; n += 30000) {
        memcpy(nw + n, nw + n - 30000, 30000);
        nw[n + t_rnd() % 30000] = '#';
    }
    char why[700] = "";
    CHECKF(frame_of(old, on, nw, nn, &len, why, sizeof why) == 0, "%s", why);
    CHECKF(len > 0 && len < 30000 / 2, "a %zu-byte frame", len);
    free(old);
    free(nw);
}

/* old = R X, new = X X tail: the first match runs from the old file's
 * end on into the new file. Small pairs too. */
static void across_the_old_end_and_small(void)
{
    size_t on = 50000, x = 4000, nn = 2 * x + 3000, len;
    uint8_t *old = malloc(on), *nw = malloc(nn);
    CHECK(old && nw);
    text(old, on, 0);
    memcpy(nw, old + on - x, x);
    memcpy(nw + x, old + on - x, x);
    text(nw + 2 * x, nn - 2 * x, 1);
    char why[700] = "";
    CHECKF(frame_of(old, on, nw, nn, &len, why, sizeof why) == 0, "%s", why);
    CHECK(len > 0);
    for (size_t n = 1; n < 300; n += 37) {
        text(nw, n, t_rnd() % 2);
        CHECKF(frame_of(old, 1000, nw, n, &len, why, sizeof why) == 0, "%zu bytes: %s", n, why);
    }
    free(old);
    free(nw);
}

int main(void)
{
    t_rng = 0x9e3779b97f4a7c15ull; /* this suite's seed */
    t_suite = "lzparse";
    if (!mkdtemp(dir))
        return 2;
    RUN(edits_roundtrip);
    RUN(changes_take_repeat_offsets);
    RUN(new_file_repeats_itself);
    RUN(across_the_old_end_and_small);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
