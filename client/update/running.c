/* running.c — versions in use: the public hold on the version a program
 * runs from (pc_client_hold_version), which keeps updates from pruning it
 * (client/install/hold.c has the lock files). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "hold.h"
#include "layout.h"

struct pc_hold {
    int fd;
    char *version;
    char *dir;
};

pc_status pc_client_hold_version(pc_client *c, const char *version, unsigned flags,
                                 pc_hold **out)
{
    if (c == NULL)
        return PC_ERR_INVALID;
    pc_err_clear(&c->err);
    if (out == NULL)
        return pc_fail(&c->err, PC_ERR_INVALID, "invalid argument: no place for the hold");
    *out = NULL;
    if (c->root == NULL)
        return pc_fail(&c->err, PC_ERR_INVALID, "no install root set");
    pc_layout l;
    pc_status st = pc_layout_open(&l, c->root, false, &c->err);
    if (st != PC_OK)
        return st;
    char *cur = NULL;
    pc_hold *h = NULL;
    if (version == NULL) {
        if ((st = pc_layout_current(&l, &cur, &c->err)) == PC_OK && cur == NULL)
            st = pc_fail(&c->err, PC_ERR_STATE, "%s: nothing is installed", c->root);
        version = cur;
    }
    if (st == PC_OK && ((h = calloc(1, sizeof *h)) == NULL ||
                        (h->version = strdup(version)) == NULL ||
                        (h->dir = pc_layout_path(&l, "versions", version, NULL)) == NULL))
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    if (h)
        h->fd = -1;
    if (st == PC_OK)
        st = pc_hold_take(&l, version, flags & PC_HOLD_INHERIT, &h->fd, &c->err);
    if (st == PC_OK) {
        *out = h;
        h = NULL;
    }
    pc_hold_release(h);
    free(cur);
    pc_layout_close(&l);
    return st;
}

const char *pc_hold_version(const pc_hold *h)
{
    return h ? h->version : NULL;
}

const char *pc_hold_dir(const pc_hold *h)
{
    return h ? h->dir : NULL;
}

void pc_hold_release(pc_hold *h)
{
    if (h == NULL)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->version);
    free(h->dir);
    free(h);
}
