/* test.h — a minimal unit-test harness. Each test program prints one line per
 * test: "PASS suite/name" or "FAIL suite/name: file:line: reason", and exits
 * non-zero if any failed. tests/run counts the lines. */
#ifndef PC_TEST_H
#define PC_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *t_suite = "unit";
static int t_cur_failed, t_npass, t_nfail;
static const char *t_cur_name;

static void t_fail_at(const char *file, int line, const char *what)
{
    if (!t_cur_failed)
        printf("FAIL %s/%s: %s:%d: %s\n", t_suite, t_cur_name, file, line, what);
    t_cur_failed = 1;
}

/* Fail the current test and return from it. */
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            t_fail_at(__FILE__, __LINE__, #cond);                                            \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* Like CHECK with a printf-style explanation. */
#define CHECKF(cond, ...)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            char t_buf_[1024];                                                               \
            snprintf(t_buf_, sizeof t_buf_, __VA_ARGS__);                                    \
            t_fail_at(__FILE__, __LINE__, t_buf_);                                           \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#define CHECK_STR(a, b)                                                                      \
    CHECKF(strcmp((a), (b)) == 0, "%s == \"%s\", expected \"%s\"", #a, (a), (b))

#define RUN(fn)                                                                              \
    do {                                                                                     \
        t_cur_name = #fn;                                                                    \
        t_cur_failed = 0;                                                                    \
        fn();                                                                                \
        if (t_cur_failed)                                                                    \
            t_nfail++;                                                                       \
        else {                                                                               \
            t_npass++;                                                                       \
            printf("PASS %s/%s\n", t_suite, t_cur_name);                                     \
        }                                                                                    \
        fflush(stdout);                                                                      \
    } while (0)

/* Run a named case inside a loop (table-driven tests). */
#define RUN_CASE(fn, arg, label)                                                             \
    do {                                                                                     \
        t_cur_name = (label);                                                                \
        t_cur_failed = 0;                                                                    \
        fn(arg);                                                                             \
        if (t_cur_failed)                                                                    \
            t_nfail++;                                                                       \
        else {                                                                               \
            t_npass++;                                                                       \
            printf("PASS %s/%s\n", t_suite, t_cur_name);                                     \
        }                                                                                    \
        fflush(stdout);                                                                      \
    } while (0)

#define TEST_MAIN_END() return t_nfail ? 1 : 0

/* A small deterministic generator (xorshift64) for generated test data; a
 * suite may set t_rng to a seed of its own before use. */
__attribute__((unused)) static uint64_t t_rng = 0x243f6a8885a308d3ull;
__attribute__((unused)) static uint64_t t_rnd(void)
{
    t_rng ^= t_rng << 13;
    t_rng ^= t_rng >> 7;
    t_rng ^= t_rng << 17;
    return t_rng;
}

#endif
