/* page.h — the human page of a site (index.html + style.css): product,
 * channels, versions with dates, notes and sizes, the patch size from each
 * older version, and how to verify with minisign. Works without JavaScript. */
#ifndef PC_PAGE_H
#define PC_PAGE_H

#include "error.h"
#include "meta.h"
#include "seckey.h"

pc_status pc_page_write(const char *site_root, const pc_repo *r, const pc_seckey *key, pc_err *e);

#endif
