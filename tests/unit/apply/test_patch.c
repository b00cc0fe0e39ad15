/* test_patch.c — the patch engine on BSDIFF40 and generated pcz patches:
 * round trips over 240 generated pairs as BSDIFF40 and 74 as pcz (random,
 * insertions, deletions, moved blocks, appended, empty old, empty new,
 * identical, tiny, a few MiB), interop with Debian's bsdiff and bspatch,
 * and hostile BSDIFF40 patches, each refused with a clear error and no
 * output file left behind. The pcz format's own cases are in test_pcz.c;
 * what both share is in patchtest.h. */
#include <sys/stat.h>

#include "bspatch.h"
#include "patch.h"
#include "patchtest.h"
#include "sha256.h"

static pc_diff_format g_fmt = PC_DIFF_BSDIFF40;
static int g_modes[2]; /* pcz patches made in mode 0 and mode 1 */

static const char *kind_names[] = {"random_edits", "insertions", "deletions", "moved_blocks",
                                   "appended", "empty_old", "empty_new", "identical", "tiny",
                                   "few_MiB"};

static void roundtrip(int kind, int round)
{
    uint8_t *o, *n;
    size_t on, nn;
    make_pair(kind, &o, &on, &n, &nn);
    CHECK(write_bytes(p_old, o, on) == 0 && write_bytes(p_new, n, nn) == 0);
    pc_err e = {0};
    uint64_t psize = 0;
    pc_status st = pc_diff_files(p_old, p_new, p_patch, g_fmt, NULL, &psize, &e);
    CHECKF(st == PC_OK, "%s round %d: diff: %s", kind_names[kind], round, e.msg);
    if (g_fmt == PC_DIFF_PCZ) {
        int mode = patch_mode();
        CHECK(mode >= 0);
        g_modes[mode & 1]++;
    }
    pc_patch_expect ex = {.has_size = true, .new_size = nn, .has_sha = true};
    pc_sha256(n, nn, ex.new_sha256);
    unlink(p_out);
    st = pc_patch_apply_file(p_old, p_patch, p_out, &ex, &e);
    CHECKF(st == PC_OK, "%s round %d: apply: %s", kind_names[kind], round, e.msg);
    /* Identical or tiny inputs must not blow up: a patch stays small. */
    if (kind == 7)
        CHECKF(psize < 200 + nn / 50, "identical input gave a %llu-byte patch",
               (unsigned long long)psize);
    free(o);
    free(n);
}

static void property_roundtrips_pcz(void)
{
    g_fmt = PC_DIFF_PCZ;
    int total = 0;
    for (int kind = 0; kind < 10 && !t_cur_failed; kind++) {
        int rounds = kind == 9 ? 2 : 8;
        for (int r = 0; r < rounds && !t_cur_failed; r++, total++)
            roundtrip(kind, r);
    }
    g_fmt = PC_DIFF_BSDIFF40;
    CHECKF(total >= 74, "only %d pairs", total);
    CHECKF(g_modes[0] >= 10 && g_modes[1] >= 3, "modes 0/1 made %d/%d times", g_modes[0],
           g_modes[1]);
}

static void property_roundtrips(void)
{
    int total = 0;
    for (int kind = 0; kind < 10; kind++) {
        int rounds = kind == 9 ? 6 : 26;
        for (int r = 0; r < rounds; r++) {
            roundtrip(kind, r);
            if (t_cur_failed)
                return;
            total++;
        }
    }
    CHECKF(total >= 200, "only %d pairs", total);
}

/* Interop with Debian's tools on a binary and a text pair. */
static void interop_debian(void)
{
    uint8_t *o, *n;
    size_t on, nn;
    make_pair(9, &o, &on, &n, &nn);
    CHECK(write_bytes(p_old, o, on) == 0 && write_bytes(p_new, n, nn) == 0);
    free(o);
    free(n);
    char cmd[2048];
    /* Debian bsdiff -> patchcast apply */
    snprintf(cmd, sizeof cmd, "bsdiff %s %s %s", p_old, p_new, p_patch);
    CHECK(system(cmd) == 0);
    pc_err e = {0};
    unlink(p_out);
    CHECKF(pc_patch_apply_file(p_old, p_patch, p_out, NULL, &e) == PC_OK, "%s", e.msg);
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", p_out, p_new);
    CHECK(system(cmd) == 0);
    /* patchcast diff -> Debian bspatch */
    uint64_t psize;
    CHECK(pc_diff_files(p_old, p_new, p_patch, g_fmt, NULL, &psize, &e) == PC_OK);
    snprintf(cmd, sizeof cmd, "bspatch %s %s.bspatch %s && cmp -s %s.bspatch %s", p_old, p_out,
             p_patch, p_out, p_new);
    CHECK(system(cmd) == 0);
}

/* ---- hostile patches ------------------------------------------------------ */

