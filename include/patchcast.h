/* patchcast.h — public API of libpatchcast, the client side of patchcast:
 * hashing, minisign-format signature verification, and (in later releases)
 * planning, downloading, applying and switching incremental updates.
 *
 * Conventions: every fallible call returns pc_status (PC_OK is 0) and passes
 * results back through out-parameters. pc_strerror() gives the fixed text of
 * a status; handles carry the detail of their last failure. Memory a function
 * returns is owned by the caller unless its comment says otherwise. */
#ifndef PATCHCAST_H
#define PATCHCAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one source of the version: the Makefile reads these three lines. */
#define PC_VERSION_MAJOR 0
#define PC_VERSION_MINOR 1
#define PC_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons: 0.1.0 is 100. */
#define PC_VERSION_NUMBER (PC_VERSION_MAJOR * 10000 + PC_VERSION_MINOR * 100 + PC_VERSION_PATCH)
#define PC_VERSION_STR_(x) #x
#define PC_VERSION_STR(x) PC_VERSION_STR_(x)
#define PC_VERSION_STRING \
    PC_VERSION_STR(PC_VERSION_MAJOR) "." PC_VERSION_STR(PC_VERSION_MINOR) "." PC_VERSION_STR(PC_VERSION_PATCH)

/* What libpatchcast.so exports: exactly the functions declared in include/
 * (the library is built with -fvisibility=hidden). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define PC_API __attribute__((visibility("default")))
#else
#define PC_API
#endif

/* The library's version as "MAJOR.MINOR.PATCH"; a static string. It is the
 * version of the library the program runs with, which may be newer than the
 * header it was compiled against (PC_VERSION_STRING). */
PC_API const char *pc_version(void);
/* The same as PC_VERSION_NUMBER computes it. */
PC_API unsigned pc_version_number(void);

/* Status codes. The values are part of the ABI and never change; new codes
 * are added at the end. */
typedef enum pc_status {
    PC_OK = 0,
    PC_ERR_NOMEM = 1,        /* allocation failed */
    PC_ERR_INVALID = 2,      /* bad argument from the caller */
    PC_ERR_IO = 3,           /* reading or writing a local file failed */
    PC_ERR_NOT_FOUND = 4,    /* a file, key, version or object does not exist */
    PC_ERR_FORMAT = 5,       /* malformed input: signature, key, JSON, patch */
    PC_ERR_TOO_LARGE = 6,    /* input exceeds a size cap */
    PC_ERR_SIGNATURE = 7,    /* a signature does not verify */
    PC_ERR_KEY = 8,          /* signed by another key (key id mismatch) */
    PC_ERR_PASSWORD = 9,     /* wrong password for an encrypted secret key */
    PC_ERR_HASH = 10,        /* content does not match its expected SHA-256 */
    PC_ERR_UNSUPPORTED = 11, /* unknown format version or algorithm */
    PC_ERR_NETWORK = 12,     /* a transfer failed */
    PC_ERR_ROLLBACK = 13,    /* metadata older than what was seen before */
    PC_ERR_EXPIRED = 14,     /* metadata past its expiry */
    PC_ERR_PATCH = 15,       /* a patch is corrupt or does not fit its input */
    PC_ERR_STATE = 16,       /* local install state is inconsistent */
    PC_ERR_CANCELLED = 17,   /* the caller cancelled the operation */
    PC_ERR_INTERNAL = 18,    /* a bug: please report */
    PC_ERR_MODULE = 19,      /* a hot-swap module failed to load, start or check */
    PC_ERR_BUSY = 20,        /* another process is changing the install root */
    PC_ERR_NO_SPACE = 21,    /* the disk (or quota) is full */
    PC_ERR_PERMISSION = 22,  /* not allowed: permissions, a read-only file system */
    PC_ERR_OFFLINE = 23,     /* no mirror could be reached (no network, host down) */
    PC_ERR_NOT_INITIALISED = 24, /* the install root has no configuration */
} pc_status;

/* Fixed English text for a status; never NULL, static storage. */
PC_API const char *pc_strerror(pc_status status);

/* A stable name for a status, for scripts and JSON ("ok", "busy",
 * "no_space", "signature", …; docs/format.md lists them). Never NULL;
 * "unknown" for a value this library does not know. */
