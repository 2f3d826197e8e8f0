/* Templates for what each member of a population sends: paths, bodies,
 * headers and identity names. "node-{i}" is member i's node. Only the
 * placeholders below are recognised; every other "{" is literal, so JSON
 * bodies are written as they are. Pure string work, done at start-up. */
#ifndef BN_LOAD_TMPL_H
#define BN_LOAD_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BN_TMPL_MAX 8192 /* bytes of an expanded template */

/*   {i}      the member's index in its population, from 0
 *   {i+N}    the index plus N ({i+1}: 1-based names)
 *   {i%N}    the index modulo N, N >= 1 (members sharing N names)
 *   {i%N+M}  modulo, then plus
 *   {i:0W}   any of the above zero-padded to W digits ({i:05}: node-00042)
 *   {pop}    the population's name                                    */
struct bn_tmpl_vars {
    uint64_t i;
    const char *pop;
};

/* Expands <src> for <v> into <out> (<outlen> bytes, always NUL-terminated
 * when <outlen> > 0). Returns the expanded length, or -1 with <why> saying
 * what was wrong: a malformed placeholder ("{i+}"), a modulo of 0, a number
 * that overflows, or an expansion that does not fit. */
int bn_tmpl_expand(const char *src, const struct bn_tmpl_vars *v, char *out, size_t outlen,
                   char *why, size_t whylen);

/* 0 when <src> expands for every member (checked with index 0 and the
 * largest index <count> - 1), else -1 with <why>. */
int bn_tmpl_check(const char *src, uint32_t count, char *why, size_t whylen);

/* Whether <src> holds an index placeholder, i.e. differs between members. */
bool bn_tmpl_uses_index(const char *src);

#endif /* BN_LOAD_TMPL_H */
