/* The scenario reader's items: a population's identity, its watches and
 * its request streams, each checked for every member it will be expanded
 * for. See bn_load_scenario.h. */
#include "bn_load_scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_load_tmpl.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const watch_keys[] = {"path", "relist"};
static const char *const request_keys[] = {"method", "path",       "body",   "headers",
                                           "rate",   "total_rate", "arrival"};
static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
static const char *const none_keys[] = {"kind"};
static const char *const cert_keys[] = {"kind", "user", "groups", "cert", "key"};
static const char *const token_keys[] = {"kind", "namespace", "serviceaccount", "node",
                                         "pod",  "issuer",    "audience",       "expiration"};
static const char *const bearer_keys[] = {"kind", "token"};
static const char *const kubeconfig_keys[] = {"kind", "path"};

struct kind {
    const char *name;
    enum bn_id_kind kind;
    const char *const *keys;
    size_t nkeys;
};

static const struct kind kinds[] = {
    {"cert", BN_ID_CERT, cert_keys, N(cert_keys)},
    {"token", BN_ID_TOKEN, token_keys, N(token_keys)},
    {"bearer", BN_ID_BEARER, bearer_keys, N(bearer_keys)},
    {"kubeconfig", BN_ID_KUBECONFIG, kubeconfig_keys, N(kubeconfig_keys)},
    {"none", BN_ID_NONE, none_keys, N(none_keys)},
};

/* --- identities -------------------------------------------------------- */

static int
read_groups(struct bn_scn_reader *r, const json_t *groups, uint32_t count,
            struct bn_scn_identity *id)
{
    size_t i, saved = bn_json_key(&r->x, "groups"), at;
    int rc = 0;

    if (!json_is_array(groups) || json_array_size(groups) > BN_SCN_MAX_GROUPS) {
        rc = bn_json_fail_got(&r->x, groups, "an array of at most %d strings", BN_SCN_MAX_GROUPS);
    }
    for (i = 0; rc == 0 && i < json_array_size(groups); i++) {
        at = bn_json_index(&r->x, i);
        rc = bn_scn_template_value(r, json_array_get(groups, i), count, false, &id->groups[i]);
        id->ngroups += rc == 0;
        bn_json_restore(&r->x, at);
    }
    bn_json_restore(&r->x, saved);
    return rc;
}

static int
read_cert_identity(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                   struct bn_scn_identity *id)
{
    json_t *groups = json_object_get(o, "groups");

    if (json_object_get(o, "user") != NULL && json_object_get(o, "cert") != NULL) {
        return bn_json_fail(&r->x, "\"user\" (minted) and \"cert\" (files) are exclusive");
    }
    if (json_object_get(o, "cert") != NULL || json_object_get(o, "key") != NULL) {
        if (groups != NULL) {
            return bn_json_fail(&r->x,
                                "\"groups\" goes with \"user\": a certificate file has its own");
        }
        return bn_scn_read_file(r, o, "cert", true, &id->cert) != 0 ||
                       bn_scn_read_file(r, o, "key", true, &id->key) != 0
                   ? -1
                   : 0;
    }
    if (bn_scn_read_template(r, o, "user", true, count, false, &id->user) != 0) {
        return -1;
    }
    if (groups != NULL && read_groups(r, groups, count, id) != 0) {
        return -1;
    }
    if (r->s->ca_cert == NULL || r->s->ca_key == NULL) {
        return bn_json_fail(
            &r->x, "minting certificates needs \"ca_cert\" and \"ca_key\" at the top level");
    }
    return 0;
}

