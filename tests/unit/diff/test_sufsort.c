/* test_sufsort.c — the old file's suffix array cut into segments, as files
 * of 2 GiB and more are (generator/diff/sufsort.c), with segment sizes lowered
 * so that small files take several: the layout covers the file within the
 * limits; every match found is a real one, as long as the one a single
 * array finds when that fits in the overlap; and diffs made over segments
 * round-trip through our apply and Debian's bspatch. */
#include <sys/stat.h>
#include <unistd.h>

#include "difffiles.h"
#include "patch.h"
#include "sha256.h"
#include "sufsort.h"
#include "test.h"

static char dir[] = "/tmp/pc-sufsort-XXXXXX";

/* Segments of at most seg_max bytes each reach overlap bytes into the next
 * and the last one ends at the file's end; for files from a few bytes over
 * the limit to several GiB, with the real limits and small ones. */
static void layout_covers_the_file(void)
{
    static const int64_t lim[][2] = {
        {PC_SA_SEG_MAX, PC_SA_SEG_OVERLAP}, {3000, 400}, {4096, 4095}, {100, 1}};
    static const int64_t gib = (int64_t)1 << 30;
    for (size_t l = 0; l < sizeof lim / sizeof lim[0]; l++) {
        int64_t m = lim[l][0], ov = lim[l][1];
        int64_t sizes[] = {1, m - 1, m, m + 1, 2 * m - ov, 2 * m - ov + 1, 3 * m + 7,
                           2 * gib, 2 * gib + 12345, 5 * gib + 3, 17 * gib};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int64_t on = sizes[i], s, k = pc_sa_segments(on, m, ov, &s);
            if (on < 1)
                continue;
            CHECKF(k >= 1 && s >= 1, "on %lld: %lld segments of stride %lld", (long long)on,
                   (long long)k, (long long)s);
            CHECKF(k == 1 ? s == on && on <= m : s + ov <= m,
                   "on %lld, limit %lld: stride %lld + overlap %lld", (long long)on,
                   (long long)m, (long long)s, (long long)ov);
            int64_t last = on - (k - 1) * s; /* the last segment's length */
            CHECKF(last >= 1 && last <= m, "on %lld, limit %lld: last segment %lld bytes",
                   (long long)on, (long long)m, (long long)last);
            /* No more segments than needed: one fewer would not fit. */
            CHECKF(k == 1 || (on - ov + (k - 1) - 1) / (k - 1) + ov > m,
                   "on %lld: %lld segments where %lld would do", (long long)on, (long long)k,
                   (long long)k - 1);
        }
    }
}

/* Old: blocks of random bytes, some repeated with a few bytes changed (so
 * many suffixes share long prefixes). */
static void old_text(uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t len = 16 + t_rnd() % 700;
        if (i > 2000 && t_rnd() % 2) {
            size_t from = t_rnd() % (i - 1000); /* ends before i */
            for (size_t k = 0; k < len && i < n; k++)
                b[i++] = t_rnd() % 50 ? b[from + k] : (uint8_t)t_rnd();
        } else
            for (size_t k = 0; k < len && i < n; k++)
                b[i++] = (uint8_t)t_rnd();
    }
}

/* 3,000 probes (pieces of old, changed or running on into random bytes,
 * ones across segment boundaries, random bytes): a segmented index finds
 * a real match, reported whole (not cut at a segment's end), exactly as
 * long as the single array's when that is at most the overlap, and at
 * least the overlap otherwise. */
