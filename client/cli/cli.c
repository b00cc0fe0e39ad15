/* cli.c — the `patchcast` command: dispatch to subcommands. */
#include "cli.h"

#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "patchcast.h"

static const pc_cli_cmd commands[] = {
    {"init", "configure an install root: repositories, public key, channel", pc_cmd_init},
    {"check", "show the update that is available", pc_cmd_check},
    {"update", "update (or install) to the newest version of the channel", pc_cmd_update},
    {"rollback", "switch back to the previous version", pc_cmd_rollback},
    {"status", "show the installed versions", pc_cmd_status},
    {"repair", "re-verify the current version and refetch damaged files", pc_cmd_repair},
    {"run", "run a program of the installed version (staged switch, health, rollback)",
     pc_cmd_run},
    {"apply-staged", "switch to the version 'update --stage' prepared", pc_cmd_apply_staged},
    {"mark-good", "mark the running version good (it is then kept)", pc_cmd_mark_good},
    {"skip", "hide a version from automatic updates on this install", pc_cmd_skip},
    {"mirror", "copy and verify a whole site into a folder (offline mirror)", pc_cmd_mirror},
    {"verify", "verify a minisign signature", pc_cmd_verify},
    {"apply", "apply a binary patch (BSDIFF40) to a file", pc_cmd_apply},
    {"sha256", "print the SHA-256 of files", pc_cmd_sha256},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

void pc_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("patchcast: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int pc_cli_exit_for(int status)
{
    return pc_status_exit((pc_status)status);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: patchcast <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'patchcast <command> --help' describes a command.\n"
               "\n" PC_CLI_EXIT_CODES);
}

static void on_xfsz(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    /* Past a file size limit (ulimit -f) a write then fails with EFBIG,
     * reported like any failed write, instead of SIGXFSZ killing patchcast
     * without a word. A handler, not SIG_IGN: a program `run` starts gets
     * the default action back at its exec. */
    struct sigaction xfsz;
    if (sigaction(SIGXFSZ, NULL, &xfsz) == 0 && xfsz.sa_handler == SIG_DFL) {
        struct sigaction sa = {.sa_handler = on_xfsz};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGXFSZ, &sa, NULL);
    }
    /* Patching allocates and frees decoder windows and write buffers of a
     * few hundred KiB to a few MiB per file; glibc would map and unmap each
     * one, faulting its pages in again every time (an update of typescript's
     * 38 changed files: 3,700 page faults instead of 1,500, a quarter more
     * CPU). Keeping them in the heap costs no more at the peak. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (argc < 2) {
        usage(stderr);
        return PC_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return PC_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("patchcast %s\n", pc_version());
        return PC_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return pc_cli_done(commands[i].run(argc - 1, argv + 1));
    pc_json_scan(argc, argv);
    return pc_cli_usage("unknown command '%s' (see 'patchcast --help')", argv[1]);
}
