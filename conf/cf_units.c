/* Human units, parsed once here so that the limiter only sees integers with
 * a stated scale: rates in milli-tokens per second, durations in
 * nanoseconds, sizes in bytes. Parsing is strict (no spaces, no exponents,
 * no hex): a config value means exactly one thing. */
#include "cf_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_DIGITS_MAX  15 /* integer part: exact in a double */
#define FRAC_DIGITS_MAX 9

struct unit {
    const char *suffix;
    uint64_t scale;
};

/* "12", "0.5", "1.25": digits, then optionally a dot and digits. Returns the
 * first byte after the number, or NULL when there is none. */
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
find_unit(const struct unit *units, const char *suffix)
{
    for (; units->suffix != NULL; units++) {
        if (strcmp(units->suffix, suffix) == 0) {
            return units;
        }
    }
    return NULL;
}

int
cf_parse_rate(const char *s, uint64_t *mtps)
{
    static const struct unit per[] = {{"", 1}, {"/s", 1}, {"/m", 60}, {"/h", 3600}, {NULL, 0}};
    const struct unit *u;
    const char *rest;
    double v, m;

    rest = parse_decimal(s, &v);
    if (rest == NULL || (u = find_unit(per, rest)) == NULL) {
        return -1;
    }
    m = v * (double)LIM_MT_PER_TOKEN / (double)u->scale;
    /* "1/m" is 16.67 milli-tokens/s: round to nearest, and refuse what
     * rounds to nothing rather than silently disable a bucket. */
    if (m > (double)LIM_RATE_MAX_MTPS || llround(m) < 1) {
        return -1;
    }
    *mtps = (uint64_t)llround(m);
    return 0;
}

int
cf_parse_duration(const char *s, uint64_t *ns)
{
    static const struct unit units[] = {
        {"ns", 1},           {"us", 1000},          {"ms", 1000000}, {"s", 1000000000},
        {"m", 60000000000u}, {"h", 3600000000000u}, {NULL, 0}};
    const struct unit *u;
    const char *rest;
    double v, n;

    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    rest = parse_decimal(s, &v);
    if (rest == NULL || (u = find_unit(units, rest)) == NULL) {
        return -1;
    }
    n = v * (double)u->scale;
    if (n > (double)CF_U64_MAX_SAFE) {
        return -1;
    }
    *ns = (uint64_t)llround(n);
    return 0;
}

int
cf_parse_size(const char *s, uint64_t *bytes)
{
    /* IEC units are powers of 1024; SI ones mean what they say, 1000. */
    static const struct unit units[] = {{"", 1},
                                        {"B", 1},
                                        {"KiB", 1u << 10},
                                        {"MiB", 1u << 20},
                                        {"GiB", 1u << 30},
                                        {"TiB", 1ull << 40},
                                        {"kB", 1000},
                                        {"KB", 1000},
                                        {"MB", 1000000},
                                        {"GB", 1000000000},
                                        {"TB", 1000000000000ull},
                                        {NULL, 0}};
    const struct unit *u;
    uint64_t v = 0;
    const char *p = s;
    size_t nd = 0;

    while (*p >= '0' && *p <= '9') {
        if (++nd > INT_DIGITS_MAX) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (nd == 0 || (u = find_unit(units, p)) == NULL) {
        return -1;
    }
    if (v > CF_U64_MAX_SAFE / u->scale) {
        return -1;
    }
    *bytes = v * u->scale;
    return 0;
}

int
cf_parse_milli(const char *s, uint64_t *milli)
{
    const char *rest;
    double v;

    rest = parse_decimal(s, &v);
    if (rest == NULL || *rest != '\0') {
        return -1;
    }
    *milli = (uint64_t)llround(v * 1000.0);
    return 0;
}

int
cf_parse_pct(const char *s, uint32_t *pct)
{
    uint64_t v = 0;
    const char *p = s;
    size_t nd = 0;

    while (*p >= '0' && *p <= '9') {
        if (++nd > 9) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (nd == 0 || !(*p == '\0' || (p[0] == '%' && p[1] == '\0'))) {
        return -1;
    }
    *pct = (uint32_t)v;
    return 0;
}

/* <whole>.<frac> with <frac> in thousandths, trailing zeros dropped. */
void
cf_fmt_milli(uint64_t milli, const char *unit, char *buf, size_t len)
{
    uint64_t whole = milli / 1000, frac = milli % 1000;

    if (frac == 0) {
        snprintf(buf, len, "%" PRIu64 "%s", whole, unit);
    } else if (frac % 100 == 0) {
        snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%s", whole, frac / 100, unit);
    } else if (frac % 10 == 0) {
        snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 "%s", whole, frac / 10, unit);
    } else {
        snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 "%s", whole, frac, unit);
    }
}

const char *
cf_fmt_rate(uint64_t mtps, char *buf, size_t len)
{
    /* Below one per second, per minute reads better: "6/m", and "1/m"
     * (stored as 17 milli-tokens/s) shows what it became, "1.02/m". */
    if (mtps >= 1000 || mtps == 0) {
        cf_fmt_milli(mtps, "/s", buf, len);
    } else {
        cf_fmt_milli(mtps * 60, "/m", buf, len);
    }
    return buf;
}

const char *
cf_fmt_duration(uint64_t ns, char *buf, size_t len)
{
    static const struct unit units[] = {
        {"h", 3600000000000u}, {"m", 60000000000u}, {"s", 1000000000}, {"ms", 1000000},
        {"us", 1000},          {"ns", 1},           {NULL, 0}};
    const struct unit *u;

    if (ns == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    for (u = units; ns % u->scale != 0; u++) {
    }
    snprintf(buf, len, "%" PRIu64 "%s", ns / u->scale, u->suffix);
    return buf;
}

const char *
cf_fmt_size(uint64_t bytes, char *buf, size_t len)
{
    static const struct unit units[] = {{"TiB", 1ull << 40}, {"GiB", 1u << 30}, {"MiB", 1u << 20},
                                        {"KiB", 1u << 10},   {"B", 1},          {NULL, 0}};
    const struct unit *u;

    if (bytes == 0) {
        snprintf(buf, len, "0B");
        return buf;
    }
    for (u = units; bytes % u->scale != 0; u++) {
    }
    snprintf(buf, len, "%" PRIu64 "%s", bytes / u->scale, u->suffix);
    return buf;
}
