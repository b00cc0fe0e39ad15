/* pages.h — keeping a diff's peak memory to the part of a mapped file
 * being worked on: pages already read are dropped from the process. */
#ifndef PC_PAGES_H
#define PC_PAGES_H

#include <stdint.h>

/* Drop the pages of [from, to) of a read-only file mapping from this
 * process (they stay in the page cache), so the peak memory holds only the
 * part of a file being worked on. */
void pc_drop_pages(const uint8_t *base, int64_t from, int64_t to);

#endif
