/* floodgate explain: what the proxy would do with one request from one
 * identity, without sending it (kubectl auth can-i, for rate limits). The
 * identity is built as the proxy builds it (a client certificate's user and
 * groups, a verified token's claims, anonymous, or an unverifiable
 * credential's hash), the rest is px_explain. With --stdin, one request per
 * line and one JSON object per line, for a whole audit log's worth. */
#include "px_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "lim.h"
#include "px_clock.h"
#include "px_err.h"
#include "px_explain.h"
#include "px_jwt.h"
#include "px_learned.h"

#define LINE_MAX_BYTES 16384 /* one --stdin line; longer lines are errors */
#define TEXT_MAX       16384 /* the text block: at most ~30 lines of < 300 bytes */
#define MAX_FIELDS     4     /* METHOD TARGET [USER [GROUP,...]] */
#define OUT_START      8192  /* one JSON object is ~2 KB; grows if one is larger */

#define USAGE                                                                                      \
    "usage: floodgate explain --config FILE [IDENTITY] [--state FILE] [--json] METHOD TARGET\n"    \
    "       floodgate explain --config FILE [IDENTITY] [--state FILE] --stdin\n"

static const char usage_text[] =
    USAGE "IDENTITY (default --anonymous):\n"
          "  --user USER [--group GROUP]...   a client certificate's CN and O\n"
          "  --token-claims JSON|@FILE        a service-account token's payload\n"
          "  --anonymous                      no credential\n"
          "  --unverified TOKEN               a credential floodgate cannot verify\n"
          "--state FILE   learned LIST sizes {\"learned\": [...]} (conf/README.md)\n"
          "--json         one JSON object (keys in conf/README.md) instead of text\n"
          "--stdin        read \"METHOD TARGET [USER [GROUP,...]]\" lines, write JSON lines\n";

struct opts {
    const char *config;
    const char *state;
    struct px_explain_who who; /* claims: JSON text or @FILE */
    bool who_set;
    const char *groups[LIM_ID_MAX_GROUPS];
    bool json;
    bool from_stdin;
    const char *method;
    const char *target;
};

static int
usage(const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "floodgate explain: %s\n", why);
    }
    fputs(USAGE "(floodgate explain --help lists the options)\n", stderr);
    return 2;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *<i>; NULL when
 * argv[*i] is not --name. *<missing> is set when --name has no value. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0) {
        return NULL;
    }
    if (a[n] == '=') {
        return a + n + 1;
    }
    if (a[n] != '\0') {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int
set_who(struct opts *o, enum px_explain_cred kind)
{
    if (o->who_set && o->who.kind != kind) {
        return usage("--user, --token-claims, --anonymous and --unverified exclude each other");
    }
    o->who.kind = kind;
    o->who_set = true;
    return 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const with_value[] = {"--config",       "--state",      "--user", "--group",
                                             "--token-claims", "--unverified", NULL};
    const char *pos[2];
    size_t npos = 0, k;
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        bool missing = false;

        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--stdin") == 0) {
            o->from_stdin = true;
            continue;
        }
        if (strcmp(a, "--anonymous") == 0) {
            if (set_who(o, PX_EXPLAIN_ANONYMOUS) != 0) {
                return 2;
            }
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return -1; /* printed: exit 0 */
        }
        if (a[0] != '-') {
            if (npos == 2) {
                return usage("expected METHOD TARGET, got a third argument");
            }
            pos[npos++] = a;
            continue;
        }
        for (k = 0; with_value[k] != NULL; k++) {
            v = opt_value(argc, argv, &i, with_value[k], &missing);
            if (v != NULL || missing) {
                break;
            }
        }
        if (missing) {
            fprintf(stderr, "floodgate explain: %s needs a value\n", a);
            return usage(NULL);
        }
        if (v == NULL) {
            fprintf(stderr, "floodgate explain: unknown option %s\n", a);
            return usage(NULL);
        }
        switch (k) {
        case 0:
            o->config = v;
            break;
        case 1:
            o->state = v;
            break;
        case 2:
            if (set_who(o, PX_EXPLAIN_CERT) != 0) {
                return 2;
            }
            o->who.user = v;
            break;
        case 3:
            if (o->who.ngroups == LIM_ID_MAX_GROUPS) {
                return usage("more than 16 --group");
            }
            o->groups[o->who.ngroups++] = v;
            break;
        case 4:
            if (set_who(o, PX_EXPLAIN_CLAIMS) != 0) {
                return 2;
            }
            o->who.claims = v;
            break;
        default:
            if (set_who(o, PX_EXPLAIN_UNVERIFIED) != 0) {
                return 2;
            }
            o->who.token = v;
            break;
        }
    }
    if (o->config == NULL || o->config[0] == '\0') {
        return usage("--config FILE is required");
    }
    o->who.groups = o->groups;
    if (o->who.ngroups != 0 && o->who.kind != PX_EXPLAIN_CERT) {
        return usage("--group needs --user (a certificate always has a user)");
    }
    if (o->from_stdin ? npos != 0 : npos != 2) {
        return usage(o->from_stdin ? "--stdin reads METHOD TARGET from its lines"
                                   : "expected METHOD TARGET");
    }
    if (!o->from_stdin) {
        o->method = pos[0];
        o->target = pos[1];
    }
    return 0;
}

