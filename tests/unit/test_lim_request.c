/* lim_request_parse against kube-apiserver's RequestInfo, long-running and
 * mutating classification: a table of real request targets (every case of
 * k8s.io/apiserver requestinfo_test.go included), each asserting every field
 * of struct lim_request. A field a case leaves out is expected empty / false
 * / zero; an omitted path is expected to be the target up to '?'. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lim_request.h"

#define GET  LIM_VERB_GET
#define LIST LIM_VERB_LIST
#define WAT  LIM_VERB_WATCH
#define CRE  LIM_VERB_CREATE
#define UPD  LIM_VERB_UPDATE
#define PAT  LIM_VERB_PATCH
#define DEL  LIM_VERB_DELETE
#define DELC LIM_VERB_DELETECOLLECTION
#define PRX  LIM_VERB_PROXY
#define UNK  LIM_VERB_UNKNOWN

struct tcase {
    const char *m, *t;
    size_t len; /* 0: strlen(t) */
    enum lim_verb v;
    bool res, lr, mut, via;
    const char *pfx, *grp, *ver, *ns, *rsc, *sub, *name;
    enum lim_rv rv;
    const char *rvs;
    enum lim_rv_match rvm;
    bool hl;
    uint64_t limit;
    bool cont, sie, fol, bad;
    const char *lsel, *fsel, *path;
};

