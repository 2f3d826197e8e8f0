/* The learned LIST sizes as a JSON document, so that what one floodgate has
 * learned about this cluster can be read back (explain --state FILE, a
 * restart) and served (the admin endpoint serves px_learned_json):
 *
 *   {"learned": [{"api_group": "", "resource": "pods", "filtered": false,
 *                 "avg_bytes": 12800000}, ...]}
 *
 * conf/README.md documents the shape. */
#ifndef PX_LEARNED_H
#define PX_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lim.h"

#define PX_LEARNED_MAX       1023         /* entries: the limiter's learned slots */
#define PX_LEARNED_MAX_BYTES (1ull << 40) /* avg_bytes; the limiter clamps samples there */
#define PX_LEARNED_FILE_MAX  (16u << 20)  /* bytes of a state file */
#define PX_LEARNED_GROUP_MAX 95           /* bytes of api_group the limiter keeps */
#define PX_LEARNED_RES_MAX   63           /* bytes of resource */

/* Reads the document in file <path> into <l> with lim_learned_set. Returns
 * 0, or -1 with <err> naming the file and the JSON path
 * ("state.json: learned[2].avg_bytes: expected an integer 1..1099511627776,
 * got -4"); <l> may then hold the entries before the bad one. */
int px_learned_load(struct lim *l, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The same from the parsed document <doc>; <name> stands for the file. */
int px_learned_load_json(struct lim *l, const json_t *doc, const char *name, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* What <l> has learned, in the same shape (a new reference, NULL when out
 * of memory). */
json_t *px_learned_json(const struct lim *l);

#endif /* PX_LEARNED_H */
