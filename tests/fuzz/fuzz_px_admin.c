/* libFuzzer target for the admin plane's request handling: px_admin_serve
 * (the routing, query and body parsing behind evhttp, and every handler:
 * views, controls, explain, reload) on a running state made at start-up
 * (a configuration file with two classes, its limiter, credentials and a
 * bearer token "s3cret"). Input: "METHOD URI\nAUTHORIZATION\nBODY" (an
 * empty second line: no Authorization). Oracles: every answer has a
 * status from the documented set and a Content-Type; without the token
 * nothing but 401 comes back; a JSON answer parses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "cf.h"
#include "fuzz_pki.h"
#include "lim.h"
#include "px_admin.h"
#include "px_creds.h"
#include "px_log.h"
#include "px_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct px_state *st;

static const char config[] =
    "{\"listen\": {\"cert\": \"cert.pem\", \"key\": \"key.pem\", \"client_ca\": \"ca.pem\","
    "  \"workers\": 1},"
    " \"upstream\": {\"servers\": [\"127.0.0.1:6444\"], \"ca\": \"ca.pem\","
    "  \"client_cert\": \"cert.pem\", \"client_key\": \"key.pem\"},"
    " \"auth\": {\"keys\": [\"sa.pub\"], \"issuers\": [\"https://kubernetes.default.svc\"]},"
    " \"admin\": {\"token_file\": \"token\"},"
    " \"limits\": {\"classes\": [{\"name\": \"exempt\", \"mode\": \"exempt\","
    "   \"distinguisher\": \"none\"},"
    "  {\"name\": \"users\", \"distinguisher\": \"user\", \"rate\": \"10/s\", \"burst\": 3,"
    "   \"max_watches_per_key\": 2}],"
    "  \"rules\": [{\"class\": \"exempt\", \"groups\": [\"system:masters\"]},"
    "   {\"class\": \"users\"}]}}\n";

static void
init(void)
{
    char err[CF_ERRLEN], path[4200];
    struct cf_config *cf = NULL;
    struct px_creds *creds;
    struct lim *lim;
    struct px_log *log;
    FILE *f;

    fuzz_pki();
    f = fopen("floodgate.json", "w");
    if (f == NULL || fputs(config, f) < 0 || fclose(f) != 0) {
        abort();
    }
    f = fopen("token", "w");
    if (f == NULL || fputs("s3cret\n", f) < 0 || fclose(f) != 0) {
        abort();
    }
    if (getcwd(path, 4096) == NULL) {
        abort();
    }
    strcat(path, "/floodgate.json");
    if (cf_load(path, &cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        abort();
    }
    creds = px_creds_new(cf, err, sizeof(err));
    lim = lim_new(cf->max_clients, 7, err, sizeof(err));
    /* /dev/null: a reload the fuzzer sends applies the file's log level. */
    log = px_log_new(open("/dev/null", O_WRONLY), PX_LOG_ERROR, PX_LOG_TEXT);
    if (creds == NULL || lim == NULL || log == NULL ||
        lim_bind(lim, cf->policy, err, sizeof(err)) != 0) {
        fprintf(stderr, "state: %s\n", err);
        abort();
    }
    st = px_state_new(lim, log, cf, creds);
    if (st == NULL || px_state_load_token(st, cf->admin.token_file, err, sizeof(err)) != 0) {
        abort();
    }
    atomic_store(&st->upstream_up, 1);
    cf_unref(cf);
    px_creds_unref(creds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int codes[] = {200, 400, 401, 404, 405, 409, 500, 503};
    char *in = malloc(size + 1), *sp, *nl1, *nl2 = NULL;
    const char *method, *uri, *authz = NULL, *body = NULL;
    struct px_admin_answer ans = {0, NULL, false, evbuffer_new()};
    size_t blen = 0, i;
    bool known = false;

    if (st == NULL) {
        init();
    }
    if (in == NULL || ans.body == NULL) {
        abort();
    }
    memcpy(in, data, size);
    in[size] = '\0';
    nl1 = strchr(in, '\n');
    if (nl1 != NULL) {
        *nl1 = '\0';
        nl2 = strchr(nl1 + 1, '\n');
        if (nl2 != NULL) {
            *nl2 = '\0';
            body = nl2 + 1;
            blen = size - (size_t)(body - in);
        }
        authz = nl1[1] != '\0' ? nl1 + 1 : NULL;
    }
    sp = strchr(in, ' ');
    if (sp != NULL) {
        *sp = '\0';
        method = in;
        uri = sp + 1;
    } else {
        method = "GET";
        uri = in;
    }
    px_admin_serve(st, method, uri, authz, body, blen, "fuzz", &ans);
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        known = known || ans.code == codes[i];
    }
    if (!known || ans.type == NULL) {
        fprintf(stderr, "status %d, type %s\n", ans.code, ans.type ? ans.type : "(none)");
        abort();
    }
    if ((authz == NULL || strcmp(authz, "Bearer s3cret") != 0) && ans.code != 401) {
        abort();
    }
    if (strcmp(ans.type, "application/json") == 0) {
        json_error_t je;
        json_t *j = json_loadb((const char *)evbuffer_pullup(ans.body, -1),
                               evbuffer_get_length(ans.body), 0, &je);

        if (j == NULL) {
            abort();
        }
        json_decref(j);
    }
    evbuffer_free(ans.body);
    free(in);
    return 0;
}
