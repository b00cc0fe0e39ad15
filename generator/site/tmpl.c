/* tmpl.c — fill the templates of site-template/ (see tmpl.h for the language). */
#include "tmpl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const pc_tmpl_file *pc_tmpl_find(const char *name)
{
    for (const pc_tmpl_file *f = pc_tmpl_files; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

/* ---- contexts ------------------------------------------------------------- */

typedef struct tentry {
    char *name;
    bool is_list;
    char *value;       /* values */
    pc_tctx **items;   /* lists */
    size_t nitems, capitems;
} tentry;

struct pc_tctx {
    pc_tctx *parent, *root;
    bool oom;          /* root only */
    tentry *v;
    size_t n, cap;
};

pc_tctx *pc_tctx_new(void)
{
    pc_tctx *c = calloc(1, sizeof *c);
    if (c)
        c->root = c;
    return c;
}

static void ctx_clear(pc_tctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].value);
        for (size_t k = 0; k < c->v[i].nitems; k++) {
            ctx_clear(c->v[i].items[k]);
            free(c->v[i].items[k]);
        }
        free(c->v[i].items);
    }
    free(c->v);
}

void pc_tctx_free(pc_tctx *root)
{
    if (root == NULL)
        return;
    ctx_clear(root);
    free(root);
}

static void *oom(pc_tctx *c)
{
    c->root->oom = true;
    return NULL;
}

/* The entry called name in c itself, created if missing. */
static tentry *entry(pc_tctx *c, const char *name, bool is_list)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name)) {
            tentry *t = &c->v[i];
            if (t->is_list != is_list) { /* redefined with another kind: start over */
                free(t->value);
                t->value = NULL;
                for (size_t k = 0; k < t->nitems; k++) {
                    ctx_clear(t->items[k]);
                    free(t->items[k]);
                }
                t->nitems = 0;
                t->is_list = is_list;
            }
            return t;
        }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        tentry *p = realloc(c->v, nc * sizeof *p);
        if (p == NULL)
            return oom(c);
        c->v = p;
        c->cap = nc;
    }
    tentry *t = &c->v[c->n];
    memset(t, 0, sizeof *t);
    if ((t->name = strdup(name)) == NULL)
        return oom(c);
    t->is_list = is_list;
    c->n++;
    return t;
}

void pc_tctx_set(pc_tctx *c, const char *name, const char *value)
{
    tentry *t = c ? entry(c, name, false) : NULL;
    if (t == NULL)
        return;
    char *s = strdup(value ? value : "");
    if (s == NULL) {
        oom(c);
        return;
    }
    free(t->value);
    t->value = s;
}

void pc_tctx_setf(pc_tctx *c, const char *name, const char *fmt, ...)
{
    if (c == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        oom(c);
        return;
    }
    pc_tctx_set(c, name, s);
    free(s);
}

void pc_tctx_list(pc_tctx *c, const char *name)
{
    if (c)
        entry(c, name, true);
}

pc_tctx *pc_tctx_item(pc_tctx *c, const char *name)
{
    tentry *t = c ? entry(c, name, true) : NULL;
    if (t == NULL)
        return NULL;
    if (t->nitems == t->capitems) {
        size_t nc = t->capitems ? t->capitems * 2 : 8;
        pc_tctx **p = realloc(t->items, nc * sizeof *p);
        if (p == NULL)
            return oom(c);
        t->items = p;
        t->capitems = nc;
    }
    pc_tctx *it = calloc(1, sizeof *it);
    if (it == NULL)
        return oom(c);
    it->parent = c;
    it->root = c->root;
    t->items[t->nitems++] = it;
    return it;
}

static const tentry *lookup(const pc_tctx *c, const char *name, size_t len)
{
    for (; c; c = c->parent)
        for (size_t i = 0; i < c->n; i++)
            if (strlen(c->v[i].name) == len && !memcmp(c->v[i].name, name, len))
                return &c->v[i];
    return NULL;
}

