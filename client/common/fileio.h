/* fileio.h — small, careful file helpers: read a whole file under a size cap,
 * and write a file atomically (temporary name, fsync, rename, fsync dir). */
#ifndef PC_FILEIO_H
#define PC_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Read the file at path into a new NUL-terminated buffer (*buf, caller frees;
 * the NUL is not counted in *len). Files larger than cap bytes are refused
 * with PC_ERR_TOO_LARGE without reading them whole. */
pc_status pc_read_file(const char *path, size_t cap, char **buf, size_t *len, pc_err *e);

/* Write len bytes to path through "path.tmp-XXXXXX" in the same directory,
 * fsync the file, rename it over path and fsync the directory. On failure the
 * temporary file is removed and path is untouched. */
pc_status pc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               pc_err *e);

/* A file being written under a temporary name beside its destination. */
typedef struct pc_tmpfile {
    int fd;
    char *tmp_path; /* "dst.tmp-XXXXXX", or "dir/tmp-XXXXXX" */
    const char *dst; /* borrowed */
    /* When dst_dir >= 0 (pc_tmpfile_at), finish renames onto dst_name in
     * that open folder: no component of a path is resolved again. */
    int dst_dir;
    const char *dst_name; /* borrowed */
    /* false after open. Set it when the caller fsyncs the whole folder tree
     * before publishing it (staging): finish then only starts the write-back
     * instead of waiting for it, and does not fsync the folder. */
    bool no_sync;
} pc_tmpfile;

/* Create a temporary file beside dst (mode 0600 until committed). */
pc_status pc_tmpfile_open(pc_tmpfile *t, const char *dst, pc_err *e);

/* The same with the temporary file in dir (on dst's file system), where no
 * name of a release can be: staging writes a version's files this way, so
 * that a temporary name never meets a file of the release. */
pc_status pc_tmpfile_open_in(pc_tmpfile *t, const char *dst, const char *dir, pc_err *e);

/* Make an open temporary file land on name inside the open folder dirfd
 * (kept open by the caller until finish), rather than on the path dst,
 * which then only names it in messages. */
void pc_tmpfile_at(pc_tmpfile *t, int dirfd, const char *name);

/* If st is PC_OK: set mode, fsync, close and rename onto dst, then fsync the
 * directory (without either fsync if t->no_sync). Otherwise (or if any of that fails) close and remove the
 * temporary file, leaving dst untouched. Returns the resulting status and
 * always releases t. */
pc_status pc_tmpfile_finish(pc_tmpfile *t, pc_status st, mode_t mode, pc_err *e);

/* fsync the n open descriptors fds, several at a time (the filesystem then
 * commits once for many files instead of once per file), and close them all.
 * what names them in the error: PC_ERR_IO with the first failure. */
pc_status pc_fsync_fds(const int *fds, size_t n, const char *what, pc_err *e);

/* fsync the directory that holds path (best effort on filesystems that refuse). */
pc_status pc_fsync_parent(const char *path, pc_err *e);

/* Create the folders of path (mkdir -p): with parents_only, those of the
 * file it names, not path itself. Errors: PC_ERR_IO naming the folder. */
pc_status pc_mkdirs(const char *path, bool parents_only, pc_err *e);

/* write() all len bytes, retrying on EINTR and short writes. 0 or -1 (errno). */
int pc_write_all(int fd, const void *data, size_t len);

#endif
