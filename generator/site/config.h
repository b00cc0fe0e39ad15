/* config.h — the generator's configuration file (patchcast.json): every key
 * optional, defaults from docs/format.md and the design; unknown keys and
 * bad values are errors that name the key. */
#ifndef PC_CONFIG_H
#define PC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "release.h"

typedef struct pc_channel_cfg {
    char *name;
    bool prereleases; /* pre-release versions join this channel */
} pc_channel_cfg;

typedef struct pc_version_cfg {
    char *name;
    char *parent;     /* NULL: from version order */
    char *notes;      /* NULL: RELEASES/<version>.md if present */
    char **channels;  /* NULL: by the channels' prerelease rule */
    size_t nchannels;
    pc_release_policy release; /* rollout, withdrawn, critical, minimum_version */
} pc_version_cfg;

typedef struct pc_module_cfg {
    char *name;       /* a module's path in the release tree */
    char **depends;   /* paths of the modules it depends on */
    size_t ndepends;
} pc_module_cfg;

typedef enum pc_patch_format { PC_PATCH_PCZ = 0, PC_PATCH_BSDIFF40 = 1 } pc_patch_format;

typedef struct pc_config {
    char *product;               /* NULL: the RELEASES folder's name */
    pc_channel_cfg *channels;
    size_t nchannels;
    unsigned skip_edges;         /* 3 */
    unsigned max_patch_chain_length; /* 5 */
    double fallback_threshold;   /* 0.7 */
    uint64_t max_patch_size;     /* 10 MiB */
    char **hot_swap_modules;     /* glob patterns */
    size_t nhot;
    char **critical_files;       /* glob patterns */
    size_t ncritical;
    pc_module_cfg *modules;
    size_t nmodules;
    pc_version_cfg *versions;
    size_t nversions;
    unsigned patch_retention_days; /* 30 */
    unsigned workers;            /* 0: number of online cores */
    uint64_t memory_budget;      /* bytes; 0: half the physical memory */
    pc_patch_format patch_format; /* pcz */
    bool no_release_patches;     /* "release_patches": false */
    int object_level;            /* zstd level of objects: 19 */
    uint64_t expires_seconds;    /* 30 days */
} pc_config;

/* Fill cfg with the defaults. */
void pc_config_defaults(pc_config *cfg);

/* Parse a configuration document (JSON text of len bytes) over the defaults.
 * `what` names the file in messages. On error cfg is freed and reset. */
pc_status pc_config_parse(pc_config *cfg, const char *json, size_t len, const char *what,
                          pc_err *e);

/* Read and parse the file at path (capped at 1 MiB). */
pc_status pc_config_load(pc_config *cfg, const char *path, pc_err *e);

/* Parse a size: a non-negative integer with an optional unit (B, K/KB/KiB,
 * M/MB/MiB, G/GB/GiB; powers of 1024). */
bool pc_parse_size(const char *s, uint64_t *out);

/* Parse a duration: a positive integer with a unit s, m, h or d ("30d"). */
bool pc_parse_duration(const char *s, uint64_t *seconds);

/* Version settings from the config, or NULL. */
const pc_version_cfg *pc_config_version(const pc_config *cfg, const char *name);

/* True if path matches any of the glob patterns (fnmatch with FNM_PATHNAME
 * off, so '*' crosses '/'; a pattern without '/' also matches the base name). */
bool pc_config_match(char *const *patterns, size_t n, const char *path);

void pc_config_free(pc_config *cfg);

#endif
