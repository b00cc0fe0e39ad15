/* config.c — ROOT/config.json: repositories, pinned keys and channel of an
 * install root, written by `patchcast init`. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "fileio.h"
#include "op.h"
#include "jsonv.h"

#define CONFIG_MAX (256u << 10) /* a pinned root of trust may be 64 KiB */

static char *config_path(const char *root)
{
    size_t n = strlen(root) + sizeof "/config.json";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/config.json", root);
    return p;
}

pc_status pc_client_save_config(pc_client *c)
{
    if (c == NULL || c->root == NULL)
        return PC_ERR_INVALID;
    pc_err_clear(&c->err);
    cJSON *root = cJSON_CreateObject(), *repos = NULL, *keys = NULL;
    bool ok = root && cJSON_AddNumberToObject(root, "format", 1) &&
              (repos = cJSON_AddArrayToObject(root, "repos")) &&
              (keys = cJSON_AddArrayToObject(root, "keys")) &&
              cJSON_AddStringToObject(root, "channel", c->channel ? c->channel : "stable");
    for (size_t i = 0; ok && i < c->nrepos; i++)
        ok = cJSON_AddItemToArray(repos, cJSON_CreateString(c->repos[i]));
    for (size_t i = 0; ok && i < c->nkeys; i++) {
        char b64[64];
        pc_pubkey_base64(&c->keys[i], b64, sizeof b64);
        ok = cJSON_AddItemToArray(keys, cJSON_CreateString(b64));
    }
    cJSON *trust = NULL;
    if (ok && c->trust_json)
        ok = (trust = cJSON_AddObjectToObject(root, "trust")) &&
             cJSON_AddStringToObject(trust, "root", c->trust_json) &&
             cJSON_AddStringToObject(trust, "signatures", c->trust_sig);
    if (ok && c->ca_file)
        ok = cJSON_AddStringToObject(root, "ca_file", c->ca_file) != NULL;
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    char *path = config_path(c->root);
    pc_status st = PC_OK;
    if (text == NULL || path == NULL)
        st = pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    else
        st = pc_write_file_atomic(path, text, strlen(text), 0644, &c->err);
    free(text);
    free(path);
    /* The install's random id (its rollout bucket) is made now, once. */
    if (st == PC_OK) {
        pc_op op;
        st = pc_op_begin(&op, c, PC_OP_CREATE);
        pc_op_end(&op);
        if (st != PC_OK)
            pc_fail_prefix(&c->err, "cannot make the install id in state.json: ");
    }
    return st;
}

pc_status pc_client_load_config(pc_client *c, const char *root)
{
    if (c == NULL || root == NULL)
        return PC_ERR_INVALID;
    pc_err_clear(&c->err);
    char *path = config_path(root);
    if (path == NULL)
        return pc_fail(&c->err, PC_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len;
    pc_status st = pc_read_file(path, CONFIG_MAX, &text, &len, &c->err);
    if (st == PC_ERR_NOT_FOUND)
        st = pc_fail(&c->err, PC_ERR_NOT_INITIALISED,
                     "%s: no patchcast configuration here (run 'patchcast init' first)", root);
    cJSON *j = NULL;
    if (st == PC_OK)
        st = pc_jparse(text, len, path, &j, &c->err);
    static const char *const known[] = {"format", "repos", "keys", "channel", "ca_file", "trust",
                                        NULL};
    pc_jpath top = {""};
    const cJSON *repos = NULL, *keys = NULL, *trust = NULL, *it;
    char *channel = NULL, *ca = NULL, *tjson = NULL, *tsig = NULL;
    pc_jpath tp = {"trust"};
    if (st == PC_OK && (!cJSON_IsObject(j) ||
                        (st = pc_jcheck_keys(j, known, path, &top, &c->err)) ||
                        (st = pc_jget_array(j, "repos", true, &repos, path, &top, &c->err)) ||
                        (st = pc_jget_array(j, "keys", true, &keys, path, &top, &c->err)) ||
                        (st = pc_jget_string(j, "channel", true, 32, &channel, path, &top,
                                             &c->err)) ||
                        (st = pc_jget_string(j, "ca_file", false, 4096, &ca, path, &top,
                                             &c->err)) ||
                        (st = pc_jget_object(j, "trust", false, &trust, path, &top, &c->err)) ||
                        (trust && ((st = pc_jget_string(trust, "root", true, PC_ROOT_MAX_BYTES,
                                                        &tjson, path, &tp, &c->err)) ||
                                   (st = pc_jget_string(trust, "signatures", true,
                                                        PC_SIG_FILE_MAX, &tsig, path, &tp,
                                                        &c->err))))))
        if (st == PC_OK)
            st = pc_fail(&c->err, PC_ERR_STATE, "%s: expected a JSON object", path);
    if (st == PC_OK)
        st = pc_client_set_root(c, root);
    cJSON_ArrayForEach(it, repos)
    {
        if (st != PC_OK)
            break;
        st = cJSON_IsString(it) ? pc_client_add_repo(c, it->valuestring)
                                : pc_fail(&c->err, PC_ERR_STATE, "%s: repos: expected URLs", path);
        if (st == PC_ERR_INVALID) { /* not the caller's argument: the file's */
            c->err.code = st = PC_ERR_STATE;
            pc_fail_prefix(&c->err, "%s: repos: ", path);
        }
    }
    cJSON_ArrayForEach(it, keys)
    {
        if (st != PC_OK)
            break;
        st = cJSON_IsString(it) ? pc_client_add_pubkey(c, it->valuestring)
                                : pc_fail(&c->err, PC_ERR_STATE, "%s: keys: expected keys", path);
    }
    if (st == PC_OK)
        st = pc_client_set_channel(c, channel);
    if (st == PC_OK && ca)
        st = pc_client_set_ca_file(c, ca);
    if (st == PC_OK && tjson &&
        (st = pc_client_set_trust_root_buffer(c, tjson, strlen(tjson), tsig, strlen(tsig))) != PC_OK)
        pc_fail_prefix(&c->err, "%s: trust: ", path);
    free(channel);
    free(ca);
    free(tjson);
    free(tsig);
    cJSON_Delete(j);
    free(text);
    free(path);
    return st;
}
