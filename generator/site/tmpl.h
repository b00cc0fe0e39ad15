/* tmpl.h — the files of site-template/, embedded into patchcast-gen at build
 * time, and the small logic-less template language they are written in:
 *   {{name}}               a value, escaped for the output (HTML, JSON or none)
 *   {{#name}}…{{/name}}    once per item of a list, or once if a value is non-empty
 *   {{^name}}…{{/name}}    once if a list has no item or a value is empty
 *   {{! comment }}         dropped
 * A section or comment tag alone on its line removes that whole line.
 * Names are looked up in the current list item, then in its parents. A name
 * that is not defined is an error, so a typo in a template fails the tests. */
#ifndef PC_TMPL_H
#define PC_TMPL_H

#include <stddef.h>

#include "error.h"

/* One embedded file of site-template/ (data is NUL-terminated too). */
typedef struct pc_tmpl_file {
    const char *name;
    const char *data;
    size_t len;
} pc_tmpl_file;

/* Every file of site-template/, ended by an entry whose name is NULL.
 * Defined in the C file the Makefile generates from the folder. */
extern const pc_tmpl_file pc_tmpl_files[];

/* The embedded file called name ("index.html.in"), NULL if there is none. */
const pc_tmpl_file *pc_tmpl_find(const char *name);

typedef enum pc_tesc { PC_TESC_NONE = 0, PC_TESC_HTML, PC_TESC_JSON } pc_tesc;

/* The values a template is filled from: a tree of named values and lists of
 * items, each item itself such a context. Setters copy their arguments.
 * Allocation failures are remembered by the root and reported by
 * pc_tmpl_render, so builders need not check each call; every function
 * accepts a NULL context and then does nothing. */
typedef struct pc_tctx pc_tctx;

pc_tctx *pc_tctx_new(void);
/* Free a root context with all its items. Accepts NULL. */
void pc_tctx_free(pc_tctx *root);
/* Set name to value (NULL sets the empty value). */
void pc_tctx_set(pc_tctx *c, const char *name, const char *value);
void pc_tctx_setf(pc_tctx *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Declare the list name (with no item yet). */
void pc_tctx_list(pc_tctx *c, const char *name);
/* Append a new item to the list name (declaring it) and return it; it is
 * owned by c. NULL on no memory. */
pc_tctx *pc_tctx_item(pc_tctx *c, const char *name);

/* Fill the template text (len bytes) from c into a new NUL-terminated
 * string *out of *outlen bytes (caller frees). what names the template in
 * errors: "index.html.in:12: unknown name 'x'" (PC_ERR_INVALID), unbalanced
 * sections likewise; PC_ERR_NOMEM if building c or the output ran out. */
pc_status pc_tmpl_render(const char *what, const char *text, size_t len, const pc_tctx *c,
                         pc_tesc esc, char **out, size_t *outlen, pc_err *e);

#endif
