/* gen_cli.h — subcommands of `patchcast-gen`, each in its own file. */
#ifndef PC_GEN_CLI_H
#define PC_GEN_CLI_H

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

#endif
