/* host.c — hot-swap host: loads modules (patchcast_module.h), serves their
 * function tables lock-free, and swaps batches of them all or nothing.
 *
 * Callers read one generation of tables at a time. A generation is one of two
 * shells; a swap fills the spare shell, starts and self-checks the new
 * instances in it, publishes it with one atomic store, then waits until no
 * reader holds the old shell before stopping and unloading what it replaced.
 * A reader announces itself on a shell's counter and re-checks that the shell
 * is still current, so a shell is never reused under a reader that uses it. */
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "path.h"
#include "patchcast_module.h"

#define MAX PC_HOST_MAX_MODULES
#define NAME_MAX_LEN 64

typedef struct inst {
    pc_module_ctx ctx; /* first: ctx_dep finds its instance from it */
    void *dl;
    const pc_module_desc *d;
    void *state;
    char *path;
    int slot;
    bool started;
} inst;

typedef struct gen {
    atomic_long readers;
    inst *mods[MAX];
} gen;

typedef struct req {
    char *name;
    char **syms;
    size_t nsyms;
} req;

struct pc_host {
    _Atomic(gen *) cur;
    gen shells[2];
    atomic_int nslots;
    char *names[MAX];
    atomic_uint_fast64_t ngen;
    pthread_mutex_t lock;
    req *reqs;
    size_t nreqs;
    pc_host_files_fn files_fn;
    void *files_ud;
    pc_err err;
};

/* The generation this thread reads (outermost guard, or a swap's staging). */
static _Thread_local struct {
    pc_host *h;
    gen *g;
    unsigned depth;
} tls;

pc_status pc_host_new(pc_host **out)
{
    *out = NULL;
    pc_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return PC_ERR_NOMEM;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return PC_ERR_NOMEM;
    }
    atomic_init(&h->cur, &h->shells[0]);
    *out = h;
    return PC_OK;
}

const char *pc_host_errmsg(const pc_host *h)
{
    return h ? h->err.msg : "";
}

uint64_t pc_host_generation(const pc_host *h)
{
    return atomic_load(&((pc_host *)h)->ngen);
}

int pc_host_find(const pc_host *h, const char *name)
{
    int n = atomic_load(&((pc_host *)h)->nslots);
    for (int i = 0; i < n; i++)
        if (!strcmp(h->names[i], name))
            return i;
    return -1;
}

/* ---- readers ---------------------------------------------------------------- */

static gen *reading(pc_host *h)
{
    return tls.h == h && tls.depth ? tls.g : atomic_load(&h->cur);
}

const void *pc_host_acquire(pc_host *h, int id, pc_host_guard *g)
{
    g->gen = NULL;
    g->counted = 0;
    if (id < 0 || id >= MAX)
        return NULL;
    if (tls.h == h && tls.depth) {
        inst *m = tls.g->mods[id];
        if (m == NULL)
            return NULL;
        tls.depth++;
        g->gen = tls.g;
        return m->d->api;
    }
    gen *cur;
    for (;;) {
        cur = atomic_load(&h->cur);
        atomic_fetch_add(&cur->readers, 1);
        if (atomic_load(&h->cur) == cur)
            break;
        atomic_fetch_sub(&cur->readers, 1);
    }
    inst *m = cur->mods[id];
    if (m == NULL) {
        atomic_fetch_sub(&cur->readers, 1);
        return NULL;
    }
    g->gen = cur;
    g->counted = 1;
    if (tls.depth == 0) {
        tls.h = h;
        tls.g = cur;
        tls.depth = 1;
    } else {
        g->counted = 2; /* another host's view is this thread's; keep it */
    }
    return m->d->api;
}

void pc_host_release(pc_host *h, pc_host_guard *g)
{
    if (g->gen == NULL)
        return;
    if (g->counted != 2 && tls.h == h && tls.g == g->gen && tls.depth && --tls.depth == 0)
        tls.h = NULL;
    if (g->counted)
        atomic_fetch_sub(&((gen *)g->gen)->readers, 1);
    g->gen = NULL;
    g->counted = 0;
}

