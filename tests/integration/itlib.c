/* Integration-test helpers: see itlib.h. */
#include "itlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "px_tls.h"

#define IT_MAX_PROCS 256
#define IT_MAX_DIRS  64

static pid_t it_procs[IT_MAX_PROCS];
static char *it_dirs[IT_MAX_DIRS];
static size_t it_ndirs;
static int it_registered;

struct it_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    llhttp_t parser;
    llhttp_settings_t settings;
    struct it_resp *cur;
    size_t max_body;
    int head;
    int headers_done;
    int done;
    int in_value;
    char pending[65536];
    size_t npending;
};

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void
at_exit(void)
{
    it_stop_all();
}

static void
register_exit(void)
{
    if (!it_registered) {
        it_registered = 1;
        atexit(at_exit);
        signal(SIGPIPE, SIG_IGN);
    }
}

static const char *
rotate(const char *a, const char *b)
{
    static char bufs[8][PATH_MAX];
    static unsigned next;
    char *out = bufs[next++ % 8];

    snprintf(out, PATH_MAX, "%s/%s", a, b);
    return out;
}

const char *
it_bin(const char *name)
{
    const char *d = getenv("FG_BIN_DIR");

    return rotate(d != NULL ? d : "./bin", name);
}

const char *
it_src(const char *rel)
{
    const char *d = getenv("FG_SRC_DIR");

    return rotate(d != NULL ? d : ".", rel);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
remove_dirs(void)
{
    size_t i;

    if (getenv("FG_KEEP_TMP") != NULL) {
        return;
    }
    for (i = 0; i < it_ndirs; i++) {
        nftw(it_dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(it_dirs[i]);
    }
    it_ndirs = 0;
}

const char *
it_tmpdir(const char *tag)
{
    const char *b = getenv("FG_BUILD_DIR");
    char base[PATH_MAX - 64], path[PATH_MAX];

    register_exit();
    snprintf(base, sizeof(base), "%s/it-tmp", b != NULL ? b : "/tmp");
    mkdir(base, 0700);
    snprintf(path, sizeof(path), "%s/%.32s-XXXXXX", base, tag);
    if (mkdtemp(path) == NULL || it_ndirs == IT_MAX_DIRS) {
        fprintf(stderr, "it_tmpdir %s: %s\n", path, strerror(errno));
        return NULL;
    }
    it_dirs[it_ndirs] = strdup(path);
    return it_dirs[it_ndirs++];
}

int
it_finish(int failures)
{
    size_t i;

    it_stop_all();
    if (failures != 0) {
        for (i = 0; i < it_ndirs; i++) {
            fprintf(stderr, "kept for inspection: %s\n", it_dirs[i]);
        }
    } else {
        remove_dirs();
    }
    return failures;
}

int
it_pki(const char *dir)
{
    char out[4096];
    char *argv[] = {(char *)it_src("deploy/pki.sh"), (char *)"--test", (char *)dir, NULL};
    int rc = it_run(argv, NULL, out, sizeof(out), 60000);

    if (rc != 0) {
        fprintf(stderr, "pki.sh --test %s failed (%d):\n%s\n", dir, rc, out);
        return -1;
    }
    return 0;
}

/* Execs <argv>; "floodgate run ..." gets "--workers N" appended when
 * FG_IT_WORKERS=N is set (the TSan build runs the data plane's tests with
 * several worker threads that way). Returns only when exec failed. */
static void
with_workers(char *const argv[])
{
    const char *n = getenv("FG_IT_WORKERS");
    const char *base = strrchr(argv[0], '/');
    char *more[64];
    size_t i;

    base = base != NULL ? base + 1 : argv[0];
    if (n == NULL || n[0] == '\0' || strcmp(base, "floodgate") != 0 || argv[1] == NULL ||
        strcmp(argv[1], "run") != 0) {
        execv(argv[0], argv);
        return;
    }
    for (i = 0; argv[i] != NULL && i < 60; i++) {
        more[i] = argv[i];
    }
    more[i++] = (char *)"--workers";
    more[i++] = (char *)n;
    more[i] = NULL;
    execv(more[0], more);
}

pid_t
it_spawn(char *const argv[], char *const env[], const char *logfile)
{
    pid_t pid;
    size_t i;

    register_exit();
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open(logfile != NULL ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (i = 0; env != NULL && env[i] != NULL; i++) {
            putenv(env[i]);
        }
        with_workers(argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (i = 0; i < IT_MAX_PROCS; i++) {
        if (it_procs[i] == 0) {
            it_procs[i] = pid;
            break;
        }
    }
    return pid;
}

int
it_stop(pid_t pid, int sig, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    int status = -1;
    size_t i;

    if (pid <= 0) {
        return -1;
    }
    kill(pid, sig);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid) {
            break;
        }
        if (r < 0) {
            status = -1;
            break;
        }
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        sleep_ms(10);
    }
    for (i = 0; i < IT_MAX_PROCS; i++) {
        if (it_procs[i] == pid) {
            it_procs[i] = 0;
        }
    }
    return status;
}

void
it_stop_all(void)
{
    size_t i;

    for (i = 0; i < IT_MAX_PROCS; i++) {
        if (it_procs[i] != 0) {
            it_stop(it_procs[i], SIGKILL, 2000);
        }
    }
}

int
it_wait_ready(const char *path, const char *key, char *value, size_t len, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    size_t klen = strlen(key);

    for (;;) {
        FILE *f = fopen(path, "r");
        char line[512];

        if (f != NULL) {
            while (fgets(line, sizeof(line), f) != NULL) {
                if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
                    char *v = line + klen + 1;

                    v[strcspn(v, "\r\n")] = '\0';
                    snprintf(value, len, "%s", v);
                    fclose(f);
                    return 0;
                }
            }
            fclose(f);
        }
        if (now_ms() >= end) {
            fprintf(stderr, "timed out waiting for %s in %s\n", key, path);
            return -1;
        }
        sleep_ms(20);
    }
}

int
it_run(char *const argv[], char *const env[], char *out, size_t outlen, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    size_t used = 0;
    int pipefd[2], status = 0, killed = 0;
    pid_t pid;
    size_t i;

    if (pipe(pipefd) != 0) {
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        for (i = 0; env != NULL && env[i] != NULL; i++) {
            putenv(env[i]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        struct pollfd pfd = {pipefd[0], POLLIN, 0};
        uint64_t t = now_ms();
        char buf[4096];
        ssize_t n;

        if (t >= end) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        if (poll(&pfd, 1, (int)(end - t)) <= 0) {
            continue;
        }
        n = read(pipefd[0], buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        if (out != NULL && used + 1 < outlen) {
            size_t take = (size_t)n < outlen - 1 - used ? (size_t)n : outlen - 1 - used;

            memcpy(out + used, buf, take);
            used += take;
        }
    }
    if (out != NULL && outlen > 0) {
        out[used] = '\0';
    }
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    if (killed || WIFSIGNALED(status)) {
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* --- connections --- */

static int
split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;

    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');

        if (end == NULL || end[1] != ':') {
            return -1;
        }
        snprintf(host, hostlen, "%.*s", (int)(end - addr - 1), addr + 1);
        snprintf(port, portlen, "%s", end + 2);
        return 0;
    }
    colon = strrchr(addr, ':');
    if (colon == NULL) {
        return -1;
    }
    snprintf(host, hostlen, "%.*s", (int)(colon - addr), addr);
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

static void
set_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
tcp_connect(const char *addr, int timeout_ms, char *host, size_t hostlen)
{
    struct addrinfo hints, *ai = NULL;
    char port[16];
    int fd, one = 1;

    if (split_addr(addr, host, hostlen, port, sizeof(port)) != 0) {
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return -1;
    }
    set_timeout(fd, timeout_ms);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static struct it_conn *
conn_new(int fd)
{
    struct it_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    return c;
}

struct it_conn *
it_connect_tcp(const char *addr, int timeout_ms)
{
    char host[256];
    int fd;

    register_exit();
    fd = tcp_connect(addr, timeout_ms, host, sizeof(host));
    return fd < 0 ? NULL : conn_new(fd);
}

struct it_conn *
it_connect(const char *addr, const char *ca, const char *cert, const char *key, int timeout_ms)
{
    char host[256], err[256];
    struct it_conn *c;
    int fd;

    register_exit();
    fd = tcp_connect(addr, timeout_ms, host, sizeof(host));
    if (fd < 0) {
        return NULL;
    }
    c = conn_new(fd);
    if (c == NULL) {
        return NULL;
    }
    c->ctx = px_tls_client_ctx(ca, cert, key, err, sizeof(err));
    if (c->ctx == NULL) {
        fprintf(stderr, "it_connect %s: %s\n", addr, err);
        goto fail;
    }
    c->ssl = px_tls_client_ssl(c->ctx, host, err, sizeof(err));
    if (c->ssl == NULL) {
        fprintf(stderr, "it_connect %s: %s\n", addr, err);
        goto fail;
    }
    SSL_set_fd(c->ssl, fd);
    if (SSL_connect(c->ssl) != 1) {
        px_tls_errf(err, sizeof(err), "TLS handshake");
        fprintf(stderr, "it_connect %s: %s\n", addr, err);
        goto fail;
    }
    return c;

fail:
    it_close(c);
    return NULL;
}

int
it_fd(const struct it_conn *c)
{
    return c->fd;
}

void
it_close(struct it_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    close(c->fd);
    free(c);
}

int
it_send(struct it_conn *c, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n;

        if (c->ssl != NULL) {
            int w = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);

            n = w > 0 ? w : -1;
            ERR_clear_error();
        } else {
            n = send(c->fd, p, len, MSG_NOSIGNAL);
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
it_sendf(struct it_conn *c, const char *fmt, ...)
{
    char buf[65536];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return -1;
    }
    return it_send(c, buf, (size_t)n);
}

/* Reads what is available; 0 on EOF, -1 on error or timeout. */
static ssize_t
conn_read(struct it_conn *c, char *buf, size_t len, int timeout_ms)
{
    set_timeout(c->fd, timeout_ms);
    if (c->ssl != NULL) {
        int n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);

        if (n > 0) {
            return n;
        }
        n = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        return n == SSL_ERROR_ZERO_RETURN || (n == SSL_ERROR_SYSCALL && errno == 0) ? 0 : -1;
    }
    return recv(c->fd, buf, len, 0);
}

static int
append(char **dst, size_t *len, const char *at, size_t n)
{
    char *p = realloc(*dst, *len + n + 1);

    if (p == NULL) {
        return -1;
    }
    memcpy(p + *len, at, n);
    *len += n;
    p[*len] = '\0';
    *dst = p;
    return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct it_conn *c = p->data;
    struct it_resp *r = c->cur;
    size_t len;

    if (c->in_value || r->nheaders == 0) {
        if (r->nheaders == IT_MAX_HEADERS) {
            return -1;
        }
        r->names[r->nheaders] = NULL;
        r->values[r->nheaders] = calloc(1, 1);
        r->nheaders++;
        c->in_value = 0;
    }
    len = r->names[r->nheaders - 1] != NULL ? strlen(r->names[r->nheaders - 1]) : 0;
    return append(&r->names[r->nheaders - 1], &len, at, n);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct it_conn *c = p->data;
    struct it_resp *r = c->cur;
    size_t len = strlen(r->values[r->nheaders - 1]);

    c->in_value = 1;
    return append(&r->values[r->nheaders - 1], &len, at, n);
}

static int
on_headers_complete(llhttp_t *p)
{
    struct it_conn *c = p->data;

    c->cur->status = p->status_code;
    c->cur->keep_alive = llhttp_should_keep_alive(p);
    c->headers_done = 1;
    return c->head ? 1 : 0; /* 1: a response to HEAD has no body */
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
    struct it_conn *c = p->data;

    return append(&c->cur->body, &c->cur->body_len, at, n);
}

static int
on_message_complete(llhttp_t *p)
{
    struct it_conn *c = p->data;

    c->cur->complete = 1;
    c->cur->keep_alive = llhttp_should_keep_alive(p);
    c->done = 1;
    return HPE_PAUSED;
}

/* Feeds <buf>; keeps bytes after the end of a message for the next read. */
static int
feed(struct it_conn *c, const char *buf, size_t len)
{
    enum llhttp_errno e = llhttp_execute(&c->parser, buf, len);

    if (e == HPE_PAUSED) {
        const char *stop = llhttp_get_error_pos(&c->parser);
        size_t used = (size_t)(stop - buf);

        llhttp_resume(&c->parser);
        if (used < len && len - used <= sizeof(c->pending)) {
            memmove(c->pending, buf + used, len - used);
            c->npending = len - used;
        }
        return 0;
    }
    return e == HPE_OK ? 0 : -1;
}

static int
recv_loop(struct it_conn *c, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;

    while (!c->done && !(c->headers_done && c->cur->body_len >= c->max_body)) {
        char buf[16384];
        uint64_t t = now_ms();
        ssize_t n;

        if (t >= end) {
            return c->headers_done ? 0 : -1;
        }
        n = conn_read(c, buf, sizeof(buf), (int)(end - t));
        if (n == 0) {
            if (llhttp_finish(&c->parser) == HPE_OK && c->headers_done) {
                c->cur->complete = c->cur->complete || c->done;
            }
            return c->headers_done ? 0 : -1;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return c->headers_done ? 0 : -1;
        }
        if (feed(c, buf, (size_t)n) != 0) {
            return c->headers_done ? 0 : -1;
        }
    }
    return 0;
}

int
it_recv(struct it_conn *c, const char *method, struct it_resp *r, size_t max_body, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    if (c->settings.on_message_complete == NULL) {
        llhttp_settings_init(&c->settings);
        c->settings.on_header_field = on_header_field;
        c->settings.on_header_value = on_header_value;
        c->settings.on_headers_complete = on_headers_complete;
        c->settings.on_body = on_body;
        c->settings.on_message_complete = on_message_complete;
        llhttp_init(&c->parser, HTTP_RESPONSE, &c->settings);
        c->parser.data = c;
    }
    c->cur = r;
    c->max_body = max_body;
    c->head = method != NULL && strcmp(method, "HEAD") == 0;
    c->headers_done = 0;
    c->done = 0;
    c->in_value = 0;
    if (c->npending > 0) {
        char tmp[sizeof(c->pending)];
        size_t n = c->npending;

        memcpy(tmp, c->pending, n);
        c->npending = 0;
        if (feed(c, tmp, n) != 0) {
            return -1;
        }
    }
    return recv_loop(c, timeout_ms);
}

int
it_recv_body(struct it_conn *c, struct it_resp *r, size_t max_body, int timeout_ms)
{
    c->cur = r;
    c->max_body = max_body;
    return recv_loop(c, timeout_ms);
}

const char *
it_header(const struct it_resp *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++) {
        if (r->names[i] != NULL && strcasecmp(r->names[i], name) == 0) {
            return r->values[i];
        }
    }
    return NULL;
}

void
it_resp_free(struct it_resp *r)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int
it_wait_closed(struct it_conn *c, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        char buf[4096];
        uint64_t t = now_ms();
        ssize_t n;

        if (t >= end) {
            return 0;
        }
        n = conn_read(c, buf, sizeof(buf), (int)(end - t));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return 1;
        }
    }
}

int
it_request(const char *addr, const char *ca, const char *cert, const char *key, const char *method,
           const char *path, const char *headers, const char *body, struct it_resp *r)
{
    struct it_conn *c = it_connect(addr, ca, cert, key, 5000);
    size_t blen = body != NULL ? strlen(body) : 0;
    int rc;

    memset(r, 0, sizeof(*r));
    if (c == NULL) {
        return -1;
    }
    if (body != NULL) {
        rc = it_sendf(c, "%s %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n%s",
                      method, path, headers != NULL ? headers : "", blen, body);
    } else {
        rc = it_sendf(c, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method, path,
                      headers != NULL ? headers : "");
    }
    if (rc == 0) {
        rc = it_recv(c, method, r, 64u << 20, 10000);
    }
    it_close(c);
    return rc;
}

long
it_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

int
it_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *e;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}
