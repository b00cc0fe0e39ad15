/* cmd_root.c — `patchcast-gen root init|sign|verify`: root metadata, the
 * root of trust (docs/format.md §13), made by one person and signed by
 * each key holder on their own machine. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "gen_cli.h"
#include "jsonv.h"
#include "password.h"
#include "publish.h"
#include "seckey.h"
#include "trust.h"

static const char usage[] =
    "usage: patchcast-gen root init -o ROOT.json [--version N] --root-key PUB... --threshold N\n"
    "                               --repo-key PUB... [--repo-threshold M]\n"
    "                               [--expires DURATION] [--reset-serial] [--force]\n"
    "       patchcast-gen root sign ROOT.json -s SECKEY [--password-file FILE]\n"
    "       patchcast-gen root verify ROOT.json [--previous OLD.json]\n"
    "\n"
    "Root metadata names the keys that may sign repo.json (repository keys) and\n"
    "the keys that sign root metadata (root keys), each with how many must sign.\n"
    "Clients that pin a root follow its newer versions: each is trusted when a\n"
    "threshold of the previous version's root keys and of its own signed it.\n"
    "  init      write unsigned root metadata (PUB: a .pub file or a base64 key;\n"
    "            several after one option, or the option repeated). --version\n"
    "            defaults to 1, --repo-threshold to 1, --expires to 365d.\n"
    "            --reset-serial: clients moving to this version forget the serial\n"
    "            they saw (recovery from a stolen key's fast-forwarded serial)\n"
    "  sign      add this key's signature to ROOT.json.minisig (one minisign\n"
    "            block per key; a key signing again replaces its block)\n"
    "  verify    who signed, and whether the thresholds hold (of its own root\n"
    "            keys, and with --previous of the previous version's); exit 0\n"
    "            if they do, 3 if not, 4 if it has expired\n"
    "Blocks of ROOT.json.minisig are ordinary minisign signatures: each checks with\n"
    "'minisign -V -p KEY.pub -m ROOT.json -x BLOCK' (4 lines each).\n";

static int fail(const char *sub, const pc_err *e, pc_status st)
{
    fprintf(stderr, "patchcast-gen root %s: %s\n", sub, e->msg);
    return gen_exit_for(st);
}

static int bad_usage(const char *sub, const char *why)
{
    fprintf(stderr, "patchcast-gen root %s: %s\n%s", sub, why, usage);
    return 2;
}

/* A .pub file, or the base64 key itself. */
static pc_status read_pub(const char *arg, pc_pubkey *k, pc_err *e)
{
    struct stat st;
    if (stat(arg, &st) == 0)
        return pc_pubkey_load(arg, k, e);
    pc_err why = {0};
    if (pc_pubkey_parse(arg, strlen(arg), k, &why) == PC_OK)
        return PC_OK;
    return pc_fail(e, PC_ERR_INVALID, "%s: neither a public key file nor a base64 key", arg);
}

static pc_status add_key(pc_keyset *set, const char *arg, const char *opt, pc_err *e)
{
    if (set->nkeys == PC_ROOT_MAX_KEYS)
        return pc_fail(e, PC_ERR_INVALID, "%s: more than %d keys", opt, PC_ROOT_MAX_KEYS);
    pc_status st = read_pub(arg, &set->keys[set->nkeys], e);
    if (st == PC_OK)
        set->nkeys++;
    return st;
}

static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v < 1 || v > max)
        return false;
    *out = v;
    return true;
}

