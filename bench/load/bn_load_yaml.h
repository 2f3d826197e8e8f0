/* The YAML subset that kubeadm, kubectl and deploy/pki.sh write, read into
 * a jansson tree so that YAML and JSON kubeconfigs are read by one reader.
 * Plain scalars stay strings except true, false, null and ~. */
#ifndef BN_LOAD_YAML_H
#define BN_LOAD_YAML_H

#include <stddef.h>

#include <jansson.h>

/* Reads <text> (modified in place: comments cut, lines split). Returns a
 * new tree, or NULL with "<name>:<line>: <why>" in <err>. */
json_t *bn_yaml_load(char *text, const char *name, char *err, size_t errlen);

#endif /* BN_LOAD_YAML_H */
