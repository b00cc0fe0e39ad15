/* x86rel.h — pcz mode 2's filter (docs/format.md §7): the 32-bit relative
 * operands of x86-64 calls and RIP-relative loads turned into absolute
 * positions, so that code which moved keeps its bytes; and back. */
#ifndef PC_X86REL_H
#define PC_X86REL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The filter restarts at every block of this many bytes of the file. */
#define PC_X86_BLOCK 16384

/* Operands x with -2^k <= x < 2^k are converted, for k in this range. */
#define PC_X86_K_MIN 16
#define PC_X86_K_MAX 31

/* Filter (encode) or unfilter (decode) p[0, n), the file's bytes from
 * position pos, in place. pos is a block start or a position an earlier
 * call on the same file stopped at; `end`: the file (or the caller's need)
 * ends at pos + n. Returns how many bytes are final: all n at the end,
 * else up to 6 fewer (what follows decides them). */
size_t pc_x86_filter(uint8_t *p, size_t n, uint64_t pos, unsigned k, bool encode, bool end);

/* The old file as the filter sees it, read in pieces at any position:
 * each block is scanned once for where the scan resumes past every
 * PC_X86_MARK bytes (one byte of marks each), then a read filters a copy
 * from the last such point before it. */
#define PC_X86_MARK 1024

typedef struct pc_x86_view {
    const uint8_t *old;
    uint64_t size;
    unsigned k;
    uint8_t *marks; /* PC_X86_BLOCK / PC_X86_MARK a block; 0: not scanned yet */
    uint8_t scratch[PC_X86_BLOCK];
} pc_x86_view;

/* A view of old (size bytes, filter range k); NULL when out of memory.
 * Heap: about 17 KiB plus size / PC_X86_MARK bytes. */
pc_x86_view *pc_x86_view_new(const uint8_t *old, uint64_t size, unsigned k);
void pc_x86_view_free(pc_x86_view *v);

/* The filtered old bytes at [q, q + n) into dst, 0 outside the old file. */
void pc_x86_view_read(pc_x86_view *v, int64_t q, size_t n, uint8_t *dst);

/* Whether a file's header is that of an x86-64 program (ELF, PE or
 * Mach-O): the generator filters only those. */
bool pc_x86_is_x64(const uint8_t *p, size_t n);

#endif
