/* Socket helpers: see px_net.h. */
#include "px_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "px_err.h"

int
px_net_parse(const char *addr, struct px_addr *out, char *err, size_t errlen)
{
    char host[256], port[16];
    const char *colon;
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->text, sizeof(out->text), "%s", addr);
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;

        if (strlen(addr + 5) == 0 || strlen(addr + 5) >= sizeof(un->sun_path)) {
            px_errf(err, errlen, "%s: bad unix socket path", addr);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, addr + 5, strlen(addr + 5) + 1);
        out->len = (socklen_t)sizeof(*un);
        return 0;
    }
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');

        if (end == NULL || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host)) {
            px_errf(err, errlen, "%s: expected [IPV6]:PORT", addr);
            return -1;
        }
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
            px_errf(err, errlen, "%s: expected HOST:PORT", addr);
            return -1;
        }
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535) {
        px_errf(err, errlen, "%s: bad port", addr);
        return -1;
    }
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (host[0] == '\0' ? AI_PASSIVE : 0);
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        px_errf(err, errlen, "%s: %s", addr, gai_strerror(rc));
        return -1;
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int
nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        return -1;
    }
    return 0;
}

int
px_net_listen(const struct px_addr *a, bool reuseport, int backlog, char *err, size_t errlen)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM, 0), one = 1;

    if (fd == -1) {
        px_errf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (nonblock_cloexec(fd) != 0) {
        px_errf(err, errlen, "fcntl: %s", strerror(errno));
        goto fail;
    }
    if (a->ss.ss_family != AF_UNIX) {
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
            px_errf(err, errlen, "SO_REUSEADDR: %s", strerror(errno));
            goto fail;
        }
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
            px_errf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
            goto fail;
        }
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
        px_errf(err, errlen, "bind %s: %s", a->text, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) == -1) {
        px_errf(err, errlen, "listen %s: %s", a->text, strerror(errno));
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

void
px_net_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)outlen);
    }
}

int
px_net_local(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
        return -1;
    }
    if (ss.ss_family == AF_UNIX) {
        snprintf(out, outlen, "unix:%s", ((struct sockaddr_un *)&ss)->sun_path);
        return 0;
    }
    px_net_ip((struct sockaddr *)&ss, ip, sizeof(ip));
    if (ss.ss_family == AF_INET6) {
        snprintf(out, outlen, "[%s]:%u", ip,
                 (unsigned)ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        snprintf(out, outlen, "%s:%u", ip, (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    return 0;
}

int
px_net_connect(const struct px_addr *a, char *err, size_t errlen)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM, 0), one = 1;

    if (fd == -1) {
        px_errf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (nonblock_cloexec(fd) != 0) {
        px_errf(err, errlen, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (a->ss.ss_family != AF_UNIX) {
        /* Request heads and small responses go out at once. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 && errno != EINPROGRESS) {
        px_errf(err, errlen, "connect %s: %s", a->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