static uint8_t *good_patch;
static size_t good_len;

static void offt(uint8_t *p, int64_t v)
{
    pc_offtout(v, p);
}

typedef struct hostile {
    const char *name;
    pc_status want;
    const char *msg;
} hostile;

static const hostile cases[] = {
    {"empty_file", PC_ERR_PATCH, "too short"},
    {"short_header", PC_ERR_PATCH, "shorter than the 32-byte"},
    {"bad_magic", PC_ERR_UNSUPPORTED, "unknown patch format"},
    {"negative_ctrl_len", PC_ERR_PATCH, "negative length"},
    {"negative_new_size", PC_ERR_PATCH, "negative length"},
    {"ctrl_len_past_eof", PC_ERR_PATCH, "exceed the file"},
    {"diff_len_past_eof", PC_ERR_PATCH, "exceed the file"},
    {"huge_lengths_overflow", PC_ERR_PATCH, "exceed the file"},
    {"huge_new_size", PC_ERR_PATCH, "claims an output"},
    {"new_size_mismatch", PC_ERR_PATCH, "metadata expects"},
    {"new_size_larger", PC_ERR_PATCH, "ends too early|truncated"},
    {"new_size_smaller", PC_ERR_PATCH, "runs past the new size"},
    {"truncated_in_extra", PC_ERR_PATCH, "extra block is truncated|file is truncated"},
    {"trailing_extra_data", PC_ERR_PATCH, "more data than its control uses"},
    {"truncated_mid_ctrl", PC_ERR_PATCH, "exceed the file"},
    {"ctrl_garbage", PC_ERR_PATCH, "control block is not valid bzip2"},
    {"diff_garbage", PC_ERR_PATCH, "diff block is not valid bzip2"},
    {"extra_garbage", PC_ERR_PATCH, "extra block is not valid bzip2"},
    {"wrong_hash", PC_ERR_HASH, "expected"},
    {"ctrl_add_too_big", PC_ERR_PATCH, "runs past the new size"},
    {"ctrl_negative_add", PC_ERR_PATCH, "runs past the new size"},
    {"ctrl_huge_seek", PC_ERR_PATCH, "seeks out of range"},
    {"missing_old", PC_ERR_NOT_FOUND, "No such file"},
    {"missing_patch", PC_ERR_NOT_FOUND, "No such file"},
};

/* Build a BSDIFF40 file from raw control triples (compressed with bzip2)
 * and raw diff/extra blocks. */
