/* The heads floodgate forwards: hop-by-hop fields dropped both ways (and
 * the ones Connection names), client X-Remote-* dropped whatever their
 * case, the identity asserted (several groups, escaped extra keys),
 * X-Forwarded-For appended, chunked bodies re-framed, 100-continue kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "px_headers.h"
#include "px_http.h"

static enum px_http_act
on_head(void *arg, struct px_http_head *h)
{
    (void)arg;
    (void)h;
    return PX_HTTP_PAUSE;
}

static const struct px_http_cbs cbs = {on_head, NULL, NULL, NULL};
static const struct px_http_limits limits = {32 * 1024, 0};

/* Parses the head of <msg> (a request, or a response when <response>)
 * and returns what px_headers makes of it. */
static char *
rebuild(const char *msg, bool response, const struct px_assert *a, const char *ip, bool close)
{
    struct px_http_pool pool;
    struct px_http h;
    struct evbuffer *b = evbuffer_new();
    size_t used, n;
    char *s;

    px_http_pool_init(&pool, 1);
    px_http_init(&h, !response, &cbs, NULL, &pool, &limits);
    assert_int_equal(px_http_feed(&h, msg, strlen(msg), &used), PX_HTTP_HEAD);
    if (response) {
        assert_int_equal(px_headers_response(b, h.head, close), 0);
    } else {
        assert_int_equal(px_headers_request(b, h.head, a, ip), 0);
    }
    px_http_fini(&h);
    px_http_pool_fini(&pool);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

static void
test_hop_by_hop_and_x_remote_are_dropped(void **state)
{
    char *s = rebuild("GET /api/v1/pods?watch=1 HTTP/1.1\r\n"
                      "Host: k\r\n"
                      "Connection: keep-alive, X-Secret, te\r\n"
                      "Keep-Alive: timeout=5\r\n"
                      "Proxy-Connection: keep-alive\r\n"
                      "TE: trailers\r\n"
                      "Trailer: X-T\r\n"
                      "Upgrade: h2c\r\n"
                      "Proxy-Authorization: Basic eA==\r\n"
                      "X-Secret: nominated\r\n"
                      "X-Remote-User: system:admin\r\n"
                      "x-remote-group: system:masters\r\n"
                      "X-REMOTE-EXTRA-scopes: all\r\n"
                      "X-Remote-Uid: 0\r\n"
                      "Accept: application/json\r\n"
                      "Authorization: Bearer t\r\n"
                      "\r\n",
                      false, NULL, "10.1.2.3", false);

    (void)state;
    assert_string_equal(s, "GET /api/v1/pods?watch=1 HTTP/1.1\r\n"
                           "Host: k\r\n"
                           "Accept: application/json\r\n"
                           "Authorization: Bearer t\r\n"
                           "X-Forwarded-For: 10.1.2.3\r\n"
                           "\r\n");
    free(s);
}

static void
test_identity_asserted_with_groups_and_escaped_extras(void **state)
{
    static const char *const groups[] = {"system:masters", "dev ops"};
    struct px_assert a = {"alice@example.com", groups, 2, {{NULL, NULL}}, 2};
    char *s;

    (void)state;
    a.extras[0].key = "authentication.kubernetes.io/credential-id";
    a.extras[0].value = "X509SHA256=ab12";
    a.extras[1].key = "Scopes%Odd";
    a.extras[1].value = "v";
    s = rebuild("GET /version HTTP/1.1\r\nHost: k\r\nX-Remote-User: mallory\r\n\r\n", false, &a,
                "::1", false);
    assert_string_equal(s, "GET /version HTTP/1.1\r\n"
                           "Host: k\r\n"
                           "X-Remote-User: alice@example.com\r\n"
                           "X-Remote-Group: system:masters\r\n"
                           "X-Remote-Group: dev ops\r\n"
                           "X-Remote-Extra-authentication.kubernetes.io%2fcredential-id: "
                           "X509SHA256=ab12\r\n"
                           "X-Remote-Extra-%53copes%25%4fdd: v\r\n"
                           "X-Forwarded-For: ::1\r\n"
                           "\r\n");
    free(s);
}

static void
test_forwarded_for_appends_to_prior_hops(void **state)
{
    char *s = rebuild("GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: k\r\n"
                      "x-forwarded-for: 2.2.2.2, 3.3.3.3\r\n\r\n",
                      false, NULL, "127.0.0.1", false);

    (void)state;
    assert_string_equal(s, "GET / HTTP/1.1\r\nHost: k\r\n"
                           "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1\r\n\r\n");
    free(s);
}

static void
test_chunked_body_is_reframed_and_expect_answered_here(void **state)
{
    char *s = rebuild("POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\n"
                      "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
                      "Content-Type: application/json\r\n\r\n",
                      false, NULL, "1.2.3.4", false);

    (void)state;
    assert_string_equal(s, "POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\n"
                           "Content-Type: application/json\r\n"
                           "X-Forwarded-For: 1.2.3.4\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n");
    free(s);
}

static void
test_connection_cannot_remove_framing_or_credentials(void **state)
{
    char *s = rebuild("POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 2\r\n"
                      "Authorization: Bearer t\r\n"
                      "Connection: Content-Length, Host, Authorization\r\n\r\n",
                      false, NULL, "1.2.3.4", false);

    (void)state;
    assert_string_equal(s, "POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 2\r\n"
                           "Authorization: Bearer t\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n");
    free(s);
}

static void
test_upgrade_request_keeps_upgrade(void **state)
{
    char *s = rebuild("POST /api/v1/namespaces/a/pods/p/exec?command=sh HTTP/1.1\r\nHost: k\r\n"
                      "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
                      false, NULL, "1.2.3.4", false);

    (void)state;
    assert_string_equal(s,
                        "POST /api/v1/namespaces/a/pods/p/exec?command=sh HTTP/1.1\r\nHost: k\r\n"
                        "Upgrade: SPDY/3.1\r\n"
                        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                        "X-Forwarded-For: 1.2.3.4\r\n"
                        "Connection: Upgrade\r\n\r\n");
    free(s);
}

static void
test_response_head_drops_hop_by_hop_and_says_close(void **state)
{
    char *s = rebuild("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Connection: close, X-Internal\r\nKeep-Alive: timeout=1\r\n"
                      "X-Internal: 1\r\nTransfer-Encoding: chunked\r\nAudit-Id: 42\r\n\r\n",
                      true, NULL, NULL, true);

    (void)state;
    assert_string_equal(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAudit-Id: 42\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    free(s);
    s = rebuild("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
                true, NULL, NULL, false);
    assert_string_equal(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n"
                           "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                           "Connection: Upgrade\r\n\r\n");
    free(s);
}

static void
test_extra_name_escaping_reads_back_in_kube(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(px_headers_extra_name("a/b", out, sizeof(out)), 0);
    assert_string_equal(out, "a%2fb");
    assert_int_equal(px_headers_extra_name("UP", out, sizeof(out)), 0);
    assert_string_equal(out, "%55%50"); /* lower-cased by kube before unescaping */
    assert_int_equal(px_headers_extra_name("x", out, 2), 0);
    assert_int_equal(px_headers_extra_name("/", out, 3), -1);
    assert_int_equal(px_headers_extra_name("", out, sizeof(out)), -1);
}

static void
test_value_ok_refuses_what_would_not_read_back(void **state)
{
    (void)state;
    assert_true(px_headers_value_ok("system:node:n-1"));
    assert_true(px_headers_value_ok("dev ops"));
    assert_false(px_headers_value_ok(""));
    assert_false(px_headers_value_ok(" lead"));
    assert_false(px_headers_value_ok("trail\t"));
    assert_false(px_headers_value_ok("a\r\nX-Remote-User: root"));
    assert_false(px_headers_value_ok("del\x7f"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hop_by_hop_and_x_remote_are_dropped),
        cmocka_unit_test(test_identity_asserted_with_groups_and_escaped_extras),
        cmocka_unit_test(test_forwarded_for_appends_to_prior_hops),
        cmocka_unit_test(test_chunked_body_is_reframed_and_expect_answered_here),
        cmocka_unit_test(test_connection_cannot_remove_framing_or_credentials),
        cmocka_unit_test(test_upgrade_request_keeps_upgrade),
        cmocka_unit_test(test_response_head_drops_hop_by_hop_and_says_close),
        cmocka_unit_test(test_extra_name_escaping_reads_back_in_kube),
        cmocka_unit_test(test_value_ok_refuses_what_would_not_read_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
