/*
 * messages.h — the native join's one-line messages, worded as the Deno
 * path's (src/live/join_request.ts, src/live/join.ts, src/cage/failure.ts),
 * so that a user sees the same line whichever path ran.
 */
#ifndef WGJ_MESSAGES_H
#define WGJ_MESSAGES_H

/* Prints "wgcage: " and the formatted line to stderr. */
void wgj_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* glibc's strerror text with its first letter in lower case, as the Deno
 * path's describeErrno words it (its table is glibc's texts). Returns a
 * pointer to a static buffer. */
const char *wgj_describe_errno(int err);

/* `s` in single quotes, a quote inside as '\'' (a shell would read it back),
 * into `out` of `size` bytes; truncated past that. */
const char *wgj_quote(const char *s, char *out, unsigned long size);

/* The proxy warning of src/cli/run_warnings.ts, when proxy variables are set. */
void wgj_proxy_warning(void);

#endif
