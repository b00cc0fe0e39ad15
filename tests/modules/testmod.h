/* testmod.h — the function table of the test modules (tests/modules/testmod.c). */
#ifndef TESTMOD_H
#define TESTMOD_H
typedef struct testmod_api {
    int (*value)(void);            /* the module's MOD_VERSION */
    int (*dep_value)(void);        /* its dependency's value(), 0 if none */
    int (*migrated_from)(void);    /* the version whose state it took over */
} testmod_api;
#endif
