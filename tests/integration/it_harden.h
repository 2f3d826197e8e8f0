/* Helpers for the attack and fault tests (it_attack_*.c, it_fault_*.c):
 * on top of it_admin.h (floodgate with its admin listener in front of
 * floodgate-apisim), what the simulator saw (/debug/requests), the
 * identity it served a request as (/debug/whoami through floodgate), and
 * floodgate's seats and watches going back to zero after a fault.
 * Header-only (static inline). */
#ifndef IT_HARDEN_H
#define IT_HARDEN_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_admin.h"
#include "itlib.h"

/* The simulator's last <n> requests, as JSON (method, path, user, groups,
 * authenticatedBy, code), asked directly (not through floodgate). 0, or
 * -1 when it did not answer. */
static inline int
it_h_sim_requests(const struct it_fg *f, int n, char *out, size_t len)
{
    struct it_resp r;
    char path[64];

    snprintf(path, sizeof(path), "/debug/requests?last=%d", n);
    if (it_request(f->upstream, f->ca, NULL, NULL, "GET", path, NULL, NULL, &r) != 0 ||
        r.status != 200) {
        return -1;
    }
    snprintf(out, len, "%s", r.body);
    it_resp_free(&r);
    return 0;
}

/* Whether the simulator's last 1000 requests include <needle> (a path
 * fragment); -1 when it did not answer. */
static inline int
it_h_sim_saw(const struct it_fg *f, const char *needle)
{
    static char buf[1 << 20];

    if (it_h_sim_requests(f, 1000, buf, sizeof(buf)) != 0) {
        return -1;
    }
    return strstr(buf, needle) != NULL;
}

/* Polls floodgate's /metrics until no seat is held in either pool and no
 * watch is open (or <timeout_ms> pass); returns the seats and watches
 * still counted (0 when all went back), -1 when /metrics did not answer. */
static inline double
it_h_wait_released(const struct it_fg *f, int timeout_ms)
{
    uint64_t end = it_fg_now_ms() + (uint64_t)timeout_ms;
    double held;

    do {
        double ro = it_fg_scrape(f, "floodgate_global_inflight_seats{kind=\"readonly\"}");
        double mu = it_fg_scrape(f, "floodgate_global_inflight_seats{kind=\"mutating\"}");
        double wa = it_fg_scrape(f, "floodgate_global_watches_open");

        if (ro < 0 || mu < 0 || wa < 0) {
            return -1;
        }
        held = ro + mu + wa;
        if (held == 0) {
            return 0;
        }
        it_fg_sleep_ms(50);
    } while (it_fg_now_ms() < end);
    return held;
}

/* Starts floodgate on f->cfg with its admin listener, at most <nofile>
 * open files (0: as inherited) and the extra arguments <extra>
 * (NULL-terminated, may be NULL); waits for its ready file. */
static inline int
it_h_start(struct it_fg *f, const char *tag, int nofile, const char *const *extra)
{
    char ready[700], script[64];
    char *argv[32];
    int n = 0;

    snprintf(ready, sizeof(ready), "%s/floodgate-%s.ready", f->dir, tag);
    snprintf(f->log, sizeof(f->log), "%s/floodgate-%s.log", f->dir, tag);
    unlink(ready);
    if (nofile > 0) {
        /* The shell lowers the limit, then becomes floodgate (same pid). */
        snprintf(script, sizeof(script), "ulimit -n %d && exec \"$0\" \"$@\"", nofile);
        argv[n++] = (char *)"/bin/sh";
        argv[n++] = (char *)"-c";
        argv[n++] = script;
    }
    argv[n++] = (char *)it_bin("floodgate");
    argv[n++] = (char *)"run";
    argv[n++] = (char *)"--config";
    argv[n++] = f->cfg;
    argv[n++] = (char *)"--ready-file";
    argv[n++] = ready;
    argv[n++] = (char *)"--admin-listen";
    argv[n++] = (char *)"127.0.0.1:0";
    while (extra != NULL && *extra != NULL && n < 30) {
        argv[n++] = (char *)*extra++;
    }
    argv[n] = NULL;
    f->pid = it_spawn(argv, NULL, f->log);
    if (f->pid <= 0 || it_wait_ready(ready, "listen", f->addr, sizeof(f->addr), 10000) != 0 ||
        it_wait_ready(ready, "admin", f->admin, sizeof(f->admin), 1000) != 0) {
        return -1;
    }
    return 0;
}

/* Replaces <from> by <to> in the configuration file f->cfg (once). */
static inline int
it_h_edit(const struct it_fg *f, const char *from, const char *to)
{
    static char buf[1 << 16];
    FILE *in = fopen(f->cfg, "r"), *out;
    size_t n;
    char *p;

    if (in == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, in);
    fclose(in);
    buf[n] = '\0';
    p = strstr(buf, from);
    out = p != NULL ? fopen(f->cfg, "w") : NULL;
    if (out == NULL) {
        return -1;
    }
    fprintf(out, "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
    return fclose(out);
}

/* CPU time (user + system) <pid> used so far, in clock ticks; -1. */
static inline long
it_h_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *in;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    in = fopen(path, "r");
    if (in == NULL || fgets(buf, sizeof(buf), in) == NULL) {
        if (in != NULL) {
            fclose(in);
        }
        return -1;
    }
    fclose(in);
    p = strrchr(buf, ')'); /* the name may hold spaces */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return -1;
    }
    return (long)(ut + st);
}

/* Whether <pid> is still running (not exited, not a zombie). */
static inline int
it_h_alive(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *in;
    int alive = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    in = fopen(path, "r");
    if (in == NULL) {
        return 0;
    }
    if (fgets(buf, sizeof(buf), in) != NULL && (p = strrchr(buf, ')')) != NULL) {
        alive = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    fclose(in);
    return alive;
}

#endif /* IT_HARDEN_H */
