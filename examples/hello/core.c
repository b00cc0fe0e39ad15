/* core.c — the demo application's core executable (bin/hello). It embeds
 * libpatchcast: a worker thread checks the update site, installs what is new,
 * hot-swaps the changed modules while the main thread keeps printing through
 * them, reloads changed data files, and relaunches itself when the core
 * itself changed.
 *   hello --root ROOT [--every MS] [--check MS] [--stop-at VERSION]
 *         [--max-seconds N] */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hello_api.h"
#include "patchcast.h"
#include "patchcast_module.h"

#ifndef CORE_REV
#define CORE_REV 1
#endif

static const char *root, *stop_at;
static long every_ms = 400, check_ms = 500, max_seconds;
static pc_client *client;
static pc_host *host;
static atomic_int quit, relaunch;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char version[128], relaunched_from[128], motd[256];

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !atomic_load(&quit))
        ;
}

/* The version ROOT/current points at. */
static int read_current(char *out, size_t n)
{
    char link[4096], target[120];
    snprintf(link, sizeof link, "%s/current", root);
    ssize_t k = readlink(link, target, sizeof target - 1);
    if (k <= 0)
        return -1;
    target[k] = 0;
    const char *slash = strrchr(target, '/');
    snprintf(out, n, "%s", slash ? slash + 1 : target);
    return 0;
}

static void load_motd(const char *dir)
{
    char path[4200], line[256] = "";
    snprintf(path, sizeof path, "%s/share/motd.txt", dir);
    FILE *f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f))
        line[strcspn(line, "\n")] = 0;
    if (f)
        fclose(f);
    pthread_mutex_lock(&mu);
    snprintf(motd, sizeof motd, "%s", line);
    pthread_mutex_unlock(&mu);
}

/* Data files flagged hot changed: reload what this program uses. */
static void on_files(void *ud, const char *dir, const char *const *paths, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        printf("== reloaded %s\n", paths[i]);
        if (!strcmp(paths[i], "share/motd.txt"))
            load_motd(dir);
    }
}

static void *updater(void *arg)
{
    (void)arg;
    while (!atomic_load(&quit)) {
        sleep_ms(check_ms);
        pc_update_info *info = NULL;
        if (pc_client_check(client, NULL, &info) != PC_OK || info->up_to_date) {
            pc_update_info_free(info);
            continue;
        }
        pc_update_info_free(info);
        pc_status st = pc_client_update(client, NULL, &info);
        if (st != PC_OK) {
            printf("== update failed, still running %s: %s\n", version, pc_client_errmsg(client));
            continue;
        }
        double pct = info->full_bytes ? 100.0 * (double)info->download_bytes / (double)info->full_bytes : 0;
        printf("== updated %s -> %s: downloaded %llu of %llu bytes (%.1f%%), %u hop%s\n", info->from,
               info->to, (unsigned long long)info->download_bytes, (unsigned long long)info->full_bytes,
               pct, info->hops, info->hops == 1 ? "" : "s");
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/versions/%s", root, info->to);
        st = pc_host_apply_update(host, dir, info);
        if (st != PC_OK)
            printf("== hot swap failed, the old modules still serve: %s\n", pc_host_errmsg(host));
        for (size_t i = 0; i < info->nhot && st == PC_OK; i++)
            if (strstr(info->hot_modules[i], ".so"))
                printf("== hot-swapped %s, no restart\n", info->hot_modules[i]);
        printf("SUMMARY %s %s %llu %llu %s\n", info->from, info->to,
               (unsigned long long)info->download_bytes, (unsigned long long)info->full_bytes,
               info->restart_required ? "relaunch" : "hot-swap");
        pthread_mutex_lock(&mu);
        snprintf(version, sizeof version, "%s", info->to);
        pthread_mutex_unlock(&mu);
        if (info->restart_required) {
            printf("== %s changed the core executable: relaunching\n", info->to);
            snprintf(relaunched_from, sizeof relaunched_from, "%s", info->from);
            atomic_store(&relaunch, 1);
            atomic_store(&quit, 1);
        }
        pc_update_info_free(info);
        fflush(stdout);
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&quit, 1);
}

