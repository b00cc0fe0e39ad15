/* test_tmpl.c — the template language of site-template/ (tmpl.c), the
 * embedded files, and the site files page.c writes from them: escaping of
 * hostile metadata, the cache rules. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "page.h"
#include "test.h"
#include "tmpl.h"

static char *render(const char *t, const pc_tctx *c, pc_tesc esc, pc_err *e)
{
    char *out = NULL;
    size_t len;
    if (pc_tmpl_render("t", t, strlen(t), c, esc, &out, &len, e) != PC_OK)
        return NULL;
    return out;
}

static void values_and_escaping(void)
{
    pc_tctx *c = pc_tctx_new();
    pc_tctx_set(c, "x", "<a href=\"q\">&'</a>");
    pc_err e = {0};
    char *h = render("[{{x}}]", c, PC_TESC_HTML, &e);
    char *j = render("[{{ x }}]", c, PC_TESC_JSON, &e);
    char *n = render("[{{x}}]", c, PC_TESC_NONE, &e);
    pc_tctx_set(c, "x", "a\"b\\c\n\x01");
    char *j2 = render("{{x}}", c, PC_TESC_JSON, &e);
    pc_tctx_free(c);
    CHECK(h && j && n && j2);
    CHECK_STR(h, "[&lt;a href=&quot;q&quot;&gt;&amp;&#39;&lt;/a&gt;]");
    CHECK_STR(j, "[<a href=\\\"q\\\">&'</a>]");
    CHECK_STR(n, "[<a href=\"q\">&'</a>]");
    CHECK_STR(j2, "a\\\"b\\\\c\\u000a\\u0001");
    free(h), free(j), free(n), free(j2);
}

static void sections_lists_and_parents(void)
{
    pc_tctx *c = pc_tctx_new();
    pc_tctx_set(c, "p", "P");
    pc_tctx_set(c, "empty", "");
    pc_tctx_list(c, "none");
    for (int i = 0; i < 3; i++) {
        pc_tctx *it = pc_tctx_item(c, "l");
        pc_tctx_setf(it, "i", "%d", i);
        pc_tctx_set(it, "last", i == 2 ? "1" : "");
    }
    pc_err e = {0};
    char *o = render("{{#l}}{{p}}{{i}}{{^last}},{{/last}}{{/l}}|{{#p}}yes{{/p}}{{#empty}}no{{/empty}}"
                     "{{^empty}}E{{/empty}}{{#none}}no{{/none}}{{^none}}N{{/none}}{{! gone }}",
                     c, PC_TESC_HTML, &e);
    pc_tctx_free(c);
    CHECKF(o != NULL, "%s", e.msg);
    CHECK_STR(o, "P0,P1,P2|yesEN");
    free(o);
}

/* A section or comment tag alone on its line takes the line with it. */
static void standalone_lines(void)
{
    pc_tctx *c = pc_tctx_new();
    pc_tctx_set(pc_tctx_item(c, "l"), "v", "a");
    pc_tctx_set(pc_tctx_item(c, "l"), "v", "b");
    pc_err e = {0};
    char *o = render("top\n{{! note }}\n  {{#l}}\n- {{v}}\n  {{/l}}\nend {{#l}}x{{/l}}\n", c,
                     PC_TESC_NONE, &e);
    pc_tctx_free(c);
    CHECKF(o != NULL, "%s", e.msg);
    CHECK_STR(o, "top\n- a\n- b\nend xx\n");
    free(o);
}

