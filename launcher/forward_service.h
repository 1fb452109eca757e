/*
 * forward_service.h — what wgcage asks of the cage's socket service, and what
 * it answers.
 *
 * A socket belongs to the network namespace of the process that created it,
 * and rootless wgcage cannot enter the cage's (setns needs CAP_SYS_ADMIN in
 * its own user namespace too). So a small process inside the cage — the
 * cage's init forks it before the command (init/socket_service.c) — makes
 * sockets there and hands them over. wgcage then connects, accepts and
 * relays with them itself: a socket's namespace is fixed when it is created,
 * and every other call works from any process.
 *
 * The two talk over a SOCK_SEQPACKET socketpair that wgcage makes before the
 * clone; the command never holds either end. One request per message, one
 * reply per request, in order:
 *
 *   wgcage                                      socket service (in the cage)
 *   {op, tag, family, type, port, addr}  ────▶  socket(family, type)
 *                                               [LISTEN] SO_REUSEADDR, bind, listen
 *                                       ◀────  {tag, 0} + SCM_RIGHTS[the socket]
 *                                               or {tag, errno}
 *
 * Requests written before the cage's go-ahead are served before the command
 * starts: a failure among them fails the cage (WGL_STAGE_SERVICE) with that
 * errno, and the command never runs. The service holds no secret (it is a
 * fork of the init, a fresh image), is not dumpable, and ends when wgcage
 * closes its end or the cage ends.
 */
#ifndef WGL_FORWARD_SERVICE_H
#define WGL_FORWARD_SERVICE_H

#include <stdint.h>

/* Request ops. */
#define WGL_SERVICE_SOCKET 1u /* a socket of `family` and `type`, not bound */
#define WGL_SERVICE_LISTEN 2u /* a TCP socket bound to addr:port and listening */

/* One request. `family` is AF_INET or AF_INET6, `type` SOCK_STREAM or
 * SOCK_DGRAM; the socket comes non-blocking and close-on-exec. `addr` holds 4
 * (AF_INET) or 16 bytes in network order, `port` host order. */
struct wgl_service_request {
  uint32_t op;
  uint32_t tag; /* echoed in the reply */
  uint32_t family;
  uint32_t type;
  uint32_t port;
  uint8_t addr[16];
};

/* One reply; with err 0 it carries exactly one fd. */
struct wgl_service_reply {
  uint32_t tag;
  int32_t err;
};

/* Backlog of a listening socket the service makes. */
#define WGL_SERVICE_BACKLOG 128

#endif
