/* test_store.c — the result store of a sharded build: S3 URLs and `aws s3
 * ls` lines read strictly; a folder store's get, put (kept or replaced)
 * and scratch names; an S3 store driven through a stand-in `aws` on PATH
 * (what it is called with, its listing, downloads, uploads, its failures
 * reported with the command and its message); no AWS CLI at all. The real
 * CLI against an S3 server: tests/ci/test_shard_s3.sh. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/pc-store-XXXXXX";

static void write_text(const char *path, const char *text, mode_t mode)
{
    pc_err e = {0};
    pc_mkdirs(path, true, &e);
    pc_write_file_atomic(path, text, strlen(text), mode, &e);
}

static char *read_text(const char *path)
{
    char *buf = NULL;
    size_t len;
    pc_err e = {0};
    return pc_read_file(path, 1 << 20, &buf, &len, &e) == PC_OK ? buf : NULL;
}

static void test_parse_s3(void)
{
    static const struct {
        const char *url, *bucket, *prefix;
    } good[] = {{"s3://bucket", "bucket", ""},
                {"s3://my.bucket-1/a/b/", "my.bucket-1", "a/b"},
                {"s3://abc/shards/run-42", "abc", "shards/run-42"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *b, *p;
        const char *why = NULL;
        CHECKF(pc_store_parse_s3(good[i].url, &b, &p, &why), "%s: %s", good[i].url, why);
        CHECK_STR(b, good[i].bucket);
        CHECK_STR(p, good[i].prefix);
        free(b);
        free(p);
    }
    static const char *bad[] = {"http://bucket/x", "s3://ab", "s3://Bucket/x", "s3://bkt/a//b",
                                "s3://bkt/../x", "s3://bkt/a/./b", "s3://bkt/a b", "s3:///x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b, *p;
        const char *why = NULL;
        CHECKF(!pc_store_parse_s3(bad[i], &b, &p, &why) && why, "%s accepted", bad[i]);
    }
}

static void test_parse_ls_line(void)
{
    const char *key;
    unsigned long long size;
    CHECK(pc_store_parse_ls_line("2024-05-01 12:00:00      12345 pre/objects/ab/cd", &key, &size));
    CHECK_STR(key, "pre/objects/ab/cd");
    CHECK(size == 12345);
    CHECK(pc_store_parse_ls_line("2024-05-01 12:00:00 5 a key with spaces", &key, &size));
    CHECK_STR(key, "a key with spaces");
    CHECK(!pc_store_parse_ls_line("                           PRE dir/", &key, &size));
    CHECK(!pc_store_parse_ls_line("", &key, &size));
    CHECK(!pc_store_parse_ls_line("2024-05-01 12:00:00 12x key", &key, &size));
    CHECK(!pc_store_parse_ls_line("2024-05-01 12:00:00 12 ", &key, &size));
}

static void test_folder_store(void)
{
    char root[600], *path = NULL;
    snprintf(root, sizeof root, "%s/folder/store", dir);
    pc_store *s = NULL;
    pc_err e = {0};
    bool existed;
    CHECKF(pc_store_open(root, &s, &e) == PC_OK, "%s", e.msg);
    CHECK(pc_store_get(s, "objects/ab/abcd", &path, &e) == PC_ERR_NOT_FOUND && path == NULL);
    char *tmp = pc_store_scratch(s, "objects/ab/abcd");
    CHECK(tmp && strstr(tmp, "/objects/ab/abcd.tmp-"));
    write_text(tmp, "first", 0644);
    CHECKF(pc_store_put(s, tmp, "objects/ab/abcd", true, &existed, &e) == PC_OK && !existed, "%s", e.msg);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);
    /* kept: a second copy finds the first's */
    tmp = pc_store_scratch(s, "objects/ab/abcd");
    write_text(tmp, "second", 0644);
    CHECK(pc_store_put(s, tmp, "objects/ab/abcd", true, &existed, &e) == PC_OK && existed);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);
    CHECK(pc_store_get(s, "objects/ab/abcd", &path, &e) == PC_OK);
    char *text = read_text(path);
    CHECK(text && !strcmp(text, "first"));
    free(text);
    pc_store_done(s, path); /* the store's own file: still there */
    CHECK(pc_store_get(s, "objects/ab/abcd", &path, &e) == PC_OK);
    pc_store_done(s, path);
    /* replaced */
    tmp = pc_store_scratch(s, "jobs/p/0.json");
    write_text(tmp, "result", 0644);
    CHECK(pc_store_put(s, tmp, "jobs/p/0.json", false, &existed, &e) == PC_OK && !existed);
    free(tmp);
    tmp = pc_store_scratch(s, "jobs/p/0.json");
    write_text(tmp, "result 2", 0644);
    CHECK(pc_store_put(s, tmp, "jobs/p/0.json", false, &existed, &e) == PC_OK && !existed);
    free(tmp);
    CHECK(pc_store_get(s, "jobs/p/0.json", &path, &e) == PC_OK);
    text = read_text(path);
    CHECK(text && !strcmp(text, "result 2"));
    free(text);
    pc_store_done(s, path);
    /* names that are not a store's */
    CHECK(pc_store_get(s, "../x", &path, &e) != PC_OK && strstr(e.msg, "not a store file name"));
    CHECK(pc_store_get(s, "objects/ab/x.tmp-1", &path, &e) != PC_OK);
    pc_store_free(s);
}