const char *pc_host_module_version(const pc_host *h, int id)
{
    if (id < 0 || id >= MAX)
        return NULL;
    inst *m = reading((pc_host *)h)->mods[id];
    return m ? m->d->version : NULL;
}

static bool listed(const char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], name))
            return true;
    return false;
}

static const void *ctx_dep(const pc_module_ctx *ctx, const char *name)
{
    const inst *self = (const inst *)ctx;
    pc_host *h = ctx->host_private;
    if (name == NULL || !listed(self->d->depends, name))
        return NULL;
    int id = pc_host_find(h, name);
    if (id < 0)
        return NULL;
    inst *m = reading(h)->mods[id];
    return m ? m->d->api : NULL;
}

/* ---- loading ------------------------------------------------------------------ */

static void inst_free(inst *m)
{
    if (m == NULL)
        return;
    if (m->started && m->d->stop)
        m->d->stop(m->state);
    if (m->dl)
        dlclose(m->dl);
    free(m->path);
    free(m);
}

static bool name_ok(const char *s)
{
    size_t n = s ? strnlen(s, NAME_MAX_LEN + 1) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Open dir/rel and check its descriptor and symbols. */
static pc_status open_module(pc_host *h, const char *dir, const char *rel, inst **out)
{
    *out = NULL;
    const char *why = pc_path_problem(rel);
    if (why)
        return pc_fail(&h->err, PC_ERR_INVALID, "module path '%s': %s", rel, why);
    inst *m = calloc(1, sizeof *m);
    if (m == NULL || (m->path = pc_path_join(dir, rel)) == NULL) {
        free(m);
        return pc_fail(&h->err, PC_ERR_NOMEM, "out of memory");
    }
    pc_status st = PC_ERR_MODULE;
    dlerror();
    m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        pc_fail(&h->err, st, "module %s: load: %s", rel, dlerror());
        goto fail;
    }
    m->d = dlsym(m->dl, PC_MODULE_SYMBOL);
    if (m->d == NULL) {
        pc_fail(&h->err, st, "module %s: load: no '%s' descriptor (not a patchcast module)", rel,
                PC_MODULE_SYMBOL);
        goto fail;
    }
    if (m->d->abi_version != PC_MODULE_ABI_VERSION) {
        pc_fail(&h->err, st, "module %s: ABI check: module ABI version %u, this host speaks %u",
                rel, m->d->abi_version, PC_MODULE_ABI_VERSION);
        goto fail;
    }
    if (!name_ok(m->d->name) || m->d->start == NULL || m->d->stop == NULL || m->d->api == NULL) {
        pc_fail(&h->err, st, "module %s: ABI check: descriptor lacks a valid name, api, start or stop",
                rel);
        goto fail;
    }
    for (size_t i = 0; m->d->symbols && m->d->symbols[i]; i++)
        if (dlsym(m->dl, m->d->symbols[i]) == NULL) {
            pc_fail(&h->err, st, "module %s (%s): symbol check: missing symbol '%s'", m->d->name, rel,
                    m->d->symbols[i]);
            goto fail;
        }
    for (size_t r = 0; r < h->nreqs; r++)
        for (size_t i = 0; !strcmp(h->reqs[r].name, m->d->name) && i < h->reqs[r].nsyms; i++)
            if (dlsym(m->dl, h->reqs[r].syms[i]) == NULL) {
                pc_fail(&h->err, st, "module %s (%s): symbol check: missing symbol '%s' the host requires",
                        m->d->name, rel, h->reqs[r].syms[i]);
                goto fail;
            }
    m->ctx.host_private = h;
    m->ctx.dep = ctx_dep;
    *out = m;
    return PC_OK;
fail:
    inst_free(m);
    return st;
}

static int slot_for(pc_host *h, const char *name)
{
    int id = pc_host_find(h, name);
    if (id >= 0)
        return id;
    int n = atomic_load(&h->nslots);
    if (n >= MAX || (h->names[n] = strdup(name)) == NULL)
        return -1;
    atomic_store(&h->nslots, n + 1);
    return n;
}

/* ---- dependency order ------------------------------------------------------------ */

typedef struct topo {
    gen *g;
    int color[MAX]; /* 0 new, 1 on the stack, 2 done */
    int stack[MAX], depth;
    int order[MAX], n;
} topo;

