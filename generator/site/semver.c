/* semver.c — version-name precedence for ordering releases. */
#include "semver.h"

#include <ctype.h>
#include <string.h>

/* Compare two fields [a, a+al) and [b, b+bl): numeric fields numerically
 * (leading zeros ignored, any length), numeric before text, text by bytes. */
static int cmp_field(const char *a, size_t al, const char *b, size_t bl)
{
    bool an = al > 0, bn = bl > 0;
    for (size_t i = 0; i < al; i++)
        an = an && isdigit((unsigned char)a[i]);
    for (size_t i = 0; i < bl; i++)
        bn = bn && isdigit((unsigned char)b[i]);
    if (an && bn) {
        while (al > 1 && *a == '0')
            a++, al--;
        while (bl > 1 && *b == '0')
            b++, bl--;
        if (al != bl)
            return al < bl ? -1 : 1;
        int c = memcmp(a, b, al);
        return c < 0 ? -1 : c > 0;
    }
    if (an != bn)
        return an ? -1 : 1;
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return al == bl ? 0 : (al < bl ? -1 : 1);
}

/* Compare dot-separated sequences; a shorter sequence that is a prefix of the
 * longer sorts first (1.0 < 1.0.1; alpha < alpha.1). */
static int cmp_fields(const char *a, size_t al, const char *b, size_t bl)
{
    size_t i = 0, j = 0;
    while (i < al && j < bl) {
        size_t ie = i, je = j;
        while (ie < al && a[ie] != '.')
            ie++;
        while (je < bl && b[je] != '.')
            je++;
        int c = cmp_field(a + i, ie - i, b + j, je - j);
        if (c)
            return c;
        i = ie + 1;
        j = je + 1;
    }
    bool amore = i < al, bmore = j < bl;
    return amore == bmore ? 0 : (amore ? 1 : -1);
}

static void split(const char *s, size_t *rel, const char **pre, size_t *prelen)
{
    size_t n = strcspn(s, "+");
    size_t dash = strcspn(s, "-");
    if (dash < n) {
        *rel = dash;
        *pre = s + dash + 1;
        *prelen = n - dash - 1;
    } else {
        *rel = n;
        *pre = NULL;
        *prelen = 0;
    }
}

static const char *skip_v(const char *s)
{
    return (s[0] == 'v' || s[0] == 'V') && isdigit((unsigned char)s[1]) ? s + 1 : s;
}

int pc_semver_cmp(const char *a, const char *b)
{
    const char *sa = skip_v(a), *sb = skip_v(b);
    size_t ra, rb, pa, pb;
    const char *prea, *preb;
    split(sa, &ra, &prea, &pa);
    split(sb, &rb, &preb, &pb);
    int c = cmp_fields(sa, ra, sb, rb);
    if (c)
        return c;
    if (!prea != !preb)
        return prea ? -1 : 1; /* the pre-release comes first */
    if (prea) {
        c = cmp_fields(prea, pa, preb, pb);
        if (c)
            return c;
    }
    c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

bool pc_semver_is_prerelease(const char *name)
{
    const char *s = skip_v(name);
    size_t n = strcspn(s, "+");
    return strcspn(s, "-") < n;
}
