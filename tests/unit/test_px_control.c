/* The admin controls read their bodies strictly and do what they say:
 * every malformed body is a 400 that names the field; shed, mode, block,
 * allow and unblock change the limiter's decisions (block and allow until
 * their TTL on the decision clock), each is counted and logged with the
 * peer that asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf.h"
#include "cf_test_pki.h"
#include "lim.h"
#include "px_control.h"
#include "px_log.h"
#include "px_state.h"

#define S 1000000000ull

#define CONFIG                                                                                     \
    "{\"listen\":{\"cert\":\"${CFT}/srv.crt\",\"key\":\"${CFT}/srv.key\","                         \
    "\"client_ca\":\"${CFT}/ca.crt\"},"                                                            \
    "\"upstream\":{\"server\":\"127.0.0.1:6444\",\"ca\":\"${CFT}/ca.crt\"},"                       \
    "\"limits\":{\"classes\":[{\"name\":\"exempt\",\"mode\":\"exempt\"},"                          \
    "{\"name\":\"users\",\"rate\":\"1/m\",\"burst\":1}],"                                          \
    "\"rules\":[{\"class\":\"exempt\",\"groups\":[\"system:masters\"]},{\"class\":\"users\"}]}}"

struct fixture {
    struct cf_config *cf;
    struct lim *lim;
    struct px_log *log;
    struct px_state *st;
    char log_path[600];
    int log_fd;
};

static struct fixture fx;

static int
setup(void **state)
{
    char err[CF_ERRLEN];

    (void)state;
    if (cf_test_pki_make() != 0) {
        return -1;
    }
    setenv("CFT", cf_test_dir, 1);
    if (cf_load_string(CONFIG, "t.json", &fx.cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(fx.log_path, sizeof(fx.log_path), "%s/control.log", cf_test_dir);
    fx.log_fd = open(fx.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fx.log = px_log_new(fx.log_fd, PX_LOG_INFO, PX_LOG_TEXT);
    fx.lim = lim_new(1000, 42, err, sizeof(err));
    if (fx.lim == NULL || lim_bind(fx.lim, fx.cf->policy, err, sizeof(err)) != 0) {
        return -1;
    }
    fx.st = px_state_new(fx.lim, fx.log, fx.cf, NULL);
    return fx.st != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    px_state_free(fx.st);
    lim_free(fx.lim);
    px_log_free(fx.log);
    close(fx.log_fd);
    unlink(fx.log_path);
    cf_unref(fx.cf);
    cf_test_pki_remove();
    return 0;
}

/* What a request of <user> to GET /api/v1/namespaces/default gets at
 * <now_ns>; its ticket is released at once. */