/* One line of output, through the modules in service right now. */
static void say(int ids[3], long *lines_here)
{
    pc_host_guard gg, gs;
    const greeter_api *g = pc_host_acquire(host, ids[0], &gg);
    const stats_api *s = pc_host_acquire(host, ids[2], &gs);
    char text[256] = "(no greeter module)";
    if (g)
        g->greet(text, sizeof text, "world");
    long n = s ? s->tick() : 0;
    pthread_mutex_lock(&mu);
    const char *gv = pc_host_module_version(host, ids[0]), *uv = pc_host_module_version(host, ids[1]);
    printf("[core %d | %s | line %ld] %s  (greeter %s, util %s) motd: %s\n", CORE_REV, version, n, text,
           gv ? gv : "-", uv ? uv : "-", motd);
    pthread_mutex_unlock(&mu);
    pc_host_release(host, &gs);
    pc_host_release(host, &gg);
    fflush(stdout);
    (*lines_here)++;
}

static int usage(void)
{
    fprintf(stderr, "usage: hello --root ROOT [--every MS] [--check MS] [--stop-at VERSION] "
                    "[--max-seconds N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return usage();
        if (!strcmp(a, "--root"))
            root = v;
        else if (!strcmp(a, "--every"))
            every_ms = atol(v);
        else if (!strcmp(a, "--check"))
            check_ms = atol(v);
        else if (!strcmp(a, "--stop-at"))
            stop_at = v;
        else if (!strcmp(a, "--max-seconds"))
            max_seconds = atol(v);
        else
            return usage();
        i++;
    }
    if (root == NULL || every_ms <= 0 || check_ms <= 0)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (read_current(version, sizeof version) != 0) {
        fprintf(stderr, "hello: nothing installed in %s (run patchcast update first)\n", root);
        return 1;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/versions/%s", root, version);
    const char *from = getenv("HELLO_RELAUNCHED_FROM");
    printf("== core %d started, version %s%s%s\n", CORE_REV, version, from ? ", relaunched after " : "",
           from ? from : "");
    load_motd(dir);

    int rc = 1;
    pthread_t th;
    bool thread = false;
    if (pc_client_new(&client) != PC_OK || pc_client_load_config(client, root) != PC_OK) {
        fprintf(stderr, "hello: %s\n", client ? pc_client_errmsg(client) : "out of memory");
        goto out;
    }
    if (pc_host_new(&host) != PC_OK || pc_host_load_dir(host, dir, "modules") != PC_OK) {
        fprintf(stderr, "hello: modules: %s\n", host ? pc_host_errmsg(host) : "out of memory");
        goto out;
    }
    pc_host_set_files_callback(host, on_files, NULL);
    int ids[3] = {pc_host_find(host, "greeter"), pc_host_find(host, "util"), pc_host_find(host, "stats")};
    if (pthread_create(&th, NULL, updater, NULL) != 0)
        goto out;
    thread = true;

    time_t t0 = time(NULL);
    long lines_here = 0;
    char shown[128] = "";
    while (!atomic_load(&quit)) {
        pthread_mutex_lock(&mu);
        if (strcmp(shown, version)) {
            snprintf(shown, sizeof shown, "%s", version);
            lines_here = 0;
        }
        pthread_mutex_unlock(&mu);
        say(ids, &lines_here);
        if (stop_at && !strcmp(shown, stop_at) && lines_here >= 3) {
            printf("== reached %s: done\n", stop_at);
            break;
        }
        if (max_seconds && time(NULL) - t0 > max_seconds) {
            printf("== still running after %ld s: giving up\n", max_seconds);
            goto out;
        }
        sleep_ms(every_ms);
    }
    rc = 0;
out:
    atomic_store(&quit, 1);
    if (thread)
        pthread_join(th, NULL);
    pc_host_free(host);
    pc_client_free(client);
    if (rc == 0 && atomic_load(&relaunch)) {
        char exe[4200];
        snprintf(exe, sizeof exe, "%s/current/bin/hello", root);
        setenv("HELLO_RELAUNCHED_FROM", relaunched_from, 1);
        fflush(stdout);
        execv(exe, argv);
        fprintf(stderr, "hello: relaunch %s: %s\n", exe, strerror(errno));
        return 1;
    }
    return rc;
}
