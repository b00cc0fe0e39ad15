/* password.h — where a secret key's password comes from: --password-file,
 * else $PATCHCAST_PASSWORD, else a prompt on the terminal without echo. */
#ifndef PC_PASSWORD_H
#define PC_PASSWORD_H

#include <stdbool.h>

#include "error.h"
#include "seckey.h"

/* Get a password into a new string (caller frees with pc_password_free).
 * confirm: ask twice on a terminal and require both to match. Errors name
 * the source (file unreadable, no terminal and no other source). */
pc_status pc_password_get(const char *password_file, const char *prompt, bool confirm,
                          char **out, pc_err *e);

void pc_password_free(char *p);

/* Load a secret key file, asking for its password (as above) only when it
 * is encrypted. */
pc_status pc_seckey_load_asking(const char *path, const char *password_file, pc_seckey *sk,
                                pc_err *e);

#endif