static int write_crafted(const int64_t *ctrl, size_t nctrl, size_t diff_len, size_t extra_len,
                         int64_t new_size)
{
    char tmp[400], cmd[4096];
    snprintf(tmp, sizeof tmp, "%s/craft", dir);
    FILE *f = fopen(tmp, "wb");
    for (size_t i = 0; i < nctrl; i++) {
        uint8_t b[8];
        offt(b, ctrl[i]);
        fwrite(b, 1, 8, f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "bzip2 -c %s > %s.c && head -c %zu /dev/zero | bzip2 -c > %s.d && "
             "head -c %zu /dev/zero | bzip2 -c > %s.e",
             tmp, tmp, diff_len, tmp, extra_len, tmp);
    if (system(cmd) != 0)
        return -1;
    struct stat sc, sd;
    char pc[420], pd[420];
    snprintf(pc, sizeof pc, "%s.c", tmp);
    snprintf(pd, sizeof pd, "%s.d", tmp);
    stat(pc, &sc);
    stat(pd, &sd);
    uint8_t hdr[32];
    memcpy(hdr, "BSDIFF40", 8);
    offt(hdr + 8, sc.st_size);
    offt(hdr + 16, sd.st_size);
    offt(hdr + 24, new_size);
    f = fopen(p_patch, "wb");
    fwrite(hdr, 1, 32, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cat %s.c %s.d %s.e >> %s", tmp, tmp, tmp, p_patch);
    return system(cmd);
}

static void hostile_case(size_t i)
{
    const hostile *h = &cases[i];
    const char *name = h->name;
    CHECK(good_patch); /* prepare_good_patch's diff */
    uint8_t *p = malloc(good_len + 64);
    memcpy(p, good_patch, good_len);
    size_t len = good_len;
    pc_patch_expect ex = {.has_size = true, .new_size = sizeof new_bytes, .has_sha = true};
    pc_sha256(new_bytes, sizeof new_bytes, ex.new_sha256);
    int64_t clen = pc_offtin(p + 8), dlen = pc_offtin(p + 16);
    bool crafted = false;
    const char *old_path = p_old, *patch_path = p_patch;
    if (!strcmp(name, "empty_file"))
        len = 0;
    else if (!strcmp(name, "short_header"))
        len = 20;
    else if (!strcmp(name, "bad_magic"))
        memcpy(p, "BSDIFF41", 8);
    else if (!strcmp(name, "negative_ctrl_len"))
        offt(p + 8, -5);
    else if (!strcmp(name, "negative_new_size"))
        offt(p + 24, -1);
    else if (!strcmp(name, "ctrl_len_past_eof"))
        offt(p + 8, (int64_t)good_len);
    else if (!strcmp(name, "diff_len_past_eof"))
        offt(p + 16, (int64_t)good_len);
    else if (!strcmp(name, "huge_lengths_overflow")) {
        offt(p + 8, INT64_MAX);
        offt(p + 16, INT64_MAX);
    } else if (!strcmp(name, "huge_new_size")) {
        offt(p + 24, INT64_MAX);
        ex.has_size = false;
    } else if (!strcmp(name, "new_size_mismatch"))
        offt(p + 24, sizeof new_bytes + 1);
    else if (!strcmp(name, "new_size_larger")) {
        offt(p + 24, sizeof new_bytes + 100);
        ex.has_size = false;
    } else if (!strcmp(name, "new_size_smaller")) {
        offt(p + 24, 100);
        ex.has_size = false;
    } else if (!strcmp(name, "truncated_in_extra"))
        len = good_len - 10;
    else if (!strcmp(name, "trailing_extra_data")) {
        /* The extra block holds 100 bytes; the control uses 10. */
        int64_t c[3] = {0, 10, 0};
        CHECK(write_crafted(c, 3, 0, 100, 10) == 0);
        crafted = true;
        ex.has_size = false;
        ex.has_sha = false;
    } else if (!strcmp(name, "truncated_mid_ctrl"))
        len = 32 + (size_t)clen / 2;
    else if (!strcmp(name, "ctrl_garbage"))
        memset(p + 32, 0x55, 8);
    else if (!strcmp(name, "diff_garbage"))
        memset(p + 32 + clen, 0x55, 8);
    else if (!strcmp(name, "extra_garbage"))
        memset(p + 32 + clen + dlen, 0x55, 8);
    else if (!strcmp(name, "wrong_hash"))
        ex.new_sha256[3] ^= 1;
    else if (!strcmp(name, "ctrl_add_too_big")) {
        int64_t c[3] = {100000, 0, 0};
        CHECK(write_crafted(c, 3, 100000, 0, 6000) == 0);
        crafted = true;
    } else if (!strcmp(name, "ctrl_negative_add")) {
        int64_t c[3] = {-10, 10, 0};
        CHECK(write_crafted(c, 3, 0, 10, 6000) == 0);
        crafted = true;
    } else if (!strcmp(name, "ctrl_huge_seek")) {
        int64_t c[6] = {10, 0, INT64_MAX, 10, 0, INT64_MAX};
        CHECK(write_crafted(c, 6, 20, 0, 6000) == 0);
        crafted = true;
        ex.has_sha = false;
    } else if (!strcmp(name, "missing_old"))
        old_path = "/nonexistent/old";
    else if (!strcmp(name, "missing_patch"))
        patch_path = "/nonexistent/patch";
    if (crafted && strcmp(name, "trailing_extra_data"))
        ex.has_size = true;
    else if (!crafted)
        CHECK(write_bytes(p_patch, p, len) == 0);
    free(p);
    unlink(p_out);
    pc_err e = {0};
    pc_status st = pc_patch_apply_file(old_path, patch_path, p_out, &ex, &e);
    CHECKF(st == h->want, "status %d (%s), want %d", st, e.msg, h->want);
    /* The expected text, with '|' separating alternatives. */
    char alts[128];
    snprintf(alts, sizeof alts, "%s", h->msg);
    bool found = false;
    for (char *tok = strtok(alts, "|"); tok && !found; tok = strtok(NULL, "|"))
        found = strstr(e.msg, tok) != NULL;
    CHECKF(found, "message '%s' lacks '%s'", e.msg, h->msg);
    CHECK(access(p_out, F_OK) != 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q 'out.tmp-'", dir);
    CHECK(system(cmd) != 0);
}

static void prepare_good_patch(void)
{
    make_small_pair(0, false);
    write_bytes(p_old, old_bytes, sizeof old_bytes);
    write_bytes(p_new, new_bytes, sizeof new_bytes);
    uint64_t psize = 0;
    pc_err e = {0};
    good_patch = diff_and_read(g_fmt, &psize, &e);
    good_len = good_patch ? psize : 0;
}

int main(void)
{
    t_suite = "patch";
    if (pt_setup("patch") != 0)
        return 2;
    RUN(property_roundtrips);
    RUN(interop_debian);
    RUN(property_roundtrips_pcz);
    prepare_good_patch();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        RUN_CASE(hostile_case, i, cases[i].name);
    free(good_patch);
    if (pt_cleanup() != 0)
        return 2;
    TEST_MAIN_END();
}
