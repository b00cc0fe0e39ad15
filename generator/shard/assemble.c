/* assemble.c — a sharded build's last step: the jobs' results indexed by
 * file name, then pc_build on the plan's trees with a source that copies
 * each object and patch from the store into the site, hashing as it
 * copies, or finds it in the site as the plan did; an edge's whole-release
 * patch is found by its task, its name in that job's result. */
#include "assemble.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "hex.h"
#include "job.h"
#include "sha256.h"

#define IN_SITE ((size_t)-1)

typedef struct entry {
    const char *path;      /* borrowed from the results or the plan */
    uint64_t size;
    uint8_t sha256[32];
    size_t job;            /* IN_SITE: the plan found it in the site */
} entry;

typedef struct assembly {
    const pc_assemble_opts *o;
    pc_job_output **outs;  /* per job */
    entry *idx;            /* sorted by path */
    size_t n;
} assembly;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* Copy src to dst through a temporary name, hashing what is copied; dst
 * appears only if that is x's size and SHA-256. */
static pc_status copy_checked(const assembly *a, const entry *x, const char *src, const char *dst,
                              pc_err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", src, strerror(errno));
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open(&t, dst, e);
    if (st != PC_OK) {
        close(in);
        return st;
    }
    pc_sha256_ctx c;
    pc_sha256_init(&c);
    uint64_t size = 0;
    static const size_t bufsize = 1 << 20;
    char *buf = malloc(bufsize);
    if (buf == NULL)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (ssize_t r; st == PC_OK && (r = read(in, buf, bufsize)) != 0;) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", src, strerror(errno));
        else if (pc_write_all(t.fd, buf, (size_t)r) != 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", t.tmp_path, strerror(errno));
        else {
            pc_sha256_update(&c, buf, (size_t)r);
            size += (uint64_t)r;
        }
    }
    uint8_t sha[32];
    pc_sha256_final(&c, sha);
    free(buf);
    close(in);
    if (st == PC_OK && (size != x->size || memcmp(sha, x->sha256, 32))) {
        char got[65], want[65], rel[PC_SITE_PATH_MAX];
        pc_hex_encode(sha, 32, got);
        pc_hex_encode(x->sha256, 32, want);
        pc_shard_result_path(a->o->plan, x->job, rel);
        st = pc_fail(e, PC_ERR_HASH,
                     "store %s: %s: SHA-256 %.16s… (%llu bytes), but job %zu's result (%s) "
                     "says %.16s… (%llu bytes): refused",
                     pc_store_name(a->o->store), x->path, got, (unsigned long long)size, x->job,
                     rel, want, (unsigned long long)x->size);
    }
    return pc_tmpfile_finish(&t, st, 0644, e);
}

/* Make dst the file the plan or a job recorded as rel. */
static pc_status fill(assembly *a, const char *rel, const char *dst, pc_err *e)
{
    entry key = {.path = rel};
    const entry *x = bsearch(&key, a->idx, a->n, sizeof *a->idx, cmp_entry);
    if (x == NULL)
        return pc_fail(e, PC_ERR_INVALID,
                       "%s: the build needs it, but it is neither a file the plan found in the "
                       "site nor one a job made: this plan is not of these releases and config",
                       rel);
    uint8_t sha[32];
    uint64_t size = 0;
    bool have = pc_sha256_file(dst, sha, &size) == PC_OK;
    if (have && size == x->size && !memcmp(sha, x->sha256, 32))
        return PC_OK; /* there already, the same bytes */
    if (x->job == IN_SITE) {
        char want[65];
        pc_hex_encode(x->sha256, 32, want);
        return pc_fail(e, PC_ERR_HASH,
                       "%s: the plan found it in the site (plan --site) with SHA-256 %.16s… "
                       "(%llu bytes), but %s: assemble into the site the plan was made with",
                       dst, want, (unsigned long long)x->size,
                       have ? "this one differs" : "it is not there");
    }
    char *src = NULL;
    pc_status st = pc_store_get(a->o->store, rel, &src, e);
    if (st == PC_ERR_NOT_FOUND) {
        char res[PC_SITE_PATH_MAX];
        pc_shard_result_path(a->o->plan, x->job, res);
        return pc_fail(e, PC_ERR_NOT_FOUND, "store %s: no %s, which job %zu's result (%s) lists",
                       pc_store_name(a->o->store), rel, x->job, res);
    }
    if (st == PC_OK)
        st = copy_checked(a, x, src, dst, e);
    pc_store_done(a->o->store, src);
    return st;
}

static pc_status fill_object(void *ud, const uint8_t sha[32], uint64_t size, const char *dst,
                             pc_err *e)
{
    (void)size;
    char rel[PC_SITE_PATH_MAX];
    pc_site_object_path(sha, rel);
    return fill(ud, rel, dst, e);
}