/* A stand-in `aws`: `s3 ls --recursive URL` and `s3 cp SRC DST` over the
 * folder $FAKE_S3 (URL s3://B/K is $FAKE_S3/B/K), every call logged. */
static const char fake_aws[] =
    "#!/bin/sh\n"
    "echo \"$*\" >>\"$FAKE_S3.log\"\n"
    "[ \"$1\" = s3 ] || exit 2\n"
    "[ -n \"$FAKE_FAIL\" ] && { echo \"An error occurred (AccessDenied) when calling\" >&2;"
    " echo \"$FAKE_FAIL\" >&2; exit 255; }\n"
    "case $2 in\n"
    "ls) u=$4; k=${u#s3://}; b=${k%%/*}; p=${k#*/}\n"
    "    [ -d \"$FAKE_S3/$b\" ] || exit 1\n"
    "    (cd \"$FAKE_S3/$b\" && find . -type f | sed 's|^\\./||' | sort) | while read -r f; do\n"
    "      case $f in \"$p\"*) echo \"2024-05-01 12:00:00 $(wc -c <\"$FAKE_S3/$b/$f\") $f\" ;; esac\n"
    "    done ;;\n"
    "cp) case $3 in s3://*) cp \"$FAKE_S3/${3#s3://}\" \"$4\" ;;\n"
    "    *) mkdir -p \"$(dirname \"$FAKE_S3/${4#s3://}\")\" && cp \"$3\" \"$FAKE_S3/${4#s3://}\" ;; esac ;;\n"
    "*) exit 2 ;;\n"
    "esac\n";

