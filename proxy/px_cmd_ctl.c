/* floodgate ctl: the admin endpoint for people who do not want to type
 * curl, mid-incident. One request per invocation, to --admin (default
 * $FLOODGATE_ADMIN, else 127.0.0.1:9444; "unix:/path" for the socket),
 * with --token-file's bearer token. Human output by default, the raw JSON
 * answer with --json. Exit 0 on success, 1 on an error answer or when the
 * endpoint cannot be reached, 2 on a usage error. Never talks to the
 * apiserver. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lim_identity.h"
#include "px_cmd.h"
#include "px_ctl.h"
#include "px_err.h"

#define CTL_DEFAULT_ADMIN "127.0.0.1:9444"
#define CTL_TIMEOUT_MS    10000
#define CTL_PATH_MAX      8192
#define CTL_MAX_POS       4

struct ctl_opts {
    const char *admin;
    const char *token_file;
    char token[4096];
    bool json;
    bool reject_list_watch;
    long top; /* 0: the server's default */
    const char *by;
    const char *user;
    const char *groups[LIM_ID_MAX_GROUPS];
    size_t ngroups;
    const char *pos[CTL_MAX_POS + 1];
    int npos;
};

static const char usage_text[] =
    "usage: floodgate ctl [--admin HOST:PORT|unix:PATH] [--token-file FILE] [--json] COMMAND\n"
    "\n"
    "  healthz                          is the process alive\n"
    "  readyz                           config loaded and the apiserver healthy (exit 1 if not)\n"
    "  metrics                          the Prometheus exposition\n"
    "  clients [--top N] [--by rate|rejects|watches]\n"
    "                                   the heaviest identities\n"
    "  config                           the effective policy, overrides and shed state\n"
    "  shed SCALE [--reject-list-watch] scale enforced classes to SCALE (\"30%\"), and reject\n"
    "                                   every non-exempt LIST and watch\n"
    "  shed off                         back to 100%, LIST and watch admitted\n"
    "  mode CLASS enforce|dry-run|exempt|policy\n"
    "                                   override a class's mode (policy: as configured)\n"
    "  block USER TTL                   reject every request of USER for TTL (\"10m\")\n"
    "  allow USER TTL                   treat USER as exempt for TTL\n"
    "  unblock USER                     lift a block or allow now\n"
    "  reload                           reload the configuration file (as SIGHUP)\n"
    "  explain METHOD TARGET [--user U [--group G]...]\n"
    "                                   what the running limiter would decide now\n"
    "\n"
    "--admin defaults to $FLOODGATE_ADMIN, else " CTL_DEFAULT_ADMIN ".\n"
    "Exit 0 on success, 1 on an error answer or an unreachable endpoint, 2 on usage errors.\n";

