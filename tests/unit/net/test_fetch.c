/* test_fetch.c — the transport against a real nginx on loopback (started by
 * the test on a free port) and file:// / plain paths: parallel downloads,
 * resume with Range, hash and size enforcement, mirror failover, capped
 * in-memory fetches, cancellation, HTTPS with a test CA, and a server that
 * trickles (slow retrieval). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "sha256.h"
#include "test.h"

static char dir[] = "/tmp/pc-fetch-XXXXXX";
static char site[300], out[300], state[300], tls_state[300];
static char base[128], tls_base[128];

#define NFILES 8
static size_t sizes[NFILES] = {0, 1, 1000, 65536, 100000, 1 << 20, 3 << 20, 5000000};
static uint8_t shas[NFILES][32];
static char rels[NFILES][64];

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static int start_nginx(const char *st, const char *mode, char *url, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && tests/nginx.sh start %s %s %s > %s/url", st, site, st, mode, st);
    if (system(cmd) != 0)
        return -1;
    char p[400];
    snprintf(p, sizeof p, "%s/url", st);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    int ok = fgets(url, (int)cap, f) != NULL;
    fclose(f);
    url[strcspn(url, "\n")] = '\0';
    return ok ? 0 : -1;
}

static void make_site(void)
{
    snprintf(site, sizeof site, "%s/site", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(state, sizeof state, "%s/nginx", dir);
    snprintf(tls_state, sizeof tls_state, "%s/nginx-tls", dir);
    mkdir(site, 0755);
    mkdir(out, 0755);
    char p[400];
    snprintf(p, sizeof p, "%s/objects", site);
    mkdir(p, 0755);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < NFILES; i++) {
        snprintf(rels[i], sizeof rels[i], "objects/file%d.bin", i);
        snprintf(p, sizeof p, "%s/%s", site, rels[i]);
        uint8_t *b = malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        FILE *f = fopen(p, "wb");
        if (sizes[i])
            fwrite(b, 1, sizes[i], f);
        fclose(f);
        pc_sha256(b, sizes[i], shas[i]);
        free(b);
    }
    snprintf(p, sizeof p, "%s/repo.json", site);
    FILE *f = fopen(p, "w");
    fputs("{\"format\": 1}\n", f);
    fclose(f);
}

static char dests[NFILES][460];

static void items_for(pc_fetch_item *it, const char *sub)
{
    char d[400];
    snprintf(d, sizeof d, "%s/%s", out, sub);
    sh("rm -rf '%s' && mkdir -p '%s'", d, d);
    for (int i = 0; i < NFILES; i++) {
        snprintf(dests[i], sizeof dests[i], "%s/%d", d, i);
        it[i] = (pc_fetch_item){.rel = rels[i], .dest = dests[i], .size = sizes[i]};
        memcpy(it[i].sha256, shas[i], 32);
    }
}

static int all_present(pc_fetch_item *it)
{
    for (int i = 0; i < NFILES; i++) {
        uint8_t h[32];
        uint64_t n;
        if (pc_sha256_file(it[i].dest, h, &n) || n != sizes[i] || memcmp(h, shas[i], 32))
            return 0;
    }
    return 1;
}

static uint64_t last_done, last_total;
static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    (void)ud;
    last_done = done;
    last_total = total;
}

static void http_parallel(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "http");
    const char *m[] = {base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .progress = on_progress};
    pc_err e = {0};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    uint64_t total = 0;
    for (int i = 0; i < NFILES; i++)
        total += sizes[i];
    CHECKF(last_done == total && last_total == total, "progress %llu/%llu",
           (unsigned long long)last_done, (unsigned long long)last_total);
    CHECK(it[7].transferred == sizes[7]);
    /* Run again: everything is there and verified, nothing is transferred. */
    CHECK(pc_fetch_files(&o, it, NFILES, &e) == PC_OK);
    for (int i = 0; i < NFILES; i++)
        CHECK(it[i].transferred == 0);
}

static void http_resume_uses_range(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "resume");
    /* A partial download of file 6 from an earlier, interrupted run. */
    char part[420], src[400];
    snprintf(part, sizeof part, "%s.part", it[6].dest);
    snprintf(src, sizeof src, "%s/%s", site, rels[6]);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "head -c 1234567 '%s' > '%s'", src, part);
    CHECK(system(cmd) == 0);
    const char *m[] = {base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1};
    pc_err e = {0};
    CHECKF(pc_fetch_files(&o, &it[6], 1, &e) == PC_OK, "%s", e.msg);
    CHECK(it[6].transferred == sizes[6] - 1234567);
    CHECK(access(part, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "grep -q 'GET /objects/file6.bin HTTP/1.1 206 range=bytes=1234567-' %s/access.log", state);
    CHECK(system(cmd) == 0);
}

