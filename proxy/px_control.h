/* The operator controls of the admin plane, for an incident in progress
 * (they never depend on the apiserver): shed, a class's mode, block and
 * allow an identity for a while. Each takes the small JSON body of its
 * request, applies it to the limiter (workers see it on their next
 * decision), records it for /debug/config, counts it
 * (floodgate_controls_total) and logs who did what. Each returns the HTTP
 * status to answer: 200 with *<answer> (JSON saying what changed), or 400
 * (a body naming the field that was wrong), 404 (no such class or
 * override) or 503 (the override table is full) with <err>. <peer> is the
 * admin client's address, for the log. */
#ifndef PX_CONTROL_H
#define PX_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct px_state;

#define PX_TTL_MAX_NS (7ull * 24 * 3600 * 1000000000ull) /* a week: then say it again */

/* {"scale": "50%" | 50, "reject_list_watch": bool}: every enforced class
 * gets <scale> of its rates and caps; with reject_list_watch every
 * non-exempt LIST and watch is rejected (reason "shed"). Omitted keys mean
 * 100 and false: {"scale": 100} restores. */
int px_control_shed(struct px_state *st, const char *peer, const char *body, size_t len,
                    json_t **answer, char *err, size_t errlen);

/* {"mode": "enforce" | "dry-run" | "exempt" | "policy"} for class
 * <class_name> of the running policy ("policy": back to its configured
 * mode). */
int px_control_mode(struct px_state *st, const char *peer, const char *class_name, const char *body,
                    size_t len, json_t **answer, char *err, size_t errlen);

/* {"user": NAME, "ttl": "10m"}: rejects (block) or exempts (<allow>)
 * every request of user NAME from <now_ns> (wall-clock <now_wall_s>) for
 * ttl (1ms .. 7 days). */
int px_control_override(struct px_state *st, const char *peer, bool allow, const char *body,
                        size_t len, uint64_t now_ns, int64_t now_wall_s, json_t **answer, char *err,
                        size_t errlen);

/* Lifts the block or allow of <user>. */
int px_control_unblock(struct px_state *st, const char *peer, const char *user, json_t **answer,
                       char *err, size_t errlen);

/* Counts and logs a control <action> (a px_ctl_action) done by <peer>
 * with <detail>; the controls above call it, POST /reload too. */
void px_control_record(struct px_state *st, int action, const char *peer, const char *detail);

#endif /* PX_CONTROL_H */
