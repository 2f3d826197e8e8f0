/* Human units: see bn_load_units.h. */
#include "bn_load_units.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_load_sched.h"

#define INT_DIGITS_MAX  12
#define FRAC_DIGITS_MAX 6

struct unit {
    const char *suffix;
    double scale;
};

/* Digits, optionally a dot and digits. Returns the first byte after the
 * number, or NULL when there is none. */
static const char *
parse_decimal(const char *s, double *v)
{
    const char *p = s;
    size_t ni = 0, nf = 0;
    char tmp[INT_DIGITS_MAX + FRAC_DIGITS_MAX + 2];

    while (*p >= '0' && *p <= '9') {
        p++;
        ni++;
    }
    if (ni == 0 || ni > INT_DIGITS_MAX) {
        return NULL;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            nf++;
        }
        if (nf == 0 || nf > FRAC_DIGITS_MAX) {
            return NULL;
        }
    }
    memcpy(tmp, s, (size_t)(p - s));
    tmp[p - s] = '\0';
    *v = strtod(tmp, NULL);
    return p;
}

static const struct unit *
find_unit(const struct unit *u, const char *suffix)
{
    for (; u->suffix != NULL; u++) {
        if (strcmp(u->suffix, suffix) == 0) {
            return u;
        }
    }
    return NULL;
}

int
bn_parse_duration(const char *s, uint64_t *ns)
{
    static const struct unit units[] = {{"", 1e9},  {"ns", 1.0}, {"us", 1e3},   {"ms", 1e6},
                                        {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {NULL, 0}};
    const struct unit *u;
    const char *rest;
    double v, n;

    rest = parse_decimal(s, &v);
    if (rest == NULL || (u = find_unit(units, rest)) == NULL) {
        return -1;
    }
    n = v * u->scale;
    if (n > (double)BN_DURATION_MAX) {
        return -1;
    }
    *ns = (uint64_t)llround(n);
    return 0;
}

int
bn_parse_rate(const char *s, uint64_t *mrps)
{
    static const struct unit per[] = {
        {"", 1.0}, {"/s", 1.0}, {"/m", 60.0}, {"/h", 3600.0}, {NULL, 0}};
    const struct unit *u;
    const char *rest;
    double v, m;

    rest = parse_decimal(s, &v);
    if (rest == NULL || (u = find_unit(per, rest)) == NULL) {
        return -1;
    }
    m = v * BN_MRPS_PER_RPS / u->scale;
    /* "1/h" is 0.28 mrps: refuse what rounds to nothing rather than send
     * nothing while the summary claims a rate. */
    if (m > (double)BN_RATE_MAX || llround(m) < 1) {
        return -1;
    }
    *mrps = (uint64_t)llround(m);
    return 0;
}

/* Three significant digits without %g's exponents: 999.9 prints 1000. */
static void
fmt3(char *buf, size_t len, double v, const char *unit)
{
    snprintf(buf, len, v < 10.0 ? "%.2f%s" : v < 100.0 ? "%.1f%s" : "%.0f%s", v, unit);
}

const char *
bn_fmt_duration(uint64_t ns, char *buf, size_t len)
{
    double v = (double)ns;

    if (ns < 1000) {
        snprintf(buf, len, "%" PRIu64 "ns", ns);
    } else if (ns < 1000000) {
        fmt3(buf, len, v / 1e3, "us");
    } else if (ns < 1000000000) {
        fmt3(buf, len, v / 1e6, "ms");
    } else {
        fmt3(buf, len, v / 1e9, "s");
    }
    return buf;
}

const char *
bn_fmt_rate(uint64_t mrps, char *buf, size_t len)
{
    if (mrps % BN_MRPS_PER_RPS == 0) {
        snprintf(buf, len, "%" PRIu64 "/s", mrps / BN_MRPS_PER_RPS);
    } else {
        snprintf(buf, len, "%g/s", (double)mrps / BN_MRPS_PER_RPS);
    }
    return buf;
}
