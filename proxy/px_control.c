/* Operator controls: see px_control.h. Bodies are read strictly (unknown
 * or duplicate keys are errors) because a typo in the middle of an
 * incident must not silently do nothing. */
#include "px_control.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cf.h"
#include "lim.h"
#include "px_err.h"
#include "px_log.h"
#include "px_state.h"

static const char *const mode_names[LIM_MODE_COUNT] = {"enforce", "dry-run", "exempt"};

void
px_control_record(struct px_state *st, int action, const char *peer, const char *detail)
{
    if (action >= 0 && action < PX_CTL_COUNT) {
        atomic_fetch_add(&st->controls[action], 1);
    }
    px_log_event(
        st->log, PX_LOG_WARN, "admin control",
        (struct px_log_field[]){{"action", px_ctl_action_name((enum px_ctl_action)action), 0},
                                {"peer", peer, 0},
                                {"detail", detail, 0}},
        3);
}

/* The body as a JSON object whose keys are all in <keys>. */
static json_t *
parse_body(const char *body, size_t len, const char *const *keys, size_t nkeys, char *err,
           size_t errlen)
{
    json_error_t je;
    json_t *root;
    const char *k;
    json_t *v;

    if (len == 0) {
        px_errf(err, errlen, "body: expected a JSON object, got nothing");
        return NULL;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        px_errf(err, errlen, "body: invalid JSON at %d:%d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        px_errf(err, errlen, "body: expected a JSON object");
        json_decref(root);
        return NULL;
    }
    json_object_foreach(root, k, v)
    {
        size_t i;

        for (i = 0; i < nkeys && strcmp(k, keys[i]) != 0; i++) {
        }
        if (i == nkeys) {
            px_errf(err, errlen, "%s: unknown field", k);
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

/* How a bad value reads in a message. */
static void
got(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "\"%.60s\"", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v)) {
        snprintf(buf, len, "null");
    } else {
        snprintf(buf, len, "%s", json_is_array(v) ? "an array" : "an object");
    }
}

static int
read_scale(const json_t *v, uint32_t *pct, char *err, size_t errlen)
{
    char g[80];
    uint32_t p = 0;
    bool ok;

    if (json_is_integer(v)) {
        ok = json_integer_value(v) >= 1 && json_integer_value(v) <= 100;
        p = ok ? (uint32_t)json_integer_value(v) : 0;
    } else {
        ok = json_is_string(v) && cf_parse_pct(json_string_value(v), &p) == 0 && p >= 1 && p <= 100;
    }
    if (!ok) {
        got(v, g, sizeof(g));
        px_errf(err, errlen, "scale: expected a percentage 1..100 (\"50%%\" or 50), got %s", g);
        return -1;
    }
    *pct = p;
    return 0;
}

int
px_control_shed(struct px_state *st, const char *peer, const char *body, size_t len,
                json_t **answer, char *err, size_t errlen)
{
    static const char *const keys[] = {"scale", "reject_list_watch"};
    json_t *root = parse_body(body, len, keys, 2, err, errlen), *v;
    uint32_t scale = 100, was_scale;
    bool lw = false, was_lw;
    char detail[96];

    if (root == NULL) {
        return 400;
    }
    if ((v = json_object_get(root, "scale")) != NULL && read_scale(v, &scale, err, errlen) != 0) {
        json_decref(root);
        return 400;
    }
    if ((v = json_object_get(root, "reject_list_watch")) != NULL) {
        char g[80];

        if (!json_is_boolean(v)) {
            got(v, g, sizeof(g));
            px_errf(err, errlen, "reject_list_watch: expected true or false, got %s", g);
            json_decref(root);
            return 400;
        }
        lw = json_is_true(v);
    }
    json_decref(root);
    lim_get_shed(st->lim, &was_scale, &was_lw);
    lim_set_shed(st->lim, scale, lw);
    snprintf(detail, sizeof(detail), "scale %u%% (was %u%%), reject LIST/watch %s (was %s)",
             (unsigned)scale, (unsigned)was_scale, lw ? "on" : "off", was_lw ? "on" : "off");
    px_control_record(st, PX_CTL_SHED, peer, detail);
    *answer = json_pack("{s:s, s:i, s:b, s:{s:i, s:b}}", "action", "shed", "scale_pct",
                        (json_int_t)scale, "reject_list_watch", lw, "previous", "scale_pct",
                        (json_int_t)was_scale, "reject_list_watch", was_lw);
    return 200;
}

int
px_control_mode(struct px_state *st, const char *peer, const char *class_name, const char *body,
                size_t len, json_t **answer, char *err, size_t errlen)
{
    static const char *const keys[] = {"mode"};
    json_t *root = parse_body(body, len, keys, 1, err, errlen), *v;
    struct cf_config *cf;
    const char *s;
    enum lim_mode was, now;
    int mode = -2, ci, i;
    char detail[160];

    if (root == NULL) {
        return 400;
    }
    v = json_object_get(root, "mode");
    s = json_string_value(v);
    for (i = 0; s != NULL && i < LIM_MODE_COUNT; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            mode = i;
        }
    }
    if (s != NULL && strcmp(s, "policy") == 0) {
        mode = -1;
    }
    if (mode == -2) {
        char g[80] = "nothing";

        if (v != NULL) {
            got(v, g, sizeof(g));
        }
        px_errf(err, errlen,
                "mode: expected \"enforce\", \"dry-run\", \"exempt\" or \"policy\", got %s", g);
        json_decref(root);
        return 400;
    }
    json_decref(root);
    cf = px_state_config(st);
    ci = lim_policy_class_index(cf->policy, class_name);
    if (ci < 0) {
        px_errf(err, errlen, "class \"%.64s\" is not in the running policy", class_name);
        cf_unref(cf);
        return 404;
    }
    was = lim_class_mode(st->lim, cf->policy, (size_t)ci);
    if (lim_set_class_mode(st->lim, class_name, mode) != 0) {
        px_errf(err, errlen, "class \"%.64s\" is not known to the limiter", class_name);
        cf_unref(cf);
        return 404;
    }
    now = lim_class_mode(st->lim, cf->policy, (size_t)ci);
    snprintf(detail, sizeof(detail), "class %s: %s (was %s)%s", class_name, mode_names[now],
             mode_names[was], mode == -1 ? ", as the policy says" : "");
    px_control_record(st, PX_CTL_MODE, peer, detail);
    *answer = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "action", "mode", "class", class_name,
                        "mode", mode_names[now], "previous", mode_names[was], "policy_mode",
                        mode_names[lim_policy_class(cf->policy, (size_t)ci)->mode], "overridden",
                        mode != -1);
    cf_unref(cf);
    return 200;
}

