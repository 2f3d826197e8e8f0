/* Protobuf bodies: see bn_sim_pb.h. Field numbers are those of
 * k8s.io/api core/v1 and coordination/v1 generated.proto and apimachinery
 * meta/v1 and runtime generated.proto. */
#include "bn_sim_pb.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "px_err.h"

/* A bounded reader over one message. */
struct pb {
    const uint8_t *p, *end;
};

struct field {
    uint32_t num;
    uint32_t wire; /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t v;
    const uint8_t *data;
    size_t len;
};

static int
varint(struct pb *b, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;

    while (b->p < b->end && shift < 64) {
        uint8_t c = *b->p++;

        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *out = v;
            return 0;
        }
        shift += 7;
    }
    return -1;
}

/* The next field; 1 when one was read, 0 at the end, -1 when malformed. */
static int
next(struct pb *b, struct field *f)
{
    uint64_t key;

    if (b->p == b->end) {
        return 0;
    }
    if (varint(b, &key) != 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) {
        return -1;
    }
    f->num = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    switch (f->wire) {
    case 0:
        return varint(b, &f->v) == 0 ? 1 : -1;
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;

        if ((size_t)(b->end - b->p) < n) {
            return -1;
        }
        b->p += n;
        return 1;
    }
    case 2:
        if (varint(b, &f->v) != 0 || f->v > (uint64_t)(b->end - b->p)) {
            return -1;
        }
        f->data = b->p;
        f->len = (size_t)f->v;
        b->p += f->len;
        return 1;
    default:
        return -1;
    }
}

static json_t *
str(const struct field *f)
{
    return f->wire == 2 ? json_stringn((const char *)f->data, f->len) : NULL;
}

/* map<string,string> entry {key = 1, value = 2} into <obj>. */
static int
map_entry(json_t *obj, const struct field *f)
{
    struct pb b = {f->data, f->data + f->len};
    struct field e;
    json_t *k = NULL, *v = NULL;
    int r;

    while ((r = next(&b, &e)) == 1) {
        if (e.num == 1 && e.wire == 2) {
            json_decref(k);
            k = str(&e);
        } else if (e.num == 2 && e.wire == 2) {
            json_decref(v);
            v = str(&e);
        }
    }
    if (r < 0 || k == NULL) {
        json_decref(k);
        json_decref(v);
        return -1;
    }
    json_object_set_new(obj, json_string_value(k), v != NULL ? v : json_string(""));
    json_decref(k);
    return 0;
}

