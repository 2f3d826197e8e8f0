/* Authentication union: see bn_sim_auth.h. */
#include "bn_sim_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "px_err.h"
#include "px_jwt.h"
#include "px_tls.h"

struct bn_sim_auth {
    X509_STORE *client_ca;
    X509_STORE *requestheader_ca;
    char *allowed[BN_SIM_AUTH_MAX_NAMES];
    size_t nallowed;
    char *user_header;
    char *group_header;
    char *extra_prefix;
    struct px_jwt_keys *jwt;
    bool anonymous;
};

/* One authenticator's answer, as in k8s.io/apiserver authenticator.Request:
 * (user, true, nil), (nil, false, nil) = "not mine", (nil, false, err). */
enum outcome { OUT_DECLINED = 0, OUT_OK, OUT_ERROR };

const char *
bn_sim_authn_name(enum bn_sim_authn m)
{
    switch (m) {
    case BN_SIM_AUTHN_REQUESTHEADER:
        return "requestheader";
    case BN_SIM_AUTHN_X509:
        return "x509";
    case BN_SIM_AUTHN_TOKEN:
        return "token";
    case BN_SIM_AUTHN_ANONYMOUS:
        return "anonymous";
    default:
        return "";
    }
}

static X509_STORE *
load_store(const char *path, char *err, size_t errlen)
{
    X509_STORE *st = X509_STORE_new();

    if (st == NULL) {
        px_tls_errf(err, errlen, "X509_STORE_new");
        return NULL;
    }
    if (X509_STORE_load_file(st, path) != 1) {
        px_tls_errf(err, errlen, path);
        X509_STORE_free(st);
        return NULL;
    }
    return st;
}

static char *
dup_or(const char *s, const char *dflt)
{
    return strdup(s != NULL && s[0] != '\0' ? s : dflt);
}

struct bn_sim_auth *
bn_sim_auth_new(const struct bn_sim_auth_opts *o, char *err, size_t errlen)
{
    struct bn_sim_auth *a = calloc(1, sizeof(*a));
    size_t i;

    if (a == NULL) {
        px_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (o->client_ca != NULL && o->client_ca[0] != '\0' &&
        (a->client_ca = load_store(o->client_ca, err, errlen)) == NULL) {
        goto fail;
    }
    if (o->requestheader_ca != NULL && o->requestheader_ca[0] != '\0' &&
        (a->requestheader_ca = load_store(o->requestheader_ca, err, errlen)) == NULL) {
        goto fail;
    }
    if (o->nallowed > BN_SIM_AUTH_MAX_NAMES) {
        px_errf(err, errlen, "more than %d requestheader allowed names", BN_SIM_AUTH_MAX_NAMES);
        goto fail;
    }
    for (i = 0; i < o->nallowed; i++) {
        if ((a->allowed[i] = strdup(o->allowed_names[i])) == NULL) {
            goto oom;
        }
        a->nallowed++;
    }
    a->user_header = dup_or(o->username_header, "X-Remote-User");
    a->group_header = dup_or(o->group_header, "X-Remote-Group");
    a->extra_prefix = dup_or(o->extra_prefix, "X-Remote-Extra-");
    if (a->user_header == NULL || a->group_header == NULL || a->extra_prefix == NULL) {
        goto oom;
    }
    a->jwt = o->jwt;
    a->anonymous = o->anonymous;
    return a;

oom:
    px_errf(err, errlen, "out of memory");
fail:
    bn_sim_auth_free(a);
    return NULL;
}

void
bn_sim_auth_free(struct bn_sim_auth *a)
{
    size_t i;

    if (a == NULL) {
        return;
    }
    X509_STORE_free(a->client_ca);
    X509_STORE_free(a->requestheader_ca);
    for (i = 0; i < a->nallowed; i++) {
        free(a->allowed[i]);
    }
    free(a->user_header);
    free(a->group_header);
    free(a->extra_prefix);
    free(a);
}

/* --- per connection --- */

/* x509.Verify with KeyUsages ClientAuth and the presented intermediates. */
static int
verify_against(X509_STORE *st, X509 *leaf, STACK_OF(X509) * chain, char *err, size_t errlen)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;

    if (ctx == NULL) {
        px_errf(err, errlen, "out of memory");
        return -1;
    }
    if (X509_STORE_CTX_init(ctx, st, leaf, chain) == 1 &&
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1) {
        ok = X509_verify_cert(ctx) == 1;
        if (!ok) {
            px_errf(err, errlen, "x509: %s",
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
    } else {
        px_errf(err, errlen, "x509: cannot set up verification");
    }
    X509_STORE_CTX_free(ctx);
    px_tls_clear_errors();
    return ok ? 0 : -1;
}

static int
name_entry(X509_NAME_ENTRY *e, char *out, size_t outlen)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));

    if (n < 0 || (size_t)n >= outlen || memchr(utf8, '\0', (size_t)n) != NULL) {
        OPENSSL_free(utf8);
        return -1;
    }
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf8);
    return 0;
}