/* Reads @FILE for --token-claims into <buf>. */
static int
read_claims_file(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        px_errf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    if (n == cap) {
        px_errf(err, errlen, "%s: longer than %zu bytes", path, cap - 1);
        return -1;
    }
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* The identity the proxy would see for the options' credential; the
 * claims of --token-claims @FILE are read from FILE. */
static int
identity_from_opts(const struct opts *o, const struct cf_config *cf, struct lim_identity *id,
                   char *err, size_t errlen)
{
    struct px_explain_who w = o->who;
    char why[PX_ERRLEN], *text = NULL;
    int rc;

    if (w.kind == PX_EXPLAIN_CLAIMS) {
        w.claims_len = strlen(w.claims);
        if (w.claims[0] == '@') {
            text = malloc(PX_JWT_MAX_TOKEN + 1);
            if (text == NULL || read_claims_file(w.claims + 1, text, PX_JWT_MAX_TOKEN + 1,
                                                 &w.claims_len, why, sizeof(why)) != 0) {
                px_errf(err, errlen, "--token-claims: %s", text == NULL ? "out of memory" : why);
                free(text);
                return -1;
            }
            w.claims = text;
        }
    }
    rc = px_explain_identity(id, &w, cf, why, sizeof(why));
    if (rc != 0) {
        px_errf(err, errlen, "%s: %s%s", w.kind == PX_EXPLAIN_CLAIMS ? "--token-claims" : "--user",
                why, strstr(why, "unverified") != NULL ? " (try --unverified)" : "");
    }
    free(text);
    return rc;
}

/* A limiter holding the learned sizes of --state, bound to the policy;
 * NULL without --state (a fresh limiter is then implied). */
static int
state_limiter(const struct opts *o, struct cf_config *cf, struct lim **out, char *err,
              size_t errlen)
{
    struct lim *l;

    *out = NULL;
    if (o->state == NULL) {
        return 0;
    }
    /* One client entry: explain never creates any, it only looks. */
    l = lim_new(1, 0, err, errlen);
    if (l == NULL) {
        return -1;
    }
    if (lim_bind(l, cf->policy, err, errlen) != 0 ||
        px_learned_load(l, o->state, err, errlen) != 0) {
        lim_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* Output buffer for one JSON object: json_dumpf would write it token by
 * token through stdio's locked fwrite, the slowest part of --stdin. */
struct outbuf {
    char *buf;
    size_t cap;
};

/* Writes <j> (a reference it consumes) as one line; -1 when <j> is NULL
 * or memory runs out. */
static int
print_json(struct outbuf *o, json_t *j)
{
    size_t n = j != NULL ? json_dumpb(j, o->buf, o->cap, JSON_COMPACT) : 0;

    if (n > o->cap) {
        char *b = realloc(o->buf, n);

        if (b != NULL) {
            o->buf = b;
            o->cap = n;
            n = json_dumpb(j, o->buf, o->cap, JSON_COMPACT);
        } else {
            n = 0;
        }
    }
    json_decref(j);
    if (n == 0 || n > o->cap) {
        return -1;
    }
    fwrite(o->buf, 1, n, stdout);
    fputc('\n', stdout);
    return 0;
}

static int
explain_one(const struct opts *o, struct lim *l, const struct cf_config *cf,
            struct lim_identity *id, struct px_explain *x)
{
    char err[PX_ERRLEN], text[TEXT_MAX];
    size_t need;

    if (px_explain_run(x, l, false, cf, id, o->method, o->target, px_now_ns(), err, sizeof(err)) !=
        0) {
        fprintf(stderr, "floodgate explain: %s\n", err);
        return 1;
    }
    if (o->json) {
        struct outbuf out = {NULL, 0};
        int rc = print_json(&out, px_explain_to_json(x));

        free(out.buf);
        if (rc != 0) {
            fprintf(stderr, "floodgate explain: out of memory\n");
            return 1;
        }
        return 0;
    }
    need = px_explain_format(x, text, sizeof(text));
    fputs(text, stdout);
    if (need >= sizeof(text)) {
        fputs("...\n", stdout);
    }
    return 0;
}

/* One "line N: why" object. */
static void
print_line_error(struct outbuf *o, unsigned long line, const char *why)
{
    json_t *j = json_object();

    json_object_set_new(j, "line", json_integer((json_int_t)line));
    json_object_set_new(j, "error", json_string(why));
    if (json_object_get(j, "error") == NULL) {
        json_object_set_new(j, "error", json_string("the line is not UTF-8 text"));
    }
    print_json(o, j);
}

/* Splits <s> on blanks into at most MAX_FIELDS fields; -1 beyond. */
static int
split_fields(char *s, char **f, size_t *n)
{
    *n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t') {
            *s++ = '\0';
        }
        if (*s == '\0') {
            return 0;
        }
        if (*n == MAX_FIELDS) {
            return -1;
        }
        f[(*n)++] = s;
        while (*s != '\0' && *s != ' ' && *s != '\t') {
            s++;
        }
    }
}

static int
explain_stdin(struct lim *l, const struct cf_config *cf, struct lim_identity *base,
              struct px_explain *x)
{
    struct lim_identity *own = malloc(sizeof(*own));
    char *line = malloc(LINE_MAX_BYTES + 2), why[PX_ERRLEN];
    struct outbuf out = {malloc(OUT_START), OUT_START};
    unsigned long n = 0;
    int bad = 0;

    if (own == NULL || line == NULL || out.buf == NULL) {
        fprintf(stderr, "floodgate explain: out of memory\n");
        free(own);
        free(line);
        free(out.buf);
        return 1;
    }
    while (fgets(line, LINE_MAX_BYTES + 2, stdin) != NULL) {
        size_t len = strlen(line), nf;
        struct lim_identity *id = base;
        char *f[MAX_FIELDS];
        json_t *j;

        n++;
        why[0] = '\0';
        if (len > LINE_MAX_BYTES && line[len - 1] != '\n') {
            int ch;

            while ((ch = fgetc(stdin)) != EOF && ch != '\n') {
            }
            snprintf(why, sizeof(why), "longer than %d bytes", LINE_MAX_BYTES);
        } else {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
                line[--len] = '\0';
            }
            if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#') {
                continue; /* blank lines and comments */
            }
            if (split_fields(line, f, &nf) != 0 || nf < 2) {
                snprintf(why, sizeof(why), "expected METHOD TARGET [USER [GROUP,...]]");
            } else if (nf >= 3 && px_explain_identity_audit(own, f[2], nf == 4 ? f[3] : NULL, why,
                                                            sizeof(why)) != 0) {
                /* why says it */
            } else {
                id = nf >= 3 ? own : base;
                if (px_explain_run(x, l, false, cf, id, f[0], f[1], px_now_ns(), why,
                                   sizeof(why)) != 0 &&
                    why[0] == '\0') {
                    snprintf(why, sizeof(why), "bad request");
                }
            }
        }
        if (why[0] != '\0') {
            print_line_error(&out, n, why);
            bad = 1;
            continue;
        }
        j = px_explain_to_json(x);
        if (j != NULL) {
            json_object_set_new(j, "line", json_integer((json_int_t)n));
        }
        if (print_json(&out, j) != 0) {
            print_line_error(&out, n, "out of memory");
            bad = 1;
        }
    }
    free(own);
    free(line);
    free(out.buf);
    if (ferror(stdin)) {
        fprintf(stderr, "floodgate explain: reading stdin failed\n");
        return 1;
    }
    return bad;
}

int
px_cmd_explain(int argc, char **argv)
{
    struct cf_config *cf = NULL;
    struct lim_identity *id = NULL;
    struct px_explain *x = NULL;
    struct lim *l = NULL;
    struct opts o;
    char err[CF_ERRLEN];
    int rc = parse_args(argc, argv, &o);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (cf_load(o.config, &cf, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate explain: %s\n", err);
        return 1;
    }
    rc = 1;
    id = malloc(sizeof(*id));
    x = malloc(sizeof(*x));
    if (id == NULL || x == NULL) {
        fprintf(stderr, "floodgate explain: out of memory\n");
        goto done;
    }
    if (identity_from_opts(&o, cf, id, err, sizeof(err)) != 0 ||
        state_limiter(&o, cf, &l, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate explain: %s\n", err);
        goto done;
    }
    rc = o.from_stdin ? explain_stdin(l, cf, id, x) : explain_one(&o, l, cf, id, x);
    if (fflush(stdout) != 0) {
        rc = 1;
    }
done:
    free(x);
    free(id);
    lim_free(l);
    cf_unref(cf);
    return rc;
}