PC_API const char *pc_status_code(pc_status status);

/* ---- SHA-256 ----------------------------------------------------------- */

#define PC_SHA256_LEN 32
#define PC_SHA256_HEX_LEN 64

/* Hash len bytes at data into out. */
PC_API void pc_sha256(const void *data, size_t len, uint8_t out[PC_SHA256_LEN]);

/* Hash the file at path by streaming it through a fixed buffer; the file may
 * be of any size. Returns PC_ERR_NOT_FOUND or PC_ERR_IO on failure (errno is
 * kept). *size_out, when not NULL, receives the number of bytes hashed. */
PC_API pc_status pc_sha256_file(const char *path, uint8_t out[PC_SHA256_LEN], uint64_t *size_out);

/* Lower-case hex of a digest into hex (PC_SHA256_HEX_LEN chars plus NUL). */
PC_API void pc_sha256_to_hex(const uint8_t digest[PC_SHA256_LEN], char hex[PC_SHA256_HEX_LEN + 1]);

/* Parse exactly 64 hex digits (either case) into a digest.
 * Returns PC_ERR_FORMAT for any other length or character. */
PC_API pc_status pc_sha256_from_hex(const char *hex, uint8_t digest[PC_SHA256_LEN]);

/* ---- Client handle and signatures ---------------------------------------- */

/* A client: pinned public keys and (in later releases) the install root,
 * repositories and channel. Not shared between threads without a lock; one
 * handle per thread is fine. */
typedef struct pc_client pc_client;

/* Create a client. *out is freed with pc_client_free. */
PC_API pc_status pc_client_new(pc_client **out);

/* Free a client and everything it owns; NULL is accepted. */
PC_API void pc_client_free(pc_client *c);

/* Detail of the last failure on this handle ("" if none); valid until the
 * next call on the handle. */
PC_API const char *pc_client_errmsg(const pc_client *c);

/* Pin a public key given as minisign's base64 string (as `minisign -P`) or
 * as the whole text of a .pub file. Several keys may be pinned (rotation):
 * a signature verifies if its key id matches one of them. */
PC_API pc_status pc_client_add_pubkey(pc_client *c, const char *key);

/* Pin the public key in a minisign .pub file. */
PC_API pc_status pc_client_add_pubkey_file(pc_client *c, const char *path);

/* Accept legacy (non-prehashed, "Ed") signatures. Refused by default. */
#define PC_VERIFY_ALLOW_LEGACY 1u

/* Verify the minisign signature sig_path (NULL: path + ".minisig") of the
 * file at path against the pinned keys: key id, signature, and the global
 * signature over the trusted comment. On success *trusted_comment (if not
 * NULL) receives the trusted comment; the caller frees it.
 * Errors: PC_ERR_SIGNATURE, PC_ERR_KEY, PC_ERR_FORMAT (malformed signature
 * file), PC_ERR_TOO_LARGE, PC_ERR_UNSUPPORTED (legacy refused),
 * PC_ERR_NOT_FOUND, PC_ERR_IO, PC_ERR_INVALID (no key pinned). */
PC_API pc_status pc_client_verify_file(pc_client *c, const char *path, const char *sig_path,
                                unsigned flags, char **trusted_comment);

/* Like pc_client_verify_file for len bytes in memory, with the signature
 * file's text in sig_text/sig_len. Verify before parsing: this is how the
 * client checks repo.json before it reads a byte of it. */
PC_API pc_status pc_client_verify_buffer(pc_client *c, const void *data, size_t len,
                                  const char *sig_text, size_t sig_len, unsigned flags,
                                  char **trusted_comment);

/* ---- Updates --------------------------------------------------------------- */

/* Where updates go and come from. The root holds versions/<v>/, a `current`
 * link, state.json and config.json (docs/patchcast.1.md, DESCRIPTION).
 * A repository is the URL of a site's folder, http(s):// or file://, or a
 * plain folder; several are mirrors, tried in order. A relative folder is
 * made absolute (from the working directory) when it is added.
 * pc_client_add_repo refuses with PC_ERR_INVALID another scheme, a host
 * without a scheme ("127.0.0.1:8765/x", which would read as a folder), and
 * the URL of the site's repo.json or repo.json.minisig instead of its folder.
 * The channel defaults to "stable". */
