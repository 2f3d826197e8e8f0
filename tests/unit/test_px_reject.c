/* What floodgate answers itself: the 429 byte for byte as kube-apiserver's
 * priority-and-fairness filter writes it (plus the two X-Floodgate
 * headers), and kube's Status JSON for its other errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "px_reject.h"

static char *
take(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);

    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

static void
test_429_bytes_are_exact(void **state)
{
    struct evbuffer *b = evbuffer_new();
    char *s;

    (void)state;
    assert_int_equal(
        px_reject_429(b, 7, "workloads", "rate", "Tue, 14 Nov 2023 22:13:20 GMT", false), 0);
    s = take(b);
    assert_string_equal(s, "HTTP/1.1 429 Too Many Requests\r\n"
                           "Cache-Control: no-cache, private\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Retry-After: 7\r\n"
                           "X-Content-Type-Options: nosniff\r\n"
                           "X-Floodgate-Class: workloads\r\n"
                           "X-Floodgate-Reason: rate\r\n"
                           "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                           "Content-Length: 43\r\n"
                           "\r\n"
                           "Too many requests, please try again later.\n");
    free(s);
    evbuffer_free(b);
}

static void
test_429_closing_says_so_and_retry_after_is_at_least_1(void **state)
{
    struct evbuffer *b = evbuffer_new();
    char *s;

    (void)state;
    assert_int_equal(px_reject_429(b, 0, "c\r\nX-Evil: 1", "watch_cap", "D", true), 0);
    s = take(b);
    assert_non_null(strstr(s, "\r\nRetry-After: 1\r\n"));
    assert_non_null(strstr(s, "\r\nConnection: close\r\nDate: D\r\n"));
    /* A class name cannot add a header line. */
    assert_non_null(strstr(s, "\r\nX-Floodgate-Class: cX-Evil: 1\r\n"));
    assert_null(strstr(s, "\r\nX-Evil"));
    free(s);
    evbuffer_free(b);
}

static void
test_status_bodies_carry_kube_reasons(void **state)
{
    static const struct {
        int code;
        const char *head;
        const char *reason;
    } t[] = {
        {400, "HTTP/1.1 400 Bad Request\r\n", "BadRequest"},
        {401, "HTTP/1.1 401 Unauthorized\r\n", "Unauthorized"},
        {408, "HTTP/1.1 408 Request Timeout\r\n", "Timeout"},
        {413, "HTTP/1.1 413 Request Entity Too Large\r\n", "RequestEntityTooLarge"},
        {414, "HTTP/1.1 414 Request URI Too Long\r\n", "BadRequest"},
        {431, "HTTP/1.1 431 Request Header Fields Too Large\r\n", "BadRequest"},
        {500, "HTTP/1.1 500 Internal Server Error\r\n", "InternalError"},
        {502, "HTTP/1.1 502 Bad Gateway\r\n", "InternalError"},
        {503, "HTTP/1.1 503 Service Unavailable\r\n", "ServiceUnavailable"},
        {504, "HTTP/1.1 504 Gateway Timeout\r\n", "Timeout"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct evbuffer *b = evbuffer_new();
        char body[512], want[1024], *s;
        int blen;

        assert_int_equal(px_reject_status(b, t[i].code, "it \"failed\"\n", "D", true, 0), 0);
        s = take(b);
        blen = snprintf(body, sizeof(body),
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"it \\\"failed\\\"\\u000a\","
                        "\"reason\":\"%s\",\"code\":%d}\n",
                        t[i].reason, t[i].code);
        snprintf(want, sizeof(want),
                 "%sCache-Control: no-cache, private\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nDate: D\r\nContent-Length: %d\r\n\r\n%s",
                 t[i].head, blen, body);
        assert_string_equal(s, want);
        free(s);
        evbuffer_free(b);
    }
}

static void
test_status_with_retry_after(void **state)
{
    struct evbuffer *b = evbuffer_new();
    char *s;

    (void)state;
    assert_int_equal(px_reject_status(b, 503, "down", "D", false, 3), 0);
    s = take(b);
    assert_non_null(strstr(s, "Content-Type: application/json\r\nRetry-After: 3\r\nDate: D\r\n"));
    assert_null(strstr(s, "Connection:"));
    free(s);
    evbuffer_free(b);
}

static void
test_http_date_is_imf_fixdate(void **state)
{
    char d[PX_DATE_LEN];

    (void)state;
    px_http_date(1700000000, d);
    assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 GMT");
    px_http_date(0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_429_bytes_are_exact),
        cmocka_unit_test(test_429_closing_says_so_and_retry_after_is_at_least_1),
        cmocka_unit_test(test_status_bodies_carry_kube_reasons),
        cmocka_unit_test(test_status_with_retry_after),
        cmocka_unit_test(test_http_date_is_imf_fixdate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
