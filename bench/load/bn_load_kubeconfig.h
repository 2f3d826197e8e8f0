/* A small kubeconfig reader for the credentials of one context: the fields
 * kubeadm and kubectl write (current-context, contexts[].context.cluster
 * and .user, clusters[].cluster.server, certificate-authority(-data),
 * insecure-skip-tls-verify, users[].user.client-certificate(-data),
 * client-key(-data), token, tokenFile). It reads JSON, and the YAML subset
 * those tools emit: block mappings and sequences, "- key: value" items,
 * one-line flow collections ({cluster: a, user: b}, []), plain, 'single'
 * and "double" quoted scalars, comments. Anchors, tags, multi-line and
 * block scalars, exec and auth-provider plugins are refused with a message. */
#ifndef BN_LOAD_KUBECONFIG_H
#define BN_LOAD_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define BN_KUBECONFIG_MAX (1u << 20)

/* Strings are owned, NULL when absent; *_data are decoded PEM. */
struct bn_kubeconfig {
    char *context;
    char *server;
    char *ca_file;
    char *ca_data;
    size_t ca_len;
    bool insecure;
    char *cert_file, *key_file; /* resolved against the file's directory */
    char *cert_data, *key_data;
    size_t cert_len, key_len;
    char *token; /* from token, or read from tokenFile */
};

/* Reads <text> (<len> bytes); <name> for messages, relative files resolve
 * against <dir> ("" = as given). */
int bn_kubeconfig_parse(const char *text, size_t len, const char *name, const char *dir,
                        struct bn_kubeconfig *out, char *err, size_t errlen);
int bn_kubeconfig_load(const char *path, struct bn_kubeconfig *out, char *err, size_t errlen);
void bn_kubeconfig_fini(struct bn_kubeconfig *k);

#endif /* BN_LOAD_KUBECONFIG_H */
