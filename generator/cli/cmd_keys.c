/* cmd_keys.c — `patchcast-gen keygen` and `patchcast-gen sign`, with
 * minisign's flag names. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "gen_cli.h"
#include "password.h"
#include "seckey.h"

static const char keygen_usage[] =
    "usage: patchcast-gen keygen -p PUBKEY -s SECKEY [-W] [-f] [--password-file FILE]\n"
    "\n"
    "Create a signing key pair in minisign's format.\n"
    "  -p FILE              public key to write (commit or publish it)\n"
    "  -s FILE              secret key to write (mode 0600; keep it out of the repository)\n"
    "  -W                   do not encrypt the secret key with a password\n"
    "  -f                   overwrite existing key files\n"
    "  --password-file FILE read the password from the first line of FILE\n"
    "The password comes from --password-file, else $PATCHCAST_PASSWORD, else a prompt.\n";

int gen_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"password-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *pub = NULL, *sec = NULL, *pwfile = NULL;
    bool unencrypted = false, force = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:s:Wfh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 's': sec = optarg; break;
        case 'W': unencrypted = true; break;
        case 'f': force = true; break;
        case 'P': pwfile = optarg; break;
        case 'h': fputs(keygen_usage, stdout); return 0;
        default: fputs(keygen_usage, stderr); return 2;
        }
    }
    if (!pub || !sec || optind != argc) {
        fprintf(stderr, "patchcast-gen keygen: %s\n%s",
                optind != argc ? "unexpected argument" : "both -p and -s are required",
                keygen_usage);
        return 2;
    }
    pc_err e = {0};
    pc_seckey sk;
    pc_pubkey pk;
    char *password = NULL;
    pc_status st = PC_OK;
    if (!force && (access(pub, F_OK) == 0 || access(sec, F_OK) == 0)) {
        fprintf(stderr, "patchcast-gen keygen: %s already exists (use -f to overwrite)\n",
                access(pub, F_OK) == 0 ? pub : sec);
        return 1;
    }
    if (!unencrypted)
        st = pc_password_get(pwfile, "Password: ", true, &password, &e);
    if (st == PC_OK)
        st = pc_seckey_generate(&sk, &pk, &e);
    if (st == PC_OK && !unencrypted)
        fprintf(stderr, "Deriving a key from the password (this takes a few seconds)...\n");
    if (st == PC_OK)
        st = pc_seckey_write(&sk, sec, password, force, &e);
    if (st == PC_OK)
        st = pc_pubkey_write(&pk, pub, force, &e);
    pc_seckey_wipe(&sk);
    pc_password_free(password);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen keygen: %s\n", e.msg);
        return gen_exit_for(st);
    }
    char b64[64], id[17];
    pc_pubkey_base64(&pk, b64, sizeof b64);
    pc_keyid_hex(pk.keynum, id);
    printf("The secret key was saved as %s - keep it secret, never commit it.\n"
           "The public key (key id %s) was saved as %s. Clients pin it with:\n"
           "  patchcast init ... -P %s\n",
           sec, id, pub, b64);
    return 0;
}

static const char sign_usage[] =
    "usage: patchcast-gen sign -s SECKEY -m FILE [FILE...] [-x SIGFILE] [-t COMMENT]\n"
    "                          [-c COMMENT] [--password-file FILE]\n"
    "\n"
    "Sign files with a prehashed minisign signature (FILE.minisig).\n"
    "  -s FILE              secret key (minisign or patchcast-gen keygen format)\n"
    "  -m FILE...           file(s) to sign\n"
    "  -x FILE              signature file to write (one input only; default FILE.minisig)\n"
    "  -t COMMENT           trusted comment (signed); default: timestamp and file name\n"
    "  -c COMMENT           untrusted comment (not signed)\n"
    "  --password-file FILE read the password from the first line of FILE\n"
    "The password comes from --password-file, else $PATCHCAST_PASSWORD, else a prompt.\n";

int gen_cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"password-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sec = NULL, *sigfile = NULL, *tc = NULL, *uc = NULL, *pwfile = NULL;
    bool have_m = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:mx:t:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': sec = optarg; break;
        case 'm': have_m = true; break;
        case 'x': sigfile = optarg; break;
        case 't': tc = optarg; break;
        case 'c': uc = optarg; break;
        case 'P': pwfile = optarg; break;
        case 'h': fputs(sign_usage, stdout); return 0;
        default: fputs(sign_usage, stderr); return 2;
        }
    }
    int nfiles = argc - optind;
    if (!sec || !have_m || nfiles < 1 || (sigfile && nfiles > 1)) {
        fprintf(stderr, "patchcast-gen sign: %s\n%s",
                !sec ? "-s SECKEY is required"
                : (!have_m || nfiles < 1) ? "-m FILE is required"
                                          : "-x works with one file only",
                sign_usage);
        return 2;
    }
    pc_err e = {0};
    pc_seckey sk;
    pc_status st = pc_seckey_load_asking(sec, pwfile, &sk, &e);
    if (st != PC_OK) {
        fprintf(stderr, "patchcast-gen sign: %s\n", e.msg);
        return gen_exit_for(st);
    }
    int rc = 0;
    for (int i = optind; i < argc && rc == 0; i++) {
        char *text = NULL;
        st = pc_sign_file(&sk, argv[i], tc, uc, &text, &e);
        char *out = NULL;
        if (st == PC_OK && !sigfile) {
            size_t n = strlen(argv[i]) + sizeof ".minisig";
            if ((out = malloc(n)) != NULL)
                snprintf(out, n, "%s.minisig", argv[i]);
            else
                st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
        }
        if (st == PC_OK)
            st = pc_write_file_atomic(sigfile ? sigfile : out, text, strlen(text), 0644, &e);
        if (st != PC_OK) {
            fprintf(stderr, "patchcast-gen sign: %s\n", e.msg);
            rc = gen_exit_for(st);
        }
        free(out);
        free(text);
    }
    pc_seckey_wipe(&sk);
    return rc;
}
