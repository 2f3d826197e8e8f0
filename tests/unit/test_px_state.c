/* The admin plane's process state: the bearer token is read as people
 * write it (a trailing newline is not part of it), compared whole, and
 * required only when configured; a bad token file leaves the token in
 * force; the override list forgets what expired and is bounded. The
 * ctl client's query encoding and token reading match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px_clock.h"
#include "px_ctl.h"
#include "px_state.h"

static char dir[] = "/tmp/test_px_state.XXXXXX";

static const char *
file_with(const char *name, const char *text, size_t len)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static void
test_no_token_configured_lets_everyone_in(void **state)
{
    struct px_state *st = px_state_new(NULL, NULL, NULL, NULL);

    (void)state;
    assert_non_null(st);
    assert_true(px_state_authorized(st, NULL));
    assert_true(px_state_authorized(st, "Bearer anything"));
    px_state_free(st);
}

static void
test_the_token_is_the_file_without_its_newline_and_compared_whole(void **state)
{
    static const struct {
        const char *authz;
        bool ok;
    } cases[] = {
        {"Bearer s3cret", true},   {"Bearer s3cret\n", false}, {"Bearer s3cre", false},
        {"Bearer s3cret2", false}, {"bearer s3cret", false},   {"Basic s3cret", false},
        {"Bearer ", false},        {"s3cret", false},          {NULL, false},
    };
    struct px_state *st = px_state_new(NULL, NULL, NULL, NULL);
    char err[256];
    size_t i;

    (void)state;
    assert_int_equal(px_state_load_token(st, file_with("tok", "s3cret\n", 7), err, sizeof(err)), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (px_state_authorized(st, cases[i].authz) != cases[i].ok) {
            fail_msg("\"%s\": want %s", cases[i].authz != NULL ? cases[i].authz : "(none)",
                     cases[i].ok ? "authorized" : "refused");
        }
    }
    /* A bad file keeps the token in force. */
    assert_int_equal(px_state_load_token(st, file_with("empty", "\n", 1), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "admin.token_file: "));
    assert_non_null(strstr(err, ": empty"));
    assert_int_equal(px_state_load_token(st, "/nonexistent/tok", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file or directory"));
    {
        char *big = malloc(PX_TOKEN_MAX + 10);

        memset(big, 'x', PX_TOKEN_MAX + 10);
        assert_int_equal(
            px_state_load_token(st, file_with("big", big, PX_TOKEN_MAX + 10), err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "longer than 4096 bytes"));
        free(big);
    }
    assert_true(px_state_authorized(st, "Bearer s3cret"));
    /* "" turns it off (a reload without token_file). */
    assert_int_equal(px_state_load_token(st, "", err, sizeof(err)), 0);
    assert_true(px_state_authorized(st, NULL));
    px_state_free(st);
}

static void
test_overrides_forget_what_expired_and_are_bounded(void **state)
{
    struct px_state *st = px_state_new(NULL, NULL, NULL, NULL);
    struct px_override out[4];
    uint64_t now = px_now_ns();
    char name[32];
    int i;

    (void)state;
    assert_int_equal(px_state_override_set(st, "a", false, now + 1000000000ull, 0), 0);
    assert_int_equal(px_state_override_set(st, "a", true, now + 2000000000ull, 0),
                     0); /* replaced */
    assert_int_equal(px_state_overrides(st, now, out, 4), 1);
    assert_true(out[0].allow);
    assert_int_equal(px_state_overrides(st, now + 3000000000ull, out, 4), 0);
    for (i = 1; i < PX_OVERRIDES_MAX; i++) {
        snprintf(name, sizeof(name), "user-%d", i);
        assert_int_equal(px_state_override_set(st, name, false, UINT64_MAX, 0), 0);
    }
    assert_int_equal(px_state_override_set(st, "one-too-many", false, UINT64_MAX, 0), -1);
    assert_int_equal(px_state_override_remove(st, "user-7"), 0);
    assert_int_equal(px_state_override_remove(st, "user-7"), -1);
    assert_int_equal(px_state_override_set(st, "one-too-many", false, UINT64_MAX, 0), 0);
    px_state_free(st);
}

static void
test_ctl_encodes_query_values_and_reads_tokens_alike(void **state)
{
    char buf[64] = "/block?user=", small[8] = "";
    char tok[64], err[256];

    (void)state;
    assert_int_equal(px_ctl_urlencode(buf, sizeof(buf), "system:node:n 1&x=%"), 0);
    assert_string_equal(buf, "/block?user=system:node:n%201%26x%3D%25");
    assert_int_equal(px_ctl_urlencode(small, sizeof(small), "abcdefgh"), -1);
    assert_int_equal(
        px_ctl_read_token(file_with("t2", "abc \r\n", 6), tok, sizeof(tok), err, sizeof(err)), 0);
    assert_string_equal(tok, "abc");
    assert_int_equal(
        px_ctl_read_token(file_with("t3", "\n", 1), tok, sizeof(tok), err, sizeof(err)), -1);
}

static int
setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_token_configured_lets_everyone_in),
        cmocka_unit_test(test_the_token_is_the_file_without_its_newline_and_compared_whole),
        cmocka_unit_test(test_overrides_forget_what_expired_and_are_bounded),
        cmocka_unit_test(test_ctl_encodes_query_values_and_reads_tokens_alike),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