/* ---- templates ------------------------------------------------------------ */

typedef enum tkind { T_TEXT, T_VAR, T_SECTION, T_INVERTED, T_END } tkind;

typedef struct token {
    tkind kind;
    const char *s;     /* text, or the name */
    size_t len;
    size_t at;         /* offset in the template, for error lines */
    size_t end;        /* sections: index of the matching T_END */
} token;

typedef struct tmpl {
    const char *what, *text;
    token *t;
    size_t n, cap;
    pc_tesc esc;
    char *out;
    size_t olen, ocap;
    bool oom;
    pc_err *e;
} tmpl;

static unsigned line_of(const tmpl *m, size_t at)
{
    unsigned line = 1;
    for (size_t i = 0; i < at; i++)
        line += m->text[i] == '\n';
    return line;
}

static bool push(tmpl *m, tkind kind, const char *s, size_t len, size_t at)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        token *p = realloc(m->t, nc * sizeof *p);
        if (p == NULL)
            return false;
        m->t = p;
        m->cap = nc;
    }
    m->t[m->n++] = (token){kind, s, len, at, 0};
    return true;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static bool name_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static pc_status tokenize(tmpl *m, size_t len)
{
    const char *t = m->text;
    size_t pos = 0;
    while (pos < len) {
        const char *open = memmem(t + pos, len - pos, "{{", 2);
        if (open == NULL) {
            if (!push(m, T_TEXT, t + pos, len - pos, pos))
                goto nomem;
            break;
        }
        size_t o = (size_t)(open - t);
        const char *close = memmem(open + 2, len - o - 2, "}}", 2);
        if (close == NULL)
            return pc_fail(m->e, PC_ERR_INVALID, "%s:%u: '{{' without '}}'", m->what,
                           line_of(m, o));
        size_t c = (size_t)(close - t), next = c + 2, text_end = o;
        const char *in = open + 2;
        tkind kind = T_VAR;
        bool comment = *in == '!';
        if (*in == '#' || *in == '^' || *in == '/' || comment) {
            kind = *in == '#' ? T_SECTION : *in == '^' ? T_INVERTED : T_END;
            in++;
        }
        while (in < close && *in == ' ')
            in++;
        size_t nlen = (size_t)(close - in);
        while (nlen && in[nlen - 1] == ' ')
            nlen--;
        if (!comment && !name_ok(in, nlen))
            return pc_fail(m->e, PC_ERR_INVALID, "%s:%u: bad tag '%.*s'", m->what,
                           line_of(m, o), (int)(c + 2 - o), open);
        if (kind != T_VAR || comment) { /* alone on its line: drop the line */
            size_t ls = o, re = next;
            while (ls > pos && is_blank(t[ls - 1]))
                ls--;
            while (re < len && is_blank(t[re]))
                re++;
            if ((ls == 0 || t[ls - 1] == '\n') && (re == len || t[re] == '\n')) {
                text_end = ls;
                next = re < len ? re + 1 : re;
            }
        }
        if (text_end > pos && !push(m, T_TEXT, t + pos, text_end - pos, pos))
            goto nomem;
        if (!comment && !push(m, kind, in, nlen, o))
            goto nomem;
        pos = next;
    }
    /* Match sections with their ends. */
    size_t *stack = malloc((m->n + 1) * sizeof *stack), depth = 0;
    if (stack == NULL)
        goto nomem;
    pc_status st = PC_OK;
    for (size_t i = 0; i < m->n && st == PC_OK; i++) {
        token *k = &m->t[i];
        if (k->kind == T_SECTION || k->kind == T_INVERTED) {
            stack[depth++] = i;
        } else if (k->kind == T_END) {
            token *s = depth ? &m->t[stack[depth - 1]] : NULL;
            if (s == NULL || s->len != k->len || memcmp(s->s, k->s, k->len))
                st = pc_fail(m->e, PC_ERR_INVALID, "%s:%u: '{{/%.*s}}' closes no open section",
                             m->what, line_of(m, k->at), (int)k->len, k->s);
            else
                s->end = i, depth--;
        }
    }
    if (st == PC_OK && depth)
        st = pc_fail(m->e, PC_ERR_INVALID, "%s:%u: section '%.*s' is not closed", m->what,
                     line_of(m, m->t[stack[depth - 1]].at), (int)m->t[stack[depth - 1]].len,
                     m->t[stack[depth - 1]].s);
    free(stack);
    return st;
nomem:
    return pc_fail(m->e, PC_ERR_NOMEM, "out of memory");
}

