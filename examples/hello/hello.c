/* hello.c — the demo application that `make demo` releases and updates.
 * Each release is this file built with a different VERSION and GREETING. */
#include <stdio.h>
#include <stdlib.h>

#ifndef VERSION
#define VERSION "0.0.0"
#endif
#ifndef GREETING
#define GREETING "Hello"
#endif

/* Some weight, so that patches have something to save on. */
static const char *const table[] = {
#include "table.inc"
};

int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : NULL;
    printf("%s from hello %s (%zu table entries)\n", GREETING, VERSION,
           sizeof table / sizeof table[0]);
    if (data) {
        FILE *f = fopen(data, "r");
        char line[256];
        if (f && fgets(line, sizeof line, f))
            printf("data file says: %s", line);
        if (f)
            fclose(f);
    }
    return 0;
}
