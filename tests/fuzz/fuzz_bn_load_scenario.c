/* libFuzzer target for floodgate-load's scenario reader: bn_scn_parse on
 * the input as JSON text (the file a benchmark names), then, for what
 * parses, the rate arithmetic the scheduler does with it; and
 * bn_scn_split_url on the raw text. Oracles: a failure names itself; a
 * parsed scenario keeps its documented bounds (populations, members,
 * watches, streams, headers). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_load_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct bn_scn *s)
{
    size_t i, j;

    if (s->npops == 0 || s->npops > BN_SCN_MAX_POPS || s->target == NULL || s->host == NULL ||
        s->port == NULL) {
        abort();
    }
    for (i = 0; i < s->npops; i++) {
        const struct bn_scn_pop *p = &s->pops[i];
        uint32_t div = 0;

        if (p->count > BN_SCN_MAX_COUNT || p->nwatches > BN_SCN_MAX_WATCHES ||
            p->nrequests > BN_SCN_MAX_REQUESTS || p->id.ngroups > BN_SCN_MAX_GROUPS) {
            abort();
        }
        for (j = 0; j < p->nrequests; j++) {
            if (p->requests[j].nheaders > BN_SCN_MAX_HEADERS || p->requests[j].method == NULL ||
                p->requests[j].path == NULL) {
                abort();
            }
            (void)bn_scn_member_rate(p, &p->requests[j], &div);
            if (div == 0) {
                abort();
            }
        }
        (void)bn_scn_pop_rate(p);
        (void)bn_scn_pop_expected(p, s->duration_ns);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[BN_SCN_ERRLEN], why[256], *text = malloc(size + 1);
    char *host = NULL, *port = NULL, *path = NULL;
    struct bn_scn *s = NULL;

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (bn_scn_parse(text, size, "/nonexistent/fuzz.json", NULL, &s, err, sizeof(err)) != 0) {
        if (err[0] == '\0') {
            abort();
        }
    } else {
        check(s);
        bn_scn_free(s);
    }
    if (bn_scn_split_url(text, &host, &port, &path, why, sizeof(why)) == 0 &&
        (host == NULL || port == NULL)) {
        abort();
    }
    free(host);
    free(port);
    free(path);
    free(text);
    return 0;
}