static void longest_matches_agree(void)
{
    enum { ON = 60000, OV = 512, PROBE = 4096 };
    uint8_t *old = malloc(ON), *q = malloc(PROBE);
    CHECK(old && q);
    old_text(old, ON);
    pc_sa_index one, seg;
    pc_err e = {0};
    CHECK(pc_sa_build(&one, old, ON, &e) == PC_OK && one.nseg == 1);
    pc_sa_seg_max = 5000;
    pc_sa_seg_overlap = OV;
    pc_status st = pc_sa_build(&seg, old, ON, &e);
    pc_sa_seg_max = PC_SA_SEG_MAX;
    pc_sa_seg_overlap = PC_SA_SEG_OVERLAP;
    CHECKF(st == PC_OK, "%s", e.msg);
    CHECKF(seg.nseg == 14, "%d segments", seg.nseg);
    int over = 0, bounds = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = 1 + t_rnd() % PROBE, at = t_rnd() % ON;
        if (i % 3 == 0) { /* straddle a boundary */
            const pc_sa_seg *g = &seg.seg[1 + t_rnd() % (seg.nseg - 1)];
            at = (size_t)g->base + OV - t_rnd() % (2 * OV);
            bounds++;
        }
        for (size_t k = 0; k < n; k++)
            q[k] = at + k < ON && t_rnd() % 400 ? old[at + k] : (uint8_t)t_rnd();
        if (i % 10 == 9)
            for (size_t k = 0; k < n; k++)
                q[k] = (uint8_t)t_rnd();
        int64_t p1 = -1, p2 = -1;
        int64_t l1 = pc_sa_longest(&one, q, (int64_t)n, &p1);
        int64_t l2 = pc_sa_longest(&seg, q, (int64_t)n, &p2);
        CHECKF(p2 >= 0 && p2 + l2 <= ON && memcmp(old + p2, q, (size_t)l2) == 0,
               "probe %d: segments found %lld bytes at %lld, not a match", i, (long long)l2,
               (long long)p2);
        CHECKF(p1 >= 0 && p1 + l1 <= ON && memcmp(old + p1, q, (size_t)l1) == 0,
               "probe %d: one array found %lld bytes at %lld, not a match", i, (long long)l1,
               (long long)p1);
        CHECKF(l2 == pc_match_len(old + p2, ON - p2, q, (int64_t)n),
               "probe %d: the match at %lld reported cut at %lld bytes", i, (long long)p2,
               (long long)l2);
        CHECKF(l2 <= l1, "probe %d: segments %lld > one array's %lld", i, (long long)l2,
               (long long)l1);
        if (l1 <= OV)
            CHECKF(l2 == l1, "probe %d: segments %lld, one array %lld", i, (long long)l2,
                   (long long)l1);
        else {
            CHECKF(l2 >= OV, "probe %d: segments %lld, one array %lld", i, (long long)l2,
                   (long long)l1);
            over++;
        }
    }
    CHECKF(over > 100 && bounds == 1000, "%d probes matched more than the overlap", over);
    pc_sa_free(&one);
    pc_sa_free(&seg);
    free(old);
    free(q);
}

/* A 20 MiB old file: its one array (80 MiB, on huge pages where the
 * kernel grants them) and 8 MiB segments (packed to 3 bytes an entry)
 * find the same matches for 500 probes. */
static void large_arrays_agree(void)
{
    enum { ON = 20 << 20, OV = 1 << 16, PROBE = 1 << 17 };
    uint8_t *old = malloc(ON), *q = malloc(PROBE);
    CHECK(old && q);
    old_text(old, ON);
    pc_sa_index one, seg;
    pc_err e = {0};
    CHECK(pc_sa_build(&one, old, ON, &e) == PC_OK && one.nseg == 1 && one.seg[0].sa32);
    pc_sa_seg_max = 8 << 20;
    pc_sa_seg_overlap = OV;
    pc_status st = pc_sa_build(&seg, old, ON, &e);
    pc_sa_seg_max = PC_SA_SEG_MAX;
    pc_sa_seg_overlap = PC_SA_SEG_OVERLAP;
    CHECKF(st == PC_OK && seg.nseg == 3 && seg.seg[0].sa24, "%s", e.msg);
    for (int i = 0; i < 500; i++) {
        size_t n = 1 + t_rnd() % PROBE, at = t_rnd() % ON;
        for (size_t k = 0; k < n; k++)
            q[k] = at + k < ON && t_rnd() % 5000 ? old[at + k] : (uint8_t)t_rnd();
        int64_t p1 = -1, p2 = -1;
        int64_t l1 = pc_sa_longest(&one, q, (int64_t)n, &p1);
        int64_t l2 = pc_sa_longest(&seg, q, (int64_t)n, &p2);
        CHECKF(p1 >= 0 && memcmp(old + p1, q, (size_t)l1) == 0 && p2 >= 0 &&
                   memcmp(old + p2, q, (size_t)l2) == 0,
               "probe %d: not a match", i);
        CHECKF(l1 > OV ? l2 >= OV : l2 == l1, "probe %d: one array %lld, segments %lld", i,
               (long long)l1, (long long)l2);
    }
    pc_sa_free(&one);
    pc_sa_free(&seg);
    free(old);
    free(q);
}

