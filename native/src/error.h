/* Error convention (crun's): fallible functions return int, < 0 on failure, and write
 * "what failed: strerror(errno)" into an error buffer owned by the caller. */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H
#include <stddef.h>

#define BERTH_ERRLEN 512

/* Formats the message (plus ": strerror(errnum)" when errnum != 0) into err and returns -errnum (-1 if errnum is 0).
 * Uses only vsnprintf/strerror_r on caller memory, so it is safe in the cloned child of the single-threaded shim. */
int berth_error (char *err, size_t errlen, int errnum, const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

#define cleanup_fd __attribute__ ((cleanup (cleanup_fdp)))
#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
void cleanup_fdp (int *fd);
void cleanup_freep (void *p);

#endif