static pc_status fill_patch(void *ud, const uint8_t from[32], const uint8_t to[32],
                            const char *dst, pc_err *e)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(from, to, rel);
    return fill(ud, rel, dst, e);
}

static pc_status find_release(void *ud, const char *from, const char *to, uint8_t ref[32],
                              uint8_t out[32], pc_err *e)
{
    const assembly *a = ud;
    const pc_shard_plan *p = a->o->plan;
    for (size_t j = 0; j < p->njobs; j++)
        for (size_t k = 0; k < p->jobs[j].ntasks; k++) {
            const pc_shard_task *t = &p->jobs[j].tasks[k];
            if (!t->release || strcmp(p->versions[t->in.version].name, from) ||
                strcmp(p->versions[t->to.version].name, to))
                continue;
            /* "patches/aa/<ref>-<out>", checked when the result was read */
            const char *name = a->outs[j][k].path;
            if (!pc_hex_decode(name + 11, ref, 32) || !pc_hex_decode(name + 76, out, 32))
                return pc_fail(e, PC_ERR_FORMAT, "job %zu's result: %s: not a patch name", j,
                               name);
            return PC_OK;
        }
    return PC_ERR_NOT_FOUND;
}

/* Every job's result, or the list of jobs without one. */
static pc_status read_results(assembly *a, pc_err *e)
{
    const pc_shard_plan *p = a->o->plan;
    char missing[400] = "";
    size_t nmissing = 0, ml = 0;
    pc_status st = PC_OK;
    for (size_t j = 0; j < p->njobs && st == PC_OK; j++) {
        char rel[PC_SITE_PATH_MAX], *path = NULL, *text = NULL;
        size_t len = 0;
        pc_shard_result_path(p, j, rel);
        st = pc_store_get(a->o->store, rel, &path, e);
        if (st == PC_ERR_NOT_FOUND) {
            if (ml < sizeof missing - 40)
                ml += (size_t)snprintf(missing + ml, sizeof missing - ml, "%s%zu",
                                       nmissing ? ", " : "", j);
            nmissing++;
            st = PC_OK;
            continue;
        }
        if (st == PC_OK && (st = pc_read_file(path, 1u << 26, &text, &len, e)) == PC_OK)
            st = pc_shard_result_parse(p, j, text, len, rel, &a->outs[j], e);
        if (st != PC_OK)
            pc_fail_prefix(e, "store %s: ", pc_store_name(a->o->store));
        free(text);
        pc_store_done(a->o->store, path);
    }
    if (st == PC_OK && nmissing)
        st = pc_fail(e, PC_ERR_NOT_FOUND,
                     "store %s: job%s %s%s of %zu %s no result (jobs/%s/): run `patchcast-gen "
                     "build --job N` for %s first",
                     pc_store_name(a->o->store), nmissing > 1 ? "s" : "", missing,
                     ml >= sizeof missing - 40 ? ", …" : "", p->njobs, nmissing > 1 ? "have" : "has",
                     p->sha, nmissing > 1 ? "each" : "it");
    return st;
}

pc_status pc_assemble(const pc_assemble_opts *o, pc_build_result *res, pc_err *e)
{
    const pc_shard_plan *p = o->plan;
    memset(res, 0, sizeof *res);
    assembly a = {.o = o};
    size_t cap = p->nkept;
    for (size_t j = 0; j < p->njobs; j++)
        cap += p->jobs[j].ntasks;
    a.outs = calloc(p->njobs + 1, sizeof *a.outs);
    a.idx = calloc(cap + 1, sizeof *a.idx);
    pc_status st = a.outs && a.idx ? read_results(&a, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == PC_OK && j < p->njobs; j++)
        for (size_t k = 0; k < p->jobs[j].ntasks; k++) {
            const pc_job_output *x = &a.outs[j][k];
            entry *en = &a.idx[a.n++];
            *en = (entry){.path = x->path, .size = x->size, .job = j};
            memcpy(en->sha256, x->sha256, 32);
        }
    for (size_t k = 0; st == PC_OK && k < p->nkept; k++) {
        entry *en = &a.idx[a.n++];
        *en = (entry){.path = p->kept[k].path, .size = p->kept[k].size, .job = IN_SITE};
        memcpy(en->sha256, p->kept[k].sha256, 32);
    }
    if (st == PC_OK) {
        qsort(a.idx, a.n, sizeof *a.idx, cmp_entry);
        pc_build_source src = {.object = fill_object, .patch = fill_patch,
                               .release = find_release, .ud = &a};
        pc_build_opts bo = {.given = p->versions, .ngiven = p->nversions, .source = &src,
                            .site = o->site, .cfg = &p->cfg, .keys = o->keys, .nkeys = o->nkeys,
                            .trust = o->trust, .quiet = o->quiet};
        st = pc_build(&bo, res, e);
    }
    for (size_t j = 0; a.outs && j < p->njobs; j++)
        free(a.outs[j]);
    free(a.outs);
    free(a.idx);
    return st;
}
