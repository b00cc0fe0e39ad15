/* page.h — the files of site-template/ written into every site: the human
 * page (index.html + style.css: product, channels, versions with dates,
 * notes, sizes and release settings (the rollout as of the build, withdrawn
 * with its reason, critical, minimum version), the download from each older
 * version, how to verify with minisign; no JavaScript) and the hosts' cache
 * rules (_headers, nginx-patchcast.conf, cache-rules.json, all from
 * site-template/rules.tsv).
 * Every value from metadata is escaped for the file it lands in. */
#ifndef PC_PAGE_H
#define PC_PAGE_H

#include "error.h"
#include "meta.h"
#include "seckey.h"
#include "tmpl.h"

/* Write every file of site-template/ into site_root, filled from r (a "*.in"
 * template gives the file without ".in"; other files are copied; rules.tsv
 * is the data of the cache rules, not copied). key (may be NULL) gives the
 * public key shown; trusted_comment (may be NULL) is the one of
 * repo.json.minisig. Each file is written atomically. */
pc_status pc_page_write(const char *site_root, const pc_repo *r, const pc_seckey *key,
                        const char *trusted_comment, pc_err *e);

/* Add the list "rules" (glob, url, dir_url, nginx_regex, cache_control,
 * content_type, last) parsed from site-template/rules.tsv to c.
 * PC_ERR_INVALID names the line of a malformed rule. */
pc_status pc_page_rules(pc_tctx *c, pc_err *e);

#endif