static int
read_token_identity(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                    struct bn_scn_identity *id)
{
    if (bn_scn_read_template(r, o, "namespace", true, count, false, &id->ns) != 0 ||
        bn_scn_read_template(r, o, "serviceaccount", true, count, false, &id->serviceaccount) !=
            0 ||
        bn_scn_read_template(r, o, "node", false, count, false, &id->node) != 0 ||
        bn_scn_read_template(r, o, "pod", false, count, false, &id->pod) != 0 ||
        bn_json_string(&r->x, o, "issuer", false, &id->issuer) != 0 ||
        bn_json_string(&r->x, o, "audience", false, &id->audience) != 0 ||
        bn_json_duration(&r->x, o, "expiration", &id->expiration_ns) != 0) {
        return -1;
    }
    if (r->s->sa_key == NULL) {
        return bn_json_fail(&r->x, "signing tokens needs \"sa_key\" at the top level");
    }
    if (id->issuer == NULL) {
        if (r->s->sa_issuer == NULL) {
            size_t saved = bn_json_key(&r->x, "issuer");

            bn_json_fail(&r->x, "required (or \"sa_issuer\" at the top level)");
            bn_json_restore(&r->x, saved);
            return -1;
        }
        if ((id->issuer = strdup(r->s->sa_issuer)) == NULL) {
            return bn_json_fail(&r->x, "out of memory");
        }
    }
    /* kube-apiserver's --api-audiences defaults to the issuer. */
    if (id->audience == NULL && (id->audience = strdup(id->issuer)) == NULL) {
        return bn_json_fail(&r->x, "out of memory");
    }
    return 0;
}

int
bn_scn_read_identity(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                     struct bn_scn_identity *id)
{
    json_t *k = json_object_get(o, "kind");
    size_t i, saved = bn_json_key(&r->x, "identity");
    int rc = -1;

    if (!json_is_object(o)) {
        bn_json_fail_got(&r->x, o, "an object");
        goto out;
    }
    for (i = 0;
         i < N(kinds) && !(json_is_string(k) && strcmp(json_string_value(k), kinds[i].name) == 0);
         i++) {
    }
    if (i == N(kinds)) {
        size_t at = bn_json_key(&r->x, "kind");

        if (k == NULL) {
            bn_json_fail(&r->x, "required");
        } else {
            bn_json_fail_got(&r->x, k,
                             "one of \"cert\", \"token\", \"bearer\", \"kubeconfig\", \"none\"");
        }
        bn_json_restore(&r->x, at);
        goto out;
    }
    if (bn_json_check_keys(&r->x, o, kinds[i].keys, kinds[i].nkeys) != 0) {
        goto out;
    }
    id->kind = kinds[i].kind;
    id->expiration_ns = 3600ull * 1000000000ull;
    switch (id->kind) {
    case BN_ID_CERT:
        rc = read_cert_identity(r, o, count, id);
        break;
    case BN_ID_TOKEN:
        rc = read_token_identity(r, o, count, id);
        break;
    case BN_ID_BEARER:
        rc = bn_scn_read_template(r, o, "token", true, count, false, &id->token);
        break;
    case BN_ID_KUBECONFIG:
        rc = bn_scn_read_file(r, o, "path", true, &id->path);
        break;
    case BN_ID_NONE:
    default:
        rc = 0;
        break;
    }
out:
    bn_json_restore(&r->x, saved);
    return rc;
}

/* --- watches and requests ---------------------------------------------- */

int
bn_scn_read_watch(struct bn_scn_reader *r, const json_t *o, uint32_t count, struct bn_scn_watch *w)
{
    if (!json_is_object(o)) {
        return bn_json_fail_got(&r->x, o, "an object like {\"path\": \"/api/v1/pods?watch=true\"}");
    }
    w->relist = true;
    return bn_json_check_keys(&r->x, o, watch_keys, N(watch_keys)) != 0 ||
                   bn_scn_read_template(r, o, "path", true, count, true, &w->path) != 0 ||
                   bn_json_bool(&r->x, o, "relist", &w->relist) != 0
               ? -1
               : 0;
}