static struct lim_decision
decide(const char *user, uint64_t now_ns)
{
    struct lim_identity id;
    struct lim_request r;
    struct lim_decision d;
    static const char target[] = "/api/v1/namespaces/default";
    char err[128];

    assert_int_equal(lim_identity_set(&id, LIM_CRED_CERT, user, NULL, 0, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(lim_request_parse(&r, "GET", 3, target, sizeof(target) - 1, err, sizeof(err)),
                     0);
    lim_decide(fx.lim, fx.cf->policy, &id, &r, now_ns, 7, &d);
    lim_release(fx.lim, &d.ticket, 200, 100, 1000, now_ns);
    return d;
}

struct body_case {
    const char *body;
    int status;
    const char *says; /* a part of the error, or of the answer */
};

static void
test_shed_bodies_are_read_strictly(void **state)
{
    static const struct body_case cases[] = {
        {"{\"scale\": \"50%\"}", 200, "\"scale_pct\": 50"},
        {"{\"scale\": 25, \"reject_list_watch\": true}", 200, "\"reject_list_watch\": true"},
        {"{\"scale\": \"7\"}", 200, "\"scale_pct\": 7"},
        {"{}", 200, "\"scale_pct\": 100"},
        {"{\"scale\": 0}", 400, "scale: expected a percentage 1..100 (\"50%\" or 50), got 0"},
        {"{\"scale\": \"101%\"}", 400,
         "scale: expected a percentage 1..100 (\"50%\" or 50), got "
         "\"101%\""},
        {"{\"scale\": \"half\"}", 400, "got \"half\""},
        {"{\"scale\": 50.5}", 400, "got 50.5"},
        {"{\"scale\": null}", 400, "got null"},
        {"{\"reject_list_watch\": \"yes\"}", 400,
         "reject_list_watch: expected true or false, got \"yes\""},
        {"{\"sclae\": 50}", 400, "sclae: unknown field"},
        {"", 400, "body: expected a JSON object, got nothing"},
        {"[50]", 400, "body: expected a JSON object"},
        {"{\"scale\": ", 400, "body: invalid JSON"},
        {"{\"scale\": 1, \"scale\": 2}", 400, "body: invalid JSON"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *answer = NULL;
        char err[512] = "", *text;
        int code = px_control_shed(fx.st, "test", cases[i].body, strlen(cases[i].body), &answer,
                                   err, sizeof(err));

        if (code != cases[i].status) {
            fail_msg("%s: %d, want %d (%s)", cases[i].body, code, cases[i].status, err);
        }
        if (code == 200) {
            text = json_dumps(answer, JSON_INDENT(1));
            if (strstr(text, cases[i].says) == NULL) {
                fail_msg("%s: answer %s lacks %s", cases[i].body, text, cases[i].says);
            }
            free(text);
            json_decref(answer);
        } else if (strstr(err, cases[i].says) == NULL) {
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].body, err, cases[i].says);
        }
    }
}

static void
test_shed_sets_the_limiter_and_scale_100_restores(void **state)
{
    json_t *answer = NULL;
    char err[512];
    uint32_t scale;
    bool lw;
    const char *on = "{\"scale\": 30, \"reject_list_watch\": true}", *off = "{\"scale\": 100}";

    (void)state;
    assert_int_equal(px_control_shed(fx.st, "p", on, strlen(on), &answer, err, sizeof(err)), 200);
    json_decref(answer);
    lim_get_shed(fx.lim, &scale, &lw);
    assert_int_equal(scale, 30);
    assert_true(lw);
    assert_int_equal(px_control_shed(fx.st, "p", off, strlen(off), &answer, err, sizeof(err)), 200);
    json_decref(answer);
    lim_get_shed(fx.lim, &scale, &lw);
    assert_int_equal(scale, 100);
    assert_false(lw);
}

static void
test_mode_switches_a_class_and_policy_restores_it(void **state)
{
    json_t *answer = NULL;
    char err[512];
    size_t users = (size_t)lim_policy_class_index(fx.cf->policy, "users");
    uint64_t t = 1000 * S;

    (void)state;
    assert_int_equal(decide("bob", t).verdict, LIM_ADMIT);
    assert_int_equal(decide("bob", t).verdict, LIM_REJECT);
    assert_int_equal(px_control_mode(fx.st, "p", "users", "{\"mode\": \"dry-run\"}", 19, &answer,
                                     err, sizeof(err)),
                     200);
    json_decref(answer);
    assert_int_equal(lim_class_mode(fx.lim, fx.cf->policy, users), LIM_MODE_DRY_RUN);
    {
        struct lim_decision d = decide("bob", t);

        assert_int_equal(d.verdict, LIM_ADMIT);
        assert_true(d.dry_run);
        assert_int_equal(d.reason, LIM_REASON_RATE);
    }
    assert_int_equal(px_control_mode(fx.st, "p", "users", "{\"mode\": \"policy\"}", 18, &answer,
                                     err, sizeof(err)),
                     200);
    json_decref(answer);
    assert_int_equal(lim_class_mode(fx.lim, fx.cf->policy, users), LIM_MODE_ENFORCE);
    assert_int_equal(decide("bob", t).verdict, LIM_REJECT);
    assert_int_equal(px_control_mode(fx.st, "p", "nobody", "{\"mode\": \"exempt\"}", 18, &answer,
                                     err, sizeof(err)),
                     404);
    assert_string_equal(err, "class \"nobody\" is not in the running policy");
    assert_int_equal(
        px_control_mode(fx.st, "p", "users", "{\"mode\": 1}", 11, &answer, err, sizeof(err)), 400);
    assert_string_equal(err,
                        "mode: expected \"enforce\", \"dry-run\", \"exempt\" or \"policy\", got 1");
    assert_int_equal(px_control_mode(fx.st, "p", "users", "{}", 2, &answer, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "got nothing"));
}

static void
test_block_holds_until_its_ttl_on_the_decision_clock(void **state)
{
    json_t *answer = NULL;
    char err[512];
    struct px_override ov[4];
    uint64_t t = 2000 * S;
    const char *body = "{\"user\": \"carol\", \"ttl\": \"10s\"}";

    (void)state;
    assert_int_equal(px_control_override(fx.st, "p", false, body, strlen(body), t, 1700000000,
                                         &answer, err, sizeof(err)),
                     200);
    assert_string_equal(json_string_value(json_object_get(answer, "expires_at")),
                        "2023-11-14T22:13:30Z");
    json_decref(answer);
    assert_int_equal(decide("carol", t + 1 * S).reason, LIM_REASON_BLOCKED);
    assert_int_equal(decide("carol", t + 9 * S).verdict, LIM_REJECT);
    assert_int_equal(px_state_overrides(fx.st, t + 9 * S, ov, 4), 1);
    assert_string_equal(ov[0].user, "carol");
    assert_false(ov[0].allow);
    assert_int_equal(decide("carol", t + 10 * S + 1).verdict, LIM_ADMIT);
    assert_int_equal(px_state_overrides(fx.st, t + 10 * S + 1, ov, 4), 0);
}

static void
test_allow_exempts_until_its_ttl_and_unblock_lifts_it(void **state)
{
    json_t *answer = NULL;
    char err[512];
    uint64_t t = 3000 * S;
    const char *body = "{\"user\": \"dave\", \"ttl\": \"1m\"}";

    (void)state;
    assert_int_equal(decide("dave", t).verdict, LIM_ADMIT);
    assert_int_equal(decide("dave", t).verdict, LIM_REJECT);
    assert_int_equal(
        px_control_override(fx.st, "p", true, body, strlen(body), t, 0, &answer, err, sizeof(err)),
        200);
    json_decref(answer);
    assert_true(decide("dave", t + 1).exempt);
    assert_true(decide("dave", t + 20 * S).exempt);
    assert_int_equal(px_control_unblock(fx.st, "p", "dave", &answer, err, sizeof(err)), 200);
    json_decref(answer);
    /* Back under its budget: "1/m" refills one token in about 59 s. */
    assert_int_equal(decide("dave", t + 20 * S).verdict, LIM_REJECT);
    assert_int_equal(px_control_unblock(fx.st, "p", "dave", &answer, err, sizeof(err)), 404);
    assert_string_equal(err, "no block or allow for user \"dave\"");
}

static void
test_override_bodies_name_the_field(void **state)
{
    static const struct body_case cases[] = {
        {"{\"user\": \"x\"}", 400, "ttl: expected a duration from \"1ms\" to \"168h\""},
        {"{\"user\": \"x\", \"ttl\": \"0s\"}", 400, "got \"0s\""},
        {"{\"user\": \"x\", \"ttl\": \"169h\"}", 400, "got \"169h\""},
        {"{\"user\": \"x\", \"ttl\": 600}", 400, "got 600"},
        {"{\"user\": \"\", \"ttl\": \"1m\"}", 400, "user: expected a user name of 1..255 bytes"},
        {"{\"user\": 7, \"ttl\": \"1m\"}", 400, "got 7"},
        {"{\"ttl\": \"1m\"}", 400, "user: expected a user name of 1..255 bytes, got nothing"},
        {"{\"user\": \"x\", \"ttl\": \"1m\", \"why\": \"storm\"}", 400, "why: unknown field"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *answer = NULL;
        char err[512] = "";
        int code = px_control_override(fx.st, "p", false, cases[i].body, strlen(cases[i].body), S,
                                       0, &answer, err, sizeof(err));

        json_decref(answer);
        if (code != cases[i].status || strstr(err, cases[i].says) == NULL) {
            fail_msg("%s: %d \"%s\", want %d \"%s\"", cases[i].body, code, err, cases[i].status,
                     cases[i].says);
        }
    }
}

static void
test_every_control_is_counted_and_logged_with_its_peer(void **state)
{
    json_t *answer = NULL;
    char err[512], text[8192];
    uint64_t before = atomic_load(&fx.st->controls[PX_CTL_SHED]);
    FILE *f;
    size_t n;

    (void)state;
    assert_int_equal(
        px_control_shed(fx.st, "127.0.0.1:5555", "{\"scale\": 60}", 13, &answer, err, sizeof(err)),
        200);
    json_decref(answer);
    assert_int_equal(atomic_load(&fx.st->controls[PX_CTL_SHED]), before + 1);
    assert_true(atomic_load(&fx.st->controls[PX_CTL_BLOCK]) >= 1);
    assert_true(atomic_load(&fx.st->controls[PX_CTL_ALLOW]) >= 1);
    assert_true(atomic_load(&fx.st->controls[PX_CTL_MODE]) >= 2);
    f = fopen(fx.log_path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "admin control action=shed peer=127.0.0.1:5555 "
                                 "detail=scale\\x2060%\\x20(was\\x20100%)"));
    assert_non_null(strstr(text, "action=block peer=p detail=block\\x20carol\\x20for\\x2010s"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shed_bodies_are_read_strictly),
        cmocka_unit_test(test_shed_sets_the_limiter_and_scale_100_restores),
        cmocka_unit_test(test_mode_switches_a_class_and_policy_restores_it),
        cmocka_unit_test(test_block_holds_until_its_ttl_on_the_decision_clock),
        cmocka_unit_test(test_allow_exempts_until_its_ttl_and_unblock_lifts_it),
        cmocka_unit_test(test_override_bodies_name_the_field),
        cmocka_unit_test(test_every_control_is_counted_and_logged_with_its_peer),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
