/* test_seen.c — the set of byte strings by SHA-256: first time 1, after that
 * 0, across growth; keys that differ only in length or one byte are apart. */
#include "seen.h"
#include "test.h"

static void first_then_seen(void)
{
    pc_seen s = {0};
    CHECK(pc_seen_add(&s, "objects/ab/ab12", 15) == 1);
    CHECK(pc_seen_add(&s, "objects/ab/ab12", 15) == 0);
    CHECK(pc_seen_add(&s, "objects/ab/ab1", 14) == 1);  /* a prefix */
    CHECK(pc_seen_add(&s, "objects/ab/ab13", 15) == 1); /* one byte apart */
    CHECK(pc_seen_add(&s, "", 0) == 1 && pc_seen_add(&s, "", 0) == 0);
    CHECK(s.n == 4);
    pc_seen_free(&s);
    CHECK(s.slot == NULL && s.n == 0 && s.cap == 0);
    pc_seen_free(&s); /* twice is fine */
}

static void many_keys(void)
{
    enum { N = 200000 };
    pc_seen s = {0};
    uint8_t key[32] = {0};
    for (uint32_t i = 0; i < N; i++) {
        memcpy(key, &i, sizeof i);
        CHECKF(pc_seen_add(&s, key, sizeof key) == 1, "key %u new", i);
    }
    CHECK(s.n == N && s.cap >= 2 * (size_t)N);
    /* Every key again, in another order: all remembered, none added. */
    for (uint32_t i = N; i-- > 0;) {
        memcpy(key, &i, sizeof i);
        CHECKF(pc_seen_add(&s, key, sizeof key) == 0, "key %u seen", i);
    }
    CHECK(s.n == N);
    pc_seen_free(&s);
}

int main(void)
{
    t_suite = "seen";
    RUN(first_then_seen);
    RUN(many_keys);
    TEST_MAIN_END();
}
