/* Process-wide state: see px_state.h. */
#include "px_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "px_clock.h"
#include "px_creds.h"
#include "px_err.h"

static const char *const action_names[PX_CTL_COUNT] = {"shed",  "mode",    "block",
                                                       "allow", "unblock", "reload"};

const char *
px_ctl_action_name(enum px_ctl_action a)
{
    return (unsigned)a < PX_CTL_COUNT ? action_names[a] : "";
}

struct px_state *
px_state_new(struct lim *lim, struct px_log *log, struct cf_config *cf, struct px_creds *creds)
{
    struct px_state *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return NULL;
    }
    if (pthread_mutex_init(&st->reload_lock, NULL) != 0) {
        pthread_mutex_destroy(&st->lock);
        free(st);
        return NULL;
    }
    st->lim = lim;
    st->log = log;
    st->cf = cf_ref(cf);
    st->creds = px_creds_ref(creds);
    st->start_wall_s = px_wall_s();
    st->reload_wall_s = st->start_wall_s;
    atomic_init(&st->upstream_up, -1);
    return st;
}

void
px_state_free(struct px_state *st)
{
    if (st == NULL) {
        return;
    }
    cf_unref(st->cf);
    px_creds_unref(st->creds);
    OPENSSL_cleanse(st->token_sha256, sizeof(st->token_sha256));
    pthread_mutex_destroy(&st->reload_lock);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

struct cf_config *
px_state_config(struct px_state *st)
{
    struct cf_config *cf;

    pthread_mutex_lock(&st->lock);
    cf = cf_ref(st->cf);
    pthread_mutex_unlock(&st->lock);
    return cf;
}

struct px_creds *
px_state_creds(struct px_state *st)
{
    struct px_creds *c;

    pthread_mutex_lock(&st->lock);
    c = px_creds_ref(st->creds);
    pthread_mutex_unlock(&st->lock);
    return c;
}

void
px_state_publish(struct px_state *st, struct cf_config *cf, struct px_creds *creds)
{
    struct cf_config *old_cf;
    struct px_creds *old_creds;

    pthread_mutex_lock(&st->lock);
    old_cf = st->cf;
    old_creds = st->creds;
    st->cf = cf_ref(cf);
    st->creds = px_creds_ref(creds);
    st->reload_wall_s = px_wall_s();
    pthread_mutex_unlock(&st->lock);
    cf_unref(old_cf);
    px_creds_unref(old_creds);
}

int
px_state_load_token(struct px_state *st, const char *path, char *err, size_t errlen)
{
    char buf[PX_TOKEN_MAX + 2];
    uint8_t h[32];
    size_t n;
    FILE *f;

    if (path == NULL || path[0] == '\0') {
        pthread_mutex_lock(&st->lock);
        st->token_set = false;
        pthread_mutex_unlock(&st->lock);
        return 0;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        px_errf(err, errlen, "admin.token_file: %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    if (n > PX_TOKEN_MAX) {
        px_errf(err, errlen, "admin.token_file: %s: longer than %d bytes", path, PX_TOKEN_MAX);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    /* `echo TOKEN > file` leaves a newline that nobody types in a header. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        n--;
    }
    if (n == 0) {
        px_errf(err, errlen, "admin.token_file: %s: empty", path);
        return -1;
    }
    SHA256((const unsigned char *)buf, n, h);
    OPENSSL_cleanse(buf, sizeof(buf));
    pthread_mutex_lock(&st->lock);
    memcpy(st->token_sha256, h, sizeof(h));
    st->token_set = true;
    pthread_mutex_unlock(&st->lock);
    OPENSSL_cleanse(h, sizeof(h));
    return 0;
}

bool
px_state_authorized(struct px_state *st, const char *authz)
{
    uint8_t want[32], got[32];
    bool set, ok;

    pthread_mutex_lock(&st->lock);
    set = st->token_set;
    memcpy(want, st->token_sha256, sizeof(want));
    pthread_mutex_unlock(&st->lock);
    if (!set) {
        return true;
    }
    if (authz == NULL || strncmp(authz, "Bearer ", 7) != 0) {
        return false;
    }
    /* Hashes first: the comparison then takes the same time whatever the
     * length or the prefix the client got right. */
    SHA256((const unsigned char *)authz + 7, strlen(authz + 7), got);
    ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}

static void
drop_expired(struct px_state *st, uint64_t now_ns)
{
    size_t i = 0;

    while (i < st->nov) {
        if (st->ov[i].until_ns <= now_ns) {
            st->ov[i] = st->ov[--st->nov];
        } else {
            i++;
        }
    }
}

int
px_state_override_set(struct px_state *st, const char *user, bool allow, uint64_t until_ns,
                      int64_t until_wall_s)
{
    size_t i;
    int rc = 0;

    pthread_mutex_lock(&st->lock);
    drop_expired(st, px_now_ns());
    for (i = 0; i < st->nov && strcmp(st->ov[i].user, user) != 0; i++) {
    }
    if (i == st->nov) {
        if (st->nov == PX_OVERRIDES_MAX) {
            rc = -1;
        } else {
            st->nov++;
        }
    }
    if (rc == 0) {
        snprintf(st->ov[i].user, sizeof(st->ov[i].user), "%s", user);
        st->ov[i].allow = allow;
        st->ov[i].until_ns = until_ns;
        st->ov[i].until_wall_s = until_wall_s;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int
px_state_override_remove(struct px_state *st, const char *user)
{
    size_t i;
    int rc = -1;

    pthread_mutex_lock(&st->lock);
    for (i = 0; i < st->nov; i++) {
        if (strcmp(st->ov[i].user, user) == 0) {
            st->ov[i] = st->ov[--st->nov];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

size_t
px_state_overrides(struct px_state *st, uint64_t now_ns, struct px_override *out, size_t n)
{
    size_t i, k = 0;

    pthread_mutex_lock(&st->lock);
    for (i = 0; i < st->nov && k < n; i++) {
        if (st->ov[i].until_ns > now_ns) {
            out[k++] = st->ov[i];
        }
    }
    pthread_mutex_unlock(&st->lock);
    return k;
}
