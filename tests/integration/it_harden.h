/* Helpers for the attack and fault tests (it_attack_*.c, it_fault_*.c):
 * on top of it_admin.h (floodgate with its admin listener in front of
 * floodgate-apisim), what the simulator saw (/debug/requests), the
 * identity it served a request as (/debug/whoami through floodgate), and
 * floodgate's seats and watches going back to zero after a fault.
 * Header-only (static inline). */
#ifndef IT_HARDEN_H
#define IT_HARDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* IT_HARDEN_H */
