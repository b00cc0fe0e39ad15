/* cli.h — shared pieces of the `patchcast` command: each subcommand lives in
 * its own cli_<name>.c and is listed in cli.c's table. */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdio.h>

/* Exit codes of both CLIs (documented in --help). */
enum {
    PC_EXIT_OK = 0,
    PC_EXIT_FAIL = 1,    /* the operation failed; the message says why */
    PC_EXIT_USAGE = 2,   /* bad command line */
    PC_EXIT_VERIFY = 3,  /* a signature or hash did not verify */
};

typedef struct pc_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} pc_cli_cmd;

/* Print "patchcast: " + message to stderr. */
void pc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Map a library status to an exit code. */
int pc_cli_exit_for(int status);

int pc_cmd_sha256(int argc, char **argv);
int pc_cmd_verify(int argc, char **argv);
int pc_cmd_apply(int argc, char **argv);
int pc_cmd_init(int argc, char **argv);
int pc_cmd_check(int argc, char **argv);
int pc_cmd_update(int argc, char **argv);
int pc_cmd_rollback(int argc, char **argv);
int pc_cmd_status(int argc, char **argv);
int pc_cmd_repair(int argc, char **argv);
int pc_cmd_mirror(int argc, char **argv);
int pc_cmd_run(int argc, char **argv);

#endif
