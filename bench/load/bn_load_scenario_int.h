/* The scenario reader's own plumbing, shared by bn_load_scenario.c (the
 * top level, populations) and bn_load_scenario_items.c (identities,
 * watches, requests) and by nothing else. Every reader works at the
 * current JSON path of <r>->x and returns 0 or -1 (the message kept). */
#ifndef BN_LOAD_SCENARIO_INT_H
#define BN_LOAD_SCENARIO_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bn_load_json.h"
#include "bn_load_scenario.h"

struct bn_scn_reader {
    struct bn_json_ctx x;
    struct bn_scn *s;
    char dir[1024]; /* relative files resolve here; "" = as given */
};

/* <v> as a template valid for every member of a population of <count>,
 * optionally starting with "/"; *<out> replaced by a copy. */
int bn_scn_template_value(struct bn_scn_reader *r, const json_t *v, uint32_t count, bool slash,
                          char **out);
/* Member <key> of <obj> as such a template; absent is fine unless
 * <required>. */
int bn_scn_read_template(struct bn_scn_reader *r, const json_t *obj, const char *key, bool required,
                         uint32_t count, bool slash, char **out);
/* A file member, resolved against the scenario's directory and checked
 * readable. */
int bn_scn_read_file(struct bn_scn_reader *r, const json_t *obj, const char *key, bool required,
                     char **out);
/* <v> as a rate, the message naming <key>. */
int bn_scn_read_rate(struct bn_scn_reader *r, const json_t *v, const char *key, uint64_t *mrps);

int bn_scn_read_identity(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                         struct bn_scn_identity *id);
int bn_scn_read_watch(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                      struct bn_scn_watch *w);
int bn_scn_read_request(struct bn_scn_reader *r, const json_t *o, uint32_t count,
                        struct bn_scn_request *q);

#endif /* BN_LOAD_SCENARIO_INT_H */