static pc_status visit(pc_host *h, topo *t, int id)
{
    if (t->color[id] == 2)
        return PC_OK;
    if (t->color[id] == 1) {
        char msg[PC_ERRMSG_MAX] = "dependency cycle: ";
        int from = 0;
        while (t->stack[from] != id)
            from++;
        for (int i = from; i < t->depth; i++) {
            strncat(msg, h->names[t->stack[i]], sizeof msg - strlen(msg) - 1);
            strncat(msg, " -> ", sizeof msg - strlen(msg) - 1);
        }
        strncat(msg, h->names[id], sizeof msg - strlen(msg) - 1);
        return pc_fail(&h->err, PC_ERR_FORMAT, "%s", msg);
    }
    t->color[id] = 1;
    t->stack[t->depth++] = id;
    const inst *m = t->g->mods[id];
    for (size_t i = 0; m->d->depends && m->d->depends[i]; i++) {
        const char *dn = m->d->depends[i];
        int d = pc_host_find(h, dn);
        if (d < 0 || t->g->mods[d] == NULL)
            return pc_fail(&h->err, PC_ERR_MODULE,
                           "module %s (%s): dependency check: depends on '%s', which is not loaded",
                           m->d->name, m->path, dn);
        pc_status st = visit(h, t, d);
        if (st != PC_OK)
            return st;
    }
    t->depth--;
    t->color[id] = 2;
    t->order[t->n++] = id;
    return PC_OK;
}

/* Dependencies before dependents, over every module of g. */
static pc_status order(pc_host *h, gen *g, topo *t)
{
    memset(t, 0, sizeof *t);
    t->g = g;
    int n = atomic_load(&h->nslots);
    for (int id = 0; id < n; id++)
        if (g->mods[id]) {
            pc_status st = visit(h, t, id);
            if (st != PC_OK)
                return st;
        }
    return PC_OK;
}

/* ---- swapping ----------------------------------------------------------------------- */

static void drain(gen *g)
{
    struct timespec ts = {0, 50000};
    for (unsigned spins = 0; atomic_load(&g->readers) != 0; spins++) {
        if (spins < 100)
            sched_yield();
        else
            nanosleep(&ts, NULL);
    }
}

