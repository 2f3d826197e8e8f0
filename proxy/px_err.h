/* Error reporting shared by every I/O module: functions that can fail return
 * 0 or -1 and describe the failure in a caller-owned buffer. */
#ifndef PX_ERR_H
#define PX_ERR_H

#include <stddef.h>

#define PX_ERRLEN    256
#define PX_MUSTCHECK __attribute__((warn_unused_result))

/* snprintf into <err> (no-op when <err> is NULL or <errlen> is 0). */
void px_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* PX_ERR_H */
