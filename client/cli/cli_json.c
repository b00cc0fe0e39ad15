/* cli_json.c — the one JSON document of a `patchcast --json` command
 * (cli_json.h), and the failure and usage reports that write it (cli.h). */
#include "cli_json.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 8

static struct {
    bool on;               /* --json was given */
    bool done;             /* the document was written */
    int depth;             /* open objects and arrays */
    bool first[MAX_DEPTH]; /* nothing written yet at this depth */
    char close[MAX_DEPTH]; /* '}' or ']' */
} J;

void pc_json_scan(int argc, char *const *argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--json"))
            J.on = true;
}

/* Length of the UTF-8 sequence at s (1 to 4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    putc('"', f);
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
        } else if (n > 1) {
            fwrite(s, 1, n, f);
            s += n;
        } else {
            switch (*s) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:
                if (*s < 0x20 || *s == 0x7f)
                    fprintf(f, "\\u%04x", *s);
                else
                    putc(*s, f);
            }
            s++;
        }
    }
    putc('"', f);
}

/* The separator and key before a value. */
static void member(const char *key)
{
    if (J.depth > 0) {
        if (!J.first[J.depth - 1])
            fputs(", ", stdout);
        J.first[J.depth - 1] = false;
    }
    if (key) {
        write_string(stdout, key);
        fputs(": ", stdout);
    }
}

static void open_(const char *key, char open, char close)
{
    if (J.depth == MAX_DEPTH)
        return; /* deeper than any document of the CLI: a bug */
    member(key);
    putchar(open);
    J.first[J.depth] = true;
    J.close[J.depth] = close;
    J.depth++;
}

void pc_json_object(const char *key)
{
    open_(key, '{', '}');
}

void pc_json_array(const char *key)
{
    open_(key, '[', ']');
}

void pc_json_end(void)
{
    if (J.depth == 0)
        return;
    putchar(J.close[--J.depth]);
    if (J.depth == 0) {
        putchar('\n');
        fflush(stdout);
        J.done = true;
    }
}

void pc_json_str(const char *key, const char *v)
{
    member(key);
    if (v == NULL)
        fputs("null", stdout);
    else
        write_string(stdout, v);
}

void pc_json_uint(const char *key, uint64_t v)
{
    member(key);
    printf("%llu", (unsigned long long)v);
}

void pc_json_num(const char *key, double v)
{
    member(key);
    printf("%.2f", v);
}

void pc_json_bool(const char *key, bool v)
{
    member(key);
    fputs(v ? "true" : "false", stdout);
}

static int report(const char *code, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int report(const char *code, int rc, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    pc_cli_error("%s", msg);
    if (J.on && !J.done) {
        J.depth = 0;
        pc_json_object(NULL);
        pc_json_bool("ok", false);
        pc_json_object("error");
        pc_json_str("code", code);
        pc_json_str("message", msg);
        pc_json_end();
        pc_json_uint("exit", (uint64_t)rc);
        pc_json_end();
    }
    return rc;
}

static int report_rc(const char *code, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int report_rc(const char *code, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = report(code, rc, fmt, ap);
    va_end(ap);
    return rc;
}

int pc_cli_fail(pc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = report(st == PC_ERR_INVALID ? "usage" : pc_status_code(st), pc_status_exit(st), fmt,
                    ap);
    va_end(ap);
    return rc;
}

int pc_cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = report("usage", PC_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return rc;
}

int pc_cli_bad_option(const char *cmd, int c, char *const *argv, const char *usage)
{
    /* getopt leaves optind after the option it stopped at, except inside
     * a cluster of short options (-qz), where optopt names it. */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    bool is_long = strncmp(arg, "--", 2) == 0;
    fputs(usage, stderr);
    if (c == ':')
        return is_long ? pc_cli_usage("%s: option '%s' needs a value", cmd, arg)
                       : pc_cli_usage("%s: option '-%c' needs a value", cmd, optopt);
    if (optopt == 0)
        return pc_cli_usage("%s: unknown option '%s'", cmd, arg);
    if (is_long && strchr(arg, '='))
        return pc_cli_usage("%s: option '%.*s' takes no value", cmd, (int)strcspn(arg, "="), arg);
    return pc_cli_usage("%s: unknown option '-%c'", cmd, optopt);
}

int pc_cli_help(const char *usage)
{
    if (!J.on) {
        fputs(usage, stdout);
        return PC_EXIT_OK;
    }
    pc_json_object(NULL);
    pc_json_bool("ok", true);
    pc_json_str("help", usage);
    pc_json_end();
    return PC_EXIT_OK;
}

int pc_cli_done(int rc)
{
    if (!J.on || J.done)
        return rc;
    if (rc == PC_EXIT_OK) {
        J.depth = 0;
        pc_json_object(NULL);
        pc_json_bool("ok", true);
        pc_json_end();
        return rc;
    }
    if (rc == PC_EXIT_USAGE)
        return pc_cli_usage("bad command line");
    return report_rc("internal", rc, "failed with exit code %d and no message (a bug)", rc);
}
