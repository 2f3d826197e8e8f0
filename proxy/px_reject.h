/* What floodgate answers on its own: the 429 exactly as kube-apiserver's
 * priority-and-fairness filter writes it (Go's http.Error: plain text, the
 * same headers in the same order), and kube's metav1.Status JSON for every
 * other error it raises (400, 401, 408, 413, 414, 431, 500, 502, 503, 504).
 * Pure formatting into an evbuffer. */
#ifndef PX_REJECT_H
#define PX_REJECT_H

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

#define PX_DATE_LEN 30 /* "Mon, 02 Jan 2006 15:04:05 GMT" + NUL */

/* The 429 body, byte for byte as http.Error writes it. */
#define PX_REJECT_429_BODY "Too many requests, please try again later.\n"

/* Formats the HTTP Date of wall-clock second <wall_s> (IMF-fixdate). */
void px_http_date(int64_t wall_s, char out[PX_DATE_LEN]);

/* Appends a complete 429 response: Retry-After <retry_after_s> (at least
 * 1), X-Floodgate-Class <class_name> and X-Floodgate-Reason <reason>
 * (characters unsafe in a header value are dropped), Date <date>, and
 * "Connection: close" when <close>. Returns 0, or -1 when out of memory. */
int px_reject_429(struct evbuffer *out, uint32_t retry_after_s, const char *class_name,
                  const char *reason, const char *date, bool close);

/* Appends a complete response with status <code> and a Status body
 * carrying <message> and the reason kube uses for that code; Retry-After
 * when <retry_after_s> > 0. Returns 0, or -1 when out of memory. */
int px_reject_status(struct evbuffer *out, int code, const char *message, const char *date,
                     bool close, uint32_t retry_after_s);

/* kube's StatusReason for <code> ("BadRequest", "ServiceUnavailable", ...),
 * following apimachinery's NewGenericServerResponse. */
const char *px_reject_reason(int code);

/* The reason phrase of <code> as Go's net/http writes it. */
const char *px_status_text(int code);

#endif /* PX_REJECT_H */