PC_API pc_status pc_client_set_root(pc_client *c, const char *root);
PC_API pc_status pc_client_add_repo(pc_client *c, const char *url);
PC_API pc_status pc_client_set_channel(pc_client *c, const char *channel);
/* An extra CA bundle for HTTPS (private CAs, tests); NULL: the system's. */
PC_API pc_status pc_client_set_ca_file(pc_client *c, const char *path);
/* How many installed versions to keep, the current one included (default 2). */
PC_API pc_status pc_client_set_keep_versions(pc_client *c, unsigned n);
/* Abort a transfer that stays below bytes_per_second for `seconds` (the
 * defence against a slow-retrieval attack: a mirror that trickles bytes).
 * It is then retried and the next mirror tried, like any failed transfer.
 * 0 keeps the default of each: 1024 bytes/s for 30 s. PC_ERR_INVALID for a
 * negative value. */
PC_API pc_status pc_client_set_low_speed(pc_client *c, long bytes_per_second, long seconds);

/* How many files are downloaded at once, 1 to 16 (0: the default, 3). One
 * at a time suits a link shared with other work or metered per connection.
 * PC_ERR_INVALID for a larger number. */
PC_API pc_status pc_client_set_transfers(pc_client *c, unsigned n);

/* How long an operation that changes the root (update, rollback, repair)
 * waits for another process's change of the same root to end: 0 (the
 * default) fails at once with PC_ERR_BUSY, a negative value waits without
 * limit. Reading operations (check, status) never wait for a writer: every
 * file they read is replaced atomically. */
PC_API pc_status pc_client_set_wait(pc_client *c, int seconds);

/* Pin a root of trust instead of (or besides) bare keys (docs/format.md
 * §13): root metadata made with `patchcast-gen root`, at path with its
 * signatures at path + ".minisig" (or given in memory). It must be signed
 * by a threshold of its own root keys. On each update the client then
 * walks from it (or from the newer root it accepted before) to the
 * site's newest root, each step signed by a threshold of the previous
 * root's keys and of its own, and accepts repo.json only when a threshold
 * of the newest root's repository keys signed it. Bare keys pinned too
 * are used only for a site that names no root, until this install first
 * accepts one that does. Errors: PC_ERR_SIGNATURE (below the threshold),
 * PC_ERR_FORMAT, PC_ERR_NOT_FOUND, PC_ERR_TOO_LARGE. */
PC_API pc_status pc_client_set_trust_root(pc_client *c, const char *path);
PC_API pc_status pc_client_set_trust_root_buffer(pc_client *c, const char *json, size_t len,
                                                 const char *sig, size_t sig_len);

/* Save the root, repositories, pinned keys and channel to ROOT/config.json,
 * and load them back (what `patchcast init` writes and the CLI reads). */
PC_API pc_status pc_client_save_config(pc_client *c);
PC_API pc_status pc_client_load_config(pc_client *c, const char *root);

/* Progress of a long operation. Called on the thread that runs it. */
typedef struct pc_progress {
    uint64_t done, total;      /* bytes of the current step */
    unsigned step, nsteps;     /* 1-based step number and count */
    const char *step_name;     /* "metadata", "download", "apply", "verify", "switch" */
    const char *detail;        /* e.g. a file or version; may be "" */
} pc_progress;
typedef void (*pc_progress_fn)(void *ud, const pc_progress *p);
PC_API void pc_client_set_progress(pc_client *c, pc_progress_fn fn, void *ud);

/* Ask a running operation to stop at its next safe point (any thread).
 * It then fails with PC_ERR_CANCELLED and the installed version is intact.
 * A cancel made while no operation runs applies to the next one that
 * starts; every operation clears it when it ends. */
PC_API void pc_client_cancel(pc_client *c);

/* A version's release notes. */
typedef struct pc_release_note {
    char *version;
    char *notes;
} pc_release_note;

