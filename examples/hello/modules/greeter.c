/* greeter.c — the demo's greeting module. It depends on util, reached through
 * the host on every call, and carries its greeting count over a swap. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello_api.h"
#include "patchcast_module.h"

#ifndef REV
#define REV 1
#endif

typedef struct state {
    atomic_long greeted;
} state;

static const pc_module_ctx *host;
static state *self;

void greeter_greet(char *buf, size_t n, const char *who)
{
    char text[160];
    long k = atomic_fetch_add(&self->greeted, 1) + 1;
#if REV >= 2
    snprintf(text, sizeof text, "Hello again, %s! Greeting #%ld, now hot-swapped", who, k);
#else
    snprintf(text, sizeof text, "Hello, %s! Greeting #%ld", who, k);
#endif
    const util_api *util = host->dep(host, "util");
    if (util)
        util->decorate(buf, n, text);
    else
        snprintf(buf, n, "%s", text);
}

static int rev(void)
{
    return REV;
}

static int start(const pc_module_ctx *ctx, const void *prev, void **out)
{
    state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    /* Migrate: keep counting where the old instance is. */
    atomic_init(&s->greeted, prev ? atomic_load(&((const state *)prev)->greeted) : 0);
    host = ctx;
    self = s;
    *out = s;
    return 0;
}

static int check(void *st)
{
    (void)st;
    return host->dep(host, "util") ? 0 : 1; /* util must be there to serve */
}

static void stop(void *st)
{
    free(st);
}

static const greeter_api api = {greeter_greet, rev};
static const char *const symbols[] = {"greeter_greet", NULL};
static const char *const depends[] = {"util", NULL};
const pc_module_desc pc_module = {
    .abi_version = PC_MODULE_ABI_VERSION,
    .name = "greeter",
    .version = REV >= 2 ? "2" : "1",
    .symbols = symbols,
    .depends = depends,
    .api = &api,
    .start = start,
    .check = check,
    .stop = stop,
};
