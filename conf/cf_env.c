/* Environment expansion in string values, so that one file serves a kubeadm
 * node and a test bench: "${FLOODGATE_PKI:-/etc/kubernetes/pki}/ca.crt".
 * The rules are the shell's for these two forms: ${NAME} must be set (empty
 * is a value), ${NAME:-default} takes the default when NAME is unset or
 * empty. The default is literal text (no nesting). "$${" is a literal "${";
 * any other "$" is itself. */
#include "cf_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

static bool
name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static int
put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
    if (n >= outlen - *o) {
        return -1;
    }
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

int
cf_env_expand(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
    const char *p = in;
    size_t o = 0;

    out[0] = '\0';
    while (*p != '\0') {
        const char *start, *close, *val;
        char name[NAME_MAX_LEN + 1];
        size_t nlen;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            if (put(out, outlen, &o, "${", 2) != 0) {
                goto too_long;
            }
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            if (put(out, outlen, &o, p, 1) != 0) {
                goto too_long;
            }
            p++;
            continue;
        }
        start = p + 2;
        close = strchr(start, '}');
        if (close == NULL) {
            snprintf(why, whylen, "\"}\" to close \"${\"");
            return -1;
        }
        for (nlen = 0; name_char(start[nlen]); nlen++) {
        }
        if (nlen == 0 || !name_start(start[0]) || nlen > NAME_MAX_LEN ||
            (start + nlen != close && strncmp(start + nlen, ":-", 2) != 0)) {
            snprintf(why, whylen,
                     "${NAME} or ${NAME:-default} with NAME made of letters, digits and _");
            return -1;
        }
        memcpy(name, start, nlen);
        name[nlen] = '\0';
        val = getenv(name);
        if (start + nlen == close) {
            if (val == NULL) {
                snprintf(why, whylen, "environment variable %s to be set", name);
                return -1;
            }
        } else if (val == NULL || val[0] == '\0') {
            const char *def = start + nlen + 2;

            if (put(out, outlen, &o, def, (size_t)(close - def)) != 0) {
                goto too_long;
            }
            val = NULL;
        }
        if (val != NULL && put(out, outlen, &o, val, strlen(val)) != 0) {
            goto too_long;
        }
        p = close + 1;
    }
    return 0;

too_long:
    snprintf(why, whylen, "at most %zu bytes after expansion", outlen - 1);
    return -1;
}