/* What an update would do or did. Free with pc_update_info_free. */
typedef struct pc_update_info {
    char *from;                /* installed version, NULL for a fresh install */
    char *to;                  /* target version */
    int up_to_date;            /* nothing to do */
    uint64_t download_bytes;   /* planned (check) or transferred (update) */
    uint64_t full_bytes;       /* a full download of the target */
    unsigned hops;             /* edges chained; 0 for a full install */
    int restart_required;      /* a file flagged critical changed */
    char *notes;               /* release notes of the target, or NULL */
    char **hot_modules;        /* changed hot-swappable modules (paths in the version) */
    size_t nhot;
    char **changed_files;      /* every added or changed path */
    size_t nchanged;
    char **refetched;          /* update: files of an installed version found
                                  damaged (edited, truncated) and downloaded
                                  whole instead of copied or patched */
    size_t nrefetched;
    /* The release lifecycle (docs/guide.md, "Releasing safely"): */
    int critical;              /* a version from `from` (excluded) to `to` is critical */
    int manual_update_required; /* manual_version needs an install of at least
                                  minimum_version first: not updated automatically */
    char *manual_version;      /* ... the version that needs the user, or NULL */
    char *minimum_version;     /* ... and the version it needs, or NULL */
    int downgrade;             /* `to` is older than `from` (from withdrawn, or
                                  allowed by PC_UPDATE_ALLOW_DOWNGRADE) */
    int from_withdrawn;        /* the installed version was withdrawn: moving off it */
    char *withdrawn_reason;    /* ... why, or NULL */
    char *held_back;           /* the channel's newest, when this install is not
                                  admitted to it yet (staged rollout), or NULL */
    char *downgrade_refused;   /* the channel's newest, when older than the
                                  installed version (no silent downgrade), or NULL */
    pc_release_note *release_notes; /* every version after `from` up to `to`
                                  with notes, newest first */
    size_t nrelease_notes;
    char **skipped;            /* versions skipped on this install */
    size_t nskipped;
    double rollout_bucket;     /* this install's bucket, 0.00 to 99.99 (-1: none yet) */
    int release_patch;         /* the update takes (check) or took (update) one
                                  whole-release patch for its changed files
                                  rather than per-file patches and objects */
} pc_update_info;
PC_API void pc_update_info_free(pc_update_info *info);

/* How check and update choose a version when none is named (flags of
 * pc_client_set_update_flags): */
#define PC_UPDATE_IGNORE_ROLLOUT 1u  /* offer versions this install is not yet admitted to */
#define PC_UPDATE_ALLOW_DOWNGRADE 2u /* follow the channel to an older version */
PC_API pc_status pc_client_set_update_flags(pc_client *c, unsigned flags);

/* Fetch and verify the repository's metadata and plan an update to
 * `version` (NULL: the newest of the channel) without changing anything. */
PC_API pc_status pc_client_check(pc_client *c, const char *version, pc_update_info **out);

/* Update (or install into an empty root) to `version` (NULL: the newest of
 * the channel): download, apply, verify every file, switch atomically.
 * On any failure the installed version stays current and intact. */
PC_API pc_status pc_client_update(pc_client *c, const char *version, pc_update_info **out);

/* Switch back to the previous installed version, after verifying it. */
PC_API pc_status pc_client_rollback(pc_client *c, pc_update_info **out);

/* Apply at next start: download, apply and verify `version` (NULL: as
 * pc_client_update chooses) into a complete version beside the current one
 * without switching to it. It stays staged across restarts until
 * pc_client_apply_staged (or `patchcast run`) switches to it; staging
 * another version discards it; any other switch discards it too, and so do
 * an update or stage that chooses another version (the staged one since
 * withdrawn, skipped, ...) and pc_client_skip_version of it. */
PC_API pc_status pc_client_stage(pc_client *c, const char *version, pc_update_info **out);
/* Switch to the staged version after checking its tree; PC_ERR_NOT_FOUND
 * if nothing is staged. The version is then pending, as after an update. */
PC_API pc_status pc_client_apply_staged(pc_client *c, pc_update_info **out);

/* A version installed by an update is pending until marked good: by the
 * program (this call; version NULL: the current one), or by `patchcast run`
 * (exit 0, or running --healthy-after seconds). A version that is not
 * pending is left as it is. */
PC_API pc_status pc_client_mark_good(pc_client *c, const char *version);

/* Hide `version` from automatic updates on this install (skip nonzero), or
 * show it again (skip 0). A critical version is offered even if skipped. */
PC_API pc_status pc_client_skip_version(pc_client *c, const char *version, int skip);

/* Check the current version's whole tree against its manifest (content,
 * type, mode, symlink targets, folders) and put right what differs:
 * damaged files are downloaded again, modes, links and folders restored.
 * *fixed (may be NULL) receives the number of entries repaired. */
