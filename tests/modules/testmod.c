/* testmod.c — a hot-swap module for the host tests, built in many variants:
 *   -DMOD_NAME='"a"' -DMOD_VERSION=2 [-DMOD_DEP='"a"'] [-DFAULT=n]
 * FAULT: 1 start fails, 2 self-check fails, 3 wrong ABI version,
 * 4 promises a symbol it lacks, 5 exports no descriptor.
 * Every start and stop is appended to $TESTMOD_LOG ("start a 2 prev=1"). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "patchcast_module.h"
#include "testmod.h"

#ifndef FAULT
#define FAULT 0
#endif

typedef struct state {
    int version, migrated_from;
    atomic_long calls;
} state;

static state *cur;
static const pc_module_ctx *ctx;

static void log_line(const char *what, int prev)
{
    const char *path = getenv("TESTMOD_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%s %s %d prev=%d\n", what, MOD_NAME, MOD_VERSION, prev);
        fclose(f);
    }
}

int testmod_value(void)
{
    atomic_fetch_add(&cur->calls, 1);
    return MOD_VERSION;
}

int testmod_dep_value(void)
{
#ifdef MOD_DEP
    const testmod_api *d = ctx->dep(ctx, MOD_DEP);
    return d ? d->value() : -1;
#else
    return 0;
#endif
}

int testmod_migrated_from(void)
{
    return cur->migrated_from;
}

static int start(const pc_module_ctx *c, const void *prev, void **out)
{
    const state *p = prev;
    state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    s->version = MOD_VERSION;
    s->migrated_from = p ? p->version : 0;
    log_line("start", s->migrated_from);
    ctx = c;
    *out = s;
    if (FAULT == 1) {
        *out = NULL;
        free(s);
        return 7;
    }
    cur = s;
    return 0;
}

static int check(void *st)
{
    (void)st;
#ifdef MOD_DEP
    if (testmod_dep_value() <= 0)
        return 3; /* the dependency must answer during the check */
#endif
    return FAULT == 2 ? 5 : 0;
}

static void stop(void *st)
{
    state *s = st;
    log_line("stop", s ? s->migrated_from : -1);
    free(s);
}

static const testmod_api api = {testmod_value, testmod_dep_value, testmod_migrated_from};
static const char *const symbols[] = {"testmod_value", "testmod_dep_value",
#if FAULT == 4
                                      "testmod_not_there",
#endif
                                      NULL};
#ifdef MOD_DEP
static const char *const deps[] = {MOD_DEP, NULL};
#else
static const char *const *const deps = NULL;
#endif

#if FAULT != 5
const pc_module_desc pc_module = {
    .abi_version = FAULT == 3 ? PC_MODULE_ABI_VERSION + 1 : PC_MODULE_ABI_VERSION,
    .name = MOD_NAME,
    .version = "test",
    .symbols = symbols,
    .depends = deps,
    .api = &api,
    .start = start,
    .check = check,
    .stop = stop,
};
#endif
