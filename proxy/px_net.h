/* Socket helpers: address parsing ("HOST:PORT", "[V6]:PORT", "unix:/path"),
 * listening sockets (SO_REUSEPORT for one listener per worker), non-blocking
 * connects, and address formatting. Hostnames are resolved with blocking
 * getaddrinfo, so px_net_parse belongs to startup, never to an event. */
#ifndef PX_NET_H
#define PX_NET_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

struct px_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[160]; /* as configured */
};

/* Parses and resolves <addr> into <out> (the first address found). */
int px_net_parse(const char *addr, struct px_addr *out, char *err, size_t errlen);

/* A non-blocking, close-on-exec listening socket bound to <a>, with
 * SO_REUSEPORT when <reuseport>. Returns the fd, or -1 with <err>. */
int px_net_listen(const struct px_addr *a, bool reuseport, int backlog, char *err, size_t errlen);

/* The address a bound socket listens on, "127.0.0.1:40123" or
 * "[::1]:40123" (a path for unix sockets). 0 or -1. */
int px_net_local(int fd, char *out, size_t outlen);

/* The IP text of <sa> (no port), "" for unix sockets. */
void px_net_ip(const struct sockaddr *sa, char *out, size_t outlen);

/* Starts a non-blocking connect to <a>. Returns the fd (connected or in
 * progress), or -1 with <err>. */
int px_net_connect(const struct px_addr *a, char *err, size_t errlen);

#endif /* PX_NET_H */
