/* hello_api.h — the function tables of the demo's modules. The core and each
 * module include it; a module's table is what pc_host_acquire returns. */
#ifndef HELLO_API_H
#define HELLO_API_H

#include <stddef.h>

/* modules/util.so: text helpers. */
typedef struct util_api {
    /* Dress text up into buf (always NUL-terminated). */
    void (*decorate)(char *buf, size_t n, const char *text);
    int (*rev)(void);
} util_api;

/* modules/greeter.so: the greeting; depends on util. */
typedef struct greeter_api {
    /* The next greeting for who into buf; counts greetings across swaps. */
    void (*greet)(char *buf, size_t n, const char *who);
    int (*rev)(void);
} greeter_api;

/* modules/stats.so: a line counter that survives swaps of the others. */
typedef struct stats_api {
    long (*tick)(void);
} stats_api;

#endif