static int
usage(const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "floodgate ctl: %s\n", why);
    }
    fputs(usage_text, stderr);
    return 2;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value, or NULL when
 * argv[*i] is not --name. *<missing> when the value is absent. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (a == NULL || strncmp(a, name, n) != 0) {
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
parse(int argc, char **argv, struct ctl_opts *o)
{
    bool only_pos = false;
    int i;

    memset(o, 0, sizeof(*o));
    o->admin = getenv("FLOODGATE_ADMIN");
    if (o->admin == NULL || o->admin[0] == '\0') {
        o->admin = CTL_DEFAULT_ADMIN;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;

        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->npos == CTL_MAX_POS) {
                return usage("too many arguments");
            }
            o->pos[o->npos++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_pos = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--reject-list-watch") == 0) {
            o->reject_list_watch = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        } else if ((v = opt_value(argc, argv, &i, "--admin", &missing)) != NULL) {
            o->admin = v;
        } else if ((v = opt_value(argc, argv, &i, "--token-file", &missing)) != NULL) {
            o->token_file = v;
        } else if ((v = opt_value(argc, argv, &i, "--by", &missing)) != NULL) {
            o->by = v;
        } else if ((v = opt_value(argc, argv, &i, "--user", &missing)) != NULL) {
            o->user = v;
        } else if ((v = opt_value(argc, argv, &i, "--group", &missing)) != NULL) {
            if (o->ngroups == LIM_ID_MAX_GROUPS) {
                return usage("--group: at most 16 groups");
            }
            o->groups[o->ngroups++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--top", &missing)) != NULL) {
            char *end;

            errno = 0;
            o->top = strtol(v, &end, 10);
            if (errno != 0 || *end != '\0' || o->top < 1 || o->top > 1000) {
                return usage("--top: expected an integer 1..1000");
            }
        } else {
            char msg[160];

            snprintf(msg, sizeof(msg), "%s: %s", a, missing ? "needs a value" : "unknown option");
            return usage(msg);
        }
        if (missing) {
            char msg[160];

            snprintf(msg, sizeof(msg), "%s: needs a value", a);
            return usage(msg);
        }
    }
    if (o->npos == 0) {
        return usage("a command is required");
    }
    return 0;
}

/* The request; on an error answer prints what the server said. Returns
 * 0 with <a> (2xx), 1 otherwise (<a> freed). */
static int
call(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
     struct px_ctl_answer *a)
{
    char err[512], *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;

    json_decref(body);
    rc = px_ctl_request(o->admin, o->token_file != NULL ? o->token : NULL, method, path, text,
                        CTL_TIMEOUT_MS, a, err, sizeof(err));
    free(text);
    if (rc != 0) {
        fprintf(stderr, "floodgate ctl: %s\n", err);
        return 1;
    }
    if (a->status / 100 == 2) {
        return 0;
    }
    if (o->json) {
        fputs(a->body, stdout);
    } else {
        json_t *j = json_loads(a->body, 0, NULL);
        const char *msg = json_string_value(json_object_get(j, "error"));

        fprintf(stderr, "floodgate ctl: %s (HTTP %d)%s\n", msg != NULL ? msg : a->body, a->status,
                a->status == 401 ? "; pass the admin token with --token-file" : "");
        json_decref(j);
    }
    px_ctl_answer_free(a);
    return 1;
}

/* Prints the raw answer (--json, or text endpoints). */
static int
raw(const struct ctl_opts *o, const char *path, bool ok_on_error)
{
    struct px_ctl_answer a;
    char err[512];

    if (px_ctl_request(o->admin, o->token_file != NULL ? o->token : NULL, "GET", path, NULL,
                       CTL_TIMEOUT_MS, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate ctl: %s\n", err);
        return 1;
    }
    fputs(a.body, a.status / 100 == 2 || ok_on_error ? stdout : stderr);
    if (a.status == 401) {
        fprintf(stderr, "floodgate ctl: HTTP 401; pass the admin token with --token-file\n");
    }
    px_ctl_answer_free(&a);
    return a.status / 100 == 2 ? 0 : 1; /* the status outlives the body */
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static long long
num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Runs a control and prints its answer as JSON (--json) or through <human>. */
static int
control(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
        void (*human)(json_t *answer))
{
    struct px_ctl_answer a;
    json_t *j;

    if (call(o, method, path, body, &a) != 0) {
        return 1;
    }
    j = json_loads(a.body, 0, NULL);
    if (o->json || j == NULL) {
        fputs(a.body, stdout);
    } else {
        human(j);
    }
    json_decref(j);
    px_ctl_answer_free(&a);
    return 0;
}

static void
print_shed(json_t *j)
{
    json_t *prev = json_object_get(j, "previous");

    printf("shed: enforced classes at %lld%% of their budgets (was %lld%%); non-exempt LIST "
           "and watch %s (was %s)\n",
           num(j, "scale_pct"), num(prev, "scale_pct"),
           json_is_true(json_object_get(j, "reject_list_watch")) ? "rejected" : "admitted",
           json_is_true(json_object_get(prev, "reject_list_watch")) ? "rejected" : "admitted");
}

static void
print_mode(json_t *j)
{
    printf("class %s: %s (was %s; the policy says %s)\n", str(j, "class"), str(j, "mode"),
           str(j, "previous"), str(j, "policy_mode"));
}

static void
print_override(json_t *j)
{
    printf("%s %s for %s, until %s\n",
           strcmp(str(j, "action"), "allow") == 0 ? "allowed (exempt)" : "blocked", str(j, "user"),
           str(j, "ttl"), str(j, "expires_at"));
}

static void
print_unblock(json_t *j)
{
    printf("lifted the block or allow of %s\n", str(j, "user"));
}

static void
print_reload(json_t *j)
{
    printf("reloaded %s (sha256 %s)\n", str(j, "path"), str(j, "hash"));
}

static int
cmd_clients(const struct ctl_opts *o)
{
    char path[128];
    struct px_ctl_answer a;
    json_t *j, *c;
    size_t i;

    const char *by = o->by != NULL ? o->by : "rate";

    if (strcmp(by, "rate") != 0 && strcmp(by, "rejects") != 0 && strcmp(by, "watches") != 0) {
        return usage("--by: expected rate, rejects or watches");
    }
    snprintf(path, sizeof(path), "/debug/clients?top=%ld&by=%s", o->top > 0 ? o->top : 10, by);
    if (call(o, "GET", path, NULL, &a) != 0) {
        return 1;
    }
    j = json_loads(a.body, 0, NULL);
    if (o->json || j == NULL) {
        fputs(a.body, stdout);
    } else {
        printf("%-4s %-40s %-20s %10s %10s %9s %8s %8s\n", "#", "KEY", "CLASS", "REQ/S", "REQUESTS",
               "REJECTS", "WATCHES", "SEATS");
        json_array_foreach(json_object_get(j, "clients"), i, c)
        {
            printf("%-4zu %-40s %-20s %10.2f %10lld %9lld %8lld %8lld\n", i + 1, str(c, "key"),
                   str(c, "class"), json_real_value(json_object_get(c, "rate_per_second")),
                   num(c, "requests"), num(c, "rejects"), num(c, "watches_open"),
                   num(c, "inflight_seats"));
        }
        if (json_array_size(json_object_get(j, "clients")) == 0) {
            printf("(no clients tracked)\n");
        }
    }
    json_decref(j);
    px_ctl_answer_free(&a);
    return 0;
}

static const char *
rate_text(json_t *c, const char *k)
{
    json_t *r = json_object_get(c, k);

    return json_is_object(r) ? str(r, "text") : "-";
}

static int
cmd_config(const struct ctl_opts *o)
{
    struct px_ctl_answer a;
    json_t *j, *c, *shed, *rel;
    size_t i;

    if (call(o, "GET", "/debug/config", NULL, &a) != 0) {
        return 1;
    }
    j = json_loads(a.body, 0, NULL);
    if (o->json || j == NULL) {
        fputs(a.body, stdout);
        json_decref(j);
        px_ctl_answer_free(&a);
        return 0;
    }
    shed = json_object_get(j, "shed");
    rel = json_object_get(j, "reloads");
    printf("config    %s (sha256 %s), loaded %s\n", str(j, "path"), str(j, "hash"),
           str(j, "loaded_at"));
    printf("reloads   %lld applied, %lld refused%s%s\n", num(rel, "success"), num(rel, "failure"),
           str(rel, "last_error")[0] != '\0' ? "; last refused: " : "", str(rel, "last_error"));
    printf("shed      %lld%%%s\n", num(shed, "scale_pct"),
           json_is_true(json_object_get(shed, "reject_list_watch"))
               ? ", non-exempt LIST and watch rejected"
               : "");
    printf("\n%-20s %-8s %-10s %12s %6s %12s %6s %8s\n", "CLASS", "MODE", "PER", "RATE", "BURST",
           "CLASS RATE", "BURST", "WATCHES");
    json_array_foreach(json_object_get(j, "classes"), i, c)
    {
        char mode[32];

        snprintf(mode, sizeof(mode), "%s%s", str(c, "mode"),
                 json_is_true(json_object_get(c, "mode_overridden")) ? "*" : "");
        printf("%-20s %-8s %-10s %12s %6lld %12s %6lld %8lld\n", str(c, "name"), mode,
               str(c, "distinguisher"), rate_text(c, "rate"), num(c, "burst"),
               rate_text(c, "class_rate"), num(c, "class_burst"), num(c, "max_watches"));
    }
    if (json_array_size(json_object_get(j, "overrides")) > 0) {
        printf("\n%-40s %-6s %s\n", "OVERRIDE", "ACTION", "EXPIRES");
        json_array_foreach(json_object_get(j, "overrides"), i, c)
        {
            printf("%-40s %-6s %s (in %.0fs)\n", str(c, "user"), str(c, "action"),
                   str(c, "expires_at"), json_real_value(json_object_get(c, "expires_in_seconds")));
        }
    }
    printf("\n* mode set by an operator (floodgate ctl mode CLASS policy restores it)\n");
    json_decref(j);
    px_ctl_answer_free(&a);
    return 0;
}

/* Appends <key> and <value> percent-encoded to the query in <path>. */
static int
add_param(char *path, size_t len, const char *key, const char *value)
{
    size_t n = strlen(path);

    if (n + strlen(key) + 2 >= len) {
        return -1;
    }
    snprintf(path + n, len - n, "%s%s=", strchr(path, '?') != NULL ? "&" : "?", key);
    return px_ctl_urlencode(path, len, value);
}

static int
cmd_explain(const struct ctl_opts *o)
{
    char path[CTL_PATH_MAX] = "/debug/explain";
    struct px_ctl_answer a;
    json_t *j, *cls, *dec, *cost;
    size_t i;
    int rc = 0;

    rc |= add_param(path, sizeof(path), "method", o->pos[1]);
    rc |= add_param(path, sizeof(path), "target", o->pos[2]);
    if (o->user != NULL) {
        rc |= add_param(path, sizeof(path), "user", o->user);
    }
    for (i = 0; i < o->ngroups; i++) {
        rc |= add_param(path, sizeof(path), "group", o->groups[i]);
    }
    if (rc != 0) {
        return usage("explain: the target is too long");
    }
    if (call(o, "GET", path, NULL, &a) != 0) {
        return 1;
    }
    j = json_loads(a.body, 0, NULL);
    if (o->json || j == NULL) {
        fputs(a.body, stdout);
    } else {
        cls = json_object_get(j, "class");
        dec = json_object_get(j, "decision");
        cost = json_object_get(j, "cost");
        printf("%s %s as %s: class %s (%s), key \"%s\"\n", o->pos[1], o->pos[2],
               str(json_object_get(j, "identity"), "user"), str(cls, "name"), str(cls, "mode"),
               str(cls, "key"));
        printf("  -> %s", str(dec, "verdict"));
        if (strcmp(str(dec, "reason"), "none") != 0) {
            printf(" (%s%s)",
                   json_is_true(json_object_get(dec, "dry_run")) ? "dry-run, would be " : "",
                   str(dec, "reason"));
        }
        if (num(dec, "retry_after_s") > 0) {
            printf(", Retry-After >= %llds", num(dec, "retry_after_s"));
        }
        printf("\n  cost: %s\n", str(cost, "why"));
    }
    json_decref(j);
    px_ctl_answer_free(&a);
    return 0;
}

/* POST body for `shed SCALE` / `shed off`. */
static json_t *
shed_body(const struct ctl_opts *o)
{
    if (o->pos[1] == NULL || strcmp(o->pos[1], "off") == 0) {
        return json_pack("{s:i, s:b}", "scale", 100, "reject_list_watch", 0);
    }
    return json_pack("{s:s, s:b}", "scale", o->pos[1], "reject_list_watch", o->reject_list_watch);
}

struct ctl_cmd {
    const char *name;
    int nargs; /* positional arguments after the command */
    const char *shape;
};

static const struct ctl_cmd cmds[] = {
    {"healthz", 0, "healthz"},
    {"readyz", 0, "readyz"},
    {"metrics", 0, "metrics"},
    {"clients", 0, "clients [--top N] [--by rate|rejects|watches]"},
    {"config", 0, "config"},
    {"shed", 1, "shed SCALE [--reject-list-watch] | shed off"},
    {"mode", 2, "mode CLASS enforce|dry-run|exempt|policy"},
    {"block", 2, "block USER TTL"},
    {"allow", 2, "allow USER TTL"},
    {"unblock", 1, "unblock USER"},
    {"reload", 0, "reload"},
    {"explain", 2, "explain METHOD TARGET [--user U [--group G]...]"},
};

int
px_cmd_ctl(int argc, char **argv)
{
    struct ctl_opts o;
    char path[CTL_PATH_MAX], err[512];
    const char *cmd;
    size_t i;
    int rc = parse(argc, argv, &o);

    if (rc != 0) {
        return rc;
    }
    cmd = o.pos[0];
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[i].name, cmd) != 0; i++) {
    }
    if (i == sizeof(cmds) / sizeof(cmds[0])) {
        snprintf(err, sizeof(err), "unknown command \"%s\"", cmd);
        return usage(err);
    }
    if (o.npos - 1 != cmds[i].nargs) {
        snprintf(err, sizeof(err), "usage: floodgate ctl %s", cmds[i].shape);
        return usage(err);
    }
    if ((o.user != NULL || o.ngroups > 0) && strcmp(cmd, "explain") != 0) {
        return usage("--user and --group go with explain");
    }
    if (o.ngroups > 0 && o.user == NULL) {
        return usage("--group needs --user (a certificate always has a user)");
    }
    if (o.token_file != NULL &&
        px_ctl_read_token(o.token_file, o.token, sizeof(o.token), err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate ctl: --token-file %s\n", err);
        return 1;
    }
    if (strcmp(cmd, "healthz") == 0) {
        return raw(&o, "/healthz", false);
    }
    if (strcmp(cmd, "readyz") == 0) {
        return raw(&o, "/readyz?verbose", true);
    }
    if (strcmp(cmd, "metrics") == 0) {
        return raw(&o, "/metrics", false);
    }
    if (strcmp(cmd, "clients") == 0) {
        return cmd_clients(&o);
    }
    if (strcmp(cmd, "config") == 0) {
        return cmd_config(&o);
    }
    if (strcmp(cmd, "shed") == 0) {
        return control(&o, "POST", "/shed", shed_body(&o), print_shed);
    }
    if (strcmp(cmd, "mode") == 0) {
        snprintf(path, sizeof(path), "/classes/");
        if (px_ctl_urlencode(path, sizeof(path), o.pos[1]) != 0) {
            return usage("mode: the class name is too long");
        }
        strncat(path, "/mode", sizeof(path) - strlen(path) - 1);
        return control(&o, "POST", path, json_pack("{s:s}", "mode", o.pos[2]), print_mode);
    }
    if (strcmp(cmd, "block") == 0 || strcmp(cmd, "allow") == 0) {
        return control(&o, "POST", cmd[0] == 'b' ? "/block" : "/allow",
                       json_pack("{s:s, s:s}", "user", o.pos[1], "ttl", o.pos[2]), print_override);
    }
    if (strcmp(cmd, "unblock") == 0) {
        snprintf(path, sizeof(path), "/block");
        if (add_param(path, sizeof(path), "user", o.pos[1]) != 0) {
            return usage("unblock: the user name is too long");
        }
        return control(&o, "DELETE", path, NULL, print_unblock);
    }
    if (strcmp(cmd, "reload") == 0) {
        return control(&o, "POST", "/reload", NULL, print_reload);
    }
    return cmd_explain(&o);
}
