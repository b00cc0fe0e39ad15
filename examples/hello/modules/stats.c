/* stats.c — the demo's line counter; never changes, so it is never swapped. */
#include <stdatomic.h>
#include <stdlib.h>

#include "hello_api.h"
#include "patchcast_module.h"

static atomic_long lines;

static long tick(void)
{
    return atomic_fetch_add(&lines, 1) + 1;
}

static int start(const pc_module_ctx *ctx, const void *prev, void **state)
{
    (void)ctx;
    (void)prev;
    *state = NULL;
    return 0;
}

static void stop(void *state)
{
    (void)state;
}

static const stats_api api = {tick};
const pc_module_desc pc_module = {
    .abi_version = PC_MODULE_ABI_VERSION,
    .name = "stats",
    .version = "1",
    .api = &api,
    .start = start,
    .stop = stop,
};
