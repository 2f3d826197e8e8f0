/* Responses floodgate writes itself: see px_reject.h. */
#include "px_reject.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

/* Copies <s> into <out> without the bytes a header value must not carry
 * (controls, DEL): a class name comes from the config, and a response
 * header is no place to trust it. */
static void
header_safe(const char *s, char *out, size_t outlen)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0' && n + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c != 0x7f) {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

void
px_http_date(int64_t wall_s, char out[PX_DATE_LEN])
{
    time_t t = (time_t)wall_s;
    struct tm tm;

    /* floodgate never calls setlocale: the C locale's English names are
     * what IMF-fixdate wants. */
    gmtime_r(&t, &tm);
    if (strftime(out, PX_DATE_LEN, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0) {
        out[0] = '\0';
    }
}

const char *
px_status_text(int code)
{
    switch (code) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 408:
        return "Request Timeout";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

const char *
px_reject_reason(int code)
{
    /* apimachinery pkg/api/errors NewGenericServerResponse, plus the two
     * codes it leaves blank that floodgate raises about the request itself
     * (414, 431: BadRequest) and 408 (Timeout, the reason kube gives a
     * request it gave up on). */
    switch (code) {
    case 400:
    case 414:
    case 431:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 408:
    case 504:
        return "Timeout";
    case 413:
        return "RequestEntityTooLarge";
    case 429:
        return "TooManyRequests";
    case 503:
        return "ServiceUnavailable";
    default:
        return code >= 500 ? "InternalError" : "BadRequest";
    }
}

int
px_reject_429(struct evbuffer *out, uint32_t retry_after_s, const char *class_name,
              const char *reason, const char *date, bool close)
{
    char cls[256], why[64];

    header_safe(class_name, cls, sizeof(cls));
    header_safe(reason, why, sizeof(why));
    if (retry_after_s == 0) {
        retry_after_s = 1; /* client-go retries only on an integer >= 1 */
    }
    /* Go writes the handler's headers sorted by name, then its own
     * (Connection, Date, Content-Length): kube-apiserver's order. */
    return evbuffer_add_printf(out,
                               "HTTP/1.1 429 Too Many Requests\r\n"
                               "Cache-Control: no-cache, private\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Retry-After: %u\r\n"
                               "X-Content-Type-Options: nosniff\r\n"
                               "X-Floodgate-Class: %s\r\n"
                               "X-Floodgate-Reason: %s\r\n"
                               "%s"
                               "Date: %s\r\n"
                               "Content-Length: %zu\r\n"
                               "\r\n"
                               "%s",
                               (unsigned)retry_after_s, cls, why,
                               close ? "Connection: close\r\n" : "", date,
                               sizeof(PX_REJECT_429_BODY) - 1, PX_REJECT_429_BODY) < 0
               ? -1
               : 0;
}

/* JSON string body of <s>, escaped, into <out> (truncated to fit). */
static void
json_escape(const char *s, char *out, size_t outlen)
{
    size_t n = 0;

    for (; *s != '\0' && n + 7 < outlen; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(out + n, outlen - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

int
px_reject_status(struct evbuffer *out, int code, const char *message, const char *date, bool close,
                 uint32_t retry_after_s)
{
    char msg[512], body[768], retry[48] = "";
    int blen;

    json_escape(message, msg, sizeof(msg));
    /* kube's JSON encoder ends the object with a newline. */
    blen = snprintf(body, sizeof(body),
                    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                    "\"status\":\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}\n",
                    msg, px_reject_reason(code), code);
    if (blen < 0 || (size_t)blen >= sizeof(body)) {
        return -1;
    }
    if (retry_after_s > 0) {
        snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", (unsigned)retry_after_s);
    }
    return evbuffer_add_printf(out,
                               "HTTP/1.1 %d %s\r\n"
                               "Cache-Control: no-cache, private\r\n"
                               "Content-Type: application/json\r\n"
                               "%s"
                               "%s"
                               "Date: %s\r\n"
                               "Content-Length: %d\r\n"
                               "\r\n"
                               "%s",
                               code, px_status_text(code), retry,
                               close ? "Connection: close\r\n" : "", date, blen, body) < 0
               ? -1
               : 0;
}
