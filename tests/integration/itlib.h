/* Helpers for integration tests: run the real binaries on loopback, wait for
 * them by their ready files, talk raw HTTP/1.1 over TLS to them, and clean up
 * whatever happens (spawned processes die with the test, even when an
 * assertion fails). Blocking I/O with timeouts: tests are sequential. */
#ifndef IT_LIB_H
#define IT_LIB_H

#include <stddef.h>
#include <sys/types.h>

#define IT_MAX_HEADERS 64

/* Absolute path of binary <name> in $FG_BIN_DIR (static buffer rotation of
 * 8 results: use the result before calling 8 more times). */
const char *it_bin(const char *name);
/* Absolute path of <rel> in the source tree ($FG_SRC_DIR). */
const char *it_src(const char *rel);
/* A fresh directory under $FG_BUILD_DIR/it-tmp (or /tmp), removed at exit
 * unless the test failed (then kept, and its path printed, for the logs). */
const char *it_tmpdir(const char *tag);
/* A throwaway PKI in <dir> made by deploy/pki.sh --test; 0 on success. */
int it_pki(const char *dir);

/* Starts <argv> (argv[0] a path) with stdout and stderr to <logfile>, extra
 * environment <env> (NULL-terminated "K=V" list, may be NULL). The child dies
 * with the test process. With FG_IT_WORKERS=N in the environment (the TSan
 * build sets it), "floodgate run" gets "--workers N". Returns its pid, or
 * -1. */
pid_t it_spawn(char *const argv[], char *const env[], const char *logfile);
/* Sends <sig>, waits up to <timeout_ms>, then SIGKILLs. Returns the exit
 * status as from waitpid (WIFEXITED etc.), or -1. */
int it_stop(pid_t pid, int sig, int timeout_ms);
/* Kills every process it_spawn started that is still running. Called at
 * exit too. */
void it_stop_all(void);
/* Ends a test program: stops what it started, removes its temporary
 * directories when <failures> is 0 and keeps them (printing their paths)
 * otherwise. Returns <failures>: `return it_finish(cmocka_run_group_tests(..))`. */
int it_finish(int failures);

/* Waits until <path> exists and has a line "<key>=<value>", copies value
 * (e.g. "127.0.0.1:40123"). Our servers write such ready files once they
 * listen (--ready-file). Returns 0, or -1 on timeout (and prints <path>). */
int it_wait_ready(const char *path, const char *key, char *value, size_t len, int timeout_ms);

/* Runs <argv> to completion (at most <timeout_ms>), capturing stdout+stderr
 * into <out> (truncated, NUL-terminated). Returns the exit code, 128+signal
 * when killed, or -1. */
int it_run(char *const argv[], char *const env[], char *out, size_t outlen, int timeout_ms);

/* --- raw HTTP/1.1 over TLS --- */

struct it_conn;

/* Connects to "HOST:PORT" with TLS, verifying the server against <ca>
 * (name "localhost" or the IP), presenting <cert>/<key> if not NULL. */
struct it_conn *it_connect(const char *addr, const char *ca, const char *cert, const char *key,
                           int timeout_ms);
/* Plain TCP (to test what floodgate does before TLS, e.g. slowloris). */
struct it_conn *it_connect_tcp(const char *addr, int timeout_ms);
int it_send(struct it_conn *c, const void *buf, size_t len);
int it_sendf(struct it_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void it_close(struct it_conn *c);
int it_fd(const struct it_conn *c);

struct it_resp {
    int status;
    size_t nheaders;
    char *names[IT_MAX_HEADERS];
    char *values[IT_MAX_HEADERS];
    char *body; /* de-chunked, NUL-terminated */
    size_t body_len;
    int keep_alive;
    int complete; /* the message ended (not cut by close or timeout) */
};

/* Reads one response (to a request whose method was <method>: HEAD has no
 * body). Stops after <max_body> body bytes (then complete = 0). Returns 0
 * when a status line arrived, -1 otherwise. */
int it_recv(struct it_conn *c, const char *method, struct it_resp *r, size_t max_body,
            int timeout_ms);
/* Continues reading the body of the response <r> last returned by it_recv
 * on <c> (a watch stream, say) until it holds <max_body> bytes, the message
 * ends, or <timeout_ms> pass. */
int it_recv_body(struct it_conn *c, struct it_resp *r, size_t max_body, int timeout_ms);
/* The first value of header <name> (case-insensitive), or NULL. */
const char *it_header(const struct it_resp *r, const char *name);
void it_resp_free(struct it_resp *r);

/* Waits up to <timeout_ms> for the peer to close; 1 if it did, 0 if not. */
int it_wait_closed(struct it_conn *c, int timeout_ms);

/* One request on a fresh connection: "METHOD PATH" with <headers> (raw
 * "Name: value\r\n" lines or NULL) and <body> (or NULL). */
int it_request(const char *addr, const char *ca, const char *cert, const char *key,
               const char *method, const char *path, const char *headers, const char *body,
               struct it_resp *r);

/* Current resident set size of <pid> in KiB (from /proc), or -1. */
long it_rss_kib(pid_t pid);
/* Number of open file descriptors of <pid>, or -1. */
int it_fd_count(pid_t pid);

#endif /* IT_LIB_H */
