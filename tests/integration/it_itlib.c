/* The integration helpers themselves, against `openssl s_server -www`: PKI,
 * spawning and stopping, TLS with verification, response parsing. A broken
 * helper must fail here, not confuse every other test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itlib.h"

static char pki[512];

static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static pid_t
start_s_server(char *addr, size_t len, const char *verify_ca)
{
    char accept[64], cert[600], key[600], log[600], ca[600];
    int port = free_port();
    pid_t pid;
    int i;

    snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
    snprintf(cert, sizeof(cert), "%s/apiserver.crt", pki);
    snprintf(key, sizeof(key), "%s/apiserver.key", pki);
    snprintf(log, sizeof(log), "%s/s_server.log", pki);
    snprintf(ca, sizeof(ca), "%s", verify_ca != NULL ? verify_ca : "");
    {
        char *argv[] = {(char *)"/usr/bin/openssl",
                        (char *)"s_server",
                        (char *)"-accept",
                        accept,
                        (char *)"-cert",
                        cert,
                        (char *)"-key",
                        key,
                        (char *)"-www",
                        (char *)"-quiet",
                        verify_ca != NULL ? (char *)"-Verify" : NULL,
                        (char *)"1",
                        (char *)"-CAfile",
                        ca,
                        NULL};
        pid = it_spawn(argv, NULL, log);
    }
    snprintf(addr, len, "%s", accept);
    for (i = 0; i < 100; i++) { /* s_server has no ready file: poll connect */
        struct it_conn *c = it_connect_tcp(addr, 100);

        if (c != NULL) {
            it_close(c);
            break;
        }
        usleep(20000);
    }
    return pid;
}

static void
test_request_to_a_verified_tls_server_parses_the_response(void **state)
{
    char addr[64], ca[600];
    struct it_resp r;
    pid_t pid;

    (void)state;
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    pid = start_s_server(addr, sizeof(addr), NULL);
    assert_true(pid > 0);
    assert_int_equal(it_request(addr, ca, NULL, NULL, "GET", "/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(it_header(&r, "content-type"));
    assert_non_null(strstr(r.body, "Ciphers supported"));
    it_resp_free(&r);
    assert_true(WIFSIGNALED(it_stop(pid, SIGTERM, 2000)));
}

static void
test_connect_refuses_a_server_from_another_ca(void **state)
{
    char addr[64], other[600];
    pid_t pid;

    (void)state;
    snprintf(other, sizeof(other), "%s/other-ca.crt", pki);
    pid = start_s_server(addr, sizeof(addr), NULL);
    assert_null(it_connect(addr, other, NULL, NULL, 2000));
    it_stop(pid, SIGTERM, 2000);
}

static void
test_client_certificate_is_presented(void **state)
{
    char addr[64], ca[600], cert[600], key[600];
    struct it_resp r;
    pid_t pid;

    (void)state;
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    snprintf(cert, sizeof(cert), "%s/admin.crt", pki);
    snprintf(key, sizeof(key), "%s/admin.key", pki);
    pid = start_s_server(addr, sizeof(addr), ca);
    assert_int_equal(it_request(addr, ca, cert, key, "GET", "/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "admin")); /* -www prints the client's subject */
    it_resp_free(&r);
    it_stop(pid, SIGTERM, 2000);
}

static void
test_run_captures_output_and_exit_code(void **state)
{
    char out[256];
    char *ok[] = {(char *)"sh", (char *)"-c", (char *)"echo hello; exit 3", NULL};
    char *slow[] = {(char *)"sleep", (char *)"5", NULL};

    (void)state;
    assert_int_equal(it_run(ok, NULL, out, sizeof(out), 5000), 3);
    assert_string_equal(out, "hello\n");
    assert_int_equal(it_run(slow, NULL, out, sizeof(out), 200), 128 + SIGKILL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_to_a_verified_tls_server_parses_the_response),
        cmocka_unit_test(test_connect_refuses_a_server_from_another_ca),
        cmocka_unit_test(test_client_certificate_is_presented),
        cmocka_unit_test(test_run_captures_output_and_exit_code),
    };
    const char *d = it_tmpdir("itlib");

    if (d == NULL || it_pki(d) != 0) {
        return 1;
    }
    snprintf(pki, sizeof(pki), "%s", d);
    return it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
