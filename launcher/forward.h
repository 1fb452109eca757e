/*
 * forward.h — relaying between the host and the cage: published ports (-p),
 * host services (--host-service).
 *
 * wgcage binds the host side itself (wgl_forward_bind) before the cage is
 * made, so that a port in use or a privileged port fails before anything is
 * built. The cage side comes from the cage's socket service
 * (forward_service.h): a socket made in the cage's network namespace, which
 * wgcage connects to the cage's loopback (a published port) or accepts on (a
 * host service). No route between the command and the host is ever made.
 *
 * One thread per forwarder runs an epoll loop. TCP is relayed with splice
 * through a pipe per direction (no copy through user space), a FIN on one
 * side becomes a shutdown(SHUT_WR) on the other, and a reset on one side a
 * reset on the other. UDP is relayed per flow (a client address): each flow
 * gets a socket of its own in the cage, closed after `udp_idle_ms` without a
 * datagram either way.
 *
 * Every function returns >= 0 or -errno and none exits the process.
 */
#ifndef WGL_FORWARD_H
#define WGL_FORWARD_H

#include <stdint.h>

/* Protocols, as in IP headers. */
#define WGL_FORWARD_TCP 6u
#define WGL_FORWARD_UDP 17u

/* wgl_forward_open flags. */
#define WGL_FORWARD_EVENTS 1u /* keep events for wgl_forward_events (-v) */

/* Events, four u32 words each: kind, rule id, errno, extra. */
enum wgl_forward_event {
  WGL_FWD_EV_CAGE_REFUSED = 1, /* a published TCP port: nobody listens in the cage */
  WGL_FWD_EV_HOST_REFUSED = 2, /* a host service: the host's port refused (errno) */
  WGL_FWD_EV_SERVICE = 3,      /* the cage's socket service failed or is gone (errno) */
  WGL_FWD_EV_ACCEPT = 4,       /* accept failed (errno, e.g. EMFILE) */
  WGL_FWD_EV_LIMIT = 5,        /* too many connections or flows: a new one was turned away */
  WGL_FWD_EV_UDP_REFUSED = 6,  /* a published UDP port: nothing listens in the cage */
  WGL_FWD_EV_RESET = 7,        /* a relayed connection ended with a reset; extra: 0 host, 1 cage */
  WGL_FWD_EV_SOCKET = 8,       /* a socket for a new connection or flow failed (errno) */
  WGL_FWD_EV_CAGE_LISTENING = 9, /* a host service listens in the cage; extra: the port */
  WGL_FWD_EV_TARGET_FAILED = 10, /* -L: the tunnel address did not take the connection (errno) */
  WGL_FWD_EV_STEER_TIMEOUT = 11, /* a steered connection had no decision (extra 0) or no
                                    connection (extra 1) in time: reset */
  /* 12: reserved (was: a UDP ASSOCIATE datagram to a name, dropped) */
  WGL_FWD_EV_ASSOC_UNREACHABLE = 13, /* UDP ASSOCIATE: the tunnel does not route a destination */
  WGL_FWD_EV_UNRESOLVED = 14,        /* -L UDP to a name: not resolved yet, a datagram dropped */
};

/* A host socket for a published port: for TCP bound and listening, for UDP
 * bound; non-blocking and close-on-exec. `family` is 4 or 6, `addr` 4 or 16
 * bytes in network order. Returns the fd. */
int32_t wgl_forward_bind(uint32_t proto, uint32_t family, const uint8_t *addr, uint32_t port);

/* A forwarder for the cage whose socket service is `service_fd` (the caller
 * keeps it and closes it after wgl_forward_close). Returns a handle. */
int32_t wgl_forward_open(int32_t service_fd, uint32_t flags);

/* Relays what arrives on `host_fd` (from wgl_forward_bind; the forwarder
 * takes it) to port `cage_port` on the cage's loopback: 127.0.0.1, or ::1
 * when that refuses a TCP connection. `rule` names it in events. */
int32_t wgl_forward_publish(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t cage_port,
                            uint32_t rule);

/* Asks the cage's socket service for a socket listening on 127.0.0.1:cage_port
 * in the cage, and relays each connection to it to host_addr:host_port.
 * Called before the cage's go-ahead, the socket exists before the command. */
int32_t wgl_forward_host_service(int32_t handle, uint32_t cage_port, uint32_t family,
                                 const uint8_t *host_addr, uint32_t host_port, uint32_t rule);

/* -L: relays what arrives on `host_fd` (the forwarder takes it) to
 * addr:port through the tunnel, from a socket the cage's service makes: the
 * connection or flow leaves through the cage's routes, which lead only into
 * the tunnel. `family` is 4 or 6; 0 for UDP to a name, whose address
 * TypeScript gives later (WGL_STEER_SET_TARGET); until then datagrams are
 * dropped. */
int32_t wgl_forward_local(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t family,
                          const uint8_t *addr, uint32_t port, uint32_t rule);