static void wrong_hash_refused(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "badhash");
    it[4].sha256[0] ^= 0xff;
    const char *m[] = {base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .retries = 1, .backoff_ms = 10};
    pc_err e = {0};
    CHECK(pc_fetch_files(&o, &it[4], 1, &e) == PC_ERR_HASH);
    CHECKF(strstr(e.msg, "not the one in the metadata") && strstr(e.msg, "file4.bin"), "%s", e.msg);
    char part[420];
    snprintf(part, sizeof part, "%s.part", it[4].dest);
    CHECK(access(it[4].dest, F_OK) != 0);
    CHECK(access(part, F_OK) != 0);
}

static void oversized_response_stopped(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "oversize");
    it[7].size = 1000; /* the metadata says 1000 bytes; the server sends 5 MB */
    const char *m[] = {base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .retries = 0, .retries_set = true};
    pc_err e = {0};
    CHECK(pc_fetch_files(&o, &it[7], 1, &e) == PC_ERR_NETWORK);
    CHECKF(strstr(e.msg, "more than the 1000 bytes expected"), "%s", e.msg);
    struct stat sb;
    char part[420];
    snprintf(part, sizeof part, "%s.part", it[7].dest);
    CHECK(stat(part, &sb) != 0 || sb.st_size <= 1000);
}

static void short_response_detected(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "short");
    it[3].size = 70000; /* the server has only 65536 */
    const char *m[] = {base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .retries = 1, .backoff_ms = 10};
    pc_err e = {0};
    CHECK(pc_fetch_files(&o, &it[3], 1, &e) == PC_ERR_NETWORK);
    CHECKF(strstr(e.msg, "got 65536 bytes, expected 70000"), "%s", e.msg);
}

static void failover_to_second_mirror(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "failover");
    /* Mirror 1: nothing listens there. Mirror 2: 404 for everything. Mirror 3 works. */
    const char *m[] = {"http://127.0.0.1:1", "http://127.0.0.1:1/none", base};
    char m2[200];
    snprintf(m2, sizeof m2, "%s/no-such-folder", base);
    m[1] = m2;
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 3, .retries = 1, .backoff_ms = 10};
    pc_err e = {0};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q 'GET /no-such-folder/objects/file5.bin HTTP/1.1 404' %s/access.log", state);
    CHECK(system(cmd) == 0);
}

static void all_mirrors_down(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "down");
    const char *m[] = {"http://127.0.0.1:1", "http://127.0.0.1:2"};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 2, .retries = 1, .backoff_ms = 5};
    pc_err e = {0};
    /* Nothing answered at all: offline, which a script can tell apart. */
    CHECKF(pc_fetch_files(&o, it, 2, &e) == PC_ERR_OFFLINE, "%s", e.msg);
    CHECKF(strstr(e.msg, "failed on every mirror") && strstr(e.msg, "127.0.0.1:2"), "%s", e.msg);
    char *buf = NULL;
    size_t len = 0;
    CHECK(pc_fetch_buffer(&o, "repo.json", 1000, &buf, &len, NULL, &e) == PC_ERR_OFFLINE);
    CHECKF(strstr(e.msg, "offline"), "%s", e.msg);
    free(buf);
}

/* One mirror down and one that answers without the file: not offline. */
static void reached_but_missing_is_not_offline(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "reached");
    char m2[200];
    snprintf(m2, sizeof m2, "%s/no-such-folder", base);
    const char *m[] = {"http://127.0.0.1:1", m2};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 2, .retries = 1, .backoff_ms = 5};
    pc_err e = {0};
    pc_status st = pc_fetch_files(&o, &it[2], 1, &e); /* (it[0] is empty: no transfer) */
    CHECKF(st == PC_ERR_NETWORK, "%d %s", st, e.msg);
    char *buf = NULL;
    size_t len = 0;
    CHECKF(pc_fetch_buffer(&o, "repo.json", 1000, &buf, &len, NULL, &e) == PC_ERR_NETWORK, "%s",
           e.msg);
    free(buf);
}

/* A mirror that used up its retries is flagged and skipped by later
 * transfers (of this call and of later calls) while another remains; one
 * that only lacks a file (404) is not. */
