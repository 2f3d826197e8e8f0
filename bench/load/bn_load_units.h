/* Human units for rates and durations, parsed once at start-up into
 * integers with a stated scale: durations in nanoseconds, rates in
 * milli-requests per second (so "0.2/s", a node's rate, is exactly 200).
 * Strict: digits, an optional fraction, a unit; no spaces or exponents. */
#ifndef BN_LOAD_UNITS_H
#define BN_LOAD_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define BN_DURATION_MAX (7ull * 24 * 3600 * 1000000000ull) /* a week */

/* "30s", "500ms", "2m", "1h", "1.5s", "250us", "0"; a bare number is
 * seconds ("30"). At most BN_DURATION_MAX. */
int bn_parse_duration(const char *s, uint64_t *ns);
/* "10/s", "600/m", "36/h", "0.2/s"; a bare number is per second. Must be
 * at least 0.001/s (1 mrps) and at most BN_RATE_MAX. */
int bn_parse_rate(const char *s, uint64_t *mrps);

/* "812us", "1.23ms", "4.5s" with three significant digits, into <buf>. */
const char *bn_fmt_duration(uint64_t ns, char *buf, size_t len);
/* "0.2/s", "2000/s" into <buf>. */
const char *bn_fmt_rate(uint64_t mrps, char *buf, size_t len);

#endif /* BN_LOAD_UNITS_H */
