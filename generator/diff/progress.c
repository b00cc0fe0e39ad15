/* progress.c — the names of a diff's phases (progress.h), for a display. */
#include "progress.h"

const char *pc_diff_phase_name(int phase)
{
    static const char *names[] = {"reading", "sorting", "scanning", "parsing text", "writing"};
    return phase >= 0 && phase < (int)(sizeof names / sizeof names[0]) ? names[phase] : "?";
}
