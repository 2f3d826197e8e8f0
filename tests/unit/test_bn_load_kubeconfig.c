/* The kubeconfig reader on the files kubeadm, kubectl and deploy/pki.sh
 * write (block YAML, flow mappings, JSON), and its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bn_load_kubeconfig.h"

static void
test_kubeadm_admin_conf_with_embedded_data(void **state)
{
    /* base64("-----CERT-----\n") and base64("-----KEY-----\n") */
    const char *doc = "apiVersion: v1\n"
                      "clusters:\n"
                      "- cluster:\n"
                      "    certificate-authority-data: LS0tLS1DQS0tLS0tCg==\n"
                      "    server: https://127.0.0.1:6443\n"
                      "  name: kubernetes\n"
                      "contexts:\n"
                      "- context:\n"
                      "    cluster: kubernetes\n"
                      "    user: kubernetes-admin\n"
                      "  name: kubernetes-admin@kubernetes\n"
                      "current-context: kubernetes-admin@kubernetes\n"
                      "kind: Config\n"
                      "preferences: {}\n"
                      "users:\n"
                      "- name: kubernetes-admin\n"
                      "  user:\n"
                      "    client-certificate-data: LS0tLS1DRVJULS0tLS0K\n"
                      "    client-key-data: LS0tLS1LRVktLS0tLQo=\n";
    struct bn_kubeconfig k;
    char err[256];

    (void)state;
    if (bn_kubeconfig_parse(doc, strlen(doc), "admin.conf", "", &k, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(k.server, "https://127.0.0.1:6443");
    assert_string_equal(k.context, "kubernetes-admin@kubernetes");
    assert_int_equal(k.ca_len, 13);
    assert_string_equal(k.ca_data, "-----CA-----\n");
    assert_string_equal(k.cert_data, "-----CERT-----\n");
    assert_int_equal(k.cert_len, 15);
    assert_string_equal(k.key_data, "-----KEY-----\n");
    assert_null(k.token);
    assert_null(k.cert_file);
    bn_kubeconfig_fini(&k);
}

static void
test_pki_sh_kubeconfig_with_flow_context_and_relative_files(void **state)
{
    const char *doc = "apiVersion: v1\n"
                      "kind: Config\n"
                      "clusters:\n"
                      "- name: floodgate\n"
                      "  cluster:\n"
                      "    server: https://localhost:9443\n"
                      "    certificate-authority: ca.crt\n"
                      "users:\n"
                      "- name: admin   # the break-glass identity\n"
                      "  user:\n"
                      "    client-certificate: admin.crt\n"
                      "    client-key: /etc/kubernetes/pki/admin.key\n"
                      "contexts:\n"
                      "- name: floodgate\n"
                      "  context: {cluster: floodgate, user: admin}\n"
                      "current-context: \"floodgate\"\n";
    struct bn_kubeconfig k;
    char err[256];

    (void)state;
    if (bn_kubeconfig_parse(doc, strlen(doc), "k.yaml", "/srv/pki", &k, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(k.server, "https://localhost:9443");
    assert_string_equal(k.ca_file, "/srv/pki/ca.crt");
    assert_string_equal(k.cert_file, "/srv/pki/admin.crt");
    assert_string_equal(k.key_file, "/etc/kubernetes/pki/admin.key");
    bn_kubeconfig_fini(&k);
}

static void
test_json_kubeconfig_with_a_token_file(void **state)
{
    char path[] = "/tmp/bn_load_tokenXXXXXX", doc[1024], err[256];
    int fd = mkstemp(path);
    struct bn_kubeconfig k;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "sekret-token\n", 13), 13);
    close(fd);
    snprintf(
        doc, sizeof(doc),
        "{\"current-context\": \"c\", \"contexts\": [{\"name\": \"c\", \"context\": {\"cluster\": "
        "\"x\", \"user\": \"u\"}}], \"clusters\": [{\"name\": \"x\", \"cluster\": {\"server\": "
        "\"https://10.0.0.1\", \"insecure-skip-tls-verify\": true}}], \"users\": [{\"name\": "
        "\"u\", \"user\": {\"tokenFile\": \"%s\"}}]}",
        path);
    if (bn_kubeconfig_parse(doc, strlen(doc), "k.json", "", &k, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    unlink(path);
    assert_string_equal(k.token, "sekret-token");
    assert_true(k.insecure);
    bn_kubeconfig_fini(&k);
}

struct bad_case {
    const char *doc;
    const char *msg;
};

#define CTX                                                                                        \
    "current-context: c\ncontexts:\n- name: c\n  context: {cluster: x, user: u}\nclusters:\n- "    \
    "name: x\n  cluster: {server: 'https://h'}\n"

static void
test_unsupported_kubeconfigs_say_why(void **state)
{
    static const struct bad_case bad[] = {
        {CTX "users:\n- name: u\n  user:\n    exec:\n      command: aws\n",
         "k: users[0].user.exec: credential plugins are not supported; use a token or a client "
         "certificate"},
        {CTX "users:\n- name: someone-else\n  user: {token: t}\n",
         "k: users: no entry named \"u\""},
        {"current-context: nope\ncontexts: []\n", "k: contexts: no entry named \"nope\""},
        {"contexts: []\n", "k: current-context: required"},
        {CTX "users:\n- name: u\n  user:\n\ttoken: t\n", "k:11: tabs cannot indent YAML"},
        {CTX "users:\n- name: u\n  user:\n    token: |\n      abc\n",
         "k:11: anchors, aliases, tags and block scalars are not supported"},
        {CTX "users:\n- name: u\n  user: {token: \"abc}\n",
         "k:10: unterminated or too long quoted string (multi-line strings are not supported)"},
        {CTX "users:\n- name: u\n  user:\n    client-key-data: '***'\n",
         "k: users[0].user.client-key-data: expected base64"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bn_kubeconfig k;
        char err[256] = "";

        if (bn_kubeconfig_parse(bad[i].doc, strlen(bad[i].doc), "k", "", &k, err, sizeof(err)) ==
            0) {
            bn_kubeconfig_fini(&k);
            fail_msg("case %zu parsed", i);
        }
        if (strcmp(err, bad[i].msg) != 0) {
            fail_msg("case %zu:\n  got  %s\n  want %s", i, err, bad[i].msg);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubeadm_admin_conf_with_embedded_data),
        cmocka_unit_test(test_pki_sh_kubeconfig_with_flow_context_and_relative_files),
        cmocka_unit_test(test_json_kubeconfig_with_a_token_file),
        cmocka_unit_test(test_unsupported_kubeconfigs_say_why),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
