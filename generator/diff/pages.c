/* pages.c — dropping the pages of a read-only file mapping behind a reader
 * (madvise), so a diff holds only the part of a file it is working on. */
#include "pages.h"

#include <sys/mman.h>
#include <unistd.h>

void pc_drop_pages(const uint8_t *base, int64_t from, int64_t to)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)(base + from) + pg - 1) & ~(pg - 1);
    uintptr_t b = (uintptr_t)(base + to) & ~(pg - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}
