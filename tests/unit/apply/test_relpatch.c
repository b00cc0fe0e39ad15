/* test_relpatch.c — whole-release patches (client/apply/relpatch.c, made by
 * generator/diff/reldiff.c): the reference rule (each content once, at its
 * first path, padded to 4096; empty contents take no space), the targets
 * rule, the reference mapped in place byte for byte as the rule lays it
 * out, each damaged, missing, resized or linked file (or a FIFO or a folder
 * in its place) refused by name, and a patch made from one tree to another
 * applied and cut into its checked files; a corrupt patch, a wrong vouched
 * reference and a wrong file list refused; the generator's read of a tree
 * changed since its scan refusing a FIFO or a folder link. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "relpatch.h"
#include "reldiff.h"
#include "sha256.h"
#include "test.h"

static char dir[64];

/* A manifest of regular files (paths sorted by the caller), sizes and
 * hashes from the bytes given. */
typedef struct tfile {
    const char *path;
    const uint8_t *data;
    size_t size;
} tfile;

static pc_manifest *manifest_of(const tfile *f, size_t n)
{
    pc_manifest *m = calloc(1, sizeof *m);
    m->product = strdup("demo");
    m->version = strdup("1.0.0");
    m->files = calloc(n, sizeof *m->files);
    m->nfiles = n;
    for (size_t i = 0; i < n; i++) {
        m->files[i].path = strdup(f[i].path);
        m->files[i].type = PC_FT_FILE;
        m->files[i].size = f[i].size;
        m->files[i].mode = 0644;
        m->files[i].object_size = 1;
        pc_sha256(f[i].data ? f[i].data : (const uint8_t *)"", f[i].size, m->files[i].sha256);
    }
    return m;
}

/* Write the files below root (folders made). */
static int write_tree(const char *root, const tfile *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, f[i].path);
        pc_err e = {0};
        if (pc_mkdirs(p, true, &e) != PC_OK)
            return -1;
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || pc_write_all(fd, f[i].data ? f[i].data : (const uint8_t *)"", f[i].size))
            return -1;
        close(fd);
    }
    return 0;
}

static uint8_t *text_bytes(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)("abcdefghij klmnop\n"[(i * 7 + seed + i / 97) % 18]);
    return p;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)t_rnd();
    return p;
}

/* The old tree: a, c the same content; b empty; d exactly one page; e one byte. */
static uint8_t *A, *D, *E;
static tfile old_files[5];

static void make_old(void)
{
    A = text_bytes(5000, 1);
    D = random_bytes(4096);
    E = (uint8_t *)strdup("x");
    tfile f[5] = {{"a.txt", A, 5000}, {"b/empty", NULL, 0}, {"c/copy.txt", A, 5000},
                  {"d.bin", D, 4096}, {"e", E, 1}};
    memcpy(old_files, f, sizeof f);
}

static void layout_rule(void)
{
    pc_manifest *m = manifest_of(old_files, 5);
    size_t *idx, n;
    uint64_t size;
    pc_err e = {0};
    CHECKF(pc_relref_layout(m, &idx, &n, &size, &e) == PC_OK, "%s", e.msg);
    /* a (two pages), the empty content (none), d (one), e (one); c is a's. */
    CHECKF(n == 4 && idx[0] == 0 && idx[1] == 1 && idx[2] == 3 && idx[3] == 4, "n %zu", n);
    CHECKF(size == 4 * 4096, "size %llu", (unsigned long long)size);
    free(idx);
    pc_manifest_free(m);
}

static void targets_rule(void)
{
    uint8_t *n1 = text_bytes(3000, 5);
    /* New: a kept, n1 at two paths, d kept, a renamed copy of e, an empty file. */
    tfile nf[6] = {{"a.txt", A, 5000}, {"n/one", n1, 3000}, {"n/two", n1, 3000},
                   {"moved/d.bin", D, 4096}, {"x", E, 1}, {"z/empty", NULL, 0}};
    pc_manifest *from = manifest_of(old_files, 5), *to = manifest_of(nf, 6);
    pc_release_file *out;
    size_t *idx, n;
    pc_err e = {0};
    CHECKF(pc_relref_targets(from, to, &out, &idx, &n, &e) == PC_OK, "%s", e.msg);
    CHECKF(n == 1 && idx[0] == 1 && out[0].size == 3000 &&
               !memcmp(out[0].sha256, to->files[1].sha256, 32),
           "n %zu", n);
    free(out);
    free(idx);
    pc_manifest_free(from);
    pc_manifest_free(to);
    free(n1);
}

