/* libFuzzer target for lim_request_parse and the selector parsers behind it.
 * Input: "<method> <request-target>" (no space: the whole input is a GET
 * target). Checks that every parse either fails cleanly or yields strings
 * NUL-terminated inside the struct's buffer (or static literals), fields
 * consistent with kube's rules, and the same result from a dirty struct.
 * Built and run by tests/fuzz/run.sh (`make fuzz`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lim_request.h"
#include "lim_selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lim_request a, b;

static void
check_str(const struct lim_request *r, const char *s)
{
    const char *end = r->buf + sizeof(r->buf);

    if (s == NULL) {
        abort();
    }
    if (s >= r->buf && s < end) {
        if (memchr(s, '\0', (size_t)(end - s)) == NULL) {
            abort();
        }
        return;
    }
    /* Outside the buffer only the static literals are allowed. */
    if (strcmp(s, "") != 0 && strcmp(s, "api") != 0 && strcmp(s, "apis") != 0) {
        abort();
    }
}

static const char *const *
strs(const struct lim_request *r, const char *out[13])
{
    out[0] = r->method;
    out[1] = r->path;
    out[2] = r->api_prefix;
    out[3] = r->api_group;
    out[4] = r->api_version;
    out[5] = r->ns;
    out[6] = r->resource;
    out[7] = r->subresource;
    out[8] = r->name;
    out[9] = r->resource_version;
    out[10] = r->label_selector;
    out[11] = r->field_selector;
    out[12] = NULL;
    return out;
}

static void
check_ok(const struct lim_request *r, const char *m, size_t mlen)
{
    const char *s[13];
    int i;
    bool reads = r->verb == LIM_VERB_GET || r->verb == LIM_VERB_LIST || r->verb == LIM_VERB_WATCH;
    bool sel = r->verb == LIM_VERB_LIST || r->verb == LIM_VERB_WATCH ||
               r->verb == LIM_VERB_DELETECOLLECTION;

    strs(r, s);
    for (i = 0; s[i] != NULL; i++) {
        check_str(r, s[i]);
    }
    if ((unsigned)r->verb >= LIM_VERB_COUNT || (unsigned)r->rv > LIM_RV_VALUE ||
        (unsigned)r->rv_match > LIM_RVM_OTHER) {
        abort();
    }
    if (lim_verb_from_name(lim_verb_name(r->verb)) != (int)r->verb) {
        abort();
    }
    if (strlen(r->method) != mlen || memcmp(r->method, m, mlen) != 0) {
        abort();
    }
    if (r->is_mutating != !reads) {
        abort();
    }
    if (r->has_limit != (r->limit > 0)) {
        abort();
    }
    if (r->verb_from_path &&
        (!r->is_resource || (r->verb != LIM_VERB_WATCH && r->verb != LIM_VERB_PROXY))) {
        abort();
    }
    if ((r->label_selector[0] != '\0' || r->field_selector[0] != '\0') &&
        (!sel || r->verb_from_path || !r->is_resource)) {
        abort();
    }
    if (r->is_resource) {
        if (strcmp(r->api_prefix, "api") != 0 && strcmp(r->api_prefix, "apis") != 0) {
            abort();
        }
        if (r->verb == LIM_VERB_DELETE && r->name[0] == '\0') {
            abort(); /* that is deletecollection */
        }
        if (r->verb == LIM_VERB_PROXY && r->subresource[0] != '\0') {
            abort();
        }
    } else if (r->api_group[0] != '\0' || r->api_version[0] != '\0' || r->ns[0] != '\0' ||
               r->resource[0] != '\0' || r->subresource[0] != '\0' || r->name[0] != '\0') {
        abort();
    }
    if (r->is_long_running !=
        (r->verb == LIM_VERB_WATCH || r->verb == LIM_VERB_PROXY ||
         (r->is_resource && (!strcmp(r->subresource, "attach") || !strcmp(r->subresource, "exec") ||
                             !strcmp(r->subresource, "proxy") || !strcmp(r->subresource, "log") ||
                             !strcmp(r->subresource, "portforward"))) ||
         (!r->is_resource && !strncmp(r->path, "/debug/pprof/", 13)))) {
        abort();
    }
}

static void
check_failed(const struct lim_request *r, const char *err)
{
    const char *s[13];
    int i;

    if (err[0] == '\0' || r->verb != LIM_VERB_UNKNOWN || r->is_resource || r->has_limit ||
        r->bad_list_options) {
        abort();
    }
    strs(r, s);
    for (i = 0; s[i] != NULL; i++) {
        if (s[i][0] != '\0') {
            abort();
        }
    }
}

static void
same(const struct lim_request *x, const struct lim_request *y)
{
    const char *sx[13], *sy[13];
    int i;

    if (x->verb != y->verb || x->is_resource != y->is_resource ||
        x->is_long_running != y->is_long_running || x->is_mutating != y->is_mutating ||
        x->verb_from_path != y->verb_from_path || x->rv != y->rv || x->rv_match != y->rv_match ||
        x->has_limit != y->has_limit || x->limit != y->limit ||
        x->has_continue != y->has_continue || x->send_initial_events != y->send_initial_events ||
        x->follow != y->follow || x->bad_list_options != y->bad_list_options) {
        abort();
    }
    strs(x, sx);
    strs(y, sy);
    for (i = 0; sx[i] != NULL; i++) {
        if (strcmp(sx[i], sy[i]) != 0) {
            abort();
        }
    }
}

/* The selector parsers on the raw bytes, beyond what reaches them through a
 * query: no crash, and the pinned name stays inside its input. */
static void
fuzz_selectors(const char *s, size_t n)
{
    const char *rhs = NULL;
    size_t rhs_len = 0, len;
    char *out;

    (void)lim_label_selector_valid(s, n);
    if (lim_field_selector_name(s, n, &rhs, &rhs_len) != 1) {
        return;
    }
    if (rhs < s || rhs_len > n || rhs + rhs_len > s + n) {
        abort();
    }
    len = lim_field_unescape(rhs, rhs_len, NULL);
    if (len > 3 * rhs_len) {
        abort();
    }
    out = malloc(len + 1);
    if (out == NULL || lim_field_unescape(rhs, rhs_len, out) != len) {
        abort();
    }
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *m = "GET", *t = in;
    const char *sp = memchr(in, ' ', size);
    size_t mlen = 3, tlen = size;
    char ea[256], eb[256];
    int ra, rb;

    if (sp != NULL) {
        m = in;
        mlen = (size_t)(sp - in);
        t = sp + 1;
        tlen = size - mlen - 1;
    }
    ea[0] = eb[0] = '\0';
    /* <a> keeps whatever the previous input left; <b> starts dirty. */
    ra = lim_request_parse(&a, m, mlen, t, tlen, ea, sizeof(ea));
    memset(&b, 0x5a, sizeof(b));
    rb = lim_request_parse(&b, m, mlen, t, tlen, eb, sizeof(eb));
    if (ra != rb || (ra != 0 && ra != -1)) {
        abort();
    }
    if (ra == 0) {
        check_ok(&a, m, mlen);
        check_ok(&b, m, mlen);
    } else {
        check_failed(&a, ea);
        check_failed(&b, eb);
    }
    same(&a, &b);
    fuzz_selectors(t, tlen);
    return 0;
}
