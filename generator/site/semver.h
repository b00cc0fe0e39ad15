/* semver.h — ordering of release folder names by semantic-version
 * precedence: 1.10.0 after 1.9.0, 1.0.0-rc.1 before 1.0.0, build metadata
 * ignored. Names that are not strict SemVer ("2024.1", "v3") still get a
 * total, sensible order by the same field rules. */
#ifndef PC_SEMVER_H
#define PC_SEMVER_H

#include <stdbool.h>

/* Compare two version names; <0, 0, >0 like strcmp. Names are split into a
 * release part and a pre-release part at the first '-' (build metadata after
 * '+' is ignored); release parts compare by dot-separated fields, numeric
 * fields numerically (any length) and ahead of text fields; a version with a
 * pre-release sorts before the same release without; pre-release fields
 * compare as in SemVer 2.0.0 §11. Equal precedence falls back to strcmp so
 * the order is total. */
int pc_semver_cmp(const char *a, const char *b);

/* True if the name has a pre-release part ("1.2.0-beta.1"). */
bool pc_semver_is_prerelease(const char *name);

#endif