static int cmd_init(int argc, char **argv)
{
    pc_root r = {.version = 1};
    const char *out = NULL, *expires = "365d";
    uint64_t t = 0, rt = 1;
    bool force = false, have_t = false;
    pc_err e = {0};
    pc_status st = PC_OK;
    /* By hand: --root-key and --repo-key take every argument up to the next option. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--root-key") || !strcmp(a, "--repo-key")) {
            pc_keyset *set = a[3] == 'o' ? &r.root : &r.repo;
            int n = 0;
            while (i + 1 < argc && argv[i + 1][0] != '-' && st == PC_OK) {
                st = add_key(set, argv[++i], a, &e);
                n++;
            }
            if (st != PC_OK)
                return fail("init", &e, st);
            if (n == 0)
                return bad_usage("init", "--root-key and --repo-key need at least one key");
        } else if (!strcmp(a, "-o") && v) {
            out = argv[++i];
        } else if (!strcmp(a, "--version") && v) {
            if (!parse_count(argv[++i], PC_JSON_MAX_INT, &r.version))
                return bad_usage("init", "--version: expected a number from 1");
        } else if (!strcmp(a, "--threshold") && v) {
            if (!parse_count(argv[++i], PC_ROOT_MAX_KEYS, &t))
                return bad_usage("init", "--threshold: expected a number from 1 to 16");
            have_t = true;
        } else if (!strcmp(a, "--repo-threshold") && v) {
            if (!parse_count(argv[++i], PC_ROOT_MAX_KEYS, &rt))
                return bad_usage("init", "--repo-threshold: expected a number from 1 to 16");
        } else if (!strcmp(a, "--expires") && v) {
            expires = argv[++i];
        } else if (!strcmp(a, "--reset-serial")) {
            r.reset_serial = true;
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else {
            char why[200];
            snprintf(why, sizeof why, "unknown option or missing value: %.100s", a);
            return bad_usage("init", why);
        }
    }
    if (!out || r.root.nkeys == 0 || r.repo.nkeys == 0 || !have_t)
        return bad_usage("init", "-o, --root-key, --threshold and --repo-key are required");
    uint64_t secs;
    if (!pc_parse_duration(expires, &secs))
        return bad_usage("init", "--expires: expected a duration such as 365d or 12h");
    r.root.threshold = (unsigned)t;
    r.repo.threshold = (unsigned)rt;
    r.created = (int64_t)time(NULL);
    r.expires = secs > (uint64_t)(INT64_MAX - r.created) ? INT64_MAX : r.created + (int64_t)secs;
    char *text = NULL;
    size_t len;
    if ((st = pc_root_write(&r, &text, &len, &e)) != PC_OK)
        return fail("init", &e, PC_ERR_INVALID);
    struct stat sb;
    if (!force && lstat(out, &sb) == 0) {
        free(text);
        fprintf(stderr, "patchcast-gen root init: %s exists (--force to replace it)\n", out);
        return 1;
    }
    char *sp = NULL;
    if (asprintf(&sp, "%s.minisig", out) < 0)
        sp = NULL;
    st = sp ? pc_write_file_atomic(out, text, len, 0644, &e) : pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        unlink(sp); /* signatures of other content */
    free(sp);
    free(text);
    if (st != PC_OK)
        return fail("init", &e, st);
    printf("%s: root version %" PRIu64 ", %zu root keys (threshold %u), %zu repository keys "
           "(threshold %u); unsigned: each key holder runs 'patchcast-gen root sign %s -s KEY'\n",
           out, r.version, r.root.nkeys, r.root.threshold, r.repo.nkeys, r.repo.threshold, out);
    return 0;
}

/* ROOT.json and ROOT.json.minisig (the latter may be missing: *sig NULL). */
static pc_status load(const char *path, char **json, size_t *len, char **sig, size_t *slen,
                      pc_root *r, pc_err *e)
{
    *json = *sig = NULL;
    *slen = 0;
    char *sp = NULL;
    if (asprintf(&sp, "%s.minisig", path) < 0)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_read_file(path, PC_ROOT_MAX_BYTES, json, len, e);
    if (st == PC_OK && (st = pc_root_parse(*json, *len, r, e)) != PC_OK)
        pc_fail_prefix(e, "%s: ", path);
    if (st == PC_OK && (st = pc_read_file(sp, PC_SIG_FILE_MAX, sig, slen, e)) == PC_ERR_NOT_FOUND)
        st = PC_OK;
    free(sp);
    return st;
}