static pc_status swap_locked(pc_host *h, const char *dir, const char *const *paths, size_t n)
{
    pc_status st = PC_OK;
    gen *old = atomic_load(&h->cur);
    gen *nw = old == &h->shells[0] ? &h->shells[1] : &h->shells[0];
    inst *batch[MAX] = {0}, *run[MAX];
    size_t nb = 0;
    int nrun = 0;
    topo t;

    if (n > MAX)
        return pc_fail(&h->err, PC_ERR_TOO_LARGE, "a batch of %zu modules (at most %d)", n, MAX);
    drain(nw); /* only a reader that lost the race can be passing through */
    memcpy(nw->mods, old->mods, sizeof nw->mods);

    for (size_t i = 0; i < n; i++) {
        inst *m;
        if ((st = open_module(h, dir, paths[i], &m)) != PC_OK)
            goto rollback;
        int slot = pc_host_find(h, m->d->name);
        if (slot >= 0 && old->mods[slot] && old->mods[slot]->dl == m->dl) {
            inst_free(m); /* the very file in service (a hard link): nothing to swap */
            continue;
        }
        if (slot >= 0 && nw->mods[slot] != old->mods[slot]) {
            pc_fail(&h->err, PC_ERR_INVALID, "module %s: twice in one batch (%s)", m->d->name, paths[i]);
            inst_free(m);
            st = PC_ERR_INVALID;
            goto rollback;
        }
        if ((slot = slot_for(h, m->d->name)) < 0) {
            pc_fail(&h->err, PC_ERR_TOO_LARGE, "module %s: more than %d modules", m->d->name, MAX);
            inst_free(m);
            st = PC_ERR_TOO_LARGE;
            goto rollback;
        }
        m->slot = slot;
        nw->mods[slot] = m;
        batch[nb++] = m;
    }
    if (nb == 0)
        return PC_OK;
    if ((st = order(h, nw, &t)) != PC_OK)
        goto rollback;

    /* Start and check in dependency order, the thread reading the new shell. */
    tls.h = h;
    tls.g = nw;
    tls.depth = 1;
    for (int k = 0; k < t.n && st == PC_OK; k++) {
        inst *m = nw->mods[t.order[k]];
        if (m == old->mods[t.order[k]])
            continue;
        inst *prev = old->mods[m->slot];
        int rc = m->d->start(&m->ctx, prev ? prev->state : NULL, &m->state);
        if (rc != 0) {
            st = pc_fail(&h->err, PC_ERR_MODULE, "module %s %s (%s): start failed (returned %d)",
                         m->d->name, m->d->version ? m->d->version : "", m->path, rc);
            break;
        }
        m->started = true;
        run[nrun++] = m;
        if (m->d->check && (rc = m->d->check(m->state)) != 0)
            st = pc_fail(&h->err, PC_ERR_MODULE, "module %s %s (%s): self-check failed (returned %d)",
                         m->d->name, m->d->version ? m->d->version : "", m->path, rc);
    }
    tls.h = NULL;
    tls.depth = 0;
    if (st != PC_OK)
        goto rollback;

    atomic_store(&h->cur, nw);
    atomic_fetch_add(&h->ngen, 1);
    drain(old);
    /* Replaced instances go dependents first. */
    for (int k = t.n - 1; k >= 0; k--) {
        int id = t.order[k];
        if (old->mods[id] && old->mods[id] != nw->mods[id])
            inst_free(old->mods[id]);
    }
    return PC_OK;

rollback:
    /* Stop what started in reverse order of starting; unload everything new. */
    while (nrun > 0) {
        inst *m = run[--nrun];
        m->d->stop(m->state);
        m->started = false;
    }
    for (size_t i = 0; i < nb; i++)
        inst_free(batch[i]);
    memcpy(nw->mods, old->mods, sizeof nw->mods);
    size_t len = strlen(h->err.msg);
    snprintf(h->err.msg + len, sizeof h->err.msg - len,
             "; the batch of %zu module%s was rolled back, the old modules still serve", n,
             n == 1 ? "" : "s");
    return st;
}