/* The mapped region is the rule's layout, byte for byte. */
static void map_in_place(void)
{
    char root[128];
    snprintf(root, sizeof root, "%s/map", dir);
    CHECK(write_tree(root, old_files, 5) == 0);
    pc_manifest *m = manifest_of(old_files, 5);
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    pc_relref r;
    size_t bad;
    pc_err e = {0};
    CHECKF(pc_relref_map(fd, m, 4 * 4096, &r, &bad, &e) == PC_OK, "%s", e.msg);
    uint8_t *want = calloc(4 * 4096, 1);
    memcpy(want, A, 5000);
    memcpy(want + 8192, D, 4096);
    memcpy(want + 12288, E, 1);
    CHECK(r.size == 4 * 4096 && memcmp(r.base, want, 4 * 4096) == 0);
    pc_relref_unmap(&r);
    CHECK(r.base == NULL);
    /* Another expected size: not this reference. */
    CHECK(pc_relref_map(fd, m, 5 * 4096, &r, &bad, &e) == PC_ERR_UNSUPPORTED && r.base == NULL);
    free(want);
    close(fd);
    pc_manifest_free(m);
}

static void blocked(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL relpatch: blocked on a FIFO\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(2);
    _exit(1);
}

/* Each kind of damage is named, with the file's index; nothing stays
 * mapped. A FIFO in a file's place is refused at once, not waited on. */
