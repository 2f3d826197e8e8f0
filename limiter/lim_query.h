/* The query parameters kube-apiserver reads to classify and cost a request,
 * seen the way Go's URL.Query() and apimachinery's ListOptions conversion
 * see them. Private to the limiter. */
#ifndef LIM_QUERY_H
#define LIM_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lim_qkey {
    LIM_Q_WATCH = 0,
    LIM_Q_RESOURCE_VERSION,
    LIM_Q_RESOURCE_VERSION_MATCH,
    LIM_Q_LIMIT,
    LIM_Q_CONTINUE,
    LIM_Q_SEND_INITIAL_EVENTS,
    LIM_Q_FOLLOW,
    LIM_Q_LABEL_SELECTOR,
    LIM_Q_FIELD_SELECTOR,
    LIM_Q_TIMEOUT_SECONDS,
    LIM_Q_COUNT
};

/* The first value of one key, still percent-encoded (its escapes valid). */
struct lim_qval {
    bool set;
    const char *raw;
    size_t len;
};

/* Fills <out> with the first value of each lim_qkey in the raw query <q>,
 * as url.ParseQuery keeps them: '&'-separated pairs, a pair holding ';' or a
 * malformed escape in key or value is dropped (and so does not count as an
 * occurrence), keys are matched after decoding. O(n). */
void lim_query_scan(const char *q, size_t n, struct lim_qval out[LIM_Q_COUNT]);

/* Decodes <v> into <dst> (room for v->len bytes); '+' is a space. Returns
 * the decoded length. */
size_t lim_query_decode(const struct lim_qval *v, char *dst);

/* apimachinery's Convert_Slice_string_To_bool: absent -> false; "0" or
 * strings.EqualFold(v, "false") -> false; anything else, "" included, ->
 * true. With <ascii_lower>, requestinfo.go's fallback instead compares
 * strings.ToLower(v), which unlike EqualFold does not fold U+017F to 's'. */
bool lim_query_bool(const struct lim_qval *v, bool ascii_lower);

/* strconv.ParseInt(v, 10, 64) of a present value: optional sign, at least
 * one digit, nothing else, in range. Returns false when Go fails. */
bool lim_query_int64(const struct lim_qval *v, int64_t *out);

#endif /* LIM_QUERY_H */