static void demoted_mirror_skipped(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "demote");
    char missing[200], skipped[200];
    snprintf(missing, sizeof missing, "%s/demote-missing", base);
    snprintf(skipped, sizeof skipped, "%s/demote-skipped", base);
    const char *m[] = {"http://127.0.0.1:1", missing, base};
    bool demoted[3] = {false, false, false};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 3, .retries = 1, .backoff_ms = 10,
                       .demoted = demoted};
    pc_err e = {0};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    CHECK(demoted[0] && !demoted[1] && !demoted[2]);
    /* Flagged before the call: never asked, neither for files nor buffers. */
    items_for(it, "demote2");
    const char *m2[] = {skipped, base};
    bool d2[2] = {true, false};
    o = (pc_fetch_opts){.mirrors = m2, .nmirrors = 2, .demoted = d2};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    char *buf;
    size_t len, used;
    CHECKF(pc_fetch_buffer(&o, "repo.json", 1024, &buf, &len, &used, &e) == PC_OK, "%s", e.msg);
    free(buf);
    CHECK(used == 1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q 'demote-skipped' %s/access.log", state);
    CHECK(system(cmd) != 0);
    /* The last mirror is tried even when flagged. */
    items_for(it, "demote3");
    const char *m3[] = {base};
    bool d3[1] = {true};
    o = (pc_fetch_opts){.mirrors = m3, .nmirrors = 1, .demoted = d3};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
}

static void file_url_and_plain_path(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "fileurl");
    char url[400];
    snprintf(url, sizeof url, "file://%s", site);
    const char *m[] = {url};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1};
    pc_err e = {0};
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    items_for(it, "plainpath");
    m[0] = site;
    CHECKF(pc_fetch_files(&o, it, NFILES, &e) == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    /* Resume works on file:// too. */
    items_for(it, "fileresume");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "head -c 777 '%s/%s' > '%s.part'", site, rels[5], it[5].dest);
    CHECK(system(cmd) == 0);
    CHECKF(pc_fetch_files(&o, &it[5], 1, &e) == PC_OK, "%s", e.msg);
    CHECK(it[5].transferred == sizes[5] - 777);
}

static void buffer_fetch_capped(void)
{
    const char *m[] = {"http://127.0.0.1:1", base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 2, .retries = 0, .retries_set = true};
    pc_err e = {0};
    char *buf;
    size_t len, used;
    CHECKF(pc_fetch_buffer(&o, "repo.json", 1024, &buf, &len, &used, &e) == PC_OK, "%s", e.msg);
    CHECK(len == 14 && used == 1 && !strcmp(buf, "{\"format\": 1}\n"));
    free(buf);
    const char *m1[] = {base};
    o.mirrors = m1;
    o.nmirrors = 1;
    CHECK(pc_fetch_buffer(&o, "objects/file7.bin", 4096, &buf, &len, NULL, &e) == PC_ERR_TOO_LARGE);
    CHECKF(strstr(e.msg, "larger than the limit of 4096 bytes"), "%s", e.msg);
    CHECK(buf == NULL);
    CHECK(pc_fetch_buffer(&o, "missing.json", 4096, &buf, &len, NULL, &e) == PC_ERR_NETWORK);
    CHECKF(strstr(e.msg, "404"), "%s", e.msg);
}

static void cancel_keeps_partials(void)
{
    pc_fetch_item it[NFILES];
    items_for(it, "cancel");
    const char *m[] = {base};
    static volatile int stop = 1;
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .cancel = &stop};
    pc_err e = {0};
    CHECK(pc_fetch_files(&o, it, NFILES, &e) == PC_ERR_CANCELLED);
}

/* A server that promises 100000 bytes and sends one every 200 ms: the slow
 * retrieval attack (a full answer would take 5.5 hours). It runs in its own
 * process group; each connection is served by a child. */
static pid_t start_trickle(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid != 0) {
        close(s);
        return pid;
    }
    setpgid(0, 0);
    alarm(120);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            char req[4096];
            const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
            if (recv(c, req, sizeof req, 0) > 0 && send(c, h, strlen(h), MSG_NOSIGNAL) > 0)
                for (int i = 0; i < 600 && send(c, "x", 1, MSG_NOSIGNAL) == 1; i++)
                    usleep(200000);
            _exit(0);
        }
        close(c);
    }
}