pc_status pc_host_swap(pc_host *h, const char *dir, const char *const *paths, size_t n)
{
    if (h == NULL || dir == NULL || (n && paths == NULL))
        return PC_ERR_INVALID;
    if (tls.h == h && tls.depth)
        return pc_fail(&h->err, PC_ERR_INVALID, "swap called by a thread that holds a module guard");
    pthread_mutex_lock(&h->lock);
    pc_err_clear(&h->err);
    pc_status st = swap_locked(h, dir, paths, n);
    pthread_mutex_unlock(&h->lock);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_module_path(const char *p)
{
    size_t n = strlen(p);
    return n > 3 && !strcmp(p + n - 3, ".so");
}

pc_status pc_host_load_dir(pc_host *h, const char *dir, const char *subdir)
{
    if (h == NULL || dir == NULL || subdir == NULL)
        return PC_ERR_INVALID;
    char *full;
    if ((full = pc_path_join(dir, subdir)) == NULL)
        return pc_fail(&h->err, PC_ERR_NOMEM, "out of memory");
    DIR *d = opendir(full);
    if (d == NULL) {
        pc_status st = pc_fail(&h->err, PC_ERR_NOT_FOUND, "module folder %s: %s", full, strerror(errno));
        free(full);
        return st;
    }
    char *paths[MAX] = {NULL};
    size_t n = 0;
    pc_status st = PC_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && st == PC_OK) {
        struct stat sb;
        char *p;
        if (de->d_name[0] == '.' || !is_module_path(de->d_name))
            continue;
        if ((p = pc_path_join(subdir, de->d_name)) == NULL) {
            st = pc_fail(&h->err, PC_ERR_NOMEM, "out of memory");
            break;
        }
        char *fp = pc_path_join(full, de->d_name);
        if (fp == NULL) {
            free(p);
            st = pc_fail(&h->err, PC_ERR_NOMEM, "out of memory");
            break;
        }
        bool regular = stat(fp, &sb) == 0 && S_ISREG(sb.st_mode);
        free(fp);
        if (!regular) {
            free(p);
            continue;
        }
        if (n == MAX) {
            free(p);
            st = pc_fail(&h->err, PC_ERR_TOO_LARGE, "module folder %s: more than %d modules", full, MAX);
            break;
        }
        paths[n++] = p;
    }
    closedir(d);
    free(full);
    if (st == PC_OK) {
        qsort(paths, n, sizeof *paths, cmp_str);
        st = pc_host_swap(h, dir, (const char *const *)paths, n);
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    return st;
}

void pc_host_set_files_callback(pc_host *h, pc_host_files_fn fn, void *ud)
{
    pthread_mutex_lock(&h->lock);
    h->files_fn = fn;
    h->files_ud = ud;
    pthread_mutex_unlock(&h->lock);
}

pc_status pc_host_apply_update(pc_host *h, const char *dir, const pc_update_info *info)
{
    if (h == NULL || dir == NULL || info == NULL)
        return PC_ERR_INVALID;
    const char **mods = calloc(info->nhot + 1, sizeof *mods);
    const char **files = calloc(info->nhot + 1, sizeof *files);
    size_t nm = 0, nf = 0;
    if (mods == NULL || files == NULL) {
        free(mods);
        free(files);
        return pc_fail(&h->err, PC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < info->nhot; i++) {
        if (is_module_path(info->hot_modules[i]))
            mods[nm++] = info->hot_modules[i];
        else
            files[nf++] = info->hot_modules[i];
    }
    pc_status st = nm ? pc_host_swap(h, dir, mods, nm) : PC_OK;
    if (st == PC_OK && nf) {
        pthread_mutex_lock(&h->lock);
        pc_host_files_fn fn = h->files_fn;
        void *ud = h->files_ud;
        pthread_mutex_unlock(&h->lock);
        if (fn)
            fn(ud, dir, files, nf);
    }
    free(mods);
    free(files);
    return st;
}

pc_status pc_host_require(pc_host *h, const char *name, const char *const *symbols)
{
    if (h == NULL || !name_ok(name) || symbols == NULL)
        return PC_ERR_INVALID;
    pthread_mutex_lock(&h->lock);
    pc_status st = PC_ERR_NOMEM;
    req *r = realloc(h->reqs, (h->nreqs + 1) * sizeof *r);
    if (r == NULL)
        goto out;
    h->reqs = r;
    r = &h->reqs[h->nreqs];
    memset(r, 0, sizeof *r);
    size_t n = 0;
    while (symbols[n])
        n++;
    if ((r->name = strdup(name)) == NULL || (r->syms = calloc(n + 1, sizeof *r->syms)) == NULL) {
        free(r->name);
        goto out;
    }
    for (r->nsyms = 0; r->nsyms < n; r->nsyms++)
        if ((r->syms[r->nsyms] = strdup(symbols[r->nsyms])) == NULL)
            break;
    h->nreqs++;
    st = r->nsyms == n ? PC_OK : PC_ERR_NOMEM;
out:
    pthread_mutex_unlock(&h->lock);
    return st == PC_OK ? st : pc_fail(&h->err, st, "out of memory");
}

void pc_host_free(pc_host *h)
{
    if (h == NULL)
        return;
    gen *g = atomic_load(&h->cur);
    topo t;
    if (order(h, g, &t) == PC_OK) {
        for (int k = t.n - 1; k >= 0; k--) {
            inst_free(g->mods[t.order[k]]);
            g->mods[t.order[k]] = NULL;
        }
    }
    for (int id = 0; id < MAX; id++)
        inst_free(g->mods[id]); /* unordered only if the graph was broken */
    for (int i = 0; i < atomic_load(&h->nslots); i++)
        free(h->names[i]);
    for (size_t r = 0; r < h->nreqs; r++) {
        for (size_t i = 0; i < h->reqs[r].nsyms; i++)
            free(h->reqs[r].syms[i]);
        free(h->reqs[r].syms);
        free(h->reqs[r].name);
    }
    free(h->reqs);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