/* clang-format off */
static const struct tcase cases[] = {
    /* k8s.io/apiserver requestinfo_test.go TestGetAPIRequestInfo, successCases
     * (its two repeated rows once). */
    {"GET", "/api/v1/namespaces", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "namespaces"},
    {"GET", "/api/v1/namespaces/other", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "namespaces", .name = "other"},
    {"GET", "/api/v1/namespaces/other/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"GET", "/api/v1/namespaces/other/pods/foo", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"HEAD", "/api/v1/namespaces/other/pods/foo", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"HEAD", "/api/v1/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/proxy/namespaces/other/pods/foo", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/watch/pods", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=true", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=false", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/watch/namespaces/other/pods", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"GET", "/api/v1/namespaces/other/pods?watch=1", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"GET", "/api/v1/namespaces/other/pods?watch=0", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"GET", "/api/v1/namespaces/other/pods/foo/status", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .sub = "status", .name = "foo"},
    {"GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .sub = "proxy", .name = "foo"},
    {"PUT", "/api/v1/namespaces/other/finalize", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "namespaces", .sub = "finalize", .name = "other"},
    {"PUT", "/api/v1/namespaces/other/status", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "namespaces", .sub = "status", .name = "other"},
    {"PATCH", "/api/v1/namespaces/other/pods/foo", .v = PAT, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"DELETE", "/api/v1/namespaces/other/pods/foo", .v = DEL, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods", .name = "foo"},
    {"POST", "/api/v1/namespaces/other/pods", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"DELETE", "/api/v1/nodes", .v = DELC, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "nodes"},
    {"DELETE", "/api/v1/namespaces", .v = DELC, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "namespaces"},
    {"DELETE", "/api/v1/namespaces/other/pods", .v = DELC, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"DELETE", "/apis/extensions/v1/namespaces/other/pods", .v = DELC, .res = 1, .mut = 1, .pfx = "apis", .grp = "extensions", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"POST", "/apis/extensions/v1/namespaces/other/pods", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "extensions", .ver = "v1", .ns = "other", .rsc = "pods"},
    {"POST", "/apis/extensions/v1beta3/namespaces/other/pods", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "extensions", .ver = "v1beta3", .ns = "other", .rsc = "pods"},
    /* TestGetAPIRequestInfo errorCases: all non-resource. Go keeps
     * APIPrefix once "apis" was consumed. */
    {"GET", "/", .v = GET},
    {"GET", "/api/version/", .v = GET},
    {"GET", "/apis/group/version/", .v = GET, .pfx = "apis"},
    {"GET", "/badprefix/version/resource", .v = GET},
    {"GET", "/apis/version/resource", .v = GET, .pfx = "apis"},
    /* TestGetNonAPIRequestInfo ("empty" is in the malformed table: Go's
     * server refuses an empty request-target). */
    {"GET", "/api/version/resource", .v = LIST, .res = 1, .pfx = "api", .ver = "version", .rsc = "resource"},
    {"GET", "/apis/group/version/resource/name/subresource", .v = GET, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .sub = "subresource", .name = "name"},
    {"GET", "/api/version/resource/name/subresource", .v = GET, .res = 1, .pfx = "api", .ver = "version", .rsc = "resource", .sub = "subresource", .name = "name"},
    {"GET", "/apis/batch/v1/job", .v = LIST, .res = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .rsc = "job"},
    {"GET", "/apis/batch/v1/job/foo", .v = GET, .res = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .rsc = "job", .name = "foo"},
    {"GET", "/apis/batch/v1/job/foo/scale", .v = GET, .res = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .rsc = "job", .sub = "scale", .name = "foo"},
    {"GET", "/not-api/version/resource", .v = GET},
    {"GET", "/apis/extensions/v1beta1", .v = GET, .pfx = "apis"},
    {"GET", "/apis/extensions/v1beta1/", .v = GET, .pfx = "apis"},
    {"GET", "/api/version", .v = GET},
    {"GET", "/api", .v = GET},
    /* TestSelectorParsing (AuthorizeWithSelectors on). */
    {"GET", "/apis/group/version/resource", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource"},
    {"GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .name = "name1", .fsel = "metadata.name=name1"},
    {"GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1", .v = WAT, .res = 1, .lr = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .name = "name1", .fsel = "metadata.name=name1"},
    {"GET", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .fsel = "foo=bar", .lsel = "baz=qux"},
    {"GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .fsel = "metadata.name=name1,foo"},
    {"GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", .v = WAT, .res = 1, .lr = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .fsel = "metadata.name=name1,foo"},
    {"GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .fsel = "metadata.name=name1,foo"},
    {"DELETE", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", .v = DELC, .res = 1, .mut = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .fsel = "foo=bar", .lsel = "baz=qux"},
    {"GET", "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz", .v = LIST, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .name = "foo", .fsel = "metadata.name=foo", .lsel = "foo=bar"},
    {"GET", "/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar", .v = GET, .res = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .name = "name"},
    {"GET", "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource"},
    {"GET", "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "apis", .grp = "group", .ver = "version", .rsc = "resource", .name = "name"},

    /* Core group, namespaced: what kubelets, controllers and kubectl send. */
    {"GET", "/api/v1/namespaces/default/pods?limit=500", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "default", .rsc = "pods", .hl = 1, .limit = 500},
    {"GET", "/api/v1/namespaces/default/pods?limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "default", .rsc = "pods", .hl = 1, .limit = 500, .cont = 1},
    {"GET", "/api/v1/pods?resourceVersion=0", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_ZERO, .rvs = "0"},
    {"GET", "/api/v1/pods?resourceVersion=12345&resourceVersionMatch=NotOlderThan", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_VALUE, .rvs = "12345", .rvm = LIM_RVM_NOT_OLDER_THAN},
    {"GET", "/api/v1/pods?resourceVersion=12345&resourceVersionMatch=Exact&limit=100", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_VALUE, .rvs = "12345", .rvm = LIM_RVM_EXACT, .hl = 1, .limit = 100},
    {"GET", "/api/v1/pods?resourceVersionMatch=notolderthan", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rvm = LIM_RVM_OTHER},
    {"GET", "/api/v1/pods?resourceVersionMatch=", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?resourceVersion=", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?allowWatchBookmarks=true&resourceVersion=4567&timeoutSeconds=540&watch=true", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_VALUE, .rvs = "4567"},
    {"GET", "/api/v1/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rvm = LIM_RVM_NOT_OLDER_THAN, .sie = 1},
    {"GET", "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dfoo&watch=1", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "kube-system", .rsc = "configmaps", .name = "foo", .fsel = "metadata.name=foo"},
    {"GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "spec.nodeName=node-1"},
    {"GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1%2Cstatus.phase%21%3DSucceeded&limit=500", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 500, .fsel = "spec.nodeName=node-1,status.phase!=Succeeded"},
    {"GET", "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb%2Ctier+in+%28frontend%2Cbackend%29", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .lsel = "app=web,tier in (frontend,backend)"},
    {"GET", "/api/v1/namespaces/ns/secrets?fieldSelector=metadata.name%3D%3Dtoken", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "secrets", .name = "token", .fsel = "metadata.name==token"},
    {"GET", "/api/v1/namespaces/ns/secrets?fieldSelector=metadata.name%21%3Dtoken", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "secrets", .fsel = "metadata.name!=token"},
    {"GET", "/api/v1/namespaces/ns/pods/foo?watch=1", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/log?follow=true&container=app", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "log", .name = "foo", .fol = 1},
    {"GET", "/api/v1/namespaces/ns/pods/foo/log?container=app&tailLines=10", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "log", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/log?follow=false", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "log", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/log?follow=", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "log", .name = "foo", .fol = 1},
    {"POST", "/api/v1/namespaces/ns/pods/foo/exec?command=sh&stdin=true&stdout=true&tty=true", .v = CRE, .res = 1, .lr = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "exec", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/exec?command=ls&stdout=true", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "exec", .name = "foo"},
    {"POST", "/api/v1/namespaces/ns/pods/foo/attach?stdin=true&stdout=true", .v = CRE, .res = 1, .lr = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "attach", .name = "foo"},
    {"POST", "/api/v1/namespaces/ns/pods/foo/portforward", .v = CRE, .res = 1, .lr = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "portforward", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/portforward?ports=8080", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "portforward", .name = "foo"},
    {"POST", "/api/v1/namespaces/ns/pods/foo/eviction", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "eviction", .name = "foo"},
    {"POST", "/api/v1/namespaces/ns/pods/foo/binding", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "binding", .name = "foo"},
    {"POST", "/api/v1/namespaces/ns/bindings", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "bindings"},
    {"POST", "/api/v1/namespaces/ns/serviceaccounts/default/token", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "serviceaccounts", .sub = "token", .name = "default"},
    {"PATCH", "/api/v1/namespaces/ns/pods/foo/ephemeralcontainers", .v = PAT, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "ephemeralcontainers", .name = "foo"},
    {"PUT", "/api/v1/namespaces/ns/pods/foo/status", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "status", .name = "foo"},
    {"PATCH", "/api/v1/namespaces/ns/pods/foo/status?fieldManager=kubelet", .v = PAT, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "status", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/proxy/metrics", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "proxy", .name = "foo"},
    {"GET", "/api/v1/namespaces/ns/services/http:web:8080/proxy/healthz", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "services", .sub = "proxy", .name = "http:web:8080"},
    {"DELETE", "/api/v1/namespaces/ns/pods/foo?gracePeriodSeconds=0", .v = DEL, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "foo"},
    {"DELETE", "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb", .v = DELC, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .lsel = "app=web"},
    /* deletecollection never decodes ListOptions: no name from the selector. */
    {"DELETE", "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dfoo", .v = DELC, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .fsel = "metadata.name=foo"},
    {"GET", "/api/v1/namespaces/ns/events?fieldSelector=involvedObject.name%3Dfoo", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "events", .fsel = "involvedObject.name=foo"},
    {"POST", "/api/v1/namespaces/ns/events", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "events"},
    {"GET", "/api/v1/namespaces/default/endpoints/kubernetes", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "default", .rsc = "endpoints", .name = "kubernetes"},
    {"PUT", "/api/v1/namespaces/ns/configmaps/cm", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "configmaps", .name = "cm"},
    {"GET", "/api/v1/namespaces/ns/secrets/s?resourceVersion=0", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "secrets", .name = "s", .rv = LIM_RV_ZERO, .rvs = "0"},
    {"GET", "/api/v1/namespaces/ns/persistentvolumeclaims", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "persistentvolumeclaims"},
    {"POST", "/api/v1/namespaces/ns/services", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "services"},
    {"GET", "/api/v1/namespaces/ns/resourcequotas/q/status", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "resourcequotas", .sub = "status", .name = "q"},
    {"PUT", "/api/v1/namespaces/ns/replicationcontrollers/rc/scale", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "replicationcontrollers", .sub = "scale", .name = "rc"},
    {"GET", "/api/v1/namespaces/ns/pods/foo/status/extra/parts", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "status", .name = "foo"},

    /* Core group, cluster-scoped. */
    {"GET", "/api/v1/nodes", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "nodes"},
    {"GET", "/api/v1/nodes/n1", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1"},
    {"PATCH", "/api/v1/nodes/n1/status", .v = PAT, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .sub = "status", .name = "n1"},
    {"GET", "/api/v1/nodes/n1/proxy/stats/summary", .v = GET, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .sub = "proxy", .name = "n1"},
    {"DELETE", "/api/v1/nodes/n1", .v = DEL, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1"},
    {"GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dn1&resourceVersion=0", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1", .rv = LIM_RV_ZERO, .rvs = "0", .fsel = "metadata.name=n1"},
    {"GET", "/api/v1/persistentvolumes", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "persistentvolumes"},
    {"GET", "/api/v1/persistentvolumes/pv1", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .rsc = "persistentvolumes", .name = "pv1"},
    {"PUT", "/api/v1/persistentvolumes/pv1/status", .v = UPD, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "persistentvolumes", .sub = "status", .name = "pv1"},
    {"GET", "/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%3Dkube-system", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "namespaces", .lsel = "kubernetes.io/metadata.name=kube-system"},
    {"POST", "/api/v1/namespaces", .v = CRE, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "namespaces"},
    {"DELETE", "/api/v1/namespaces/ns", .v = DEL, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "namespaces", .name = "ns"},
    {"GET", "/api/v1/namespaces/ns/finalize", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "namespaces", .sub = "finalize", .name = "ns"},
    {"GET", "/api/v1/componentstatuses", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "componentstatuses"},

    /* Legacy verbs in the path. */
    {"GET", "/api/v1/watch/nodes", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "nodes"},
    {"GET", "/api/v1/watch/nodes/n1", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1"},
    {"GET", "/api/v1/watch/namespaces", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "namespaces"},
    {"GET", "/api/v1/watch/namespaces/ns1", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "ns1", .rsc = "namespaces", .name = "ns1"},
    {"GET", "/api/v1/watch/namespaces/ns/pods/foo", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/watch/pods?labelSelector=a%3Db&resourceVersion=10", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_VALUE, .rvs = "10"},
    {"POST", "/api/v1/watch/pods", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/apis/apps/v1/watch/namespaces/ns/deployments", .v = WAT, .res = 1, .lr = 1, .via = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "deployments"},
    {"GET", "/api/v1/proxy/nodes/n1/stats", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1"},
    {"GET", "/api/v1/proxy/namespaces/ns/services/svc:80/path", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "services", .name = "svc:80"},
    {"DELETE", "/api/v1/proxy/nodes/n1", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .name = "n1"},
    {"GET", "/api/v1/proxy/pods", .v = PRX, .res = 1, .lr = 1, .mut = 1, .via = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},

    /* Named groups, built-in and aggregated, and CRDs. */
    {"GET", "/apis/apps/v1/deployments", .v = LIST, .res = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .rsc = "deployments"},
    {"GET", "/apis/apps/v1/namespaces/ns/deployments/d", .v = GET, .res = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "deployments", .name = "d"},
    {"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", .v = PAT, .res = 1, .mut = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "deployments", .sub = "scale", .name = "d"},
    {"PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status", .v = UPD, .res = 1, .mut = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "deployments", .sub = "status", .name = "d"},
    {"GET", "/apis/apps/v1/namespaces/ns/statefulsets?watch=true&resourceVersion=100", .v = WAT, .res = 1, .lr = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "statefulsets", .rv = LIM_RV_VALUE, .rvs = "100"},
    {"DELETE", "/apis/apps/v1/namespaces/ns/replicasets", .v = DELC, .res = 1, .mut = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "replicasets"},
    {"POST", "/apis/apps/v1/namespaces/ns/daemonsets", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .ns = "ns", .rsc = "daemonsets"},
    {"GET", "/apis/apps/v1/controllerrevisions?limit=0", .v = LIST, .res = 1, .pfx = "apis", .grp = "apps", .ver = "v1", .rsc = "controllerrevisions"},
    {"GET", "/apis/batch/v1/namespaces/ns/jobs/j", .v = GET, .res = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .ns = "ns", .rsc = "jobs", .name = "j"},
    {"DELETE", "/apis/batch/v1/namespaces/ns/jobs/j?propagationPolicy=Background", .v = DEL, .res = 1, .mut = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .ns = "ns", .rsc = "jobs", .name = "j"},
    {"GET", "/apis/batch/v1/cronjobs", .v = LIST, .res = 1, .pfx = "apis", .grp = "batch", .ver = "v1", .rsc = "cronjobs"},
    {"GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1", .v = GET, .res = 1, .pfx = "apis", .grp = "coordination.k8s.io", .ver = "v1", .ns = "kube-node-lease", .rsc = "leases", .name = "n1"},
    {"PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1", .v = UPD, .res = 1, .mut = 1, .pfx = "apis", .grp = "coordination.k8s.io", .ver = "v1", .ns = "kube-node-lease", .rsc = "leases", .name = "n1"},
    {"GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler", .v = GET, .res = 1, .pfx = "apis", .grp = "coordination.k8s.io", .ver = "v1", .ns = "kube-system", .rsc = "leases", .name = "kube-scheduler"},
    {"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", .v = LIST, .res = 1, .pfx = "apis", .grp = "rbac.authorization.k8s.io", .ver = "v1", .rsc = "clusterroles"},
    {"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", .v = GET, .res = 1, .pfx = "apis", .grp = "rbac.authorization.k8s.io", .ver = "v1", .rsc = "clusterroles", .name = "admin"},
    {"POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "rbac.authorization.k8s.io", .ver = "v1", .rsc = "clusterrolebindings"},
    {"GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings", .v = LIST, .res = 1, .pfx = "apis", .grp = "rbac.authorization.k8s.io", .ver = "v1", .ns = "ns", .rsc = "rolebindings"},
    {"GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", .v = LIST, .res = 1, .pfx = "apis", .grp = "apiextensions.k8s.io", .ver = "v1", .rsc = "customresourcedefinitions"},
    {"PUT", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/foos.example.com/status", .v = UPD, .res = 1, .mut = 1, .pfx = "apis", .grp = "apiextensions.k8s.io", .ver = "v1", .rsc = "customresourcedefinitions", .sub = "status", .name = "foos.example.com"},
    {"GET", "/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb", .v = LIST, .res = 1, .pfx = "apis", .grp = "discovery.k8s.io", .ver = "v1", .ns = "ns", .rsc = "endpointslices", .lsel = "kubernetes.io/service-name=web"},
    {"GET", "/apis/discovery.k8s.io/v1/endpointslices?watch=true&resourceVersion=0", .v = WAT, .res = 1, .lr = 1, .pfx = "apis", .grp = "discovery.k8s.io", .ver = "v1", .rsc = "endpointslices", .rv = LIM_RV_ZERO, .rvs = "0"},
    {"GET", "/apis/metrics.k8s.io/v1beta1/nodes", .v = LIST, .res = 1, .pfx = "apis", .grp = "metrics.k8s.io", .ver = "v1beta1", .rsc = "nodes"},
    {"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p", .v = GET, .res = 1, .pfx = "apis", .grp = "metrics.k8s.io", .ver = "v1beta1", .ns = "ns", .rsc = "pods", .name = "p"},
    {"GET", "/apis/example.com/v1/namespaces/ns/foos", .v = LIST, .res = 1, .pfx = "apis", .grp = "example.com", .ver = "v1", .ns = "ns", .rsc = "foos"},
    {"PATCH", "/apis/example.com/v1/namespaces/ns/foos/f/status", .v = PAT, .res = 1, .mut = 1, .pfx = "apis", .grp = "example.com", .ver = "v1", .ns = "ns", .rsc = "foos", .sub = "status", .name = "f"},
    {"GET", "/apis/example.com/v1/namespaces/ns/foos/f/scale", .v = GET, .res = 1, .pfx = "apis", .grp = "example.com", .ver = "v1", .ns = "ns", .rsc = "foos", .sub = "scale", .name = "f"},
    {"GET", "/apis/stable.example.com/v1alpha1/crontabs/ct", .v = GET, .res = 1, .pfx = "apis", .grp = "stable.example.com", .ver = "v1alpha1", .rsc = "crontabs", .name = "ct"},
    {"POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "authorization.k8s.io", .ver = "v1", .rsc = "subjectaccessreviews"},
    {"POST", "/apis/authentication.k8s.io/v1/tokenreviews", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "authentication.k8s.io", .ver = "v1", .rsc = "tokenreviews"},
    {"POST", "/apis/authorization.k8s.io/v1/namespaces/ns/localsubjectaccessreviews", .v = CRE, .res = 1, .mut = 1, .pfx = "apis", .grp = "authorization.k8s.io", .ver = "v1", .ns = "ns", .rsc = "localsubjectaccessreviews"},
    {"PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval", .v = UPD, .res = 1, .mut = 1, .pfx = "apis", .grp = "certificates.k8s.io", .ver = "v1", .rsc = "certificatesigningrequests", .sub = "approval", .name = "csr-1"},
    {"GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests?fieldSelector=metadata.name%3Dcsr-xxs4m", .v = LIST, .res = 1, .pfx = "apis", .grp = "certificates.k8s.io", .ver = "v1", .rsc = "certificatesigningrequests", .name = "csr-xxs4m", .fsel = "metadata.name=csr-xxs4m"},
    {"GET", "/api/v1/namespaces/test/configmaps?fieldSelector=metadata.name%3Dbig-deployment-1&limit=500&resourceVersion=0", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "test", .rsc = "configmaps", .name = "big-deployment-1", .hl = 1, .limit = 500, .rv = LIM_RV_ZERO, .rvs = "0", .fsel = "metadata.name=big-deployment-1"},
    {"GET", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", .v = LIST, .res = 1, .pfx = "apis", .grp = "flowcontrol.apiserver.k8s.io", .ver = "v1", .rsc = "flowschemas"},
    {"GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", .v = LIST, .res = 1, .pfx = "apis", .grp = "admissionregistration.k8s.io", .ver = "v1", .rsc = "validatingwebhookconfigurations"},
    {"GET", "/apis/networking.k8s.io/v1/namespaces/ns/ingresses/i", .v = GET, .res = 1, .pfx = "apis", .grp = "networking.k8s.io", .ver = "v1", .ns = "ns", .rsc = "ingresses", .name = "i"},
    {"GET", "/apis/policy/v1/namespaces/ns/poddisruptionbudgets", .v = LIST, .res = 1, .pfx = "apis", .grp = "policy", .ver = "v1", .ns = "ns", .rsc = "poddisruptionbudgets"},
    {"GET", "/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers", .v = LIST, .res = 1, .pfx = "apis", .grp = "autoscaling", .ver = "v2", .ns = "ns", .rsc = "horizontalpodautoscalers"},
    {"GET", "/apis/storage.k8s.io/v1/storageclasses", .v = LIST, .res = 1, .pfx = "apis", .grp = "storage.k8s.io", .ver = "v1", .rsc = "storageclasses"},
    {"GET", "/apis/apiregistration.k8s.io/v1/apiservices", .v = LIST, .res = 1, .pfx = "apis", .grp = "apiregistration.k8s.io", .ver = "v1", .rsc = "apiservices"},

    /* Methods: the resource switch is case-sensitive, everything else is "". */
    {"OPTIONS", "/api/v1/pods", .v = UNK, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"TRACE", "/api/v1/pods", .v = UNK, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"get", "/api/v1/pods", .v = UNK, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"PROPFIND", "/api/v1/namespaces/ns/pods/p", .v = UNK, .res = 1, .mut = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "p"},

    /* watch as strconv-free apimachinery bool: first value, "0" / "false"
     * in any case are false, everything else (even "") is true. */
    {"GET", "/api/v1/pods?watch=FALSE", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=False", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=yes", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=true&watch=false", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=false&watch=true", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=0&watch=1", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=%30", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=+0", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=00", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?wat%63h=1", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?Watch=true", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=true%00", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    /* EqualFold folds U+017F LATIN SMALL LETTER LONG S to 's'... */
    {"GET", "/api/v1/pods?watch=fal%C5%BFe", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    /* ...but after a ListOptions decode error kube re-reads watch with
     * strings.ToLower, which does not. */
    {"GET", "/api/v1/pods?watch=fal%C5%BFe&limit=abc", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?watch=FALSE&limit=abc", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?watch=true&limit=abc", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    /* url.ParseQuery drops a pair with a bad escape or a ';' entirely. */
    {"GET", "/api/v1/pods?watch=%zz&watch=false", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=true;x=1", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?w%zzatch=true&watch=1", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?resourceVersion=%G0", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?&&watch=1&", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},

    /* fieldSelector -> Name: fields.ParseSelector + RequiresExactMatch. */
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo%2Cspec.nodeName%3Dn1", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "foo", .fsel = "metadata.name=foo,spec.nodeName=n1"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Db%2Cmetadata.name%3Da", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "a", .fsel = "metadata.name=b,metadata.name=a"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dx%2Cmetadata.name%3D%3Dy", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "y", .fsel = "metadata.name=x,metadata.name==y"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name="},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D.", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=."},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D..", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=.."},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D...", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "...", .fsel = "metadata.name=..."},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%252Fb", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=a%2Fb"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%2Fb", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=a/b"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%5C%2Cb", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "a,b", .fsel = "metadata.name=a\\,b"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%5Cxb", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=a\\xb"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%3Db", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=a=b"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name"},
    {"GET", "/api/v1/pods?fieldSelector=+metadata.name%3Dfoo", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = " metadata.name=foo"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.namespace%3Dns", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.namespace=ns"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%ff", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "a\xff", .fsel = "metadata.name=a\xff"},
    /* An escape makes Go rewrite the value rune by rune: U+FFFD appears. */
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%5C%3Db%ff", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "a=b\xef\xbf\xbd", .fsel = "metadata.name=a\\=b\xff"},
    /* Any ListOptions decode failure drops the name. */
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&labelSelector=%21%21", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=foo", .lsel = "!!"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&labelSelector=x%3Ca", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .fsel = "metadata.name=foo", .lsel = "x<a"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&labelSelector=x%3E1%2C%21y", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "foo", .fsel = "metadata.name=foo", .lsel = "x>1,!y"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&limit=abc", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1, .fsel = "metadata.name=foo"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&timeoutSeconds=1.5", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1, .fsel = "metadata.name=foo"},
    {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&limit=10&timeoutSeconds=30", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "foo", .hl = 1, .limit = 10, .fsel = "metadata.name=foo"},

    /* limit: strconv.ParseInt(v, 10, 64); kube pages only when > 0. */
    {"GET", "/api/v1/pods?limit=-1", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?limit=%2B7", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 7},
    {"GET", "/api/v1/pods?limit=0007", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 7},
    {"GET", "/api/v1/pods?limit=%35", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 5},
    {"GET", "/api/v1/pods?limit=9223372036854775807", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 9223372036854775807ULL},
    {"GET", "/api/v1/pods?limit=9223372036854775808", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?limit=-9223372036854775808", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?limit=", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?limit=1e3", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?limit=1_000", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?limit=+5", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .bad = 1},
    {"GET", "/api/v1/pods?limit=5&limit=abc", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 5},
    {"GET", "/api/v1/namespaces/ns/pods/p?timeoutSeconds=x", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "p", .bad = 1},
    /* resourceVersion, continue, sendInitialEvents. */
    {"GET", "/api/v1/pods?resourceVersion=00", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_VALUE, .rvs = "00"},
    {"GET", "/api/v1/pods?resourceVersion=%30", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_ZERO, .rvs = "0"},
    {"GET", "/api/v1/pods?resourceVersion=0&resourceVersion=5", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .rv = LIM_RV_ZERO, .rvs = "0"},
    {"GET", "/api/v1/pods?continue=", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=1&sendInitialEvents=false", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods?watch=1&sendInitialEvents=", .v = WAT, .res = 1, .lr = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .sie = 1},

    /* Go decodes URL.Path before RequestInfo splits it; '+' stays. */
    {"GET", "/api/v1/namespaces/my%2Dns/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .ns = "my-ns", .rsc = "pods", .path = "/api/v1/namespaces/my-ns/pods"},
    {"GET", "/api/v1/namespaces/ns/pods/a%2Fb", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .sub = "b", .name = "a", .path = "/api/v1/namespaces/ns/pods/a/b"},
    {"GET", "/api%2Fv1%2Fpods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .path = "/api/v1/pods"},
    {"GET", "/api/v1/namespaces/ns/configmaps/a+b", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "configmaps", .name = "a+b"},
    {"GET", "/api/v1/namespaces/ns/configmaps/a%20b", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "configmaps", .name = "a b", .path = "/api/v1/namespaces/ns/configmaps/a b"},
    {"GET", "/api/v1/namespaces/ns/configmaps/%E2%9C%93", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "configmaps", .name = "\xe2\x9c\x93", .path = "/api/v1/namespaces/ns/configmaps/\xe2\x9c\x93"},
    {"GET", "/api/v1/pods%3Fwatch=true", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods?watch=true", .path = "/api/v1/pods?watch=true"},
    {"GET", "/api/v1/pods#frag", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods#frag"},
    {"GET", "/api/v1/pods/", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "/api/v1/pods/foo/", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .name = "foo"},
    {"GET", "/api/v1/namespaces//pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods"},
    {"GET", "//api//v1//pods", .v = LIST, .res = 1, .pfx = "api", .rsc = "v1", .sub = "pods"},
    {"GET", "/api/v1/pods//status", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .sub = "status"},
    {"GET", "/api/api/api", .v = LIST, .res = 1, .pfx = "api", .ver = "api", .rsc = "api"},
    {"GET", "/APIS/apps/v1/deployments", .v = GET},

    /* Absolute-form targets: Go uses URL.Path. */
    {"GET", "http://127.0.0.1:6443/api/v1/pods?limit=5", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .hl = 1, .limit = 5, .path = "/api/v1/pods"},
    {"GET", "https://kubernetes.default.svc/api/v1/namespaces/ns/pods/p", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "p", .path = "/api/v1/namespaces/ns/pods/p"},
    {"GET", "HTTP://host/api/v1/nodes", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "nodes", .path = "/api/v1/nodes"},
    {"GET", "https://user:p%40ss@host:443/api/v1/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .path = "/api/v1/pods"},
    {"GET", "http://[::1]:6443/healthz", .v = GET, .path = "/healthz"},
    {"GET", "http://[fe80::1%25eth0]/healthz", .v = GET, .path = "/healthz"},
    {"GET", "http://host", .v = GET, .path = ""},
    {"GET", "http://host?watch=1", .v = GET, .path = ""},
    {"GET", "http:/api/v1/pods", .v = LIST, .res = 1, .pfx = "api", .ver = "v1", .rsc = "pods", .path = "/api/v1/pods"},
    {"GET", "mailto:someone", .v = GET, .path = ""},
    {"CONNECT", "example.com:443", .v = UNK, .mut = 1, .path = ""},

    /* Non-resource paths: verb is the lowercased method. */
    {"GET", "/healthz", .v = GET},
    {"GET", "/healthz/etcd", .v = GET},
    {"GET", "/readyz?verbose", .v = GET},
    {"GET", "/readyz?exclude=etcd&verbose=1", .v = GET},
    {"GET", "/livez", .v = GET},
    {"GET", "/livez/ping", .v = GET},
    {"GET", "/version", .v = GET},
    {"GET", "/api/v1", .v = GET},
    {"GET", "/api/v1/", .v = GET},
    {"GET", "/apis", .v = GET},
    {"GET", "/apis/apps", .v = GET},
    {"GET", "/apis/apps/v1", .v = GET, .pfx = "apis"},
    {"GET", "/apis/apps/v1/", .v = GET, .pfx = "apis"},
    {"GET", "/apis/apis/apis", .v = GET, .pfx = "apis"},
    {"GET", "/openapi/v2", .v = GET},
    {"GET", "/openapi/v3", .v = GET},
    {"GET", "/openapi/v3/apis/apps/v1?hash=0123abcd", .v = GET},
    {"GET", "/metrics", .v = GET},
    {"GET", "/metrics/slis", .v = GET},
    {"GET", "/debug/pprof/profile?seconds=30", .v = GET, .lr = 1},
    {"GET", "/debug/pprof/", .v = GET, .lr = 1},
    {"GET", "/debug/pprof", .v = GET},
    {"GET", "/debug/pprof%2Fheap", .v = GET, .lr = 1, .path = "/debug/pprof/heap"},
    {"GET", "/debug/flags/v", .v = GET},
    {"PUT", "/debug/flags/v", .v = LIM_VERB_PUT, .mut = 1},
    {"GET", "/.well-known/openid-configuration", .v = GET},
    {"GET", "/openid/v1/jwks", .v = GET},
    {"GET", "/logs", .v = GET},
    {"GET", "/logs/kube-apiserver.log", .v = GET},
    {"POST", "/healthz", .v = LIM_VERB_POST, .mut = 1},
    /* maxinflight.go only knows get/list/watch: a non-resource HEAD counts
     * as mutating, while HEAD on a resource is a "get". */
    {"HEAD", "/healthz", .v = LIM_VERB_HEAD, .mut = 1},
    {"OPTIONS", "/api", .v = LIM_VERB_OPTIONS, .mut = 1},
    {"DELETE", "/apis", .v = DEL, .mut = 1},
    {"PATCH", "/version", .v = PAT, .mut = 1},
    {"WATCH", "/healthz", .v = WAT, .lr = 1},
    {"LIST", "/metrics", .v = LIST},
    {"PROPFIND", "/healthz", .v = UNK, .mut = 1},
    {"get", "/healthz", .v = GET},
    {"OPTIONS", "*", .v = LIM_VERB_OPTIONS, .mut = 1},
    {"GET", "/healthz?resourceVersion=0&limit=1&continue=x&labelSelector=a", .v = GET, .rv = LIM_RV_ZERO, .rvs = "0", .hl = 1, .limit = 1, .cont = 1},
    /* A NUL is refused only where it would be exposed. */
    {"GET", "/api/v1/namespaces/ns/pods/p?labelSelector=a%00", .v = GET, .res = 1, .pfx = "api", .ver = "v1", .ns = "ns", .rsc = "pods", .name = "p"},
};

/* Targets kube-apiserver's Go server or RequestInfo refuses. */
static const struct {
    const char *m, *t;
    size_t len;  /* 0: strlen(t) */
    size_t mlen; /* 0: strlen(m) */
} bad[] = {
    {"GET", "/api/v1/pods%zz", 0, 0},
    {"GET", "/api/v1/pods%2", 0, 0},
    {"GET", "/api/v1/pods%", 0, 0},
    {"GET", "/api/v1/namespaces/a%00b/pods", 0, 0},
    {"GET", "/api/v1/pods\0", 13, 0},
    {"GET", "/api/v1/p\0ods", 13, 0},
    {"GET", "/api/v1/pods\r", 0, 0},
    {"GET", "/api/v1/pods\x7f", 0, 0},
    {"GET", "/api/v1/pods?watch=1\t", 0, 0},
    {"GET", "", 0, 0}, /* requestinfo_test.go "empty": ParseRequestURI refuses it */
    {"GET", "api/v1/pods", 0, 0},
    {"GET", ":foo", 0, 0},
    {"GET", "*?x", 0, 0},
    {"GET", "/api/v1/watch", 0, 0},
    {"GET", "/api/v1/watch/", 0, 0},
    {"GET", "/api/v1/proxy", 0, 0},
    {"GET", "/apis/apps/v1/watch", 0, 0},
    {"DELETE", "/apis/apps/v1/proxy", 0, 0},
    {"GET", "/api/v1/pods?resourceVersion=1%00", 0, 0},
    {"GET", "/api/v1/pods?labelSelector=a%00", 0, 0},
    {"DELETE", "/api/v1/pods?fieldSelector=a%00", 0, 0},
    {"GET", "http://host:abc/api/v1/pods", 0, 0},
    {"GET", "http://ho%zzst/", 0, 0},
    {"GET", "http://ho%41st/", 0, 0},
    {"GET", "http://[::1/", 0, 0},
    {"GET", "http://a b/", 0, 0},
    {"GET", "http://us er@host/", 0, 0},
    {"GET", "http://host/a%zz", 0, 0},
    {"", "/healthz", 0, 0},
    {"GE T", "/healthz", 0, 0},
    {"GET\0", "/healthz", 0, 4},
};
/* clang-format on */

static struct lim_request req;

static int
str_check(const struct tcase *c, const char *field, const char *got, const char *want)
{
    if (want == NULL) {
        want = "";
    }
    if (got == NULL || strcmp(got, want) != 0) {
        print_error("%s %s: %s is \"%s\", want \"%s\"\n", c->m, c->t, field,
                    got != NULL ? got : "(null)", want);
        return 1;
    }
    return 0;
}

static int
int_check(const struct tcase *c, const char *field, unsigned long long got, unsigned long long want)
{
    if (got != want) {
        print_error("%s %s: %s is %llu, want %llu\n", c->m, c->t, field, got, want);
        return 1;
    }
    return 0;
}

static int
check_case(const struct tcase *c)
{
    char err[256], path[512];
    size_t len = c->len != 0 ? c->len : strlen(c->t);
    const char *q = strchr(c->t, '?');
    int f = 0;

    snprintf(path, sizeof(path), "%.*s", (int)(q != NULL ? (size_t)(q - c->t) : len), c->t);
    if (lim_request_parse(&req, c->m, strlen(c->m), c->t, len, err, sizeof(err)) != 0) {
        print_error("%s %s: unexpected error: %s\n", c->m, c->t, err);
        return 1;
    }
    f += str_check(c, "verb", lim_verb_name(req.verb), lim_verb_name(c->v));
    f += int_check(c, "verb", req.verb, c->v);
    f += int_check(c, "is_resource", req.is_resource, c->res);
    f += int_check(c, "is_long_running", req.is_long_running, c->lr);
    f += int_check(c, "is_mutating", req.is_mutating, c->mut);
    f += int_check(c, "verb_from_path", req.verb_from_path, c->via);
    f += str_check(c, "method", req.method, c->m);
    f += str_check(c, "path", req.path, c->path != NULL ? c->path : path);
    f += str_check(c, "api_prefix", req.api_prefix, c->pfx);
    f += str_check(c, "api_group", req.api_group, c->grp);
    f += str_check(c, "api_version", req.api_version, c->ver);
    f += str_check(c, "ns", req.ns, c->ns);
    f += str_check(c, "resource", req.resource, c->rsc);
    f += str_check(c, "subresource", req.subresource, c->sub);
    f += str_check(c, "name", req.name, c->name);
    f += int_check(c, "rv", req.rv, c->rv);
    f += str_check(c, "resource_version", req.resource_version, c->rvs);
    f += int_check(c, "rv_match", req.rv_match, c->rvm);
    f += int_check(c, "has_limit", req.has_limit, c->hl);
    f += int_check(c, "limit", req.limit, c->limit);
    f += int_check(c, "has_continue", req.has_continue, c->cont);
    f += int_check(c, "send_initial_events", req.send_initial_events, c->sie);
    f += int_check(c, "follow", req.follow, c->fol);
    f += int_check(c, "bad_list_options", req.bad_list_options, c->bad);
    f += str_check(c, "label_selector", req.label_selector, c->lsel);
    f += str_check(c, "field_selector", req.field_selector, c->fsel);
    return f != 0;
}

static void
test_request_table_matches_kube_request_info(void **state)
{
    size_t i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        failed += (size_t)check_case(&cases[i]);
    }
    print_message("%zu request targets checked\n", sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(failed, 0);
}

static void
test_request_refuses_what_kube_refuses(void **state)
{
    char err[256];
    size_t i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len != 0 ? bad[i].len : strlen(bad[i].t);
        size_t mlen = bad[i].mlen != 0 ? bad[i].mlen : strlen(bad[i].m);

        err[0] = '\0';
        if (lim_request_parse(&req, bad[i].m, mlen, bad[i].t, len, err, sizeof(err)) != -1 ||
            err[0] == '\0' || req.path[0] != '\0' || req.verb != LIM_VERB_UNKNOWN) {
            print_error("\"%s\" \"%s\": not refused cleanly (err \"%s\")\n", bad[i].m, bad[i].t,
                        err);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void
test_request_legacy_prefix_without_resource_reports_kube_message(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(lim_request_parse(&req, "GET", 3, "/api/v1/watch", 13, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unable to determine kind and namespace from url"));
}

/* The buffer bound: a non-resource GET keeps "GET\0" and the path. */
static void
test_request_buffer_bound_is_exact(void **state)
{
    static char t[LIM_REQUEST_BUF + 2];
    char err[256];
    size_t fit = LIM_REQUEST_BUF - 4 - 1; /* method + NUL, path NUL */

    (void)state;
    memset(t, 'a', sizeof(t));
    t[0] = '/';
    assert_int_equal(lim_request_parse(&req, "GET", 3, t, fit, err, sizeof(err)), 0);
    assert_int_equal(strlen(req.path), fit);
    assert_true(req.path >= req.buf && req.path + fit < req.buf + LIM_REQUEST_BUF);
    assert_int_equal(lim_request_parse(&req, "GET", 3, t, fit + 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too long"));
    assert_string_equal(req.path, "");
}

/* The header's promise: 2040 bytes always fit, even in the worst case of a
 * field selector whose pinned name Go rewrites to three bytes per byte. */
static void
test_request_any_2040_byte_target_fits(void **state)
{
    static const char head[] = "/api/v1/pods?fieldSelector=metadata.name%3D%5C%3D";
    static char t[2040];
    char err[256];
    size_t n = sizeof(head) - 1;

    (void)state;
    memcpy(t, head, n);
    memset(t + n, 0xff, sizeof(t) - n);
    assert_int_equal(
        lim_request_parse(&req, "DELETECOLLECTION", 16, t, sizeof(t), err, sizeof(err)), 0);
    assert_int_equal(lim_request_parse(&req, "GET", 3, t, sizeof(t), err, sizeof(err)), 0);
    assert_int_equal(strlen(req.name), 1 + 3 * (sizeof(t) - n));
    assert_int_equal(strlen(req.field_selector), 16 + sizeof(t) - n);
}

static void
test_request_parse_forgets_previous_parse(void **state)
{
    static struct lim_request fresh;
    const char *rich = "/apis/apps/v1/namespaces/ns/deployments?watch=1&resourceVersion=7&"
                       "resourceVersionMatch=NotOlderThan&limit=3&continue=c&"
                       "sendInitialEvents=true&follow=1&labelSelector=a%3Db&"
                       "fieldSelector=metadata.name%3Dd&timeoutSeconds=x";
    char err[256];

    (void)state;
    assert_int_equal(lim_request_parse(&fresh, "GET", 3, "/healthz", 8, err, sizeof(err)), 0);
    memset(&req, 0xa5, sizeof(req));
    assert_int_equal(lim_request_parse(&req, "GET", 3, rich, strlen(rich), err, sizeof(err)), 0);
    assert_int_equal(req.verb, LIM_VERB_WATCH);
    assert_true(req.bad_list_options && req.has_limit && req.has_continue && req.follow);
    assert_int_equal(lim_request_parse(&req, "GET", 3, "/healthz", 8, err, sizeof(err)), 0);
    assert_int_equal(req.verb, fresh.verb);
    assert_int_equal(req.is_resource, fresh.is_resource);
    assert_int_equal(req.is_long_running, fresh.is_long_running);
    assert_int_equal(req.is_mutating, fresh.is_mutating);
    assert_int_equal(req.verb_from_path, fresh.verb_from_path);
    assert_int_equal(req.rv, fresh.rv);
    assert_int_equal(req.rv_match, fresh.rv_match);
    assert_int_equal(req.has_limit, fresh.has_limit);
    assert_int_equal(req.limit, fresh.limit);
    assert_int_equal(req.has_continue, fresh.has_continue);
    assert_int_equal(req.send_initial_events, fresh.send_initial_events);
    assert_int_equal(req.follow, fresh.follow);
    assert_int_equal(req.bad_list_options, fresh.bad_list_options);
    assert_string_equal(req.method, fresh.method);
    assert_string_equal(req.path, fresh.path);
    assert_string_equal(req.api_prefix, "");
    assert_string_equal(req.api_group, "");
    assert_string_equal(req.api_version, "");
    assert_string_equal(req.ns, "");
    assert_string_equal(req.resource, "");
    assert_string_equal(req.subresource, "");
    assert_string_equal(req.name, "");
    assert_string_equal(req.resource_version, "");
    assert_string_equal(req.label_selector, "");
    assert_string_equal(req.field_selector, "");
    /* A failed parse leaves nothing of the previous one either. */
    assert_int_equal(lim_request_parse(&req, "GET", 3, rich, strlen(rich), err, sizeof(err)), 0);
    assert_int_equal(lim_request_parse(&req, "GET", 3, "/api/v1/proxy", 13, err, sizeof(err)), -1);
    assert_int_equal(req.verb, LIM_VERB_UNKNOWN);
    assert_false(req.is_resource || req.has_limit || req.bad_list_options || req.follow);
    assert_string_equal(req.resource, "");
    assert_string_equal(req.label_selector, "");
}

/* The limiter keys on the namespace without measuring it again. */
static void
test_request_carries_the_namespace_length(void **state)
{
    char err[256];
    size_t i, n = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tcase *c = &cases[i];

        assert_int_equal(lim_request_parse(&req, c->m, strlen(c->m), c->t,
                                           c->len != 0 ? c->len : strlen(c->t), err, sizeof(err)),
                         0);
        assert_int_equal(req.ns_len, strlen(req.ns));
        n += req.ns_len != 0;
    }
    assert_true(n > 10);
    assert_int_equal(lim_request_parse(&req, "GET", 3, "/healthz", 8, err, sizeof(err)), 0);
    assert_int_equal(req.ns_len, 0);
}

static void
test_verb_names_round_trip(void **state)
{
    int v;

    (void)state;
    for (v = 0; v < LIM_VERB_COUNT; v++) {
        assert_int_equal(lim_verb_from_name(lim_verb_name((enum lim_verb)v)), v);
    }
    assert_string_equal(lim_verb_name(LIM_VERB_DELETECOLLECTION), "deletecollection");
    assert_string_equal(lim_verb_name(LIM_VERB_UNKNOWN), "");
    assert_string_equal(lim_verb_name(LIM_VERB_COUNT), "");
    assert_int_equal(lim_verb_from_name("GET"), -1);
    assert_int_equal(lim_verb_from_name("connect"), -1);
    assert_int_equal(lim_verb_from_name(NULL), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table_matches_kube_request_info),
        cmocka_unit_test(test_request_refuses_what_kube_refuses),
        cmocka_unit_test(test_request_legacy_prefix_without_resource_reports_kube_message),
        cmocka_unit_test(test_request_buffer_bound_is_exact),
        cmocka_unit_test(test_request_any_2040_byte_target_fits),
        cmocka_unit_test(test_request_parse_forgets_previous_parse),
        cmocka_unit_test(test_request_carries_the_namespace_length),
        cmocka_unit_test(test_verb_names_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