static json_t *
object_meta(const struct field *f)
{
    static const char *const strings[] = {[1] = "name",
                                          [2] = "generateName",
                                          [3] = "namespace",
                                          [5] = "uid",
                                          [6] = "resourceVersion"};
    struct pb b = {f->data, f->data + f->len};
    json_t *m = json_object(), *labels = NULL, *ann = NULL, *fin = NULL;
    struct field e;
    int r;

    while ((r = next(&b, &e)) == 1) {
        if (e.num <= 6 && e.num != 4 && strings[e.num] != NULL && e.wire == 2 && e.len > 0) {
            json_object_set_new(m, strings[e.num], str(&e));
        } else if ((e.num == 11 || e.num == 12) && e.wire == 2) {
            json_t **t = e.num == 11 ? &labels : &ann;

            if (*t == NULL) {
                *t = json_object();
            }
            if (map_entry(*t, &e) != 0) {
                r = -1;
                break;
            }
        } else if (e.num == 14 && e.wire == 2) {
            if (fin == NULL) {
                fin = json_array();
            }
            json_array_append_new(fin, str(&e));
        }
    }
    if (labels != NULL) {
        json_object_set_new(m, "labels", labels);
    }
    if (ann != NULL) {
        json_object_set_new(m, "annotations", ann);
    }
    if (fin != NULL) {
        json_object_set_new(m, "finalizers", fin);
    }
    if (r < 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *
micro_time(const struct field *f)
{
    struct pb b = {f->data, f->data + f->len};
    struct field e;
    int64_t sec = 0;
    uint64_t nanos = 0;
    char buf[64], out[80];
    time_t t;
    struct tm tm;

    while (next(&b, &e) == 1) {
        if (e.num == 1 && e.wire == 0) {
            sec = (int64_t)e.v;
        } else if (e.num == 2 && e.wire == 0) {
            nanos = e.v % 1000000000ull;
        }
    }
    t = (time_t)sec;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof(out), "%s.%06uZ", buf, (unsigned)(nanos / 1000));
    return json_string(out);
}

static int
configmap(json_t *doc, struct pb *b)
{
    json_t *data = NULL, *bin = NULL;
    struct field f;
    int r;

    while ((r = next(b, &f)) == 1) {
        if (f.num == 2 && f.wire == 2) {
            if (data == NULL) {
                data = json_object();
                json_object_set_new(doc, "data", data);
            }
            if (map_entry(data, &f) != 0) {
                return -1;
            }
        } else if (f.num == 3 && f.wire == 2) {
            /* binaryData values are bytes; JSON carries them base64'd, which
             * the simulator does not need to reproduce: kept as given */
            if (bin == NULL) {
                bin = json_object();
                json_object_set_new(doc, "binaryData", bin);
            }
            if (map_entry(bin, &f) != 0) {
                return -1;
            }
        } else if (f.num == 4 && f.wire == 0) {
            json_object_set_new(doc, "immutable", json_boolean(f.v != 0));
        }
    }
    return r;
}

static int
lease_spec(json_t *doc, const struct field *sf)
{
    struct pb b = {sf->data, sf->data + sf->len};
    json_t *spec = json_object();
    struct field f;
    int r;

    json_object_set_new(doc, "spec", spec);
    while ((r = next(&b, &f)) == 1) {
        if ((f.num == 1 || f.num == 6 || f.num == 7) && f.wire == 2) {
            json_object_set_new(spec,
                                f.num == 1   ? "holderIdentity"
                                : f.num == 6 ? "strategy"
                                             : "preferredHolder",
                                str(&f));
        } else if ((f.num == 2 || f.num == 5) && f.wire == 0) {
            json_object_set_new(spec, f.num == 2 ? "leaseDurationSeconds" : "leaseTransitions",
                                json_integer((json_int_t)(int32_t)f.v));
        } else if ((f.num == 3 || f.num == 4) && f.wire == 2) {
            json_object_set_new(spec, f.num == 3 ? "acquireTime" : "renewTime", micro_time(&f));
        }
    }
    return r;
}

static int
namespace_spec(json_t *doc, const struct field *sf)
{
    struct pb b = {sf->data, sf->data + sf->len};
    json_t *fin = json_array();
    struct field f;
    int r;

    json_object_set_new(doc, "spec", json_pack("{s:o}", "finalizers", fin));
    while ((r = next(&b, &f)) == 1) {
        if (f.num == 1 && f.wire == 2) {
            json_array_append_new(fin, str(&f));
        }
    }
    return r;
}

/* runtime.Unknown {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2}. */
static int
unwrap(const uint8_t *buf, size_t len, char *kind, size_t klen, struct field *raw)
{
    struct pb b = {buf + 4, buf + len}, tb;
    struct field f, t;
    bool have_raw = false;

    if (len < 4 || memcmp(buf, "k8s\0", 4) != 0) {
        return -1;
    }
    kind[0] = '\0';
    while (next(&b, &f) == 1) {
        if (f.num == 1 && f.wire == 2) {
            tb.p = f.data;
            tb.end = f.data + f.len;
            while (next(&tb, &t) == 1) {
                if (t.num == 2 && t.wire == 2 && t.len < klen) {
                    memcpy(kind, t.data, t.len);
                    kind[t.len] = '\0';
                }
            }
        } else if (f.num == 2 && f.wire == 2) {
            *raw = f;
            have_raw = true;
        }
    }
    return have_raw && b.p == b.end ? 0 : -1;
}

json_t *
bn_sim_pb_object(enum bn_sim_res r, const uint8_t *buf, size_t len, int *code, char *err,
                 size_t errlen)
{
    const struct bn_sim_resdef *d = bn_sim_resdef(r);
    struct field raw, f;
    struct pb b;
    char kind[64];
    json_t *doc;
    int rc = 0;

    *code = 400;
    if (unwrap(buf, len, kind, sizeof(kind), &raw) != 0) {
        px_errf(err, errlen,
                "the object provided is unrecognized: not a Kubernetes protobuf "
                "message");
        return NULL;
    }
    if (r != BN_SIM_RES_CONFIGMAPS && r != BN_SIM_RES_NAMESPACES && r != BN_SIM_RES_LEASES) {
        *code = 415;
        px_errf(err, errlen, "the simulator decodes %s only as JSON: send application/json",
                d->name);
        return NULL;
    }
    if (kind[0] != '\0' && strcmp(kind, d->kind) != 0) {
        px_errf(err, errlen, "the kind in the data (%s) does not match the expected kind (%s)",
                kind, d->kind);
        return NULL;
    }
    doc = json_pack("{s:s,s:s}", "apiVersion", d->api_version, "kind", d->kind);
    b.p = raw.data;
    b.end = raw.data + raw.len;
    /* metadata (1) first, then what the kind has */
    if (r == BN_SIM_RES_CONFIGMAPS) {
        struct pb meta = b;

        while ((rc = next(&meta, &f)) == 1) {
            if (f.num == 1 && f.wire == 2) {
                json_object_set_new(doc, "metadata", object_meta(&f));
            }
        }
        rc = rc == 0 ? configmap(doc, &b) : rc;
    } else {
        while ((rc = next(&b, &f)) == 1) {
            if (f.num == 1 && f.wire == 2) {
                json_t *m = object_meta(&f);

                if (m == NULL) {
                    rc = -1;
                    break;
                }
                json_object_set_new(doc, "metadata", m);
            } else if (f.num == 2 && f.wire == 2) {
                rc = r == BN_SIM_RES_LEASES ? lease_spec(doc, &f) : namespace_spec(doc, &f);
                if (rc < 0) {
                    break;
                }
            }
        }
    }
    if (rc < 0 || json_object_get(doc, "metadata") == NULL ||
        json_is_null(json_object_get(doc, "metadata"))) {
        json_decref(doc);
        px_errf(err, errlen, "the object provided is unrecognized: malformed protobuf");
        return NULL;
    }
    return doc;
}

json_t *
bn_sim_pb_delete_options(const uint8_t *buf, size_t len, int *code, char *err, size_t errlen)
{
    struct field raw, f, p;
    struct pb b, pb;
    char kind[64];
    json_t *doc = json_object(), *pre;

    *code = 400;
    if (unwrap(buf, len, kind, sizeof(kind), &raw) != 0) {
        json_decref(doc);
        px_errf(err, errlen,
                "the object provided is unrecognized: not a Kubernetes protobuf "
                "message");
        return NULL;
    }
    b.p = raw.data;
    b.end = raw.data + raw.len;
    while (next(&b, &f) == 1) {
        if (f.num == 2 && f.wire == 2) {
            pre = json_object();
            json_object_set_new(doc, "preconditions", pre);
            pb.p = f.data;
            pb.end = f.data + f.len;
            while (next(&pb, &p) == 1) {
                if ((p.num == 1 || p.num == 2) && p.wire == 2) {
                    json_object_set_new(pre, p.num == 1 ? "uid" : "resourceVersion", str(&p));
                }
            }
        }
    }
    return doc;
}
