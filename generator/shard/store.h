/* store.h — where the jobs of a sharded build put their results and the
 * assemble takes them from: a folder with the site's layout (objects/,
 * patches/) plus jobs/<plan>/<N>.json, or the same under an S3 prefix,
 * reached through the AWS CLI (`aws s3 cp`, `aws s3 ls`). Every file is
 * written under a temporary name (a folder) or as one whole object (S3),
 * so a reader never sees half of one. A store may be used from several
 * threads at once. */
#ifndef PC_STORE_H
#define PC_STORE_H

#include <stdbool.h>

#include "error.h"

typedef struct pc_store pc_store;

/* Open the store at url: "s3://BUCKET[/PREFIX]" or a folder (created if
 * missing). An S3 store lists its keys once, here: `aws` from PATH, with
 * --endpoint-url $S3_ENDPOINT_URL when that is set (as ci/publish-s3);
 * credentials come the CLI's usual ways. *out: free with pc_store_free. */
pc_status pc_store_open(const char *url, pc_store **out, pc_err *e);
/* Close; downloads and scratch files of an S3 store are removed. NULL ok. */
void pc_store_free(pc_store *s);

/* The store's name for messages ("s3://b/p" or the folder). */
const char *pc_store_name(const pc_store *s);

/* A local file holding the store's file rel ("objects/ab/…"): a folder's
 * own file, or a download. PC_ERR_NOT_FOUND (e untouched) when the store
 * has none. *path: give it back with pc_store_done. */
pc_status pc_store_get(pc_store *s, const char *rel, char **path, pc_err *e);
/* Done with a path from pc_store_get (or pc_store_scratch): a download or
 * scratch file is removed; path is freed. NULL ok. */
void pc_store_done(pc_store *s, char *path);

/* A new local path to write rel's content into before pc_store_put: beside
 * the destination ("<rel>.tmp-…", the name publish scripts skip) for a
 * folder, in the scratch folder for S3. NULL (errno set) on no memory or
 * when rel's folder cannot be made. Caller frees (pc_store_done removes it too). */
char *pc_store_scratch(pc_store *s, const char *rel);

/* Make the local file `local` (a scratch path) the store's rel; local is
 * gone afterwards. With keep, a rel the store already has stays as it is
 * and *existed is set (another copy of the job was first: check it);
 * without, rel is replaced. */
pc_status pc_store_put(pc_store *s, const char *local, const char *rel, bool keep, bool *existed,
                       pc_err *e);

/* S3 URLs: "s3://BUCKET[/PREFIX]", a bucket name of 3 to 63 of [a-z0-9.-]
 * and a prefix of printable characters without spaces, empty or "."/".."
 * components. True with *bucket and *prefix (new strings, caller frees;
 * prefix without slashes at its ends, maybe ""), false and *why if not. */
bool pc_store_parse_s3(const char *url, char **bucket, char **prefix, const char **why);

/* One line of `aws s3 ls --recursive` ("2024-05-01 12:00:00  1234 key"):
 * true with the key (pointing into line) and its size. */
bool pc_store_parse_ls_line(const char *line, const char **key, unsigned long long *size);

#endif
