/* The admin plane: floodgate's break-glass endpoint, which must keep
 * working when the apiserver and kubectl do not (the operators may be
 * locked out of the cluster). Its own thread and event base, plain
 * HTTP/1.1 on a loopback address and/or a unix socket (0600), never on the
 * public listener; an optional bearer token (admin.token_file). It serves
 * /healthz, /readyz, /metrics, /debug/{clients,config,learned}, the
 * controls (/shed, /classes/NAME/mode, /block, /allow, /reload), and runs
 * the upstream health probe and the rejection-log summaries. */
#ifndef PX_ADMIN_H
#define PX_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct px_admin;
struct px_state;

struct px_admin_opts {
    const char *address; /* "HOST:PORT" (port 0: any), "" = none */
    const char *socket;  /* unix socket path, "" = none */
};

/* Binds the listeners of <o> and sets up the probe and timers for <st>
 * (borrowed, outlives the admin plane). An address that is not loopback is
 * refused unless a token is required. NULL with <err>. */
struct px_admin *px_admin_new(struct px_state *st, const struct px_admin_opts *o, char *err,
                              size_t errlen);
/* The TCP address it listens on ("127.0.0.1:9444"), "" when none. */
const char *px_admin_address(const struct px_admin *a);
/* Starts its thread. 0, or -1 with <err>. */
int px_admin_start(struct px_admin *a, char *err, size_t errlen);
/* From any other thread: stops the loop and waits for the thread. */
void px_admin_stop(struct px_admin *a);
/* Stops it if running, closes the listeners (removing the socket file). */
void px_admin_free(struct px_admin *a);

/* The answer to one admin request. */
struct px_admin_answer {
    int code;
    const char *type;      /* Content-Type, a static string */
    bool authenticate;     /* answer with WWW-Authenticate: Bearer */
    struct evbuffer *body; /* the caller's; filled */
};

/* Routes and handles one admin request without a connection: <method>
 * ("GET"), <uri> as on the request line ("/debug/clients?top=5"), the
 * Authorization value <authz> (NULL when absent), the body (<body> NULL,
 * or <len> bytes), the client <peer> (for the log). The listener calls it
 * for each request evhttp accepted (GET, POST, DELETE; head and body
 * bounded); tests/fuzz/fuzz_px_admin.c calls it directly. */
void px_admin_serve(struct px_state *st, const char *method, const char *uri, const char *authz,
                    const char *body, size_t len, const char *peer, struct px_admin_answer *ans);

#endif /* PX_ADMIN_H */
