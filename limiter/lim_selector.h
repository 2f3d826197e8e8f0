/* kube's selector grammars as far as request classification needs them:
 * whether apimachinery's labels.Parse and fields.ParseSelector accept a
 * selector (RequestInfo falls back when ListOptions fail to decode), and
 * which metadata.name a field selector pins. Private to the limiter. */
#ifndef LIM_SELECTOR_H
#define LIM_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether labels.Parse(<s>) succeeds: its lexer (a NUL byte at a token start
 * ends the input), its parser and NewRequirement's validation (qualified-name
 * keys, label values, integers for '<' and '>'). O(n), no allocation. */
bool lim_label_selector_valid(const char *s, size_t n);

/* fields.ParseSelector(<s>) then RequiresExactMatch("metadata.name").
 * Returns -1 when Go fails to parse <s>; 0 when it parses without pinning
 * metadata.name; 1 when it does, with *<rhs>, *<rhs_len> the still escaped
 * value of the term Go picks (the least such term in byte order, as Go sorts
 * the terms first). O(n). */
int lim_field_selector_name(const char *s, size_t n, const char **rhs, size_t *rhs_len);

/* fields.UnescapeValue of a valid <rhs> into <dst>, or only its length when
 * <dst> is NULL. At most 3 * <n> bytes: when the value holds '\\', ',' or
 * '=', Go rewrites it rune by rune and each invalid UTF-8 byte becomes
 * U+FFFD. */
size_t lim_field_unescape(const char *rhs, size_t n, char *dst);

#endif /* LIM_SELECTOR_H */
