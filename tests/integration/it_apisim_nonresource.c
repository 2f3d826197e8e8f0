/* floodgate-apisim serves non-resource requests (/version, /api,
 * /healthz) on fresh connections without reading a resource it never
 * set: the capacity model once priced every request by counting the
 * objects of c->rq->res, which only resource requests set, so the first
 * request of a connection read an uninitialised index and could crash
 * the simulator. Fresh request buffers are filled with a non-zero byte
 * (glibc's MALLOC_PERTURB_, ASan's malloc_fill_byte) so that the stale
 * index is a wild one every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>

#include "it_harden.h"

static void
test_non_resource_requests_on_fresh_connections_keep_the_simulator_up(void **state)
{
    struct it_fg f;
    char ready[700], log[700], cert[700], key[700], ca[700], addr[128];
    char *env[] = {(char *)"MALLOC_PERTURB_=65",
                   (char *)"ASAN_OPTIONS=malloc_fill_byte=190:max_malloc_fill_size=1048576", NULL};
    static const char *const paths[] = {"/version", "/api", "/apis", "/healthz", "/readyz"};
    pid_t pid;
    int i;

    (void)state;
    assert_int_equal(it_fg_init(&f, "apisim-nonresource"), 0);
    snprintf(ready, sizeof(ready), "%s/apisim.ready", f.dir);
    snprintf(log, sizeof(log), "%s/apisim.log", f.dir);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", f.pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", f.pki);
    snprintf(ca, sizeof(ca), "%s/ca.crt", f.pki);
    {
        char *argv[] = {(char *)it_bin("floodgate-apisim"),
                        (char *)"--listen",
                        (char *)"127.0.0.1:0",
                        (char *)"--ready-file",
                        ready,
                        (char *)"--cert",
                        cert,
                        (char *)"--key",
                        key,
                        (char *)"--client-ca",
                        ca,
                        (char *)"--nodes",
                        (char *)"2",
                        NULL};

        pid = it_spawn(argv, env, log);
    }
    assert_true(pid > 0);
    assert_int_equal(it_wait_ready(ready, "listen", addr, sizeof(addr), 10000), 0);
    for (i = 0; i < 20; i++) {
        struct it_resp r;
        const char *p = paths[i % 5];

        if (it_request(addr, f.ca, it_fg_file(&f, "admin", "crt"), it_fg_file(&f, "admin", "key"),
                       "GET", p, NULL, NULL, &r) != 0) {
            fail_msg("GET %s (request %d): no answer; the simulator is %s", p, i,
                     it_h_alive(pid) ? "up" : "gone");
        }
        assert_int_equal(r.status, 200);
        it_resp_free(&r);
    }
    assert_true(it_h_alive(pid));
    assert_int_equal(WEXITSTATUS(it_stop(pid, SIGTERM, 10000)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_resource_requests_on_fresh_connections_keep_the_simulator_up),
    };

    return it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
