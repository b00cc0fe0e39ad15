/* seen.h — a set that remembers byte strings by their SHA-256: "is this the
 * first time?" in constant time, for the whole-site walks (siteverify.c,
 * mirror.c) that meet the same object or patch in many versions. */
#ifndef PC_SEEN_H
#define PC_SEEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_seen {
    uint8_t (*slot)[32]; /* open addressing; an all-zero slot is empty */
    size_t cap, n;
} pc_seen;

/* 1 the first time key[0..len) is offered, 0 after that; -1 when out of
 * memory (then nothing is remembered). A zeroed pc_seen is an empty set. */
int pc_seen_add(pc_seen *s, const void *key, size_t len);

/* Release what s holds and zero it. */
void pc_seen_free(pc_seen *s);

#endif
