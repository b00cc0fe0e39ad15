/* patchcast_module.h — the ABI of a hot-swappable module, and the host API
 * that loads, serves and swaps modules in a running program.
 *
 * A module is a shared object that exports one data symbol, PC_MODULE_SYMBOL,
 * of type pc_module_desc. It needs no library: this header only. The host
 * (libpatchcast, declared at the end) dlopen()s it from the version it
 * belongs to, checks the descriptor, starts it, self-checks it, and hands
 * callers its function table. Swaps happen in batches, in dependency order,
 * all or nothing; see docs/hotswap.md for the whole contract. */
#ifndef PATCHCAST_MODULE_H
#define PATCHCAST_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when pc_module_desc or pc_module_ctx change incompatibly. A host
 * refuses a module whose abi_version is not its own. */
#define PC_MODULE_ABI_VERSION 1u

/* The name of the descriptor every module exports. */
#define PC_MODULE_SYMBOL "pc_module"

/* What the host gives a module when it starts it; valid until its stop(). */
typedef struct pc_module_ctx pc_module_ctx;
struct pc_module_ctx {
    void *host_private;
    /* The function table of the dependency `name` (one of the module's
     * depends), as the calling thread sees it: during start() and check(),
     * the batch being swapped in; during a call made under a host guard,
     * the tables of that guard's generation. NULL for an unknown name.
     * Call it on each use and do not keep the result: a dependency can be
     * swapped without its dependents. */
    const void *(*dep)(const pc_module_ctx *ctx, const char *name);
};

typedef struct pc_module_desc {
    uint32_t abi_version;        /* PC_MODULE_ABI_VERSION */
    const char *name;            /* unique in the program, e.g. "greeter" */
    const char *version;         /* the module's own version, for messages */
    const char *const *symbols;  /* NULL-terminated: functions the module
                                    promises to export (checked with dlsym) */
    const char *const *depends;  /* NULL-terminated module names, or NULL */
    const void *api;             /* the function table callers receive */

    /* Start an instance. prev is the state of the instance it replaces
     * (NULL on a first load): read it to migrate, never modify or free it,
     * since the old instance keeps serving until the whole batch is in.
     * Store this instance's state in *state. Returns 0 on success. */
    int (*start)(const pc_module_ctx *ctx, const void *prev, void **state);

    /* Self-check a started instance before it goes into service (may call
     * its dependencies through ctx->dep). Returns 0 when healthy. NULL: none. */
    int (*check)(void *state);

    /* Stop an instance: called once no caller is inside it any more (or when
     * its batch is rolled back), after its successor took what it needed
     * from the state in start(). Frees the state. */
    void (*stop)(void *state);
} pc_module_desc;

/* ---- Host side (libpatchcast) ---------------------------------------------- */

/* Status codes: see patchcast.h; the host functions return the same enum. */
#ifndef PATCHCAST_H
#include "patchcast.h"
#endif

/* A host serves the modules of one program. Swap, load and free are
 * serialised by the host; acquire/release are lock-free and may be called
 * from any thread at any time. */
typedef struct pc_host pc_host;

/* At most this many distinct modules per host. */
#define PC_HOST_MAX_MODULES 64

PC_API pc_status pc_host_new(pc_host **out);

/* Stop and unload every module (dependents first) and free the host.
 * No thread may hold a guard. NULL is accepted. */
PC_API void pc_host_free(pc_host *h);

/* Detail of the last failure ("" if none), e.g.
 * "module greeter (modules/greeter.so): self-check failed". */
PC_API const char *pc_host_errmsg(const pc_host *h);

/* Symbols the host itself needs from module `name` (NULL-terminated), checked
 * at every load in addition to the module's own list. Copied. */
PC_API pc_status pc_host_require(pc_host *h, const char *name, const char *const *symbols);

/* Load a batch of modules: paths relative to dir (normally the installed
 * version's folder, ROOT/versions/<v>). A path whose module is already in
 * service replaces it (a swap). All or nothing: the modules are ordered by
 * their declared dependencies, each is loaded from its own path, its ABI
 * version and required symbols checked, started (migrating the state of the
 * instance it replaces) and self-checked; if any step fails, the batch's new
 * instances are stopped and unloaded, the old ones keep serving, and the
 * error names the module and the step (PC_ERR_MODULE; PC_ERR_FORMAT for a
 * dependency cycle, naming the modules in it). On success every caller
 * switches to the new tables at once; replaced instances are stopped and
 * unloaded once no caller is inside them (this call waits for that).
 * Must not be called by a thread that holds a guard (PC_ERR_INVALID). */
PC_API pc_status pc_host_swap(pc_host *h, const char *dir, const char *const *paths, size_t n);

/* Load every module file (*.so) under dir/subdir: the start of a program. */
PC_API pc_status pc_host_load_dir(pc_host *h, const char *dir, const char *subdir);

/* The slot of module `name`, stable for the host's life, or -1. */
PC_API int pc_host_find(const pc_host *h, const char *name);

/* Name and version of the module in service in slot id, or NULL. The strings
 * live as long as that instance: read them under a guard. */
PC_API const char *pc_host_module_version(const pc_host *h, int id);

/* A caller's hold on one generation of tables: while held, none of its
 * modules is unloaded, and every table acquired on this thread comes from
 * the same generation (nested acquires are cheap). */
typedef struct pc_host_guard {
    void *gen;
    int counted;
} pc_host_guard;

/* The function table of the module in slot id, held by *g until
 * pc_host_release (guards are released in the reverse order of their
 * acquisition). NULL (and nothing held) for an empty slot. Lock-free. */
PC_API const void *pc_host_acquire(pc_host *h, int id, pc_host_guard *g);
PC_API void pc_host_release(pc_host *h, pc_host_guard *g);

/* Swaps and loads done since pc_host_new (counts batches that went in). */
PC_API uint64_t pc_host_generation(const pc_host *h);

/* Non-code hot files (configuration, UI resources) that changed in an
 * update: called by pc_host_apply_update with their paths, relative to dir. */
typedef void (*pc_host_files_fn)(void *ud, const char *dir, const char *const *paths, size_t n);
PC_API void pc_host_set_files_callback(pc_host *h, pc_host_files_fn fn, void *ud);

/* After pc_client_update installed info->to into dir: swap the changed hot
 * modules (hot paths ending in ".so") as one batch, then report the other
 * changed hot files to the files callback. Critical changes are the
 * caller's to act on (info->restart_required). */
PC_API pc_status pc_host_apply_update(pc_host *h, const char *dir, const pc_update_info *info);

#ifdef __cplusplus
}
#endif
#endif /* PATCHCAST_MODULE_H */