static void emit(tmpl *m, const char *s, size_t len)
{
    if (m->oom)
        return;
    if (m->olen + len + 1 > m->ocap) {
        size_t nc = (m->ocap ? m->ocap * 2 : 8192) + len;
        char *p = realloc(m->out, nc);
        if (p == NULL) {
            m->oom = true;
            return;
        }
        m->out = p;
        m->ocap = nc;
    }
    memcpy(m->out + m->olen, s, len);
    m->olen += len;
    m->out[m->olen] = '\0';
}

static void emit_escaped(tmpl *m, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char u[8];
        const char *r = NULL;
        if (m->esc == PC_TESC_HTML) {
            r = ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '&' ? "&amp;"
              : ch == '"' ? "&quot;" : ch == '\'' ? "&#39;" : NULL;
        } else if (m->esc == PC_TESC_JSON) {
            if (ch == '"' || ch == '\\') {
                u[0] = '\\', u[1] = (char)ch, u[2] = '\0';
                r = u;
            } else if (ch < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", ch);
                r = u;
            }
        }
        if (r)
            emit(m, r, strlen(r));
        else
            emit(m, s, 1);
    }
}

static pc_status render(tmpl *m, size_t from, size_t to, const pc_tctx *c)
{
    for (size_t i = from; i < to; i++) {
        const token *k = &m->t[i];
        if (k->kind == T_TEXT) {
            emit(m, k->s, k->len);
            continue;
        }
        const tentry *v = lookup(c, k->s, k->len);
        if (v == NULL)
            return pc_fail(m->e, PC_ERR_INVALID, "%s:%u: unknown name '%.*s'", m->what,
                           line_of(m, k->at), (int)k->len, k->s);
        if (k->kind == T_VAR) {
            if (v->is_list)
                return pc_fail(m->e, PC_ERR_INVALID, "%s:%u: '%.*s' is a list, not a value",
                               m->what, line_of(m, k->at), (int)k->len, k->s);
            emit_escaped(m, v->value ? v->value : "");
            continue;
        }
        bool full = v->is_list ? v->nitems > 0 : v->value && v->value[0];
        pc_status st = PC_OK;
        if (k->kind == T_SECTION && v->is_list)
            for (size_t n = 0; n < v->nitems && st == PC_OK; n++)
                st = render(m, i + 1, k->end, v->items[n]);
        else if ((k->kind == T_SECTION) == full)
            st = render(m, i + 1, k->end, c);
        if (st != PC_OK)
            return st;
        i = k->end;
    }
    return PC_OK;
}

pc_status pc_tmpl_render(const char *what, const char *text, size_t len, const pc_tctx *c,
                         pc_tesc esc, char **out, size_t *outlen, pc_err *e)
{
    *out = NULL;
    *outlen = 0;
    if (c == NULL || c->root->oom)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    tmpl m = {.what = what, .text = text, .esc = esc, .e = e};
    pc_status st = tokenize(&m, len);
    if (st == PC_OK)
        st = render(&m, 0, m.n, c);
    emit(&m, "", 0); /* an empty output is still a string */
    if (st == PC_OK && m.oom)
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    free(m.t);
    if (st != PC_OK) {
        free(m.out);
        return st;
    }
    *out = m.out;
    *outlen = m.olen;
    return PC_OK;
}
