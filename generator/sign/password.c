/* password.c — read a password from a file, the environment or the terminal. */
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "fileio.h"

#define PASSWORD_MAX 1024

void pc_password_free(char *p)
{
    if (p) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

static pc_status ask(int fd, const char *prompt, char *buf, size_t cap, pc_err *e)
{
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* the prompt is a courtesy; reading still works */
    }
    size_t n = 0;
    pc_status st = PC_OK;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n + 1 >= cap) {
            st = pc_fail(e, PC_ERR_INVALID, "password longer than %zu bytes", cap - 1);
            break;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    return st;
}

pc_status pc_password_get(const char *password_file, const char *prompt, bool confirm,
                          char **out, pc_err *e)
{
    *out = NULL;
    char *p = NULL;
    if (password_file) {
        size_t len;
        pc_status st = pc_read_file(password_file, PASSWORD_MAX, &p, &len, e);
        if (st != PC_OK)
            return pc_fail_prefix(e, "password file: ");
        p[strcspn(p, "\r\n")] = '\0';
    } else if (getenv("PATCHCAST_PASSWORD")) {
        p = strdup(getenv("PATCHCAST_PASSWORD"));
        if (p == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    } else {
        int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return pc_fail(e, PC_ERR_PASSWORD,
                           "a password is needed and there is no terminal to ask on: "
                           "use --password-file FILE or set PATCHCAST_PASSWORD");
        char a[PASSWORD_MAX + 1], b[PASSWORD_MAX + 1];
        pc_status st = ask(fd, prompt, a, sizeof a, e);
        if (st == PC_OK && confirm) {
            st = ask(fd, "Password (one more time): ", b, sizeof b, e);
            if (st == PC_OK && strcmp(a, b) != 0)
                st = pc_fail(e, PC_ERR_PASSWORD, "the two passwords differ");
        }
        close(fd);
        if (st == PC_OK)
            p = strdup(a);
        sodium_memzero(a, sizeof a);
        sodium_memzero(b, sizeof b);
        if (st != PC_OK)
            return st;
        if (p == NULL)
            return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    if (p[0] == '\0') {
        free(p);
        return pc_fail(e, PC_ERR_PASSWORD,
                       "empty password (use -W for a key without a password)");
    }
    *out = p;
    return PC_OK;
}

pc_status pc_seckey_load_asking(const char *path, const char *password_file, pc_seckey *sk,
                                pc_err *e)
{
    bool enc = false;
    pc_status st = pc_seckey_load(path, NULL, sk, &enc, e);
    if (st == PC_ERR_PASSWORD && enc) {
        char *pw = NULL;
        st = pc_password_get(password_file, "Password: ", false, &pw, e);
        if (st == PC_OK)
            st = pc_seckey_load(path, pw, sk, &enc, e);
        pc_password_free(pw);
    }
    return st;
}