static void errors_name_the_line(void)
{
    pc_tctx *c = pc_tctx_new();
    pc_tctx_set(c, "a", "1");
    pc_tctx_list(c, "l");
    static const struct { const char *t, *msg; } bad[] = {
        {"ok\n{{b}}", "t:2: unknown name 'b'"},
        {"{{#a}}\n\nx", "t:1: section 'a' is not closed"},
        {"{{#a}}{{/l}}", "t:1: '{{/l}}' closes no open section"},
        {"x\n{{/a}}", "t:2: '{{/a}}' closes no open section"},
        {"{{l}}", "t:1: 'l' is a list, not a value"},
        {"{{a b}}", "t:1: bad tag '{{a b}}'"},
        {"{{a", "t:1: '{{' without '}}'"},
        {"{{#zz}}{{/zz}}", "t:1: unknown name 'zz'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_err e = {0};
        char *o = render(bad[i].t, c, PC_TESC_NONE, &e);
        free(o);
        if (o != NULL || e.code != PC_ERR_INVALID || strcmp(e.msg, bad[i].msg)) {
            pc_tctx_free(c);
            CHECKF(0, "%s: got \"%s\", expected \"%s\"", bad[i].t, e.msg, bad[i].msg);
        }
    }
    pc_tctx_free(c);
}

static void embedded_files(void)
{
    const char *want[] = {"index.html.in", "style.css", "rules.tsv", "_headers.in",
                          "nginx-patchcast.conf.in", "cache-rules.json.in"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const pc_tmpl_file *f = pc_tmpl_find(want[i]);
        CHECKF(f && f->len > 100 && f->data[f->len] == '\0' && strlen(f->data) == f->len,
               "%s embedded", want[i]);
    }
    CHECK(pc_tmpl_find("nope") == NULL);
}

static void cache_rules(void)
{
    pc_tctx *c = pc_tctx_new();
    pc_err e = {0};
    CHECKF(pc_page_rules(c, &e) == PC_OK, "%s", e.msg);
    char *o = render("{{#rules}}{{glob}}|{{url}}|{{dir_url}}|{{nginx_regex}}|{{cache_control}}|"
                     "{{content_type}}|{{last}}\n{{/rules}}",
                     c, PC_TESC_NONE, &e);
    pc_tctx_free(c);
    CHECKF(o != NULL, "%s", e.msg);
    CHECKF(strstr(o, "repo.json|/repo.json||/repo\\.json$|public, max-age=60, must-revalidate|"
                     "application/json|\n"),
           "%s", o);
    CHECKF(strstr(o, "index.html|/index.html|/|/index\\.html$|public, max-age=60, "
                     "must-revalidate|text/html; charset=utf-8|\n"),
           "%s", o);
    CHECKF(strstr(o, "objects/*|/objects/*||/objects/|public, max-age=31536000, immutable|"
                     "application/octet-stream|"),
           "%s", o);
    CHECKF(strstr(o, "repo.json.minisig|/repo.json.minisig||/repo\\.json\\.minisig$|"
                     "public, max-age=60, must-revalidate|text/plain"),
           "%s", o);
    size_t len = strlen(o);
    CHECKF(len > 3 && !strcmp(o + len - 3, "|1\n"), "only the last rule is last: %s", o);
    free(o);
}

/* A whole site's files from a repo whose every text field is hostile. */
static void page_escapes_metadata(void)
{
    char dir[] = "/tmp/pc-test-page-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pc_version_info v[2] = {
        {.name = "1.0.0", .released = 1700000000, .full_bytes = 1000000, .files = 3,
         .notes = "<script>alert(1)</script>\n<img src=x onerror=\"alert(2)\">'&"},
        {.name = "1.1.0", .parent = "1.0.0", .released = 1710000000, .full_bytes = 2000000,
         .files = 4, .notes = NULL},
    };
    pc_edge ed = {.from = "1.0.0", .to = "1.1.0", .bytes = 150000};
    pc_channel ch = {.name = "stable", .version = "1.1.0"};
    pc_repo r = {.product = "Demo App", .serial = 7, .created = 1710000000,
                 .expires = 1720000000, .max_patch_chain_length = 5, .channels = &ch,
                 .nchannels = 1, .versions = v, .nversions = 2, .edges = &ed, .nedges = 1};
    pc_err e = {0};
    pc_status st = pc_page_write(dir, &r, NULL, "patchcast-repo serial:7 <x>", &e);
    char path[300], *html = NULL, *css = NULL, *hdr = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/index.html", dir);
    pc_read_file(path, 1 << 20, &html, &len, &e);
    snprintf(path, sizeof path, "%s/style.css", dir);
    pc_read_file(path, 1 << 20, &css, &len, &e);
    snprintf(path, sizeof path, "%s/_headers", dir);
    pc_read_file(path, 1 << 20, &hdr, &len, &e);
    const char *names[] = {"index.html", "style.css", "_headers", "nginx-patchcast.conf",
                           "cache-rules.json", "rules.tsv", "index.html.in"};
    bool exists[7];
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        exists[i] = access(path, F_OK) == 0;
        unlink(path);
    }
    rmdir(dir);
    bool ok = st == PC_OK && html && css && hdr;
    if (!ok)
        free(html), free(css), free(hdr);
    CHECKF(ok, "%s", e.msg);
    CHECK(exists[0] && exists[1] && exists[2] && exists[3] && exists[4]);
    CHECK(!exists[5] && !exists[6]);
    bool hostile_gone = !strstr(html, "<script") && !strstr(html, "<img") &&
                        !strstr(html, "<x>") && !strstr(html, "onerror=\"");
    bool escaped = strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;\n&lt;img src=x "
                                "onerror=&quot;alert(2)&quot;&gt;&#39;&amp;</div>") != NULL;
    bool sizes = strstr(html, "<data value=\"150000\">150.0 kB</data>") &&
                 strstr(html, "92.5 % smaller") && strstr(html, "2.0 MB");
    bool comment = strstr(html, "Do not edit") != NULL && strstr(html, "<script") == NULL;
    bool viewport = strstr(html, "<meta name=\"viewport\"") != NULL;
    bool css_ok = strstr(css, "@media") != NULL;
    bool hdr_ok = strstr(hdr, "\n/repo.json\n  Cache-Control: public, max-age=60, must-revalidate\n");
    free(html), free(css), free(hdr);
    CHECK(hostile_gone);
    CHECK(escaped);
    CHECK(sizes);
    CHECK(comment && viewport && css_ok);
    CHECK(hdr_ok);
}

int main(void)
{
    t_suite = "tmpl";
    RUN(values_and_escaping);
    RUN(sections_lists_and_parents);
    RUN(standalone_lines);
    RUN(errors_name_the_line);
    RUN(embedded_files);
    RUN(cache_rules);
    RUN(page_escapes_metadata);
    TEST_MAIN_END();
}
