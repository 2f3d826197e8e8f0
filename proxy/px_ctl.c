/* floodgate ctl's client: see px_ctl.h. */
#include "px_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "px_err.h"
#include "px_net.h"

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for <events> on <fd> until <deadline>; 0, or -1 (timed out). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int64_t left = deadline - now_ms();
        int rc;

        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        rc = poll(&p, 1, (int)left);
        if (rc > 0) {
            return 0;
        }
        if (rc == 0 || errno != EINTR) {
            errno = rc == 0 ? ETIMEDOUT : errno;
            return -1;
        }
    }
}

static int
dial(const char *addr, int64_t deadline, char *err, size_t errlen)
{
    struct px_addr a;
    int fd = -1, soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (px_net_parse(addr, &a, err, errlen) != 0) {
        return -1;
    }
    fd = px_net_connect(&a, err, errlen); /* non-blocking */
    if (fd == -1) {
        char why[PX_ERRLEN];

        snprintf(why, sizeof(why), "%s", err);
        px_errf(err, errlen, "cannot connect to %s: %s", addr, why);
        return -1;
    }
    if (wait_fd(fd, POLLOUT, deadline) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
        px_errf(err, errlen, "cannot connect to %s: %s", addr,
                strerror(soerr != 0 ? soerr : errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int
send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0) {
                return -1;
            }
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads until the server closes (we asked for Connection: close). */
static int
read_all(int fd, char **out, size_t *outlen, int64_t deadline)
{
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap);

    if (buf == NULL) {
        return -1;
    }
    for (;;) {
        ssize_t k;

        if (n + 1 == cap) {
            char *b;

            if (cap >= PX_CTL_MAX_ANSWER) {
                free(buf);
                errno = EFBIG;
                return -1;
            }
            b = realloc(buf, cap * 2);
            if (b == NULL) {
                free(buf);
                return -1;
            }
            buf = b;
            cap *= 2;
        }
        k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k > 0) {
            n += (size_t)k;
        } else if (k == 0) {
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (wait_fd(fd, POLLIN, deadline) != 0) {
                free(buf);
                return -1;
            }
        } else {
            free(buf);
            return -1;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

int
px_ctl_request(const char *addr, const char *token, const char *method, const char *path,
               const char *body, int timeout_ms, struct px_ctl_answer *out, char *err,
               size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t blen = body != NULL ? strlen(body) : 0, n;
    char *head = NULL, *raw = NULL, *sep;
    int fd, len, status;

    memset(out, 0, sizeof(*out));
    fd = dial(addr, deadline, err, errlen);
    if (fd == -1) {
        return -1;
    }
#define HEAD_FMT                                                                                   \
    "%s %s HTTP/1.1\r\nHost: floodgate-admin\r\nUser-Agent: floodgate-ctl\r\n"                     \
    "Connection: close\r\n%s%s%s%sContent-Length: %zu\r\n\r\n"
#define HEAD_ARGS                                                                                  \
    method, path, token != NULL ? "Authorization: Bearer " : "", token != NULL ? token : "",       \
        token != NULL ? "\r\n" : "", body != NULL ? "Content-Type: application/json\r\n" : "",     \
        blen
    len = snprintf(NULL, 0, HEAD_FMT, HEAD_ARGS);
    head = len > 0 ? malloc((size_t)len + 1) : NULL;
    if (head != NULL) {
        snprintf(head, (size_t)len + 1, HEAD_FMT, HEAD_ARGS);
    }
#undef HEAD_FMT
#undef HEAD_ARGS
    if (head == NULL || send_all(fd, head, (size_t)len, deadline) != 0 ||
        (blen > 0 && send_all(fd, body, blen, deadline) != 0)) {
        px_errf(err, errlen, "%s: cannot send the request: %s", addr, strerror(errno));
        goto fail;
    }
    if (read_all(fd, &raw, &n, deadline) != 0) {
        px_errf(err, errlen, "%s: no answer: %s", addr, strerror(errno));
        goto fail;
    }
    if (sscanf(raw, "HTTP/1.%*1[01] %3d", &status) != 1 ||
        (sep = strstr(raw, "\r\n\r\n")) == NULL) {
        px_errf(err, errlen, "%s: not an HTTP answer", addr);
        goto fail;
    }
    out->status = status;
    out->body_len = n - (size_t)(sep + 4 - raw);
    out->body = malloc(out->body_len + 1);
    if (out->body == NULL) {
        px_errf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(out->body, sep + 4, out->body_len + 1);
    free(raw);
    free(head);
    close(fd);
    return 0;

fail:
    free(raw);
    free(head);
    close(fd);
    return -1;
}

void
px_ctl_answer_free(struct px_ctl_answer *a)
{
    free(a->body);
    a->body = NULL;
}

int
px_ctl_urlencode(char *buf, size_t len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(buf);

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/';

        if (n + (plain ? 1 : 3) >= len) {
            return -1;
        }
        if (plain) {
            buf[n++] = (char)c;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    buf[n] = '\0';
    return 0;
}

int
px_ctl_read_token(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        px_errf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, outlen - 1, f);
    fclose(f);
    if (n == outlen - 1) {
        px_errf(err, errlen, "%s: longer than %zu bytes", path, outlen - 2);
        return -1;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) {
        n--;
    }
    out[n] = '\0';
    if (n == 0) {
        px_errf(err, errlen, "%s: empty", path);
        return -1;
    }
    return 0;
}