static void
rfc3339(int64_t wall_s, char *buf, size_t len)
{
    time_t t = (time_t)wall_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
px_control_override(struct px_state *st, const char *peer, bool allow, const char *body, size_t len,
                    uint64_t now_ns, int64_t now_wall_s, json_t **answer, char *err, size_t errlen)
{
    static const char *const keys[] = {"user", "ttl"};
    json_t *root = parse_body(body, len, keys, 2, err, errlen), *v;
    const char *user, *action = allow ? "allow" : "block";
    char ttl_text[32], until[32], detail[PX_USER_MAX + 96], g[80];
    uint64_t ttl = 0;
    int64_t until_wall;

    if (root == NULL) {
        return 400;
    }
    v = json_object_get(root, "user");
    user = json_string_value(v);
    if (user == NULL || user[0] == '\0' || strlen(user) >= PX_USER_MAX) {
        snprintf(g, sizeof(g), "nothing");
        if (v != NULL) {
            got(v, g, sizeof(g));
        }
        px_errf(err, errlen, "user: expected a user name of 1..%d bytes, got %s", PX_USER_MAX - 1,
                g);
        json_decref(root);
        return 400;
    }
    v = json_object_get(root, "ttl");
    if (!json_is_string(v) || cf_parse_duration(json_string_value(v), &ttl) != 0 ||
        ttl < 1000000ull || ttl > PX_TTL_MAX_NS) {
        snprintf(g, sizeof(g), "nothing");
        if (v != NULL) {
            got(v, g, sizeof(g));
        }
        px_errf(err, errlen, "ttl: expected a duration from \"1ms\" to \"168h\" (\"10m\"), got %s",
                g);
        json_decref(root);
        return 400;
    }
    until_wall = now_wall_s + (int64_t)((ttl + 999999999ull) / 1000000000ull);
    if ((allow ? lim_allow(st->lim, user, now_ns + ttl) : lim_block(st->lim, user, now_ns + ttl)) !=
            0 ||
        px_state_override_set(st, user, allow, now_ns + ttl, until_wall) != 0) {
        px_errf(err, errlen, "the override table is full (%d users): unblock someone first",
                PX_OVERRIDES_MAX);
        json_decref(root);
        return 503;
    }
    cf_fmt_duration(ttl, ttl_text, sizeof(ttl_text));
    rfc3339(until_wall, until, sizeof(until));
    snprintf(detail, sizeof(detail), "%s %s for %s (until %s)", action, user, ttl_text, until);
    px_control_record(st, allow ? PX_CTL_ALLOW : PX_CTL_BLOCK, peer, detail);
    *answer = json_pack("{s:s, s:s, s:s, s:f, s:s}", "action", action, "user", user, "ttl",
                        ttl_text, "ttl_seconds", (double)ttl / 1e9, "expires_at", until);
    json_decref(root);
    return 200;
}

int
px_control_unblock(struct px_state *st, const char *peer, const char *user, json_t **answer,
                   char *err, size_t errlen)
{
    char detail[PX_USER_MAX + 32];
    int had_lim, had_st;

    if (user == NULL || user[0] == '\0' || strlen(user) >= PX_USER_MAX) {
        px_errf(err, errlen, "user: expected a user name of 1..%d bytes", PX_USER_MAX - 1);
        return 400;
    }
    had_lim = lim_unblock(st->lim, user);
    had_st = px_state_override_remove(st, user);
    if (had_lim != 0 && had_st != 0) {
        px_errf(err, errlen, "no block or allow for user \"%.200s\"", user);
        return 404;
    }
    snprintf(detail, sizeof(detail), "unblock %s", user);
    px_control_record(st, PX_CTL_UNBLOCK, peer, detail);
    *answer = json_pack("{s:s, s:s}", "action", "unblock", "user", user);
    return 200;
}
