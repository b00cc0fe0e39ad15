/* util.c — the demo's text helper module. Revision 2 changes the style;
 * greeter (which depends on it) picks the change up without being swapped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello_api.h"
#include "patchcast_module.h"

#ifndef REV
#define REV 1
#endif

void util_decorate(char *buf, size_t n, const char *text)
{
#if REV >= 2
    size_t i = 0;
    i += (size_t)snprintf(buf, n, "*** ");
    for (; *text && i + 5 < n; text++)
        buf[i++] = (char)toupper((unsigned char)*text);
    snprintf(buf + i, n - i, " ***");
#else
    snprintf(buf, n, "<< %s >>", text);
#endif
}

static int rev(void)
{
    return REV;
}

static int start(const pc_module_ctx *ctx, const void *prev, void **state)
{
    (void)ctx;
    (void)prev;
    *state = NULL;
    return 0;
}

static int check(void *state)
{
    char b[32];
    (void)state;
    util_decorate(b, sizeof b, "x");
    return b[0] ? 0 : 1;
}

static void stop(void *state)
{
    (void)state;
}

static const util_api api = {util_decorate, rev};
static const char *const symbols[] = {"util_decorate", NULL};
const pc_module_desc pc_module = {
    .abi_version = PC_MODULE_ABI_VERSION,
    .name = "util",
    .version = REV >= 2 ? "2" : "1",
    .symbols = symbols,
    .api = &api,
    .start = start,
    .check = check,
    .stop = stop,
};