/*
 * Steered connections: a TCP listener (`host_fd`, taken) whose connections
 * wait until TypeScript says where each goes (a SOCKS or HTTP proxy's
 * request, -L to a name resolved in the cage). Then the relay connects a
 * cage socket there and splices as for any other rule.
 *
 *   note ACCEPTED {id, rule}  ──▶  TypeScript
 *   note DATA {id, held}      ──▶  wgl_forward_steer_read(id): the bytes held
 *   ◀── command WRITE (bytes to the client), CLOSE (bytes, then close), or
 *       CONNECT (drop `consumed` bytes; on success write the bytes, relay)
 *   note RELAYING {id}, or FAILED {id, errno} (still TypeScript's), or GONE
 *
 * At most STEER_MAX (256) wait at once, each for 10 s and with 16 KiB
 * held; more are reset and -v says so.
 */
enum wgl_steer_note {
  WGL_STEER_ACCEPTED = 1, /* extra: the rule */
  WGL_STEER_DATA = 2,     /* extra: bytes held */
  WGL_STEER_FAILED = 3,   /* errno: why the connection failed */
  WGL_STEER_GONE = 4,     /* the client left, or the deadline passed */
  WGL_STEER_RELAYING = 5,
  WGL_STEER_SOCKET_MADE = 6,   /* id: the command's tag; errno, or extra: the fd */
  WGL_STEER_ASSOC_RESOLVE = 7, /* UDP ASSOCIATE: resolve the name in 256-byte slot `extra` */
};

enum wgl_steer_op {
  WGL_STEER_WRITE = 1,
  WGL_STEER_CLOSE = 2,
  WGL_STEER_CONNECT = 3,
  WGL_STEER_SOCKET = 4,       /* a cage socket for TypeScript: family, port = protocol */
  WGL_STEER_CONNECT_SEND = 5, /* CONNECT, but the bytes go to the target first */
  WGL_STEER_ASSOCIATE = 6,    /* a SOCKS5 UDP ASSOCIATE; port: the client's, or 0 */
  WGL_STEER_SET_TARGET = 7,   /* id: a -L UDP rule to a name; family, addr, port: its address */
  WGL_STEER_ASSOC_MAP = 8, /* UDP ASSOCIATE: consumed = the entry, family (0: unresolved), addr */
};

int32_t wgl_forward_steer(int32_t handle, int32_t host_fd, uint32_t rule);

/* Queues a command for the relay thread (any thread may call it). */
int32_t wgl_forward_steer_command(int32_t handle, uint32_t op, uint32_t id, uint32_t family,
                                  const uint8_t *addr, uint32_t port, uint32_t consumed,
                                  const uint8_t *data, uint32_t len);

/* Copies the bytes held for `id`; -ENOENT once it is not steered. */
int32_t wgl_forward_steer_read(int32_t handle, uint32_t id, uint8_t *out, uint32_t cap);

/* Blocks until there are notes or the forwarder is closed; 4 words each
 * (kind, id, errno, extra). Returns how many, 0 once closed. */
int32_t wgl_forward_steer_wait(int32_t handle, uint32_t *out, uint32_t cap);

/* Sends `query` on the datagram socket `fd` to addr:port and waits up to
 * `timeout_ms` for one answer (its full length, which may exceed `cap`). */
int32_t wgl_forward_exchange(int32_t fd, uint32_t family, const uint8_t *addr, uint32_t port,
                             const uint8_t *query, uint32_t query_len, uint8_t *reply, uint32_t cap,
                             uint32_t timeout_ms);

/* A -L rule added while the relay may run (serve's API), as
 * wgl_forward_local with an address: the relay thread takes it between two
 * batches of events, and the call waits for that. On success
 * the forwarder takes host_fd; on failure the caller keeps it. -ENOSPC when
 * RULES_MAX rules are in use. */
int32_t wgl_forward_live_add(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t family,
                             const uint8_t *addr, uint32_t port, uint32_t rule);

/* Removes every rule named `rule`: its host port is closed, its connections
 * reset and its UDP flows' sockets closed. -ENOENT when there is none. */
int32_t wgl_forward_live_remove(int32_t handle, uint32_t rule);

/* Starts the relay thread. */
int32_t wgl_forward_start(int32_t handle, uint32_t udp_idle_ms);

/* Blocks until there are events or the forwarder is closed; writes up to
 * `cap` events (4 words each) into `out`. Returns how many, 0 once closed. */
int32_t wgl_forward_events(int32_t handle, uint32_t *out, uint32_t cap);

/* Counters: out[0] open connections, out[1] open UDP flows, out[2]
 * connections accepted, out[3] connections turned away (refused, reset,
 * failed). */
int32_t wgl_forward_stats(int32_t handle, uint32_t *out);

/* Stops the thread, closes every socket and pipe; the handle is free again. */
int32_t wgl_forward_close(int32_t handle);

#endif
