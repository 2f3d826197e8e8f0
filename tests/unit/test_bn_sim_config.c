/* floodgate-apisim's knobs: defaults, flags (--k v, --k=v, bare booleans,
 * repeatable lists), the JSON file with the same keys (flags win), and
 * errors that name the key and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn_sim_config.h"

#define MS 1000000ull
#define S  1000000000ull

static struct bn_sim_config cfg;

static int
parse(const char **argv, char *err, size_t errlen)
{
    int argc = 0;

    while (argv[argc] != NULL) {
        argc++;
    }
    bn_sim_config_defaults(&cfg);
    return bn_sim_config_parse(&cfg, argc, (char **)argv, stdout, err, errlen);
}

static const char *
write_json(const char *text)
{
    static char path[64];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/bn_sim_config_%d.json", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_defaults_make_a_two_slot_apiserver(void **state)
{
    (void)state;
    bn_sim_config_defaults(&cfg);
    assert_string_equal(cfg.listen, "127.0.0.1:6444");
    assert_int_equal(cfg.slots, 2);
    assert_int_equal(cfg.max_inflight, 400);
    assert_int_equal(cfg.max_mutating_inflight, 200);
    assert_int_equal(cfg.queue_timeout_ns, 15 * S);
    assert_int_equal(cfg.max_body_bytes, 3 * 1024 * 1024);
    assert_true(cfg.anonymous_auth);
    assert_int_equal(cfg.nsa_key_files, 0);
}

static void
test_flags_set_every_kind_of_key(void **state)
{
    const char *argv[] = {"sim",
                          "--slots",
                          "8",
                          "--queue-timeout=250ms",
                          "--cost-get",
                          "0",
                          "--max-body-bytes",
                          "64KiB",
                          "--anonymous-auth=false",
                          "--service-account-key-file",
                          "a.pub",
                          "--service-account-key-file=b.pub",
                          "--listen",
                          "[::1]:0",
                          NULL};
    char err[256] = "";

    (void)state;
    assert_int_equal(parse(argv, err, sizeof(err)), 0);
    assert_int_equal(cfg.slots, 8);
    assert_int_equal(cfg.queue_timeout_ns, 250 * MS);
    assert_int_equal(cfg.cost_get_ns, 0);
    assert_int_equal(cfg.max_body_bytes, 64 * 1024);
    assert_false(cfg.anonymous_auth);
    assert_int_equal(cfg.nsa_key_files, 2);
    assert_string_equal(cfg.sa_key_files[1], "b.pub");
    assert_string_equal(cfg.listen, "[::1]:0");
}

static void
test_a_bare_boolean_flag_is_true(void **state)
{
    const char *argv[] = {"sim", "--anonymous-auth", "--slots", "3", NULL};
    char err[256];

    (void)state;
    assert_int_equal(parse(argv, err, sizeof(err)), 0);
    assert_true(cfg.anonymous_auth);
    assert_int_equal(cfg.slots, 3);
}

struct bad {
    const char *flag, *value, *want;
};

static const struct bad bad_flags[] = {
    {"--slots", "0", "slots: expected 1..1024, got \"0\""},
    {"--slots", "many", "slots: expected an integer, got \"many\""},
    {"--queue-timeout", "15", "queue-timeout: expected a duration like 250ms or 15s"},
    {"--queue-timeout", "0s", "queue-timeout: expected 1000000.."},
    {"--max-body-bytes", "1TB", "max-body-bytes: expected a size"},
    {"--anonymous-auth", "yes", "anonymous-auth: expected true or false"},
    {"--nope", "1", "unknown option --nope"},
};

static void
test_bad_flags_name_the_key_and_what_was_expected(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
        const char *argv[] = {"sim", bad_flags[i].flag, bad_flags[i].value, NULL};
        char err[256] = "";

        assert_int_equal(parse(argv, err, sizeof(err)), -1);
        if (strstr(err, bad_flags[i].want) == NULL) {
            fail_msg("%s %s: got \"%s\"", bad_flags[i].flag, bad_flags[i].value, err);
        }
    }
}

static void
test_missing_values_positionals_and_full_lists_are_errors(void **state)
{
    const char *missing[] = {"sim", "--slots", NULL};
    const char *positional[] = {"sim", "extra", NULL};
    const char *full[] = {
        "sim", "--requestheader-allowed-names", "1", "--requestheader-allowed-names",
        "2",   "--requestheader-allowed-names", "3", "--requestheader-allowed-names",
        "4",   "--requestheader-allowed-names", "5", "--requestheader-allowed-names",
        "6",   "--requestheader-allowed-names", "7", "--requestheader-allowed-names",
        "8",   "--requestheader-allowed-names", "9", NULL};
    char err[256];

    (void)state;
    assert_int_equal(parse(missing, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--slots needs a value"));
    assert_int_equal(parse(positional, err, sizeof(err)), -1);
    assert_int_equal(parse(full, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most 8 values"));
}

static void
test_json_file_sets_keys_and_flags_win_wherever_they_are(void **state)
{
    const char *path = write_json("{\"slots\": 3, \"queue-timeout\": \"2s\", \"cost-get\": 0.5,"
                                  " \"max-inflight\": 10, \"anonymous-auth\": false,"
                                  " \"service-account-key-file\": [\"x.pub\", \"y.pub\"]}");
    const char *argv[] = {"sim", "--max-inflight", "20", "--config", path, NULL};
    char err[256] = "";

    (void)state;
    assert_int_equal(parse(argv, err, sizeof(err)), 0);
    assert_int_equal(cfg.slots, 3);
    assert_int_equal(cfg.queue_timeout_ns, 2 * S);
    assert_int_equal(cfg.cost_get_ns, 500 * MS);
    assert_int_equal(cfg.max_inflight, 20);
    assert_false(cfg.anonymous_auth);
    assert_int_equal(cfg.nsa_key_files, 2);
    assert_string_equal(cfg.sa_key_files[0], "x.pub");
    unlink(path);
}

struct bad_json {
    const char *text, *want;
};

static const struct bad_json bad_files[] = {
    {"{\"slotz\": 3}", "unknown key \"slotz\""},
    {"{\"slots\": \"many\"}", "slots: expected an integer"},
    {"{\"slots\": 0}", "slots: expected 1..1024"},
    {"{\"slots\": 1, \"slots\": 2}", "duplicate"},
    {"{\"slots\": 1,\n \"cost-get\": }", ":2:"},
    {"{\"service-account-key-file\": \"x\"}", "expected a list of strings"},
    {"{\"service-account-key-file\": [1]}", "service-account-key-file[0]: expected a string"},
    {"[1]", "expected a JSON object"},
};

static void
test_bad_json_files_say_where(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        const char *path = write_json(bad_files[i].text);
        char err[256] = "";

        bn_sim_config_defaults(&cfg);
        assert_int_equal(bn_sim_config_load(&cfg, path, err, sizeof(err)), -1);
        if (strstr(err, bad_files[i].want) == NULL || strstr(err, path) == NULL) {
            fail_msg("%s: got \"%s\"", bad_files[i].text, err);
        }
        unlink(path);
    }
}

static void
test_durations_take_units(void **state)
{
    static const struct {
        const char *s;
        int rc;
        uint64_t ns;
    } cases[] = {
        {"0", 0, 0},        {"5ns", 0, 5},      {"7us", 0, 7000},          {"250ms", 0, 250 * MS},
        {"15s", 0, 15 * S}, {"2m", 0, 120 * S}, {"1h", 0, 3600 * S},       {"10", -1, 0},
        {"-1s", -1, 0},     {"1.5s", -1, 0},    {"99999999999999h", -1, 0}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t ns = 0;

        assert_int_equal(bn_sim_parse_duration(cases[i].s, &ns), cases[i].rc);
        if (cases[i].rc == 0) {
            assert_int_equal(ns, cases[i].ns);
        }
    }
}

static void
test_help_is_not_an_error(void **state)
{
    const char *argv[] = {"sim", "--help", NULL};
    char err[256];
    FILE *devnull = fopen("/dev/null", "w");

    (void)state;
    bn_sim_config_defaults(&cfg);
    assert_int_equal(bn_sim_config_parse(&cfg, 2, (char **)argv, devnull, err, sizeof(err)), 1);
    fclose(devnull);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_make_a_two_slot_apiserver),
        cmocka_unit_test(test_flags_set_every_kind_of_key),
        cmocka_unit_test(test_a_bare_boolean_flag_is_true),
        cmocka_unit_test(test_bad_flags_name_the_key_and_what_was_expected),
        cmocka_unit_test(test_missing_values_positionals_and_full_lists_are_errors),
        cmocka_unit_test(test_json_file_sets_keys_and_flags_win_wherever_they_are),
        cmocka_unit_test(test_bad_json_files_say_where),
        cmocka_unit_test(test_durations_take_units),
        cmocka_unit_test(test_help_is_not_an_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