static void map_refuses_damage(void)
{
    char root[128], p[256];
    snprintf(root, sizeof root, "%s/dmg", dir);
    pc_manifest *m = manifest_of(old_files, 5);
    struct {
        const char *what;
        pc_status want;
        size_t bad;
    } cases[] = {{"edited", PC_ERR_HASH, 3}, {"truncated", PC_ERR_HASH, 0},
                 {"missing", PC_ERR_NOT_FOUND, 4}, {"symlink", PC_ERR_NOT_FOUND, 0},
                 {"folder link", PC_ERR_NOT_FOUND, 1}, {"fifo", PC_ERR_NOT_FOUND, 4},
                 {"folder", PC_ERR_NOT_FOUND, 3}, {"larger", PC_ERR_HASH, 4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        CHECK(system(cmd) == 0 && write_tree(root, old_files, 5) == 0);
        if (k == 0) { /* same size, one byte changed */
            snprintf(p, sizeof p, "%s/d.bin", root);
            int fd = open(p, O_WRONLY);
            CHECK(fd >= 0 && pwrite(fd, "?", 1, 100) == 1);
            close(fd);
        } else if (k == 1) {
            snprintf(p, sizeof p, "%s/a.txt", root);
            CHECK(truncate(p, 4000) == 0);
        } else if (k == 2) {
            snprintf(p, sizeof p, "%s/e", root);
            CHECK(unlink(p) == 0);
        } else if (k == 3) { /* a link to an intact copy is not followed */
            snprintf(p, sizeof p, "%s/a.txt", root);
            snprintf(cmd, sizeof cmd, "mv %s %s/../elsewhere && ln -s ../elsewhere %s", p, root, p);
            CHECK(system(cmd) == 0);
        } else if (k == 4) {
            snprintf(cmd, sizeof cmd, "mv %s/b %s/../b-real && ln -s ../b-real %s/b", root, root,
                     root);
            CHECK(system(cmd) == 0);
        } else if (k == 5) { /* nobody writes to it: an open that waits never returns */
            snprintf(p, sizeof p, "%s/e", root);
            CHECK(unlink(p) == 0 && mkfifo(p, 0644) == 0);
        } else if (k == 6) {
            snprintf(p, sizeof p, "%s/d.bin", root);
            CHECK(unlink(p) == 0 && mkdir(p, 0755) == 0);
        } else {
            snprintf(p, sizeof p, "%s/e", root);
            int fd = open(p, O_WRONLY | O_APPEND);
            CHECK(fd >= 0 && write(fd, "y", 1) == 1);
            close(fd);
        }
        int fd = open(root, O_RDONLY | O_DIRECTORY);
        pc_relref r;
        size_t bad = 99;
        pc_err e = {0};
        signal(SIGALRM, blocked);
        alarm(30);
        pc_status st = pc_relref_map(fd, m, 4 * 4096, &r, &bad, &e);
        alarm(0);
        close(fd);
        snprintf(cmd, sizeof cmd, "rm -rf %s/../elsewhere %s/../b-real", root, root);
        CHECK(system(cmd) == 0);
        CHECKF(st == cases[k].want && bad == cases[k].bad && r.base == NULL,
               "%s: status %d, file %zu: %s", cases[k].what, st, bad, e.msg);
        CHECKF(strstr(e.msg, m->files[bad].path) != NULL, "%s: '%s'", cases[k].what, e.msg);
    }
    pc_manifest_free(m);
}

/* The generator's read of the trees (a tree changed since its scan): a
 * FIFO in a file's place refused at once, not waited on; a folder turned
 * into a link to an intact copy outside the tree not followed. */
static void load_refuses_changed_tree(void)
{
    char ro[128], rn[128], p[300], cmd[800];
    snprintf(ro, sizeof ro, "%s/gen-old", dir);
    snprintf(rn, sizeof rn, "%s/gen-new", dir);
    uint8_t *n1 = text_bytes(3000, 9);
    tfile nf[2] = {{"a.txt", A, 5000}, {"n/one", n1, 3000}};
    pc_manifest *from = manifest_of(old_files, 5), *to = manifest_of(nf, 2);
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "rm -rf %s %s %s/outside", ro, rn, dir);
        CHECK(system(cmd) == 0 && write_tree(ro, old_files, 5) == 0 && write_tree(rn, nf, 2) == 0);
        const char *want;
        if (k == 0) {
            snprintf(p, sizeof p, "%s/n/one", rn);
            CHECK(unlink(p) == 0 && mkfifo(p, 0644) == 0);
            want = "n/one";
        } else {
            snprintf(cmd, sizeof cmd, "mv %s/n %s/outside && ln -s ../outside %s/n", rn, dir, rn);
            CHECK(system(cmd) == 0);
            want = "n/one";
        }
        pc_reldiff rd;
        pc_err e = {0};
        CHECKF(pc_reldiff_plan(from, to, &rd, &e) == PC_OK, "%s", e.msg);
        signal(SIGALRM, blocked);
        alarm(30);
        pc_status st = pc_reldiff_load(&rd, ro, from, rn, to, &e);
        alarm(0);
        CHECKF(st != PC_OK && strstr(e.msg, want) != NULL, "case %d: status %d: %s", k, st, e.msg);
        pc_reldiff_free(&rd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s/outside", ro, rn, dir);
    CHECK(system(cmd) == 0);
    pc_manifest_free(from);
    pc_manifest_free(to);
    free(n1);
}

/* A release patch from the old tree to a new one: made, mapped, applied,
 * cut; then a corrupt patch and wrong metadata refused. */
static void apply_and_cut(void)
{
    uint8_t *a2 = malloc(5000), *big = text_bytes(200000, 3), *added = malloc(7000);
    memcpy(a2, A, 5000);
    memcpy(a2 + 2000, "changed!", 8);
    memcpy(added, big + 1000, 3000);   /* pieces of two old files ... */
    memcpy(added + 3000, A + 100, 4000); /* ... in one new one */
    uint8_t *big2 = malloc(200000);
    memcpy(big2, big, 200000);
    memcpy(big2 + 150000, "edit", 4);
    tfile of[6] = {{"a.txt", A, 5000}, {"b/empty", NULL, 0}, {"big.txt", big, 200000},
                   {"c/copy.txt", A, 5000}, {"d.bin", D, 4096}, {"e", E, 1}};
    tfile nf[5] = {{"a.txt", a2, 5000}, {"added.txt", added, 7000}, {"big.txt", big2, 200000},
                   {"moved/d.bin", D, 4096}, {"z/dup", a2, 5000}};
    char ro[128], rn[128], site[128], out[128];
    snprintf(ro, sizeof ro, "%s/old", dir);
    snprintf(rn, sizeof rn, "%s/new", dir);
    snprintf(site, sizeof site, "%s/site", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    CHECK(write_tree(ro, of, 6) == 0 && write_tree(rn, nf, 5) == 0);
    CHECK(mkdir(site, 0755) == 0 && mkdir(out, 0700) == 0);
    pc_manifest *from = manifest_of(of, 6), *to = manifest_of(nf, 5);
    pc_reldiff rd;
    pc_release_ref rel;
    bool fresh;
    pc_err e = {0};
    CHECKF(pc_reldiff_plan(from, to, &rd, &e) == PC_OK, "%s", e.msg);
    CHECKF(rd.nfiles == 3 && rd.to_size == 5000 + 7000 + 200000, "%zu files", rd.nfiles);
    CHECKF(pc_reldiff_make(&rd, site, ro, from, rn, to, &rel, &fresh, &e) == PC_OK, "%s", e.msg);
    CHECK(fresh && rel.nfiles == 3 && rel.reference_size == 4096 * (2 + 49 + 1 + 1));
    /* Smaller than the added file alone: its pieces were found in two old files. */
    CHECKF(rel.size < 2000, "a %llu-byte patch", (unsigned long long)rel.size);
    char patch[400], rp[PC_SITE_PATH_MAX];
    pc_site_patch_path(rel.from, rel.to, rp);
    snprintf(patch, sizeof patch, "%s/%s", site, rp);
    CHECK(pc_reldiff_check(&rd, patch));
    pc_reldiff_free(&rd);

    int fd = open(ro, O_RDONLY | O_DIRECTORY), od = open(out, O_RDONLY | O_DIRECTORY);
    pc_relref r;
    size_t bad;
    CHECKF(pc_relref_map(fd, from, rel.reference_size, &r, &bad, &e) == PC_OK, "%s", e.msg);
    CHECKF(pc_relpatch_apply(&r, &rel, patch, od, &e) == PC_OK, "%s", e.msg);
    const uint8_t *want[3] = {a2, added, big2};
    for (int i = 0; i < 3; i++) {
        char p[200], *got;
        size_t len;
        snprintf(p, sizeof p, "%s/%d", out, i);
        CHECKF(pc_read_file(p, 1 << 20, &got, &len, &e) == PC_OK, "%s", e.msg);
        CHECKF(len == rel.files[i].size && memcmp(got, want[i], len) == 0, "piece %d", i);
        free(got);
        unlink(p);
    }
    /* No temporary output left behind. */
    char p[200];
    snprintf(p, sizeof p, "%s/release.out", out);
    CHECK(access(p, F_OK) != 0);

    /* A wrong list of files: the cut refuses the piece. */
    rel.files[1].sha256[0] ^= 1;
    CHECK(pc_relpatch_apply(&r, &rel, patch, od, &e) == PC_ERR_HASH);
    CHECKF(strstr(e.msg, "release output 1") != NULL, "%s", e.msg);
    rel.files[1].sha256[0] ^= 1;
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%d", out, i);
        unlink(p);
    }
    /* A reference vouched for with another hash: refused by the header. */
    rel.from[0] ^= 1;
    CHECK(pc_relpatch_apply(&r, &rel, patch, od, &e) == PC_ERR_PATCH);
    CHECKF(strstr(e.msg, "another old file") != NULL, "%s", e.msg);
    rel.from[0] ^= 1;
    /* A corrupt patch (its stream, past the header): refused, no crash. */
    int pf = open(patch, O_RDWR);
    uint8_t byte;
    CHECK(pf >= 0 && pread(pf, &byte, 1, 250) == 1);
    byte ^= 0x5a;
    CHECK(pwrite(pf, &byte, 1, 250) == 1);
    close(pf);
    pc_status st = pc_relpatch_apply(&r, &rel, patch, od, &e);
    CHECKF(st == PC_ERR_PATCH || st == PC_ERR_HASH, "status %d: %s", st, e.msg);
    /* Not pcz version 2: refused before decoding. */
    pf = open(patch, O_RDWR);
    CHECK(pf >= 0 && pwrite(pf, "BSDIFF40", 8, 0) == 8);
    close(pf);
    CHECK(pc_relpatch_apply(&r, &rel, patch, od, &e) == PC_ERR_UNSUPPORTED);
    pc_relref_unmap(&r);
    close(fd);
    close(od);
    free(rel.files);
    pc_manifest_free(from);
    pc_manifest_free(to);
    free(a2);
    free(big);
    free(big2);
    free(added);
}

int main(void)
{
    t_suite = "relpatch";
    snprintf(dir, sizeof dir, "/tmp/pc-relpatch-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL relpatch/setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    make_old();
    RUN(layout_rule);
    RUN(targets_rule);
    RUN(map_in_place);
    RUN(map_refuses_damage);
    RUN(load_refuses_changed_tree);
    RUN(apply_and_cut);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("FAIL relpatch/cleanup: %s\n", cmd);
    free(A);
    free(D);
    free(E);
    TEST_MAIN_END();
}
