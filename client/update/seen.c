/* seen.c — a set of byte strings kept as their SHA-256 (see seen.h). The
 * digest is the key and, from its first bytes, the place: keys chosen by a
 * hostile site cannot be made to collide in the table. */
#include "seen.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "sha256.h"

static bool empty(const uint8_t d[32])
{
    static const uint8_t zero[32];
    return memcmp(d, zero, 32) == 0;
}

static size_t home(const uint8_t d[32], size_t cap)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)(h & (cap - 1));
}

/* The slot holding d, or the empty one where it would go. */
static uint8_t *place(const pc_seen *s, const uint8_t d[32])
{
    for (size_t i = home(d, s->cap);; i = (i + 1) & (s->cap - 1))
        if (empty(s->slot[i]) || memcmp(s->slot[i], d, 32) == 0)
            return s->slot[i];
}

/* Twice the room (at least 64 slots), every digest moved to its place. */
static bool grow(pc_seen *s)
{
    size_t cap, bytes;
    if (!pc_mul_size(s->cap ? s->cap : 32, 2, &cap) || !pc_mul_size(cap, 32, &bytes))
        return false;
    pc_seen bigger = {calloc(cap, 32), cap, s->n};
    if (bigger.slot == NULL)
        return false;
    for (size_t i = 0; i < s->cap; i++)
        if (!empty(s->slot[i]))
            memcpy(place(&bigger, s->slot[i]), s->slot[i], 32);
    free(s->slot);
    *s = bigger;
    return true;
}

int pc_seen_add(pc_seen *s, const void *key, size_t len)
{
    uint8_t d[32];
    pc_sha256(key, len, d); /* never all zeros, in practice: not an empty slot */
    /* At most half full: probes stay short. */
    if (2 * (s->n + 1) > s->cap && !grow(s))
        return -1;
    uint8_t *at = place(s, d);
    if (!empty(at))
        return 0;
    memcpy(at, d, 32);
    s->n++;
    return 1;
}

void pc_seen_free(pc_seen *s)
{
    free(s->slot);
    memset(s, 0, sizeof *s);
}
