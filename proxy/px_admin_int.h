/* Internal to the admin plane: what a handler sees of its request, the
 * answer helpers, and the routing table px_admin.c dispatches on
 * (px_admin_routes.c). */
#ifndef PX_ADMIN_INT_H
#define PX_ADMIN_INT_H

#include <arpa/inet.h>
#include <stddef.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

struct px_admin_answer;
struct px_state;

struct areq {
    struct px_state *st;
    struct px_admin_answer *ans; /* where the answer goes */
    const char *path;
    struct evkeyvalq query; /* decoded; a key may repeat */
    char peer[INET6_ADDRSTRLEN + 8];
    const char *body;
    size_t body_len;
};

/* Answers <text> (<len> bytes) of Content-Type <type> with status <code>. */
void px_admin_reply(struct areq *r, int code, const char *type, const char *text, size_t len);
/* Answers <j> (consumed; NULL: a 500) indented, with a final newline. */
void px_admin_reply_json(struct areq *r, int code, json_t *j);
/* {"error": <msg>}. */
void px_admin_reply_error(struct areq *r, int code, const char *msg);

struct px_admin_route {
    const char *path; /* exact, or a prefix when it ends in '/' */
    enum evhttp_cmd_type method;
    void (*fn)(struct areq *r);
};

extern const struct px_admin_route px_admin_routes[];
extern const size_t px_admin_nroutes;

#endif /* PX_ADMIN_INT_H */