static int
read_subject(X509 *leaf, struct bn_sim_peer *p)
{
    X509_NAME *subj = X509_get_subject_name(leaf);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);

    if (idx >= 0 && name_entry(X509_NAME_get_entry(subj, idx), p->cn, sizeof(p->cn)) != 0) {
        return -1;
    }
    idx = -1;
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_organizationName, idx)) >= 0) {
        if (p->norgs == BN_SIM_CERT_MAX_ORGS ||
            name_entry(X509_NAME_get_entry(subj, idx), p->orgs[p->norgs], BN_SIM_CERT_FIELD) != 0) {
            return -1;
        }
        p->norgs++;
    }
    return 0;
}

static void
fingerprint(X509 *leaf, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    hex[0] = '\0';
    if (X509_digest(leaf, EVP_sha256(), md, &n) != 1) {
        px_tls_clear_errors();
        return;
    }
    for (i = 0; i < n && i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
}

void
bn_sim_auth_peer(const struct bn_sim_auth *a, X509 *leaf, STACK_OF(X509) * chain,
                 struct bn_sim_peer *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    if (leaf == NULL) {
        return;
    }
    out->presented = true;
    if (read_subject(leaf, out) != 0) {
        /* A subject we cannot hold is one we cannot vouch for. */
        snprintf(out->x509_err, sizeof(out->x509_err), "x509: subject does not fit");
        snprintf(out->frontproxy_err, sizeof(out->frontproxy_err), "x509: subject does not fit");
        return;
    }
    fingerprint(leaf, out->fingerprint);
    if (a->client_ca == NULL) {
        snprintf(out->x509_err, sizeof(out->x509_err), "x509: no client CA configured");
    } else if (verify_against(a->client_ca, leaf, chain, out->x509_err, sizeof(out->x509_err)) ==
               0) {
        out->x509_ok = true;
    }
    if (a->requestheader_ca == NULL) {
        snprintf(out->frontproxy_err, sizeof(out->frontproxy_err), "no requestheader CA");
        return;
    }
    if (verify_against(a->requestheader_ca, leaf, chain, out->frontproxy_err,
                       sizeof(out->frontproxy_err)) != 0) {
        return;
    }
    /* requestheader's verifySubject: an empty allow list admits any CN. */
    for (i = 0; i < a->nallowed; i++) {
        if (strcmp(a->allowed[i], out->cn) == 0) {
            break;
        }
    }
    if (a->nallowed > 0 && i == a->nallowed) {
        snprintf(out->frontproxy_err, sizeof(out->frontproxy_err),
                 "x509: subject with cn=%.64s is not in the allowed list", out->cn);
        return;
    }
    out->frontproxy_ok = true;
}

/* --- per request --- */

static const char *
put(struct bn_sim_user *u, const char *s, size_t n)
{
    char *p;

    if (n >= sizeof(u->buf) - u->used) {
        return NULL;
    }
    p = u->buf + u->used;
    memcpy(p, s, n);
    p[n] = '\0';
    u->used += n + 1;
    return p;
}

static int
add_group(struct bn_sim_user *u, const char *g, size_t n)
{
    if (u->ngroups == BN_SIM_USER_MAX_GROUPS || (u->groups[u->ngroups] = put(u, g, n)) == NULL) {
        snprintf(u->err, sizeof(u->err), "too many or too long groups");
        return -1;
    }
    u->ngroups++;
    return 0;
}

static int
add_extra(struct bn_sim_user *u, const char *key, size_t klen, const char *v, size_t vlen)
{
    struct bn_sim_extra *e = &u->extra[u->nextra];

    if (u->nextra == BN_SIM_USER_MAX_EXTRA || (e->key = put(u, key, klen)) == NULL ||
        (e->value = put(u, v, vlen)) == NULL) {
        snprintf(u->err, sizeof(u->err), "too many or too long extra values");
        return -1;
    }
    u->nextra++;
    return 0;
}

static void
user_reset(struct bn_sim_user *u)
{
    u->method = BN_SIM_AUTHN_NONE;
    u->name = "";
    u->uid = "";
    u->ngroups = 0;
    u->nextra = 0;
    u->used = 0;
}

static int
set_name(struct bn_sim_user *u, const char *name, size_t n)
{
    if ((u->name = put(u, name, n)) == NULL) {
        snprintf(u->err, sizeof(u->err), "user name too long");
        u->name = "";
        return -1;
    }
    return 0;
}

static bool
name_is(const struct bn_sim_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* requestheader's unescapeExtraKey: lower-case, then url.PathUnescape; a key
 * that does not unescape stays as it was (lower-cased). */
static size_t
extra_key(const char *in, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    bool bad = false;

    if (n >= cap) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = in[i];

        if (c == '%') {
            int h = i + 2 < n ? hexval(in[i + 1]) : -1, l = i + 2 < n ? hexval(in[i + 2]) : -1;

            if (h < 0 || l < 0) {
                bad = true;
                break;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
    }
    if (bad) {
        for (o = 0; o < n; o++) {
            out[o] = (char)(in[o] >= 'A' && in[o] <= 'Z' ? in[o] - 'A' + 'a' : in[o]);
        }
    }
    out[o] = '\0';
    return o;
}

static enum outcome
try_requestheader(const struct bn_sim_auth *a, const struct bn_sim_peer *p,
                  const struct bn_sim_header *h, size_t n, struct bn_sim_user *u)
{
    size_t plen = strlen(a->extra_prefix), i;
    const struct bn_sim_header *user = NULL;

    if (!p->presented) {
        return OUT_DECLINED;
    }
    if (!p->frontproxy_ok) {
        snprintf(u->err, sizeof(u->err), "%s", p->frontproxy_err);
        return OUT_ERROR;
    }
    /* headerValue: http.Header.Get, the first value of the username header. */
    for (i = 0; i < n && user == NULL; i++) {
        if (name_is(&h[i], a->user_header)) {
            user = &h[i];
        }
    }
    if (user == NULL || user->value_len == 0) {
        return OUT_DECLINED; /* the chain continues, e.g. to the bearer token */
    }
    if (set_name(u, user->value, user->value_len) != 0) {
        return OUT_ERROR;
    }
    for (i = 0; i < n; i++) {
        if (name_is(&h[i], a->group_header) && h[i].value_len > 0) {
            /* every value of every group header; never comma-split */
            if (add_group(u, h[i].value, h[i].value_len) != 0) {
                return OUT_ERROR;
            }
        } else if (h[i].name_len > plen && strncasecmp(h[i].name, a->extra_prefix, plen) == 0) {
            char key[256];
            size_t klen = extra_key(h[i].name + plen, h[i].name_len - plen, key, sizeof(key));

            if (klen == 0 || add_extra(u, key, klen, h[i].value, h[i].value_len) != 0) {
                snprintf(u->err, sizeof(u->err), "too many or too long extra values");
                return OUT_ERROR;
            }
        }
    }
    u->method = BN_SIM_AUTHN_REQUESTHEADER;
    return OUT_OK;
}

static enum outcome
try_x509(const struct bn_sim_peer *p, struct bn_sim_user *u)
{
    char fp[80];
    size_t i;

    if (!p->presented) {
        return OUT_DECLINED;
    }
    if (!p->x509_ok) {
        snprintf(u->err, sizeof(u->err), "%s", p->x509_err);
        return OUT_ERROR;
    }
    if (p->cn[0] == '\0') {
        return OUT_DECLINED; /* CommonNameUserConversion: no CN, no user */
    }
    if (set_name(u, p->cn, strlen(p->cn)) != 0) {
        return OUT_ERROR;
    }
    for (i = 0; i < p->norgs; i++) {
        if (add_group(u, p->orgs[i], strlen(p->orgs[i])) != 0) {
            return OUT_ERROR;
        }
    }
    if (p->fingerprint[0] != '\0') {
        int n = snprintf(fp, sizeof(fp), "X509SHA256=%s", p->fingerprint);
        static const char key[] = "authentication.kubernetes.io/credential-id";

        if (add_extra(u, key, sizeof(key) - 1, fp, (size_t)n) != 0) {
            return OUT_ERROR;
        }
    }
    u->method = BN_SIM_AUTHN_X509;
    return OUT_OK;
}

static int
extra_if(struct bn_sim_user *u, const char *key, const char *v)
{
    return v[0] == '\0' ? 0 : add_extra(u, key, strlen(key), v, strlen(v));
}

/* serviceaccount.ServiceAccountInfo.UserInfo(). */
static int
token_user(const struct px_jwt_claims *c, struct bn_sim_user *u)
{
    char buf[2 * PX_JWT_FIELD + 32], jti[PX_JWT_FIELD + 8];
    int n = snprintf(buf, sizeof(buf), "system:serviceaccount:%s:%s", c->ns, c->sa_name);

    if (set_name(u, buf, (size_t)n) != 0 ||
        (u->uid = put(u, c->sa_uid, strlen(c->sa_uid))) == NULL) {
        u->uid = "";
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "system:serviceaccounts:%s", c->ns);
    if (add_group(u, "system:serviceaccounts", 22) != 0 || add_group(u, buf, (size_t)n) != 0) {
        return -1;
    }
    snprintf(jti, sizeof(jti), "JTI=%s", c->jti);
    if (extra_if(u, "authentication.kubernetes.io/pod-name", c->pod_name) != 0 ||
        extra_if(u, "authentication.kubernetes.io/pod-uid", c->pod_uid) != 0 ||
        extra_if(u, "authentication.kubernetes.io/node-name", c->node_name) != 0 ||
        extra_if(u, "authentication.kubernetes.io/node-uid", c->node_uid) != 0 ||
        extra_if(u, "authentication.kubernetes.io/credential-id", c->jti[0] != '\0' ? jti : "") !=
            0) {
        return -1;
    }
    return 0;
}

static enum outcome
try_token(const struct bn_sim_auth *a, const struct bn_sim_header *h, size_t n, int64_t now_s,
          struct bn_sim_user *u)
{
    const struct bn_sim_header *auth = NULL;
    struct px_jwt_claims *c;
    const char *v, *end, *tok;
    size_t i, toklen;
    int rc;

    for (i = 0; i < n && auth == NULL; i++) {
        if (name_is(&h[i], "Authorization")) {
            auth = &h[i];
        }
    }
    if (auth == NULL) {
        return OUT_DECLINED;
    }
    /* bearertoken.go: TrimSpace, SplitN(" ", 3), "bearer" any case, the
     * second field is the token; anything else is not a bearer token. */
    v = auth->value;
    end = v + auth->value_len;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    if (end - v < 7 || strncasecmp(v, "bearer ", 7) != 0) {
        return OUT_DECLINED;
    }
    tok = v + 7;
    for (toklen = 0; tok + toklen < end && tok[toklen] != ' '; toklen++) {
    }
    while (toklen > 0 && (tok[toklen - 1] == '\t' || tok[toklen - 1] == '\r')) {
        toklen--;
    }
    if (toklen == 0) {
        return OUT_DECLINED;
    }
    if (a->jwt == NULL) {
        snprintf(u->err, sizeof(u->err), "invalid bearer token");
        return OUT_ERROR;
    }
    c = malloc(sizeof(*c));
    if (c == NULL) {
        snprintf(u->err, sizeof(u->err), "out of memory");
        return OUT_ERROR;
    }
    rc = px_jwt_verify(a->jwt, tok, toklen, now_s, c, u->err, sizeof(u->err));
    if (rc == PX_JWT_OK && token_user(c, u) == 0) {
        u->method = BN_SIM_AUTHN_TOKEN;
    }
    free(c);
    return u->method == BN_SIM_AUTHN_TOKEN ? OUT_OK : OUT_ERROR;
}

/* AuthenticatedGroupAdder: unless already there (or unauthenticated). */
static int
add_authenticated(struct bn_sim_user *u)
{
    size_t i;

    for (i = 0; i < u->ngroups; i++) {
        if (strcmp(u->groups[i], "system:authenticated") == 0 ||
            strcmp(u->groups[i], "system:unauthenticated") == 0) {
            return 0;
        }
    }
    return add_group(u, "system:authenticated", 20);
}

int
bn_sim_auth_request(const struct bn_sim_auth *a, const struct bn_sim_peer *peer,
                    const struct bn_sim_header *headers, size_t n, int64_t now_s,
                    struct bn_sim_user *u)
{
    char first_err[sizeof(u->err)] = "";
    enum outcome o;
    int step;

    u->err[0] = '\0';
    for (step = 0; step < 3; step++) {
        user_reset(u);
        o = step == 0   ? try_requestheader(a, peer, headers, n, u)
            : step == 1 ? try_x509(peer, u)
                        : try_token(a, headers, n, now_s, u);
        if (o == OUT_OK) {
            if (add_authenticated(u) != 0) {
                break;
            }
            u->err[0] = '\0';
            return 0;
        }
        if (o == OUT_ERROR && first_err[0] == '\0') {
            snprintf(first_err, sizeof(first_err), "%s", u->err);
        }
    }
    user_reset(u);
    if (first_err[0] == '\0' && step == 3 && a->anonymous) {
        u->name = "system:anonymous";
        u->groups[0] = "system:unauthenticated";
        u->ngroups = 1;
        u->method = BN_SIM_AUTHN_ANONYMOUS;
        return 0;
    }
    snprintf(u->err, sizeof(u->err), "%s",
             first_err[0] != '\0' ? first_err : (u->err[0] != '\0' ? u->err : "no credentials"));
    return -1;
}