static void test_s3_store(void)
{
    char bin[600], s3[600], aws[700], logp[700], obj[800], path0[4096];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    snprintf(s3, sizeof s3, "%s/s3", dir);
    snprintf(aws, sizeof aws, "%s/aws", bin);
    snprintf(logp, sizeof logp, "%s.log", s3);
    snprintf(obj, sizeof obj, "%s/bkt/run/7/objects/ab/abcd", s3);
    write_text(aws, fake_aws, 0755);
    write_text(obj, "object bytes", 0644);
    snprintf(path0, sizeof path0, "%s:/usr/bin:/bin", bin);
    setenv("PATH", path0, 1);
    setenv("FAKE_S3", s3, 1);
    setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    setenv("TMPDIR", dir, 1);
    pc_store *s = NULL;
    pc_err e = {0};
    char *path = NULL, *log = NULL;
    bool existed;
    CHECKF(pc_store_open("s3://bkt/run/7/", &s, &e) == PC_OK, "%s", e.msg);
    CHECK_STR(pc_store_name(s), "s3://bkt/run/7");
    log = read_text(logp);
    CHECKF(log && !strcmp(log, "s3 ls --recursive s3://bkt/run/7/ --endpoint-url http://127.0.0.1:9\n"),
           "%s", log ? log : "no log");
    free(log);
    /* absent by the listing: no call at all */
    CHECK(pc_store_get(s, "objects/cd/cdef", &path, &e) == PC_ERR_NOT_FOUND);
    CHECK(pc_store_get(s, "objects/ab/abcd", &path, &e) == PC_OK);
    char *text = read_text(path);
    CHECK(text && !strcmp(text, "object bytes"));
    free(text);
    CHECK(strncmp(path, dir, strlen(dir)) == 0); /* a download in the scratch folder */
    char *dl = strdup(path);
    pc_store_done(s, path);
    CHECK(access(dl, F_OK) != 0);
    free(dl);
    /* upload, then it is listed */
    char *tmp = pc_store_scratch(s, "patches/ab/abcd-ef01");
    write_text(tmp, "patch bytes", 0644);
    CHECKF(pc_store_put(s, tmp, "patches/ab/abcd-ef01", true, &existed, &e) == PC_OK && !existed, "%s", e.msg);
    free(tmp);
    snprintf(obj, sizeof obj, "%s/bkt/run/7/patches/ab/abcd-ef01", s3);
    text = read_text(obj);
    CHECK(text && !strcmp(text, "patch bytes"));
    free(text);
    tmp = pc_store_scratch(s, "patches/ab/abcd-ef01");
    write_text(tmp, "other", 0644);
    CHECK(pc_store_put(s, tmp, "patches/ab/abcd-ef01", true, &existed, &e) == PC_OK && existed);
    free(tmp);
    log = read_text(logp);
    CHECKF(log && strstr(log, "s3 cp s3://bkt/run/7/objects/ab/abcd ") &&
               strstr(log, " s3://bkt/run/7/patches/ab/abcd-ef01 --only-show-errors --endpoint-url "
                           "http://127.0.0.1:9\n"),
           "%s", log ? log : "no log");
    free(log);
    /* a failing CLI: the command and its message */
    setenv("FAKE_FAIL", "bad credentials", 1);
    tmp = pc_store_scratch(s, "jobs/x/0.json");
    write_text(tmp, "{}", 0644);
    CHECK(pc_store_put(s, tmp, "jobs/x/0.json", false, &existed, &e) == PC_ERR_IO);
    CHECKF(strstr(e.msg, "aws s3 cp ") && strstr(e.msg, "exit status 255: bad credentials"), "%s", e.msg);
    free(tmp);
    unsetenv("FAKE_FAIL");
    pc_store_free(s);
    /* the scratch folder is gone */
    snprintf(path0, sizeof path0, "find %s -maxdepth 1 -name 'patchcast-store.*' | grep -q .", dir);
    CHECK(system(path0) != 0);
    /* no aws on PATH */
    setenv("PATH", "/nonexistent", 1);
    CHECK(pc_store_open("s3://bkt/run", &s, &e) == PC_ERR_NOT_FOUND && s == NULL);
    CHECKF(strstr(e.msg, "cannot run the AWS CLI"), "%s", e.msg);
    setenv("PATH", "/usr/bin:/bin", 1);
    CHECK(pc_store_open("s3://B/x", &s, &e) == PC_ERR_INVALID && strstr(e.msg, "bucket name"));
}

int main(void)
{
    t_suite = "store";
    if (!mkdtemp(dir))
        return 2;
    RUN(test_parse_s3);
    RUN(test_parse_ls_line);
    RUN(test_folder_store);
    RUN(test_s3_store);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 2;
    TEST_MAIN_END();
}