static int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"password-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *pwfile = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': key = optarg; break;
        case 'P': pwfile = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 1 || !key)
        return bad_usage("sign", "expected ROOT.json and -s SECKEY");
    const char *path = argv[optind];
    pc_err e = {0};
    char *json, *sig;
    size_t len, slen;
    pc_root r;
    pc_status st = load(path, &json, &len, &sig, &slen, &r, &e);
    pc_seckey sk;
    if (st == PC_OK)
        st = pc_seckey_load_asking(key, pwfile, &sk, &e);
    if (st != PC_OK) {
        free(json);
        free(sig);
        return fail("sign", &e, st);
    }
    pc_pubkey pk;
    memcpy(pk.keynum, sk.keynum, PC_KEYNUM_LEN);
    memcpy(pk.pk, sk.sk + 32, PC_PK_LEN);
    char id[17], tc[96], uc[128];
    pc_keyid_hex(pk.keynum, id);
    snprintf(tc, sizeof tc, "patchcast-root version:%" PRIu64, r.version);
    snprintf(uc, sizeof uc, "root version %" PRIu64 " signed by key %s", r.version, id);
    char *mine = NULL, *out = NULL;
    st = pc_sign_buffer(&sk, json, len, tc, uc, &mine, &e);
    pc_seckey_wipe(&sk);
    /* Keep the other keys' blocks; this key's is replaced. */
    size_t n = 0, ol = 0;
    pc_sig *s = calloc(PC_SIG_MAX_BLOCKS, sizeof *s);
    if (st == PC_OK && s == NULL)
        st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK && sig && slen > 0 &&
        (st = pc_sig_parse_blocks(sig, slen, "signatures", s, &n, &e)) != PC_OK)
        pc_fail_prefix(&e, "%s.minisig: ", path);
    size_t kept = 0;
    for (size_t i = 0; st == PC_OK && i <= n; i++) {
        char *block = NULL;
        if (i < n && !memcmp(s[i].keynum, pk.keynum, PC_KEYNUM_LEN))
            continue;
        if (i < n) {
            char other[17], who[128];
            pc_keyid_hex(s[i].keynum, other);
            snprintf(who, sizeof who, "root version %" PRIu64 " signed by key %s", r.version, other);
            if ((st = pc_sig_format(&s[i], who, &block, &e)) != PC_OK)
                break;
            kept++;
        } else if ((block = strdup(mine)) == NULL) {
            st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        size_t bl = strlen(block);
        char *grown = realloc(out, ol + bl + 1);
        if (grown == NULL) {
            free(block);
            st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(grown + ol, block, bl + 1);
        out = grown;
        ol += bl;
        free(block);
    }
    if (st == PC_OK && kept + 1 > PC_SIG_MAX_BLOCKS)
        st = pc_fail(&e, PC_ERR_INVALID, "more than %d signatures", PC_SIG_MAX_BLOCKS);
    char *sp = NULL;
    if (st == PC_OK && asprintf(&sp, "%s.minisig", path) < 0) {
        sp = NULL;
        st = pc_fail(&e, PC_ERR_NOMEM, "out of memory");
    }
    if (st == PC_OK)
        st = pc_write_file_atomic(sp, out, ol, 0644, &e);
    pc_sig_free_all(s, n);
    free(s);
    free(sp);
    free(out);
    free(mine);
    free(json);
    free(sig);
    if (st != PC_OK)
        return fail("sign", &e, st);
    bool listed = pc_keyset_find(&r.root, &pk) >= 0;
    printf("%s: root version %" PRIu64 " signed by key %s (%zu signatures)%s\n", path, r.version,
           id, kept + 1,
           listed ? "" : "\n  note: this key is not a root key of this version: it counts only "
                         "as a key of the previous version");
    return 0;
}

/* One line per signature block: its key, whether it verifies, and what the key is. */
static void list_signers(const char *json, size_t len, const char *sig, size_t slen,
                         const pc_root *r, const pc_root *prev)
{
    pc_sig *s = calloc(PC_SIG_MAX_BLOCKS, sizeof *s);
    size_t n = 0;
    pc_err e = {0};
    if (s == NULL || pc_sig_parse_blocks(sig, slen, "signatures", s, &n, &e) != PC_OK) {
        printf("  signatures: %s\n", s ? e.msg : "out of memory");
        free(s);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char id[17];
        pc_keyid_hex(s[i].keynum, id);
        const pc_keyset *sets[2] = {&r->root, prev ? &prev->root : NULL};
        const char *role = "not a root key of this version";
        const pc_pubkey *k = NULL;
        for (int j = 1; j >= 0; j--)
            for (size_t x = 0; sets[j] && x < sets[j]->nkeys; x++)
                if (!memcmp(sets[j]->keys[x].keynum, s[i].keynum, PC_KEYNUM_LEN)) {
                    k = &sets[j]->keys[x];
                    role = j == 0 ? "a root key" : "a root key of the previous version only";
                }
        if (k && prev && pc_keyset_find(&prev->root, k) >= 0 && pc_keyset_find(&r->root, k) >= 0)
            role = "a root key of this and the previous version";
        pc_err why = {0};
        bool ok = k && pc_sig_verify(&s[i], k, 1, NULL, json, len, false, &why) == PC_OK;
        printf("  signature %zu: key %s, %s: %s\n", i + 1, id, role,
               !k ? "not counted" : ok ? "valid" : "INVALID (other content, or altered)");
    }
    pc_sig_free_all(s, n);
    free(s);
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"previous", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prevpath = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': prevpath = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind != 1)
        return bad_usage("verify", "expected ROOT.json");
    const char *path = argv[optind];
    pc_err e = {0};
    char *json = NULL, *sig = NULL, *pjson = NULL, *psig = NULL;
    size_t len, slen, plen, pslen;
    pc_root r, prev;
    pc_status st = load(path, &json, &len, &sig, &slen, &r, &e);
    if (st == PC_OK && prevpath)
        st = load(prevpath, &pjson, &plen, &psig, &pslen, &prev, &e);
    if (st != PC_OK) {
        free(json);
        free(sig);
        free(pjson);
        free(psig);
        return fail("verify", &e, st);
    }
    char exp[21];
    pc_format_time(r.expires, exp);
    printf("%s: root version %" PRIu64 ", expires %s\n", path, r.version, exp);
    printf("  root keys: %zu, threshold %u; repository keys: %zu, threshold %u%s\n", r.root.nkeys,
           r.root.threshold, r.repo.nkeys, r.repo.threshold,
           r.reset_serial ? "; resets the serial" : "");
    for (size_t i = 0; i < r.repo.nkeys; i++) {
        char id[17];
        pc_keyid_hex(r.repo.keys[i].keynum, id);
        printf("  repository key %s\n", id);
    }
    int rc = 0;
    if (sig == NULL) {
        printf("  no signatures (%s.minisig is missing)\n", path);
        rc = 3;
    } else {
        list_signers(json, len, sig, slen, &r, prevpath ? &prev : NULL);
        pc_root again;
        pc_err why = {0};
        st = pc_root_accept(NULL, json, len, sig, slen, &again, &why);
        printf("  its own root keys: %s\n", st == PC_OK ? "threshold met" : why.msg);
        if (st != PC_OK)
            rc = pc_status_exit(st);
        if (prevpath) {
            pc_err w2 = {0};
            pc_status ps = psig ? pc_root_accept(NULL, pjson, plen, psig, pslen, &again, &w2)
                                : pc_fail(&w2, PC_ERR_SIGNATURE, "%s.minisig is missing", prevpath);
            if (ps == PC_OK)
                ps = pc_root_accept(&prev, json, len, sig, slen, &again, &w2);
            printf("  after version %" PRIu64 " (%s): %s\n", prev.version, prevpath,
                   ps == PC_OK ? "threshold of its root keys met, versions follow" : w2.msg);
            if (ps != PC_OK && rc == 0)
                rc = pc_status_exit(ps);
        }
    }
    if ((int64_t)time(NULL) >= r.expires) {
        printf("  EXPIRED at %s\n", exp);
        if (rc == 0)
            rc = pc_status_exit(PC_ERR_EXPIRED);
    }
    printf("%s\n", rc == 0 ? "ok" : "NOT TRUSTED as it is");
    free(json);
    free(sig);
    free(pjson);
    free(psig);
    return rc;
}

int gen_cmd_root(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "init"))
        return cmd_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sign"))
        return cmd_sign(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return cmd_verify(argc - 1, argv + 1);
    fprintf(stderr, "patchcast-gen root: unknown subcommand '%s' (init, sign or verify)\n", argv[1]);
    return 2;
}
