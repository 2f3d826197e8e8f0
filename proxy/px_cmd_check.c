/* floodgate check-config FILE (also --check-config FILE): load FILE exactly
 * as a start or a reload would, print the effective policy on success or the
 * path-precise error on failure. Nothing is bound, nothing is started. */
#include "px_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"

int
px_cmd_check(int argc, char **argv)
{
    struct cf_config *cf = NULL;
    char err[CF_ERRLEN];
    char *text;
    size_t need;

    if (argc != 2 || argv[1][0] == '\0') {
        fprintf(stderr, "usage: floodgate check-config FILE\n");
        return 2;
    }
    if (cf_load(argv[1], &cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate: %s\n", err);
        return 1;
    }
    need = cf_summary(cf, NULL, 0);
    text = malloc(need + 1);
    if (text == NULL) {
        fprintf(stderr, "floodgate: out of memory\n");
        cf_unref(cf);
        return 1;
    }
    cf_summary(cf, text, need + 1);
    fputs(text, stdout);
    free(text);
    cf_unref(cf);
    return fflush(stdout) == 0 ? 0 : 1;
}
