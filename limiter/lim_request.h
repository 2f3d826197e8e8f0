/* Kubernetes request info: method + request-target -> what kube-apiserver's
 * RequestInfoFactory (k8s.io/apiserver pkg/endpoints/request/requestinfo.go)
 * derives, plus the query facts that set a request's cost (resourceVersion,
 * limit, continue, selectors) and the long-running rule of
 * pkg/server/filters/longrunning.go. Pure: no allocation, no I/O. */
#ifndef LIM_REQUEST_H
#define LIM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decoded path, query values and strings live in one buffer inside the
 * struct; a target that does not fit is an error (the proxy answers 414).
 * Any target of at most 2040 bytes with a method of at most 16 fits. */
#define LIM_REQUEST_BUF 8192

enum lim_verb {
    LIM_VERB_UNKNOWN = 0, /* resource request with a method kube maps to "" */
    LIM_VERB_GET,
    LIM_VERB_LIST,
    LIM_VERB_WATCH,
    LIM_VERB_CREATE,
    LIM_VERB_UPDATE,
    LIM_VERB_PATCH,
    LIM_VERB_DELETE,
    LIM_VERB_DELETECOLLECTION,
    LIM_VERB_PROXY,
    /* Non-resource requests use the lowercased HTTP method as their verb;
     * GET, PATCH and DELETE share the constants above. */
    LIM_VERB_POST,
    LIM_VERB_PUT,
    LIM_VERB_HEAD,
    LIM_VERB_OPTIONS,
    LIM_VERB_COUNT
};

/* What the resourceVersion parameter asks of the storage layer. */
enum lim_rv {
    LIM_RV_UNSET = 0, /* absent or "": consistent read (etcd's share) */
    LIM_RV_ZERO,      /* "0": any version, served from the watch cache */
    LIM_RV_VALUE,     /* a specific version */
};

enum lim_rv_match {
    LIM_RVM_NONE = 0,
    LIM_RVM_NOT_OLDER_THAN,
    LIM_RVM_EXACT,
    LIM_RVM_OTHER, /* present but not a value kube knows */
};

/* All string members are NUL-terminated and point into buf (or to a static
 * ""), never NULL. They are valid as long as the struct is. */
struct lim_request {
    enum lim_verb verb;
    bool is_resource;     /* false: non-resource path (/healthz, /apis, ...) */
    bool is_long_running; /* longrunning.go: watch, proxy, attach/exec/log/... */
    bool is_mutating;     /* verb outside {get, list, watch} (maxinflight.go) */
    bool verb_from_path;  /* legacy /api/v1/watch/... or /proxy/... prefix */
    enum lim_rv rv;
    enum lim_rv_match rv_match;
    bool has_limit;
    uint64_t limit;
    bool has_continue;
    bool send_initial_events;
    bool follow; /* pods/log?follow=true */
    /* limit or timeoutSeconds is not an int64: metav1 ListOptions fail to
     * convert, so kube's list work estimator charges maximum seats (and the
     * handler answers 400). Also makes RequestInfo ignore fieldSelector. */
    bool bad_list_options;
    const char *method;      /* as sent, e.g. "GET" */
    const char *path;        /* percent-decoded path */
    const char *api_prefix;  /* "api" | "apis" | "" */
    const char *api_group;   /* "" for the core group */
    const char *api_version; /* "v1" */
    const char *ns;          /* namespace, "" when cluster-scoped */
    const char *resource;
    const char *subresource;
    const char *name;
    const char *resource_version; /* raw value, "" when absent */
    const char *label_selector;   /* raw (decoded) value, "" when absent */
    const char *field_selector;
    /* strlen(ns), which the parser knows, so that the limiter need not
     * measure a namespace it keys on; 0 also means "not filled in". */
    size_t ns_len;
    char buf[LIM_REQUEST_BUF];
};

/* Fills <r> from <method> and the request-target <target> (origin-form, or
 * absolute-form whose path is then used), as kube-apiserver would. Returns 0;
 * or -1 with <err> set when the target is malformed (bad percent-encoding in
 * the path, a control byte such as NUL, a relative target, a bad authority,
 * a method that is not a token, too long, or a legacy /watch/ or /proxy/
 * prefix without a resource, which kube-apiserver also refuses), or when a
 * decoded NUL (%00) would land in an exposed string. Like Go's URL.Query(),
 * a query pair with a bad escape or a ';' is dropped, not an error. A
 * non-resource request's verb is the lowercased method whenever that names
 * a lim_verb ("WATCH /healthz" is a long-running watch, as in kube). */
int lim_request_parse(struct lim_request *r, const char *method, size_t method_len,
                      const char *target, size_t target_len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* "get", "list", ..., "post"; "" for LIM_VERB_UNKNOWN. */
const char *lim_verb_name(enum lim_verb v);

/* The LIM_VERB_* whose name is <name>, or -1. */
int lim_verb_from_name(const char *name);

#endif /* LIM_REQUEST_H */