PC_API pc_status pc_client_repair(pc_client *c, unsigned *fixed);

/* Copy the whole site at url into the folder dir and verify every file (an
 * offline mirror, e.g. for a USB stick; clients then use dir as a
 * repository). The copy is verified before its repo.json is published, so
 * a failed or interrupted mirror leaves dir's previous site usable; files
 * already in dir are kept only when their hash is right. A dir holding a
 * newer site (PC_ERR_ROLLBACK) or an expired source (PC_ERR_EXPIRED) is
 * refused unless flags has PC_MIRROR_FORCE. *problems (may be NULL)
 * receives the number of problems. */
#define PC_MIRROR_FORCE 1u
PC_API pc_status pc_client_mirror(pc_client *c, const char *url, const char *dir, unsigned flags,
                                  unsigned *problems);

/* A hold on an installed version: while any process holds a version, no
 * update prunes it (a program keeps the files it was started from). Take
 * one when a program starts from ROOT/versions/<v> and keep it for the
 * program's life; it ends with pc_hold_release or when the process exits.
 * Holding works on a read-only root and for users who cannot write it. */
typedef struct pc_hold pc_hold;
/* The hold is inherited by programs this process then execs (its
 * descriptor is not closed on exec): what `patchcast run` uses. */
#define PC_HOLD_INHERIT 1u
/* Hold `version` (NULL: the current one). PC_ERR_NOT_FOUND if it is not
 * installed; PC_ERR_STATE if nothing is current. */
PC_API pc_status pc_client_hold_version(pc_client *c, const char *version, unsigned flags,
                                        pc_hold **out);
/* The held version's name and its folder (ROOT/versions/<v>); valid until
 * the hold is released. */
PC_API const char *pc_hold_version(const pc_hold *h);
PC_API const char *pc_hold_dir(const pc_hold *h);
/* End the hold and free it; NULL is accepted. */
PC_API void pc_hold_release(pc_hold *h);

/* The launcher's side (what `patchcast run` does): before a start, switch
 * to a staged version if any, roll a pending version that failed
 * max_attempts starts back to the last good one (recording it bad: never
 * installed automatically again), count the start of a pending version,
 * and hold the version to run. *rolled_back (may be NULL) receives the
 * version rolled back from, or NULL (free it). */
PC_API pc_status pc_client_start_run(pc_client *c, unsigned max_attempts, unsigned flags,
                                     char **rolled_back, pc_hold **out);
/* After the program of `version` ended: healthy > 0 marks it good;
 * healthy 0 is a failed start: once it failed max_attempts starts, it is
 * rolled back as above and *rolled_back (may be NULL) receives its name;
 * healthy < 0: it was stopped from outside (a service stopped, an
 * interrupt passed on to it), and this start is not counted. */
PC_API pc_status pc_client_end_run(pc_client *c, const char *version, int healthy,
                                   unsigned max_attempts, char **rolled_back);

/* The installed state. Free with pc_client_status_free. */
typedef struct pc_install_state {
    char *current;             /* NULL if nothing is installed */
    char *previous;            /* rollback target or NULL */
    char **installed;
    size_t ninstalled;
    uint64_t last_serial;      /* highest repo.json serial accepted */
    int busy;                  /* another process is changing the root now
                                  (this state is what was installed when it began) */
    char **held;               /* installed versions a running program holds */
    size_t nheld;
    uint64_t root_version;     /* the root of trust in use (0: bare keys only) */
    char *staged;              /* a version staged for the next start, or NULL */
    char *pending;             /* current, not yet marked good, or NULL */
    unsigned attempts;         /* ... its starts that did not end well */
    char *last_good;           /* the version the launcher rolls back to, or NULL */
    char **bad;                /* versions rolled back by the launcher */
    size_t nbad;
    char **skipped;            /* versions skipped (pc_client_skip_version) */
    size_t nskipped;
    double rollout_bucket;     /* 0.00 to 99.99; -1: no install id yet */
} pc_install_state;
PC_API pc_status pc_client_status(pc_client *c, pc_install_state **out);
PC_API void pc_client_status_free(pc_install_state *s);

#ifdef __cplusplus
}
#endif
#endif /* PATCHCAST_H */