static void slow_retrieval_abandoned(void)
{
    int port = 0;
    pid_t pid = start_trickle(&port);
    CHECK(pid > 0);
    char slow[64];
    snprintf(slow, sizeof slow, "http://127.0.0.1:%d", port);
    const char *m[] = {slow, base};
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 2, .retries = 1, .backoff_ms = 10,
                       .low_speed_bytes = 1000, .low_speed_seconds = 2};
    pc_fetch_item it[NFILES];
    items_for(it, "slow");
    pc_err e = {0};
    time_t t0 = time(NULL);
    pc_status st = pc_fetch_files(&o, &it[4], 1, &e); /* 100000 bytes, as the trickle promises */
    time_t files_s = time(NULL) - t0;
    char files_msg[sizeof e.msg];
    snprintf(files_msg, sizeof files_msg, "%s", e.msg);
    char *buf = NULL;
    size_t len;
    o.nmirrors = 1;
    t0 = time(NULL);
    pc_status bst = pc_fetch_buffer(&o, "repo.json", 1 << 20, &buf, &len, NULL, &e);
    time_t buffer_s = time(NULL) - t0;
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    free(buf);
    /* Abandoned after about low_speed_seconds, then the next mirror served it
     * (the bytes the trickle sent fail the hash on resume; the retry starts
     * over). */
    CHECKF(st == PC_OK, "fetch with a trickling first mirror: %d %s", (int)st, files_msg);
    CHECK(access(it[4].dest, F_OK) == 0); /* verified by size and SHA-256 on the way */
    CHECKF(files_s < 30, "took %lds", (long)files_s);
    CHECKF(bst == PC_ERR_NETWORK, "buffer fetch from the trickle alone: %d", (int)bst);
    CHECKF(buffer_s < 30, "took %lds", (long)buffer_s);
}

static void https_with_test_ca(void)
{
    CHECK(start_nginx(tls_state, "tls", tls_base, sizeof tls_base) == 0);
    pc_fetch_item it[NFILES];
    items_for(it, "https");
    const char *m[] = {tls_base};
    char ca[400];
    snprintf(ca, sizeof ca, "%s/ca.pem", tls_state);
    pc_fetch_opts o = {.mirrors = m, .nmirrors = 1, .ca_file = ca};
    pc_err e = {0};
    pc_status st = pc_fetch_files(&o, it, NFILES, &e);
    CHECKF(st == PC_OK, "%s", e.msg);
    CHECK(all_present(it));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q 'GET /objects/file7.bin HTTP/2.0 200' %s/access.log", tls_state);
    CHECK(system(cmd) == 0);
    /* Without the test CA the certificate is refused: verification is on. */
    items_for(it, "https-noca");
    o.ca_file = NULL;
    o.retries = 0;
    o.retries_set = true;
    CHECK(pc_fetch_files(&o, &it[2], 1, &e) == PC_ERR_NETWORK);
    CHECKF(strstr(e.msg, "certificate") || strstr(e.msg, "SSL"), "%s", e.msg);
}

static void url_building(void)
{
    char *u = pc_fetch_url("https://cdn.example/site/", "objects/ab/cd");
    CHECK_STR(u, "https://cdn.example/site/objects/ab/cd");
    free(u);
    u = pc_fetch_url("/media/usb stick/site", "repo.json");
    CHECK_STR(u, "file:///media/usb%20stick/site/repo.json");
    free(u);
    u = pc_fetch_url("file:///srv/site", "a b");
    CHECK_STR(u, "file:///srv/site/a%20b");
    free(u);
}

int main(void)
{
    t_suite = "fetch";
    if (!mkdtemp(dir))
        return 2;
    make_site();
    if (start_nginx(state, "", base, sizeof base) != 0) {
        printf("FAIL fetch/nginx_start: could not start nginx (see %s)\n", state);
        return 1;
    }
    RUN(url_building);
    RUN(http_parallel);
    RUN(http_resume_uses_range);
    RUN(wrong_hash_refused);
    RUN(oversized_response_stopped);
    RUN(short_response_detected);
    RUN(failover_to_second_mirror);
    RUN(all_mirrors_down);
    RUN(reached_but_missing_is_not_offline);
    RUN(demoted_mirror_skipped);
    RUN(file_url_and_plain_path);
    RUN(buffer_fetch_capped);
    RUN(cancel_keeps_partials);
    RUN(https_with_test_ca);
    RUN(slow_retrieval_abandoned);
    sh("tests/nginx.sh stop '%s'; tests/nginx.sh stop '%s'", state, tls_state);
    sh("rm -rf '%s'%s", dir, "");
    TEST_MAIN_END();
}
