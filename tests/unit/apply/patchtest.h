/* patchtest.h — what the patch engine's two test programs share
 * (test_patch.c: round trips, Debian interop, hostile BSDIFF40; test_pcz.c:
 * the pcz format): a temporary folder with the old, new, patch and output
 * paths in it, generated (old, new) pairs, and diffing a pair into a patch
 * read back into memory. Static functions, like ../test.h. */
#ifndef PC_PATCHTEST_H
#define PC_PATCHTEST_H

#include <stdbool.h>
#include <unistd.h>

#include "difffiles.h"
#include "test.h"

static char dir[64];
static char p_old[300], p_new[300], p_patch[300], p_out[300];
/* A small pair (make_small_pair): 5000 old bytes, 6000 new. */
static uint8_t old_bytes[5000], new_bytes[6000];

/* Make the folder /tmp/pc-<name>-XXXXXX and the paths in it. */
static int pt_setup(const char *name)
{
    snprintf(dir, sizeof dir, "/tmp/pc-%s-XXXXXX", name);
    if (!mkdtemp(dir))
        return -1;
    snprintf(p_old, sizeof p_old, "%s/old", dir);
    snprintf(p_new, sizeof p_new, "%s/new", dir);
    snprintf(p_patch, sizeof p_patch, "%s/patch", dir);
    snprintf(p_out, sizeof p_out, "%s/out", dir);
    return 0;
}

/* Remove the folder and everything in it. */
static int pt_cleanup(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(b, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static void fill(uint8_t *b, size_t n, int text)
{
    static const char *words[] = {"patch", "cast ", "update", " the ", "{\n  ", "return ",
                                  "0x1f", "func", ";\n", "size"};
    size_t i = 0;
    while (i < n) {
        if (text) {
            const char *w = words[t_rnd() % 10];
            for (size_t k = 0; w[k] && i < n; k++)
                b[i++] = (uint8_t)w[k];
        } else {
            b[i++] = (uint8_t)t_rnd();
        }
    }
}

/* Make a (old, new) pair of the given kind; returns sizes via pointers. */
static void make_pair(int kind, uint8_t **o, size_t *on, uint8_t **n, size_t *nn)
{
    size_t base = 1 + t_rnd() % 20000;
    if (kind == 9)
        base = (2u << 20) + t_rnd() % (1u << 20); /* a few MiB */
    if (kind == 8)
        base = 1 + t_rnd() % 16; /* tiny */
    int text = (int)(t_rnd() % 2);
    *on = base;
    *o = malloc(base + 1);
    fill(*o, base, text);
    *n = malloc(base * 2 + 70000);
    size_t m = 0;
    switch (kind) {
    case 0: /* random edits */
        memcpy(*n, *o, base);
        m = base;
        for (int k = 0; k < 1 + (int)(t_rnd() % 20); k++)
            (*n)[t_rnd() % m] = (uint8_t)t_rnd();
        break;
    case 1: { /* insertions */
        size_t at = t_rnd() % (base + 1), ins = 1 + t_rnd() % 5000;
        memcpy(*n, *o, at);
        fill(*n + at, ins, text);
        memcpy(*n + at + ins, *o + at, base - at);
        m = base + ins;
        break;
    }
    case 2: { /* deletions */
        size_t at = t_rnd() % base, del = t_rnd() % (base - at + 1);
        memcpy(*n, *o, at);
        memcpy(*n + at, *o + at + del, base - at - del);
        m = base - del;
        break;
    }
    case 3: { /* moved blocks: swap halves */
        size_t cut = t_rnd() % (base + 1);
        memcpy(*n, *o + cut, base - cut);
        memcpy(*n + base - cut, *o, cut);
        m = base;
        break;
    }
    case 4: { /* appended */
        size_t add = 1 + t_rnd() % 30000;
        memcpy(*n, *o, base);
        fill(*n + base, add, text);
        m = base + add;
        break;
    }
    case 5: /* empty old */
        *on = 0;
        m = 1 + t_rnd() % 5000;
        fill(*n, m, text);
        break;
    case 6: /* empty new */
        m = 0;
        break;
    case 7: /* identical */
        memcpy(*n, *o, base);
        m = base;
        break;
    case 8: /* tiny, unrelated */
        m = t_rnd() % 16;
        fill(*n, m, text);
        break;
    case 9: /* a few MiB with scattered edits and an insertion */
        memcpy(*n, *o, base);
        m = base;
        for (int k = 0; k < 200; k++)
            (*n)[t_rnd() % m] ^= (uint8_t)(1 + t_rnd() % 255);
        memmove(*n + 1000 + 4096, *n + 1000, m - 1000);
        fill(*n + 1000, 4096, text);
        m += 4096;
        break;
    }
    *nn = m;
}

/* old_bytes and new_bytes: old is random bytes (text: words), new the same
 * with a byte flipped and 1000 bytes of text appended; changed_everywhere
 * also changes a byte in every 24 (a binary pair: no text to find). */
static void make_small_pair(int text, bool changed_everywhere)
{
    fill(old_bytes, sizeof old_bytes, text);
    memcpy(new_bytes, old_bytes, sizeof old_bytes);
    fill(new_bytes + 5000, 1000, 1);
    new_bytes[77] ^= 0xff;
    if (changed_everywhere)
        for (size_t i = 16; i < 5000; i += 24)
            new_bytes[i] += 3;
}

/* Diff p_old to p_new in fmt and read the patch back: malloc'd, *psize
 * bytes; NULL on failure (e->msg says why, empty if the read failed). */
static uint8_t *diff_and_read(pc_diff_format fmt, uint64_t *psize, pc_err *e)
{
    e->msg[0] = 0;
    if (pc_diff_files(p_old, p_new, p_patch, fmt, NULL, psize, e) != PC_OK)
        return NULL;
    FILE *f = fopen(p_patch, "rb");
    uint8_t *p = malloc(*psize ? *psize : 1);
    bool ok = p && f && fread(p, 1, *psize, f) == *psize;
    if (f)
        fclose(f);
    if (!ok) {
        free(p);
        return NULL;
    }
    return p;
}

/* The pcz mode of p_patch (its header's byte 4), -1 if unreadable. */
static int patch_mode(void)
{
    FILE *f = fopen(p_patch, "rb");
    uint8_t h[8] = {0};
    bool ok = f && fread(h, 1, 8, f) == 8;
    if (f)
        fclose(f);
    return ok ? h[4] : -1;
}

#endif