static int write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* New from old: blocks moved (some across segment boundaries), insertions,
 * deletions, scattered byte changes. */
static size_t new_from(const uint8_t *old, size_t on, uint8_t *nw)
{
    size_t n = 0, i = 0;
    while (i < on) {
        size_t len = 200 + t_rnd() % 9000;
        int what = (int)(t_rnd() % 10);
        if (what == 0) { /* a block from anywhere */
            size_t from = t_rnd() % on;
            for (size_t k = 0; k < len && from + k < on; k++)
                nw[n++] = old[from + k];
        } else if (what == 1) { /* new bytes */
            for (size_t k = 0; k < len / 8; k++)
                nw[n++] = (uint8_t)t_rnd();
        } else if (what == 2) { /* deletion */
            i += len;
        } else {
            for (size_t k = 0; k < len && i < on; k++, i++)
                nw[n++] = t_rnd() % 300 ? old[i] : (uint8_t)(old[i] + 1);
        }
    }
    return n;
}

/* Diffs made over segments of 16 KiB reaching 2 KiB into the next, in both
 * formats, apply with our apply (and the BSDIFF40 ones with Debian's
 * bspatch) to the new file; the patches stay within a fifth of those made
 * over one array. */
static void segmented_diffs_roundtrip(void)
{
    char p_old[300], p_new[300], p_patch[300], p_out[300], cmd[1600];
    snprintf(p_old, sizeof p_old, "%s/old", dir);
    snprintf(p_new, sizeof p_new, "%s/new", dir);
    snprintf(p_patch, sizeof p_patch, "%s/patch", dir);
    snprintf(p_out, sizeof p_out, "%s/out", dir);
    for (int round = 0; round < 6; round++) {
        size_t on = 100000 + t_rnd() % 200000;
        uint8_t *old = malloc(on), *nw = malloc(2 * on + 20000);
        CHECK(old && nw);
        old_text(old, on);
        size_t nn = new_from(old, on, nw);
        CHECK(write_bytes(p_old, old, on) == 0 && write_bytes(p_new, nw, nn) == 0);
        for (int f = 0; f < 2; f++) {
            pc_diff_format fmt = f ? PC_DIFF_PCZ : PC_DIFF_BSDIFF40;
            pc_err e = {0};
            uint64_t whole = 0, cut = 0;
            CHECKF(pc_diff_files(p_old, p_new, p_patch, fmt, NULL,
                                 &whole, &e) == PC_OK, "%s", e.msg);
            pc_sa_seg_max = 16384;
            pc_sa_seg_overlap = 2048;
            pc_status st = pc_diff_files(p_old, p_new, p_patch, fmt, NULL, &cut, &e);
            pc_sa_seg_max = PC_SA_SEG_MAX;
            pc_sa_seg_overlap = PC_SA_SEG_OVERLAP;
            CHECKF(st == PC_OK, "round %d: diff over segments: %s", round, e.msg);
            CHECKF(cut <= whole + whole / 5, "round %d, %s: %llu bytes over segments, %llu over one",
                   round, f ? "pcz" : "bsdiff40", (unsigned long long)cut,
                   (unsigned long long)whole);
            pc_patch_expect ex = {.has_size = true, .new_size = nn, .has_sha = true};
            pc_sha256(nw, nn, ex.new_sha256);
            unlink(p_out);
            st = pc_patch_apply_file(p_old, p_patch, p_out, &ex, &e);
            CHECKF(st == PC_OK, "round %d: apply: %s", round, e.msg);
            if (fmt == PC_DIFF_BSDIFF40) {
                snprintf(cmd, sizeof cmd, "bspatch %s %s.b %s && cmp -s %s.b %s", p_old, p_out,
                         p_patch, p_out, p_new);
                CHECKF(system(cmd) == 0, "round %d: Debian bspatch on the segmented patch", round);
            }
        }
        free(old);
        free(nw);
    }
}

int main(void)
{
    t_suite = "sufsort";
    t_rng = 0x9e3779b97f4a7c15ull;
    if (!mkdtemp(dir))
        return 2;
    RUN(layout_covers_the_file);
    RUN(longest_matches_agree);
    RUN(large_arrays_agree);
    RUN(segmented_diffs_roundtrip);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
