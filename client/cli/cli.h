/* cli.h — shared pieces of the `patchcast` command: each subcommand lives in
 * its own cli_<name>.c and is listed in cli.c's table. */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdio.h>

#include "error.h" /* PC_EXIT_*: the exit codes of both CLIs */

/* The exit codes, as --help lists them (docs/patchcast.1.md, EXIT STATUS). */
#define PC_CLI_EXIT_CODES                                                                          \
    "exit codes: 0 success, 1 failure, 2 bad usage, 3 verification failed,\n"                      \
    "            4 rollback or freeze attack refused, 5 busy (another process),\n"                 \
    "            6 no space left, 7 permission denied,\n"                                          \
    "            8 offline (no mirror reachable), 9 not initialised\n"

typedef struct pc_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} pc_cli_cmd;

/* Print "patchcast: " + message to stderr. */
void pc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Map a library status to an exit code (pc_status_exit). */
int pc_cli_exit_for(int status);

/* What a command reports (cli_json.c): human messages go to stderr; with
 * --json, stdout gets exactly one JSON document (cli_json.h).
 *
 * JSON mode is on if "--json" is among argv[1..] (before a "--"). A
 * command calls pc_json_scan before parsing its options, so that a bad
 * command line is reported as a JSON document too. */
void pc_json_scan(int argc, char *const *argv);

/* A failed command: "patchcast: MESSAGE" on stderr and, in JSON mode,
 * {"ok": false, "error": {"code": CODE, "message": MESSAGE}, "exit": N}
 * on stdout. CODE is pc_status_code(st) ("usage" for PC_ERR_INVALID, a bad
 * argument). Returns N, pc_status_exit(st). */
int pc_cli_fail(pc_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A bad command line: the same with code "usage"; returns PC_EXIT_USAGE. */
int pc_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The usage error for what getopt returned (c is '?' or ':' with opterr 0
 * and an optstring starting with ':'): names the option, prints the
 * command's usage text to stderr. */
int pc_cli_bad_option(const char *cmd, int c, char *const *argv, const char *usage);

/* --help: the text on stdout, or {"ok": true, "help": TEXT} in JSON mode. */
int pc_cli_help(const char *usage);

/* The end of a command that returns rc: in JSON mode, if it printed no
 * document, the failure document for rc (a safety net: every path should
 * report through the functions above). Returns rc. */
int pc_cli_done(int rc);

/* path made absolute from the working directory (not resolved: it may not
 * exist yet), without "./" or trailing slashes; NULL on failure (errno).
 * The caller frees it. */
char *pc_cli_abspath(const char *path);

/* The network settings of the environment set on c: the slow-transfer
 * limits of $PATCHCAST_LOW_SPEED_LIMIT and $PATCHCAST_LOW_SPEED_TIME, the
 * transfers at once of $PATCHCAST_TRANSFERS. 0, or the exit code of the
 * reported failure. */
int pc_cli_env_net(pc_client *c);

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
int pc_cmd_apply_staged(int argc, char **argv);
int pc_cmd_mark_good(int argc, char **argv);
int pc_cmd_skip(int argc, char **argv);

#endif
