/* Identities as kube-apiserver's authenticators produce them: see
 * lim_identity.h. */
#include "lim_identity.h"

#include <stdio.h>
#include <string.h>

#define SA_PREFIX   "system:serviceaccount:"
#define NODE_PREFIX "system:node:"

struct idbuf {
    struct lim_identity *id;
    size_t used;
    int overflow;
};

static const char *
keep(struct idbuf *b, const char *s, size_t n)
{
    char *dst;

    if (b->overflow || n >= sizeof(b->id->buf) - b->used) {
        b->overflow = 1;
        return "";
    }
    dst = b->id->buf + b->used;
    memcpy(dst, s, n);
    dst[n] = '\0';
    b->used += n + 1;
    return dst;
}

static void
reset(struct lim_identity *id, enum lim_cred cred)
{
    id->cred = cred;
    id->user = "";
    id->ngroups = 0;
    id->node = "";
    id->sa_namespace = "";
    id->sa_name = "";
    id->match_gen = 0;
    id->match_mask = 0;
    id->user_len = id->node_len = 0;
    id->key_tag = 0;
}

/* Once per identity, so that no decision measures them. */
static void
measure(struct lim_identity *id)
{
    id->user_len = strlen(id->user);
    id->node_len = strlen(id->node);
}

static int
add_group(struct lim_identity *id, struct idbuf *b, const char *g, size_t n)
{
    unsigned i;

    for (i = 0; i < id->ngroups; i++) {
        if (strlen(id->groups[i]) == n && memcmp(id->groups[i], g, n) == 0) {
            return 0; /* kube keeps duplicates harmlessly; matching needs one */
        }
    }
    if (id->ngroups == LIM_ID_MAX_GROUPS) {
        return -1;
    }
    id->groups[id->ngroups++] = keep(b, g, n);
    return 0;
}

int
lim_identity_set(struct lim_identity *id, enum lim_cred cred, const char *user,
                 const char *const *groups, size_t ngroups, const char *node_claim, char *err,
                 size_t errlen)
{
    struct idbuf b = {id, 0, 0};
    size_t i, ulen = strlen(user);

    reset(id, cred);
    if (cred != LIM_CRED_CERT && cred != LIM_CRED_TOKEN) {
        snprintf(err, errlen, "identity: credential kind %d is not an authenticated one",
                 (int)cred);
        return -1;
    }
    if (ulen == 0) {
        snprintf(err, errlen, "identity: empty user name");
        return -1;
    }
    id->user = keep(&b, user, ulen);
    for (i = 0; i < ngroups; i++) {
        if (add_group(id, &b, groups[i], strlen(groups[i])) != 0) {
            snprintf(err, errlen, "identity %s: more than %d groups", user, LIM_ID_MAX_GROUPS);
            return -1;
        }
    }
    if (cred == LIM_CRED_TOKEN && strncmp(user, SA_PREFIX, sizeof(SA_PREFIX) - 1) == 0) {
        /* pkg/authentication/serviceaccount/util.go: NS:NAME, both non-empty. */
        const char *ns = user + sizeof(SA_PREFIX) - 1;
        const char *colon = strchr(ns, ':');
        char g[300];

        if (colon != NULL && colon > ns && colon[1] != '\0' && strchr(colon + 1, ':') == NULL) {
            id->sa_namespace = keep(&b, ns, (size_t)(colon - ns));
            id->sa_name = keep(&b, colon + 1, strlen(colon + 1));
            snprintf(g, sizeof(g), "system:serviceaccounts:%s", id->sa_namespace);
            if (add_group(id, &b, "system:serviceaccounts", 22) != 0 ||
                add_group(id, &b, g, strlen(g)) != 0) {
                snprintf(err, errlen, "identity %s: more than %d groups", user, LIM_ID_MAX_GROUPS);
                return -1;
            }
        }
    }
    if (strncmp(user, NODE_PREFIX, sizeof(NODE_PREFIX) - 1) == 0 &&
        user[sizeof(NODE_PREFIX) - 1] != '\0') {
        const char *n = user + sizeof(NODE_PREFIX) - 1;

        id->node = keep(&b, n, strlen(n));
    }
    if (node_claim != NULL && node_claim[0] != '\0') {
        id->node = keep(&b, node_claim, strlen(node_claim));
    }
    if (add_group(id, &b, "system:authenticated", 20) != 0) {
        snprintf(err, errlen, "identity %s: more than %d groups", user, LIM_ID_MAX_GROUPS);
        return -1;
    }
    if (b.overflow) {
        snprintf(err, errlen, "identity %.64s...: names longer than %d bytes in all", user,
                 LIM_ID_BUF);
        return -1;
    }
    measure(id);
    return 0;
}

void
lim_identity_anonymous(struct lim_identity *id)
{
    reset(id, LIM_CRED_ANONYMOUS);
    id->user = "system:anonymous";
    id->groups[0] = "system:unauthenticated";
    id->ngroups = 1;
    measure(id);
}

void
lim_identity_unverified(struct lim_identity *id, const uint8_t digest[32])
{
    static const char hex[] = "0123456789abcdef";
    char *p = id->buf;
    size_t i;

    reset(id, LIM_CRED_UNVERIFIED);
    memcpy(p, "floodgate:unverified:", 21);
    p += 21;
    for (i = 0; i < 16; i++) {
        *p++ = hex[digest[i] >> 4];
        *p++ = hex[digest[i] & 15];
    }
    *p = '\0';
    id->user = id->buf;
    id->groups[0] = "system:unauthenticated";
    id->ngroups = 1;
    measure(id);
}

const char *
lim_cred_name(enum lim_cred c)
{
    static const char *const names[LIM_CRED_COUNT] = {"anonymous", "certificate", "token",
                                                      "unverified"};

    return (unsigned)c < LIM_CRED_COUNT ? names[c] : "unknown";
}
