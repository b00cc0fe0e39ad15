/* stage.h — carrying out a plan: download what it needs into ROOT/cache and
 * build the new version's files in a staging folder, each checked against
 * the target manifest; and the file checks the operations share. */
#ifndef PC_STAGE_H
#define PC_STAGE_H

#include "plan.h"

/* Download every object and patch the plan needs into ROOT/cache/objects and
 * ROOT/cache/patches (each once; files already there are kept); with only
 * (one flag per target entry) just those files'. The bytes that came over
 * the network are added to *transferred. Errors: those of pc_fetch_files,
 * in op->c->err. */
pc_status pc_stage_download(pc_op *op, pc_plan *p, const bool *only, uint64_t *transferred);

/* Build the target version in the folder stage: folders and links, then
 * every regular file (linked or copied from a local one, unpacked from its
 * object, or patched along its chain), on up to two threads. Each file's
 * content is checked; a cached object or patch that proves bad is deleted,
 * so the next run fetches it again. A local file (or a chain's first
 * input) found damaged — edited or truncated since it was installed — is
 * not an error: its object is downloaded instead (bytes added to
 * *transferred) and refetched[i] set (one flag per target entry, zeroed by
 * the caller). Files get no fsync of their own (the commit syncs the
 * tree). Errors name the file; PC_ERR_CANCELLED when the client is
 * cancelled. */
pc_status pc_stage_apply(pc_op *op, pc_plan *p, const char *stage, bool *refetched,
                         uint64_t *transferred);

/* ROOT/cache/objects/<hex of sha> (caller frees); NULL on no memory. */
char *pc_stage_cache_object(pc_op *op, const uint8_t sha[32]);

/* Repair: write f again into the installed version from its cached object
 * (already fetched and checked), below versions/<version> without following
 * a link, through a scratch file, synced. */
pc_status pc_stage_restore(pc_op *op, const char *version, const pc_file_entry *f, pc_err *e);

#endif
