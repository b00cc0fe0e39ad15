/* gen_cli.h — subcommands of `patchcast-gen`, each in its own file. */
#ifndef PC_GEN_CLI_H
#define PC_GEN_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "build.h"
#include "error.h" /* the exit codes, PC_EXIT_* and pc_status_exit, shared with `patchcast` */
#include "seckey.h"

/* The exit code for a failed step. PC_ERR_INVALID is the generator's status
 * for a bad configuration, template or key file, not for a bad command line
 * (which each command reports as 2 itself): 1. */
static inline int gen_exit_for(pc_status st)
{
    return st == PC_ERR_INVALID ? PC_EXIT_FAIL : pc_status_exit(st);
}

typedef struct gen_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} gen_cmd;

int gen_cmd_keygen(int argc, char **argv);
int gen_cmd_sign(int argc, char **argv);
int gen_cmd_diff(int argc, char **argv);
int gen_cmd_build(int argc, char **argv);
int gen_cmd_verify(int argc, char **argv);
int gen_cmd_gc(int argc, char **argv);
int gen_cmd_root(int argc, char **argv);
int gen_cmd_plan(int argc, char **argv);

/* cmd_shard.c: `build --job N PLAN --store STORE`, printing what it did;
 * the exit code. */
int gen_shard_job(const char *plan, const char *job, const char *store, const char *releases,
                  bool quiet);
/* `build --assemble PLAN --store STORE -o SITE`: the build's result as
 * pc_build's (expires: --expires or NULL). */
pc_status gen_shard_assemble(const char *plan, const char *store, const char *site,
                             const pc_seckey *keys, size_t nkeys, const char *trust,
                             const char *expires, bool quiet, pc_build_result *r, pc_err *e);

#endif