static int
read_method(struct bn_scn_reader *r, const json_t *o, struct bn_scn_request *q)
{
    json_t *v = json_object_get(o, "method");
    size_t i, saved;

    if (v == NULL) {
        q->method = strdup("GET");
        return q->method == NULL ? bn_json_fail(&r->x, "out of memory") : 0;
    }
    for (i = 0; i < N(methods); i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), methods[i]) == 0) {
            q->method = strdup(methods[i]);
            return q->method == NULL ? bn_json_fail(&r->x, "out of memory") : 0;
        }
    }
    saved = bn_json_key(&r->x, "method");
    bn_json_fail_got(&r->x, v, "one of GET, POST, PUT, PATCH, DELETE, HEAD");
    bn_json_restore(&r->x, saved);
    return -1;
}

static int
read_headers(struct bn_scn_reader *r, const json_t *h, uint32_t count, struct bn_scn_request *q)
{
    size_t i, saved = bn_json_key(&r->x, "headers"), at;
    int rc = 0;

    if (!json_is_array(h) || json_array_size(h) > BN_SCN_MAX_HEADERS) {
        rc = bn_json_fail_got(&r->x, h, "an array of at most %d \"Name: value\" strings",
                              BN_SCN_MAX_HEADERS);
    }
    for (i = 0; rc == 0 && i < json_array_size(h); i++) {
        const json_t *v = json_array_get(h, i);
        const char *s = json_string_value(v), *colon = s != NULL ? strchr(s, ':') : NULL;

        at = bn_json_index(&r->x, i);
        if (colon == NULL || colon == s || strpbrk(s, "\r\n") != NULL ||
            strcspn(s, " \t") < (size_t)(colon - s)) {
            rc = bn_json_fail_got(&r->x, v, "\"Name: value\"");
        } else {
            rc = bn_scn_template_value(r, v, count, false, &q->headers[i]);
            q->nheaders += rc == 0;
        }
        bn_json_restore(&r->x, at);
    }
    bn_json_restore(&r->x, saved);
    return rc;
}

static int
read_arrival(struct bn_scn_reader *r, const json_t *o, struct bn_scn_request *q)
{
    json_t *v = json_object_get(o, "arrival");
    size_t saved;

    if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), "constant") == 0)) {
        q->arrival = BN_ARRIVAL_CONSTANT;
        return 0;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "poisson") == 0) {
        q->arrival = BN_ARRIVAL_POISSON;
        return 0;
    }
    saved = bn_json_key(&r->x, "arrival");
    bn_json_fail_got(&r->x, v, "\"constant\" or \"poisson\"");
    bn_json_restore(&r->x, saved);
    return -1;
}

int
bn_scn_read_request(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                    struct bn_scn_request *q)
{
    json_t *rate = json_object_get(o, "rate"), *total = json_object_get(o, "total_rate");
    json_t *headers = json_object_get(o, "headers");

    if (!json_is_object(o)) {
        return bn_json_fail_got(&r->x, o,
                                "an object like {\"path\": \"/version\", \"rate\": "
                                "\"1/s\"}");
    }
    if (bn_json_check_keys(&r->x, o, request_keys, N(request_keys)) != 0 ||
        read_method(r, o, q) != 0 ||
        bn_scn_read_template(r, o, "path", true, count, true, &q->path) != 0 ||
        bn_scn_read_template(r, o, "body", false, count, false, &q->body) != 0 ||
        (headers != NULL && read_headers(r, headers, count, q) != 0) ||
        read_arrival(r, o, q) != 0) {
        return -1;
    }
    if (q->body != NULL && (strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0)) {
        size_t saved = bn_json_key(&r->x, "body");

        bn_json_fail(&r->x, "a %s request carries no body", q->method);
        bn_json_restore(&r->x, saved);
        return -1;
    }
    if (rate != NULL && total != NULL) {
        return bn_json_fail(&r->x, "\"rate\" (per member) and \"total_rate\" are exclusive");
    }
    if (rate == NULL && total == NULL) {
        if (r->s->closed) {
            return 0; /* back-to-back: no rate */
        }
        return bn_json_fail(&r->x, "needs \"rate\" (per member) or \"total_rate\"");
    }
    q->total = total != NULL;
    return bn_scn_read_rate(r, q->total ? total : rate, q->total ? "total_rate" : "rate",
                            &q->rate_mrps);
}
