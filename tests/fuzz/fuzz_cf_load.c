/* libFuzzer target for the configuration loader: cf_load_string on the
 * input as JSON text, then, for what loads, the summary, the reload check
 * and the class diff against a running snapshot (what a SIGHUP does), and the unit parsers on the
 * raw text. The PEM files a configuration names (cert.pem, key.pem, ca.pem, sa.pub) are made at
 * start-up in a temporary directory that becomes the working directory, so
 * relative paths in seeds load. Oracles: a failure names itself; a loaded
 * snapshot has its invariants (workers >= 1, a policy, a 16-hex hash). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf.h"
#include "fuzz_pki.h"
#include "lim_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The running snapshot a reload would replace. */
static struct cf_config *prev;
static const char base_json[] =
    "{\"listen\": {\"cert\": \"cert.pem\", \"key\": \"key.pem\", \"client_ca\": \"ca.pem\"},"
    " \"upstream\": {\"servers\": [\"127.0.0.1:6444\"], \"ca\": \"ca.pem\"},"
    " \"limits\": {\"classes\": [{\"name\": \"a\", \"rate\": \"10/s\", \"burst\": 3}],"
    " \"rules\": [{\"class\": \"a\"}]}}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *text = malloc(size + 1);
    char err[CF_ERRLEN], summary[4096];
    struct cf_config *cf = NULL;
    uint64_t u64;
    uint32_t u32;

    if (!ready) {
        fuzz_pki();
        if (cf_load_string(base_json, "base.json", &prev, err, sizeof(err)) != 0) {
            fprintf(stderr, "base.json: %s\n", err);
            abort();
        }
        ready = 1;
    }
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (cf_load_string(text, "fuzz.json", &cf, err, sizeof(err)) != 0) {
        if (cf != NULL || err[0] == '\0') {
            abort();
        }
    } else {
        size_t nclasses = lim_policy_class_count(cf->policy);
        bool *kept = calloc(nclasses + 1, sizeof(bool));

        if (cf->listen.workers == 0 || cf->policy == NULL || strlen(cf->hash) != 16 ||
            kept == NULL) {
            abort();
        }
        (void)cf_summary(cf, summary, sizeof(summary));
        (void)cf_diff_classes(prev, cf, kept);
        (void)cf_check_reloadable(prev, cf, err, sizeof(err));
        free(kept);
        cf_unref(cf);
    }
    (void)cf_parse_rate(text, &u64);
    (void)cf_parse_duration(text, &u64);
    (void)cf_parse_size(text, &u64);
    (void)cf_parse_pct(text, &u32);
    free(text);
    return 0;
}
