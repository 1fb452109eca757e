/*
 * forward.c — the relay between the host and the cage (see forward.h).
 *
 * One thread per forwarder, one epoll set, edge-triggered for sockets. What
 * it watches:
 *
 *   wake       an eventfd: wgl_forward_close wants the thread to end
 *   service    replies of the cage's socket service, in request order
 *   rule       a host listener (-p tcp), a host UDP socket (-p udp), or a
 *              listener in the cage (--host-service)
 *   conn side  one TCP socket of a relayed connection (side 0 accepted,
 *              side 1 the one wgcage connected)
 *   flow       the cage-side UDP socket of one client of a published port
 *
 * A TCP connection goes through AWAIT_SOCKET (a published port: the socket
 * comes from the cage's service), CONNECTING and RELAY. In RELAY each
 * direction moves bytes socket → pipe → socket with splice; a direction whose
 * source read 0 shuts the destination's write side once its pipe is empty; a
 * read or write that fails (ECONNRESET, EPIPE) ends both sides with a reset
 * (SO_LINGER 0, close). Both directions shut and empty: both sides close.
 */
#include "forward.h"

#include "forward_service.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Forwarders per process (a tunnel has one). */
#define FORWARDERS 8
/* Rules per forwarder (-p and --host-service options). */
#define RULES_MAX 64
/* Open TCP connections per forwarder, at most; more are reset at once. The
 * open-file limit may allow fewer (conns_cap). */
#define CONNS_MAX 1024
/* Descriptors one relayed TCP connection holds: its two sockets, and a pipe
 * (two ends) for each direction. */
#define FDS_PER_CONN 6
/* Descriptors kept for the rest of wgcage, beyond those open when the
 * forwarder opens: the tunnel's UDP sockets (a second family when an
 * endpoint moves), a live cage's control clients (one per joined command),
 * netlink and /proc reads, the socket service's replies, UDP flows' sockets
 * (one each) and the runtime's own. A run holds about 35 in all once up,
 * Deno's included, nearly all of them open before the forwarder; 64 more
 * leaves room for a live cage with dozens of joined commands, and the
 * default soft limit of 1024 still holds ~150 connections. */
#define FDS_RESERVED 64
/* UDP flows per rule; datagrams from more clients are dropped. */
#define FLOWS_MAX 256
/* Datagrams a new flow holds while its socket is on the way. */
#define FLOW_HELD_MAX 16
/* Bytes of each direction's pipe. */
#define PIPE_BYTES (1 << 20)
/* Events kept for wgl_forward_events; older ones are dropped. */
#define EVENTS_MAX 256
/* Bytes or rounds one connection moves before the others get a turn. */
#define PUMP_BUDGET (4 << 20)
#define UDP_BUDGET 64
#define DATAGRAM_MAX 65536

enum watch_kind { W_WAKE, W_SERVICE, W_RULE, W_CONN, W_FLOW, W_ASSOC };

struct watch {
  enum watch_kind kind;
  void *owner;
  int side; /* W_CONN: 0 or 1 */
};

/* RULE_LOCAL_*: -L, to a fixed address through the tunnel; RULE_STEER: a
 * listener whose connections TypeScript steers (proxies, -L to a name). */
/* RULE_FREE: a slot whose rule was removed while the relay ran; the next
 * rule added takes it. */
enum rule_kind {
  RULE_TCP,
  RULE_UDP,
  RULE_HOST,
  RULE_LOCAL_TCP,
  RULE_LOCAL_UDP,
  RULE_STEER,
  RULE_FREE
};

struct flow;

struct rule {
  struct watch w;
  enum rule_kind kind;
  uint32_t id;
  int fd; /* the host listener or UDP socket; RULE_HOST: the cage's listener */
  uint16_t cage_port;
  struct sockaddr_storage target; /* RULE_HOST: where on the host */
  socklen_t target_len;
  struct flow *flows;
  int flow_count;
  bool limit_reported;
};

/* C_STEERED: a RULE_STEER connection waiting for TypeScript's word;
 * C_ASSOCIATING, C_ASSOCIATED: the TCP side of a SOCKS UDP ASSOCIATE. */
enum conn_state { C_STEERED, C_AWAIT_SOCKET, C_CONNECTING, C_RELAY, C_ASSOCIATING, C_ASSOCIATED };

struct conn {
  struct watch w[2];
  struct rule *rule;
  enum conn_state state;
  int fd[2];
  int attempt;    /* a published port: 0 tries 127.0.0.1, 1 tries ::1 */
  int pipe[2][2]; /* direction d: from side d to side 1 - d; [0] read end */
  size_t queued[2];
  bool eof[2];  /* side d's read gave 0 */
  bool shut[2]; /* side d's write side was shut down */
  bool again;   /* on the ready list: its budget ran out with work left */
  bool dead;    /* closed; freed after the current batch of events */
  struct conn *prev, *next, *ready_next;
  struct steer *steer; /* RULE_STEER only, until the relay starts */
  struct assoc *assoc; /* a SOCKS UDP ASSOCIATE's sockets */
};

struct held {
  size_t len;
  uint8_t data[];
};

struct flow {
  struct watch w;
  struct rule *rule;
  int fd; /* -1 while its socket is on the way */
  struct sockaddr_storage client;
  socklen_t client_len;
  uint64_t last_ms;
  struct held *held[FLOW_HELD_MAX];
  int held_count;
  bool refused_reported;
  bool dead; /* closed; freed after the current batch of events */
  struct flow *next;
};

enum pending_for { P_CONN, P_FLOW, P_LISTEN, P_SOCKET, P_ASSOC };

struct pending {
  uint32_t tag;
  enum pending_for what;
  void *owner;         /* NULL once the owner is gone */
  uint32_t socket_tag; /* P_SOCKET: TypeScript's tag */
  struct pending *next;
};

/* Steered connections (RULE_STEER): accepted here, held until TypeScript
 * says where they go (a proxy's request, -L to a name), then relayed like
 * any other. Bounds against a flood of half-open clients: */
#define STEER_MAX 256          /* connections waiting for a decision at once */
#define STEER_BYTES 16384      /* bytes of a request held for TypeScript to read */
#define STEER_MS 10000         /* from accept to a decision */
#define STEER_CONNECT_MS 40000 /* from a decision to a connection (SYN retries) */
/* Notes for TypeScript (wgl_forward_steer_wait): at most a few per steered
 * connection, so the ring never fills unless TypeScript stops reading. */
#define NOTES_MAX 2048

/* Commands of wgl_forward_live_*, queued with the steering's, beyond its ops. */
#define OP_LIVE_ADD 0x100u
#define OP_LIVE_REMOVE 0x101u

struct steer {
  uint32_t id;
  uint8_t buf[STEER_BYTES]; /* guarded by f->lock: TypeScript reads it */
  size_t len;
  bool told;  /* a DATA note waits for TypeScript's read */
  bool eof;   /* the client shut its side after its request: passed on once relaying */
  bool by_ts; /* closed on TypeScript's word: no GONE note */
  uint64_t deadline;
  struct sockaddr_storage to;
  socklen_t to_len;
  uint8_t *reply; /* written to the client (or the target) once connected */
  size_t reply_len;
  bool reply_to_target;
};

struct steer_command {
  uint32_t op, id, family, port, consumed;
  uint8_t addr[16];
  size_t len;
  struct steer_command *next;
  uint8_t data[];
};

struct steering {
  struct conn *slots[STEER_MAX]; /* written by the thread under f->lock */
  uint16_t gen[STEER_MAX];
  int count;
  struct steer_command *head, *tail; /* guarded by f->lock */
  uint32_t notes[NOTES_MAX][4];      /* guarded by f->lock */
  int note_start, note_count;
};

struct forwarder {
  bool used;
  bool keep_events;
  int service_fd;
  int epoll_fd;
  int wake_fd;
  pthread_t thread;
  bool thread_started;
  int stop; /* atomic */
  uint32_t udp_idle_ms;
  struct watch wake_watch, service_watch;
  struct rule rules[RULES_MAX];
  int rule_count;
  struct conn *conns;
  int conn_count;
  int conns_cap; /* conns_cap(): CONNS_MAX, or fewer under RLIMIT_NOFILE */
  struct conn *ready;
  /* Closed connections and flows: a later event of the same epoll batch may
   * still point at them, so they are freed once the batch is done. */
  struct conn *dead_conns;
  struct flow *dead_flows;
  struct pending *pending_head, *pending_tail;
  uint32_t next_tag;
  uint8_t datagram[DATAGRAM_MAX];
  /* Shared with wgl_forward_events and wgl_forward_stats. */
  pthread_mutex_t lock;
  pthread_cond_t changed;
  uint32_t events[EVENTS_MAX][4];
  int event_start, event_count;
  int waiters;
  bool closed;
  uint32_t stats[4];
  struct steering steering;
  /* Rules added or removed while the relay runs (wgl_forward_live_*): one
   * call at a time (live_call, zero-initialised as f->lock), answered by
   * the thread in live_result once live_done (both under f->lock). */
  pthread_mutex_t live_call;
  bool live_done;
  bool thread_gone; /* the relay thread ended: no live call is answered */
  int32_t live_result;
};

static struct forwarder forwarders[FORWARDERS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

enum { STAT_CONNS, STAT_FLOWS, STAT_ACCEPTED, STAT_TURNED_AWAY };

/* ------------------------------------------------------------- helpers --- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void emit(struct forwarder *f, uint32_t kind, uint32_t rule, int err, uint32_t extra) {
  if (!f->keep_events) return;
  pthread_mutex_lock(&f->lock);
  if (f->event_count == EVENTS_MAX) {
    f->event_start = (f->event_start + 1) % EVENTS_MAX;
    f->event_count--;
  }
  uint32_t *e = f->events[(f->event_start + f->event_count) % EVENTS_MAX];
  e[0] = kind;
  e[1] = rule;
  e[2] = (uint32_t)err;
  e[3] = extra;
  f->event_count++;
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->lock);
}

static void stat_add(struct forwarder *f, int which, int delta) {
  pthread_mutex_lock(&f->lock);
  f->stats[which] = (uint32_t)((int64_t)f->stats[which] + delta);
  pthread_mutex_unlock(&f->lock);
}

static struct forwarder *lookup(int32_t handle) {
  if (handle < 0 || handle >= FORWARDERS || !forwarders[handle].used) return NULL;
  return &forwarders[handle];
}

static socklen_t make_sockaddr(struct sockaddr_storage *ss, uint32_t family, const uint8_t *addr,
                               uint32_t port) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    memcpy(&in->sin_addr, addr, 4);
    return sizeof *in;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons((uint16_t)port);
  memcpy(&in6->sin6_addr, addr, 16);
  return sizeof *in6;
}

static socklen_t loopback(struct sockaddr_storage *ss, bool v6, uint16_t port) {
  static const uint8_t v4_loopback[4] = {127, 0, 0, 1};
  static const uint8_t v6_loopback[16] = {[15] = 1};
  return make_sockaddr(ss, v6 ? 6 : 4, v6 ? v6_loopback : v4_loopback, port);
}

/* Closes fd so that the peer gets a reset rather than a FIN. */
static void close_with_reset(int fd) {
  if (fd < 0) return;
  struct linger abort_now = {.l_onoff = 1, .l_linger = 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  (void)close(fd);
}

static int watch_fd(struct forwarder *f, int fd, struct watch *w, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

/* ----------------------------------------------------- socket service --- */

/* Queues a request to the cage's socket service; its reply is matched in
 * order. Returns 0 or -errno (the owner then fails at once). */
static int request_socket(struct forwarder *f, enum pending_for what, void *owner,
                          const struct wgl_service_request *req_in, int send_flags) {
  struct pending *p = calloc(1, sizeof *p);
  if (p == NULL) return -ENOMEM;
  struct wgl_service_request req = *req_in;
  req.tag = ++f->next_tag;
  ssize_t n;
  do {
    n = send(f->service_fd, &req, sizeof req, MSG_NOSIGNAL | send_flags);
  } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof req) {
    int err = n < 0 ? errno : EPROTO;
    free(p);
    return -err;
  }
  p->tag = req.tag;
  p->what = what;
  p->owner = owner;
  if (f->pending_tail != NULL) {
    f->pending_tail->next = p;
  } else {
    f->pending_head = p;
  }
  f->pending_tail = p;
  return 0;
}

static int request_plain_socket(struct forwarder *f, enum pending_for what, void *owner, bool v6,
                                int type) {
  struct wgl_service_request req;
  memset(&req, 0, sizeof req);
  req.op = WGL_SERVICE_SOCKET;
  req.family = v6 ? AF_INET6 : AF_INET;
  req.type = (uint32_t)type;
  return request_socket(f, what, owner, &req, MSG_DONTWAIT);
}

/* Forgets the owner of its pending request: the reply's socket is closed. */
static void cancel_pending(struct forwarder *f, void *owner) {
  for (struct pending *p = f->pending_head; p != NULL; p = p->next) {
    if (p->owner == owner) p->owner = NULL;
  }
}

/* Receives one reply: returns 1 with *tag, *err and *fd (-1 without one), 0
 * when none is there, -errno when the service is gone. */
static int receive_reply(int service_fd, bool block, uint32_t *tag, int *err, int *fd) {
  struct wgl_service_reply reply;
  struct iovec iov = {.iov_base = &reply, .iov_len = sizeof reply};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr mh = {.msg_iov = &iov,
                      .msg_iovlen = 1,
                      .msg_control = control.buf,
                      .msg_controllen = sizeof control};
  ssize_t n;
  do {
    n = recvmsg(service_fd, &mh, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (n < 0) return -errno;
  if (n == 0) return -EPIPE;
  *fd = -1;
  bool bad = n != (ssize_t)sizeof reply || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)) && *fd < 0) {
      memcpy(fd, CMSG_DATA(cm), sizeof(int));
    } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int stray;
        memcpy(&stray, CMSG_DATA(cm) + i * sizeof(int), sizeof stray);
        (void)close(stray);
      }
      bad = true;
    }
  }
  if (!bad && reply.err == 0 && *fd < 0) bad = true;
  if (bad) {
    if (*fd >= 0) (void)close(*fd);
    return -EPROTO;
  }
  *tag = reply.tag;
  *err = reply.err;
  return 1;
}

/* ---------------------------------------------------------- connections --- */

/* Closes both sides (with a reset when asked) and buries the connection. */
static void steer_release(struct forwarder *f, struct conn *c);
static void assoc_close(struct conn *c);

static void conn_free(struct forwarder *f, struct conn *c, bool reset) {
  if (c->dead) return;
  cancel_pending(f, c);
  steer_release(f, c);
  assoc_close(c);
  for (int side = 0; side < 2; side++) {
    if (reset) {
      close_with_reset(c->fd[side]);
    } else if (c->fd[side] >= 0) {
      (void)close(c->fd[side]);
    }
    c->fd[side] = -1;
    for (int end = 0; end < 2; end++) {
      if (c->pipe[side][end] >= 0) (void)close(c->pipe[side][end]);
      c->pipe[side][end] = -1;
    }
  }
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    f->conns = c->next;
  }
  if (c->next != NULL) c->next->prev = c->prev;
  if (c->again) {
    for (struct conn **at = &f->ready; *at != NULL; at = &(*at)->ready_next) {
      if (*at == c) {
        *at = c->ready_next;
        break;
      }
    }
  }
  c->again = false;
  f->conn_count--;
  stat_add(f, STAT_CONNS, -1);
  c->dead = true;
  c->next = f->dead_conns;
  f->dead_conns = c;
}

static struct conn *conn_new(struct forwarder *f, struct rule *r, int accepted) {
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->rule = r;
  c->fd[0] = accepted;
  c->fd[1] = -1;
  for (int d = 0; d < 2; d++) {
    c->pipe[d][0] = c->pipe[d][1] = -1;
    c->w[d].kind = W_CONN;
    c->w[d].owner = c;
    c->w[d].side = d;
  }
  c->next = f->conns;
  if (f->conns != NULL) f->conns->prev = c;
  f->conns = c;
  f->conn_count++;
  stat_add(f, STAT_CONNS, 1);
  return c;
}

/* A connection that never got relayed: its client sees a reset. */
static void conn_turn_away(struct forwarder *f, struct conn *c) {
  stat_add(f, STAT_TURNED_AWAY, 1);
  conn_free(f, c, true);
}

/* Moves what it can in direction d (side d → side 1 - d). Returns false when
 * the connection has to end with a reset. Sets *more when the budget ran
 * out with work left. */
static bool pump(struct conn *c, int d, size_t *budget, bool *more) {
  int src = c->fd[d], dst = c->fd[1 - d];
  for (;;) {
    bool progress = false;
    if (c->queued[d] > 0) {
      ssize_t n =
          splice(c->pipe[d][0], NULL, dst, NULL, c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        c->queued[d] -= (size_t)n;
        progress = true;
        *budget = *budget > (size_t)n ? *budget - (size_t)n : 0;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return false;
      }
    }
    if (!c->eof[d]) {
      ssize_t n =
          splice(src, NULL, c->pipe[d][1], NULL, PIPE_BYTES, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        c->queued[d] += (size_t)n;
        progress = true;
      } else if (n == 0) {
        c->eof[d] = true;
        progress = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        return false;
      }
    }
    if (c->eof[d] && c->queued[d] == 0 && !c->shut[1 - d]) {
      c->shut[1 - d] = true;
      (void)shutdown(dst, SHUT_WR);
    }
    if (!progress) return true;
    if (*budget == 0) {
      *more = true;
      return true;
    }
  }
}

static void pipe_grow(int fd) { (void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES); }

static void conn_relay(struct forwarder *f, struct conn *c) {
  size_t budget = PUMP_BUDGET;
  bool more = false;
  for (int d = 0; d < 2; d++) {
    if (!pump(c, d, &budget, &more)) {
      emit(f, WGL_FWD_EV_RESET, c->rule->id, 0, (uint32_t)d);
      conn_free(f, c, true);
      return;
    }
  }
  if (c->shut[0] && c->shut[1]) {
    conn_free(f, c, false);
    return;
  }
  if (more && !c->again) {
    c->again = true;
    c->ready_next = f->ready;
    f->ready = c;
  }
}

static bool steer_hand_over(struct forwarder *f, struct conn *c);
static bool steer_connect_failed(struct forwarder *f, struct conn *c, int err);
static const struct sockaddr_storage *steer_target(struct conn *c, socklen_t *len);

static void conn_start_relay(struct forwarder *f, struct conn *c) {
  for (int d = 0; d < 2; d++) {
    if (pipe2(c->pipe[d], O_NONBLOCK | O_CLOEXEC) != 0) {
      emit(f, WGL_FWD_EV_SOCKET, c->rule->id, errno, 0);
      conn_turn_away(f, c);
      return;
    }
    pipe_grow(c->pipe[d][1]);
  }
  int one = 1;
  (void)setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  (void)setsockopt(c->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (c->steer != NULL && !steer_hand_over(f, c)) {
    conn_turn_away(f, c);
    return;
  }
  c->state = C_RELAY;
  conn_relay(f, c);
}

static void conn_connect_failed(struct forwarder *f, struct conn *c, int err);

/* fd[1] was made: connect it to where the rule leads. */
static void conn_connect(struct forwarder *f, struct conn *c) {
  struct sockaddr_storage to;
  socklen_t len;
  if (c->rule->kind == RULE_HOST || c->rule->kind == RULE_LOCAL_TCP) {
    to = c->rule->target;
    len = c->rule->target_len;
  } else if (c->rule->kind == RULE_STEER) {
    to = *steer_target(c, &len);
  } else {
    len = loopback(&to, c->attempt == 1, c->rule->cage_port);
  }
  c->state = C_CONNECTING;
  int rc = connect(c->fd[1], (struct sockaddr *)&to, len);
  if (rc != 0 && errno != EINPROGRESS) {
    conn_connect_failed(f, c, errno);
    return;
  }
  if (watch_fd(f, c->fd[1], &c->w[1], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != 0) {
    emit(f, WGL_FWD_EV_SOCKET, c->rule->id, errno, 0);
    conn_turn_away(f, c);
    return;
  }
  if (rc == 0) conn_start_relay(f, c);
}

/* The cage's service sent the socket for a published port's connection. */
static void conn_got_socket(struct forwarder *f, struct conn *c, int fd) {
  c->fd[1] = fd;
  conn_connect(f, c);
}

static void conn_connect_failed(struct forwarder *f, struct conn *c, int err) {
  if (c->rule->kind == RULE_STEER && steer_connect_failed(f, c, err)) return;
  if (c->rule->kind == RULE_LOCAL_TCP) {
    emit(f, WGL_FWD_EV_TARGET_FAILED, c->rule->id, err, c->rule->cage_port);
    conn_turn_away(f, c);
    return;
  }
  if (c->rule->kind == RULE_TCP && err == ECONNREFUSED && c->attempt == 0) {
    /* Nothing on 127.0.0.1: a server may listen on ::1 only (`localhost`). */
    if (c->fd[1] >= 0) (void)close(c->fd[1]);
    c->fd[1] = -1;
    c->attempt = 1;
    c->state = C_AWAIT_SOCKET;
    int rc = request_plain_socket(f, P_CONN, c, true, SOCK_STREAM);
    if (rc == 0) return;
    err = -rc;
    emit(f, WGL_FWD_EV_SERVICE, c->rule->id, err, 0);
    conn_turn_away(f, c);
    return;
  }
  uint32_t kind = c->rule->kind == RULE_HOST ? WGL_FWD_EV_HOST_REFUSED : WGL_FWD_EV_CAGE_REFUSED;
  emit(f, kind, c->rule->id, err, c->rule->cage_port);
  conn_turn_away(f, c);
}

static void steer_readable(struct forwarder *f, struct conn *c, uint32_t events);
static void assoc_control(struct forwarder *f, struct conn *c, uint32_t events);

static void conn_event(struct forwarder *f, struct conn *c, int side, uint32_t events) {
  if (c->state == C_STEERED) {
    if (side == 0) steer_readable(f, c, events);
    return;
  }
  if (c->state == C_ASSOCIATING || c->state == C_ASSOCIATED) {
    if (side == 0) assoc_control(f, c, events);
    return;
  }
  if (c->state == C_AWAIT_SOCKET) {
    /* The client gave up before the cage's socket came. */
    if (side == 0 && (events & (EPOLLERR | EPOLLHUP)) != 0) conn_turn_away(f, c);
    return;
  }
  if (c->state == C_CONNECTING) {
    if (side == 0) {
      if ((events & (EPOLLERR | EPOLLHUP)) != 0) conn_turn_away(f, c);
      return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      conn_connect_failed(f, c, err);
    } else if ((events & EPOLLOUT) != 0) {
      conn_start_relay(f, c);
    }
    return;
  }
  if ((events & EPOLLERR) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    (void)getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      emit(f, WGL_FWD_EV_RESET, c->rule->id, err, (uint32_t)side);
      conn_free(f, c, true);
      return;
    }
  }
  conn_relay(f, c);
}

static void steer_accepted(struct forwarder *f, struct conn *c);

static void accept_all(struct forwarder *f, struct rule *r) {
  for (;;) {
    int fd = accept4(r->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) emit(f, WGL_FWD_EV_ACCEPT, r->id, errno, 0);
      return;
    }
    stat_add(f, STAT_ACCEPTED, 1);
    if (f->conn_count >= f->conns_cap) {
      /* EMFILE: the open-file limit set the cap, not CONNS_MAX. */
      emit(f, WGL_FWD_EV_LIMIT, r->id, f->conns_cap < CONNS_MAX ? EMFILE : 0,
           (uint32_t)f->conns_cap);
      stat_add(f, STAT_TURNED_AWAY, 1);
      close_with_reset(fd);
      continue;
    }
    struct conn *c = conn_new(f, r, fd);
    if (c == NULL) {
      close_with_reset(fd);
      continue;
    }
    if (watch_fd(f, fd, &c->w[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != 0) {
      emit(f, WGL_FWD_EV_SOCKET, r->id, errno, 0);
      conn_turn_away(f, c);
      continue;
    }
    if (r->kind == RULE_HOST) {
      /* From the cage to the host: the socket is wgcage's own. */
      int family = r->target.ss_family;
      c->fd[1] = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c->fd[1] < 0) {
        emit(f, WGL_FWD_EV_SOCKET, r->id, errno, 0);
        conn_turn_away(f, c);
        continue;
      }
      conn_connect(f, c);
      continue;
    }
    if (r->kind == RULE_STEER) {
      steer_accepted(f, c);
      continue;
    }
    c->state = C_AWAIT_SOCKET;
    bool v6 = r->kind == RULE_LOCAL_TCP && r->target.ss_family == AF_INET6;
    int rc = request_plain_socket(f, P_CONN, c, v6, SOCK_STREAM);
    if (rc < 0) {
      emit(f, WGL_FWD_EV_SERVICE, r->id, -rc, 0);
      conn_turn_away(f, c);
    }
  }
}

/* ----------------------------------------------------------------- UDP --- */

/* Closes the flow's socket and buries the flow. */
static void flow_free(struct forwarder *f, struct flow *fl) {
  if (fl->dead) return;
  struct rule *r = fl->rule;
  cancel_pending(f, fl);
  if (fl->fd >= 0) (void)close(fl->fd);
  fl->fd = -1;
  for (int i = 0; i < fl->held_count; i++) free(fl->held[i]);
  fl->held_count = 0;
  for (struct flow **at = &r->flows; *at != NULL; at = &(*at)->next) {
    if (*at == fl) {
      *at = fl->next;
      break;
    }
  }
  r->flow_count--;
  stat_add(f, STAT_FLOWS, -1);
  fl->dead = true;
  fl->next = f->dead_flows;
  f->dead_flows = fl;
}

static void free_the_dead(struct forwarder *f) {
  while (f->dead_conns != NULL) {
    struct conn *c = f->dead_conns;
    f->dead_conns = c->next;
    free(c->assoc);
    free(c);
  }
  while (f->dead_flows != NULL) {
    struct flow *fl = f->dead_flows;
    f->dead_flows = fl->next;
    free(fl);
  }
}

static bool same_address(const struct sockaddr_storage *a, socklen_t alen,
                         const struct sockaddr_storage *b, socklen_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

static void flow_send(struct forwarder *f, struct flow *fl, const uint8_t *data, size_t len) {
  ssize_t n;
  do {
    n = send(fl->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == ECONNREFUSED && !fl->refused_reported) {
    fl->refused_reported = true;
    emit(f, WGL_FWD_EV_UDP_REFUSED, fl->rule->id, ECONNREFUSED, fl->rule->cage_port);
  }
}

static void flow_got_socket(struct forwarder *f, struct flow *fl, int fd) {
  struct sockaddr_storage to;
  socklen_t len;
  if (fl->rule->kind == RULE_LOCAL_UDP) {
    to = fl->rule->target;
    len = fl->rule->target_len;
  } else {
    len = loopback(&to, false, fl->rule->cage_port);
  }
  if (connect(fd, (struct sockaddr *)&to, len) != 0 ||
      watch_fd(f, fd, &fl->w, EPOLLIN | EPOLLET) != 0) {
    emit(f, WGL_FWD_EV_SOCKET, fl->rule->id, errno, 0);
    (void)close(fd);
    flow_free(f, fl);
    return;
  }
  fl->fd = fd;
  for (int i = 0; i < fl->held_count; i++) {
    flow_send(f, fl, fl->held[i]->data, fl->held[i]->len);
    free(fl->held[i]);
  }
  fl->held_count = 0;
}

/* Datagrams from the cage's side: back to the flow's client. */
static void flow_readable(struct forwarder *f, struct flow *fl) {
  for (;;) {
    ssize_t n = recv(fl->fd, f->datagram, sizeof f->datagram, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNREFUSED && !fl->refused_reported) {
        fl->refused_reported = true;
        emit(f, WGL_FWD_EV_UDP_REFUSED, fl->rule->id, ECONNREFUSED, fl->rule->cage_port);
      }
      if (errno == ECONNREFUSED) continue;
      return;
    }
    fl->last_ms = now_ms();
    (void)sendto(fl->rule->fd, f->datagram, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT,
                 (struct sockaddr *)&fl->client, fl->client_len);
  }
}

/* Datagrams from host clients: each to its flow, a new flow for a new client. */
static void udp_readable(struct forwarder *f, struct rule *r) {
  for (int round = 0; round < UDP_BUDGET; round++) {
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(r->fd, f->datagram, sizeof f->datagram, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    struct flow *fl = r->flows;
    while (fl != NULL && !same_address(&fl->client, fl->client_len, &from, from_len)) {
      fl = fl->next;
    }
    if (fl == NULL) {
      if (r->kind == RULE_LOCAL_UDP && r->target_len == 0) {
        /* -L to a name not resolved yet: nowhere to send it. */
        if (!r->limit_reported) emit(f, WGL_FWD_EV_UNRESOLVED, r->id, 0, 0);
        r->limit_reported = true;
        continue;
      }
      if (r->flow_count >= FLOWS_MAX) {
        if (!r->limit_reported) emit(f, WGL_FWD_EV_LIMIT, r->id, 0, FLOWS_MAX);
        r->limit_reported = true;
        continue;
      }
      fl = calloc(1, sizeof *fl);
      if (fl == NULL) continue;
      fl->w.kind = W_FLOW;
      fl->w.owner = fl;
      fl->rule = r;
      fl->fd = -1;
      fl->client = from;
      fl->client_len = from_len;
      fl->next = r->flows;
      r->flows = fl;
      r->flow_count++;
      stat_add(f, STAT_FLOWS, 1);
      bool v6 = r->kind == RULE_LOCAL_UDP && r->target.ss_family == AF_INET6;
      int rc = request_plain_socket(f, P_FLOW, fl, v6, SOCK_DGRAM);
      if (rc < 0) {
        emit(f, WGL_FWD_EV_SERVICE, r->id, -rc, 0);
        flow_free(f, fl);
        continue;
      }
    }
    fl->last_ms = now_ms();
    if (fl->fd >= 0) {
      flow_send(f, fl, f->datagram, (size_t)n);
    } else if (fl->held_count < FLOW_HELD_MAX) {
      struct held *h = malloc(sizeof *h + (size_t)n);
      if (h != NULL) {
        h->len = (size_t)n;
        memcpy(h->data, f->datagram, (size_t)n);
        fl->held[fl->held_count++] = h;
      }
    }
  }
  /* Budget spent: the rest waits for the next turn (level-triggered). */
}

static bool sweep_flows(struct forwarder *f) {
  uint64_t now = now_ms();
  bool any = false;
  for (int i = 0; i < f->rule_count; i++) {
    struct rule *r = &f->rules[i];
    struct flow *fl = r->flows;
    while (fl != NULL) {
      struct flow *next = fl->next;
      if (fl->fd >= 0 && now - fl->last_ms >= f->udp_idle_ms) {
        flow_free(f, fl);
      } else {
        any = true;
      }
      fl = next;
    }
  }
  return any;
}

/* ------------------------------------------------------------- service --- */

static void steer_socket_made(struct forwarder *f, uint32_t tag, int err, int fd);

static void assoc_got_socket(struct forwarder *f, struct conn *c, int err, int fd);

static void service_readable(struct forwarder *f) {
  for (;;) {
    uint32_t tag = 0;
    int err = 0, fd = -1;
    int rc = receive_reply(f->service_fd, false, &tag, &err, &fd);
    if (rc == 0) return;
    struct pending *p = f->pending_head;
    if (rc < 0 || p == NULL || p->tag != tag) {
      /* The service is gone (the command may have killed it) or confused:
       * nothing new can reach the cage; what relays already goes on. */
      if (fd >= 0) (void)close(fd);
      /* An EOF with nothing asked is the cage ending: nothing to say. */
      if (rc != -EPIPE || p != NULL) emit(f, WGL_FWD_EV_SERVICE, 0, rc < 0 ? -rc : EPROTO, 1);
      (void)epoll_ctl(f->epoll_fd, EPOLL_CTL_DEL, f->service_fd, NULL);
      while ((p = f->pending_head) != NULL) {
        f->pending_head = p->next;
        if (p->owner != NULL && (p->what == P_CONN || p->what == P_ASSOC)) {
          conn_turn_away(f, p->owner);
        }
        if (p->owner != NULL && p->what == P_FLOW) flow_free(f, p->owner);
        if (p->what == P_SOCKET) steer_socket_made(f, p->socket_tag, EPIPE, -1);
        free(p);
      }
      f->pending_tail = NULL;
      return;
    }
    f->pending_head = p->next;
    if (f->pending_head == NULL) f->pending_tail = NULL;
    void *owner = p->owner;
    enum pending_for what = p->what;
    uint32_t socket_tag = p->socket_tag;
    free(p);
    if (what == P_SOCKET) {
      steer_socket_made(f, socket_tag, err, fd);
      continue;
    }
    if (owner == NULL) {
      if (fd >= 0) (void)close(fd);
      continue;
    }
    if (what == P_CONN) {
      struct conn *c = owner;
      if (err != 0) {
        emit(f, WGL_FWD_EV_SOCKET, c->rule->id, err, 0);
        conn_turn_away(f, c);
      } else {
        conn_got_socket(f, c, fd);
      }
    } else if (what == P_ASSOC) {
      assoc_got_socket(f, owner, err, fd);
    } else if (what == P_FLOW) {
      struct flow *fl = owner;
      if (err != 0) {
        emit(f, WGL_FWD_EV_SOCKET, fl->rule->id, err, 0);
        flow_free(f, fl);
      } else {
        flow_got_socket(f, fl, fd);
      }
    } else {
      struct rule *r = owner;
      if (err != 0) {
        emit(f, WGL_FWD_EV_SOCKET, r->id, err, 0);
      } else {
        r->fd = fd;
        if (watch_fd(f, fd, &r->w, EPOLLIN | EPOLLET) != 0) {
          emit(f, WGL_FWD_EV_SOCKET, r->id, errno, 0);
        } else {
          emit(f, WGL_FWD_EV_CAGE_LISTENING, r->id, 0, r->cage_port);
          accept_all(f, r);
        }
      }
    }
  }
}

/* ---------------------------------------------------------------- loop --- */

static void steer_commands(struct forwarder *f);
static bool steer_sweep(struct forwarder *f);

static void assoc_from_client(struct forwarder *f, struct conn *c);
static void assoc_from_cage(struct forwarder *f, struct conn *c);

static void *forward_loop(void *arg) {
  struct forwarder *f = arg;
  struct epoll_event events[64];
  bool flows = false;
  uint64_t next_sweep = 0;
  while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
    int timeout = f->ready != NULL ? 0 : (flows || f->steering.count > 0) ? 1000 : -1;
    int n = epoll_wait(f->epoll_fd, events, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      struct watch *w = events[i].data.ptr;
      switch (w->kind) {
      case W_WAKE:
        steer_commands(f);
        break;
      case W_SERVICE:
        service_readable(f);
        break;
      case W_RULE: {
        struct rule *r = w->owner;
        if (r->kind == RULE_FREE) break; /* removed earlier in this batch */
        if (r->kind == RULE_UDP || r->kind == RULE_LOCAL_UDP) {
          udp_readable(f, r);
          flows = true;
        } else {
          accept_all(f, r);
        }
        break;
      }
      case W_CONN: {
        struct conn *c = w->owner;
        if (!c->dead) conn_event(f, c, w->side, events[i].events);
        break;
      }
      case W_FLOW: {
        struct flow *fl = w->owner;
        if (!fl->dead) flow_readable(f, fl);
        break;
      }
      case W_ASSOC: {
        struct conn *c = w->owner;
        if (c->dead || c->assoc == NULL) break;
        if (w->side == 0) {
          assoc_from_client(f, c);
        } else {
          assoc_from_cage(f, c);
        }
        break;
      }
      }
    }
    /* Connections whose budget ran out: one more turn each. */
    struct conn *again = f->ready;
    f->ready = NULL;
    while (again != NULL) {
      struct conn *c = again;
      again = c->ready_next;
      c->again = false;
      conn_relay(f, c);
    }
    if ((flows || f->steering.count > 0) && now_ms() >= next_sweep) {
      flows = sweep_flows(f);
      steer_sweep(f);
      next_sweep = now_ms() + 1000;
    }
    free_the_dead(f);
  }
  /* A live call still waiting gets no answer from here on. */
  pthread_mutex_lock(&f->lock);
  f->thread_gone = true;
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->lock);
  return NULL;
}

/* ------------------------------------------------------ UDP ASSOCIATE --- */

/*
 * A SOCKS5 UDP ASSOCIATE (RFC 1928 §7) of a steered connection: a host UDP
 * socket bound to the address the client reached the proxy at, port 0, and
 * one dual-stack UDP socket made in the cage. A datagram from the client
 * (only from the TCP client's IP, and from one UDP address: the first) is
 * stripped of its header and sent from the cage to its destination; an
 * answer from a destination it was sent to comes back with the header.
 * A datagram to a name asks TypeScript to resolve it in the cage (note
 * ASSOC_RESOLVE; the name is in the steered connection's held bytes, in the
 * entry's 256-byte slot) and waits, the first one per name, for its answer
 * (command ASSOC_MAP); later ones to the same name go at once for a minute.
 * An association keeps its steered slot (it needs TypeScript) but no
 * deadline. It ends with its TCP connection.
 */
#define ASSOC_PEERS 16            /* destinations answers are taken from */
#define ASSOC_NAMES 16            /* names an association resolved, or is resolving */
#define ASSOC_NAME_MS 60000       /* an answer is used this long */
#define ASSOC_NAME_FAILED_MS 5000 /* a name that did not resolve is not asked again before */

struct assoc_name {
  uint8_t len; /* 0: a free entry */
  uint8_t name[255];
  bool pending, failed;
  struct in6_addr addr; /* IPv4 as ::ffff:a.b.c.d */
  uint64_t until_ms;
  struct held *held;  /* the first datagram while pending */
  uint16_t held_port; /* network order */
};
#define ASSOC_HEADER 22 /* the longest header: IPv6 */

struct assoc {
  struct watch w[2]; /* 0: the host socket, 1: the cage socket */
  int fd[2];
  struct sockaddr_storage tcp_peer; /* the TCP client: datagrams from its IP only */
  uint16_t want_port;               /* the request's port, 0 for any */
  struct sockaddr_storage client;
  socklen_t client_len;
  struct sockaddr_in6 sent_to[ASSOC_PEERS];
  int sent_count, sent_next;
  bool unreach_reported;
  struct assoc_name names[ASSOC_NAMES];
};

static bool note(struct forwarder *f, uint32_t kind, uint32_t id, int err, uint32_t extra);

static void assoc_close(struct conn *c) {
  if (c->assoc == NULL) return;
  for (int i = 0; i < 2; i++) {
    if (c->assoc->fd[i] >= 0) (void)close(c->assoc->fd[i]);
    c->assoc->fd[i] = -1;
  }
  for (int i = 0; i < ASSOC_NAMES; i++) {
    free(c->assoc->names[i].held);
    c->assoc->names[i].held = NULL;
  }
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return false;
  if (a->ss_family == AF_INET) {
    return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                  &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
  }
  return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static uint16_t port_of(const struct sockaddr_storage *ss) {
  return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                        : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* TypeScript's ASSOCIATE: the host socket now, the cage's from the service. */
static void assoc_start(struct forwarder *f, struct conn *c, uint32_t want_port) {
  struct assoc *a = calloc(1, sizeof *a);
  if (a == NULL) {
    (void)note(f, WGL_STEER_FAILED, c->steer->id, ENOMEM, 0);
    return;
  }
  a->fd[0] = a->fd[1] = -1;
  a->want_port = (uint16_t)want_port;
  for (int i = 0; i < 2; i++) {
    a->w[i].kind = W_ASSOC;
    a->w[i].owner = c;
    a->w[i].side = i;
  }
  c->assoc = a;
  struct sockaddr_storage local;
  socklen_t len = sizeof local, peer_len = sizeof a->tcp_peer;
  int err = 0;
  if (getsockname(c->fd[0], (struct sockaddr *)&local, &len) != 0 ||
      getpeername(c->fd[0], (struct sockaddr *)&a->tcp_peer, &peer_len) != 0) {
    err = errno;
  } else {
    if (local.ss_family == AF_INET) {
      ((struct sockaddr_in *)&local)->sin_port = 0;
    } else {
      ((struct sockaddr_in6 *)&local)->sin6_port = 0;
    }
    a->fd[0] = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd[0] < 0 || bind(a->fd[0], (struct sockaddr *)&local, len) != 0) err = errno;
  }
  if (err == 0) {
    struct wgl_service_request req;
    memset(&req, 0, sizeof req);
    req.op = WGL_SERVICE_SOCKET;
    req.family = AF_INET6; /* dual-stack: IPv4 destinations as ::ffff:a.b.c.d */
    req.type = SOCK_DGRAM;
    err = -request_socket(f, P_ASSOC, c, &req, MSG_DONTWAIT);
  }
  if (err != 0) {
    assoc_close(c);
    (void)note(f, WGL_STEER_FAILED, c->steer->id, err, 0);
    return;
  }
  c->state = C_ASSOCIATING;
}

/* The cage's socket came: the client gets BND.ADDR:BND.PORT, TypeScript is done. */
static void assoc_got_socket(struct forwarder *f, struct conn *c, int err, int fd) {
  struct assoc *a = c->assoc;
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;
  if (err == 0 &&
      (watch_fd(f, fd, &a->w[1], EPOLLIN) != 0 || watch_fd(f, a->fd[0], &a->w[0], EPOLLIN) != 0 ||
       getsockname(a->fd[0], (struct sockaddr *)&bound, &len) != 0)) {
    err = errno;
  }
  if (err != 0) {
    if (fd >= 0) (void)close(fd);
    assoc_close(c);
    c->state = C_STEERED;
    if (!note(f, WGL_STEER_FAILED, c->steer->id, err, 0)) conn_turn_away(f, c);
    return;
  }
  a->fd[1] = fd;
  uint8_t reply[ASSOC_HEADER];
  size_t n = 0;
  reply[n++] = 5;
  reply[n++] = 0;
  reply[n++] = 0;
  if (bound.ss_family == AF_INET) {
    reply[n++] = 1;
    memcpy(reply + n, &((struct sockaddr_in *)&bound)->sin_addr, 4);
    n += 4;
  } else {
    reply[n++] = 4;
    memcpy(reply + n, &((struct sockaddr_in6 *)&bound)->sin6_addr, 16);
    n += 16;
  }
  uint16_t port = htons(port_of(&bound));
  memcpy(reply + n, &port, 2);
  n += 2;
  if (send(c->fd[0], reply, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n) {
    conn_turn_away(f, c);
    return;
  }
  c->state = C_ASSOCIATED;
}

/* Whether the client sent to `addr` (address and port) lately: answers are
 * taken only from there. */
static bool assoc_sent_to(const struct assoc *a, const struct sockaddr_in6 *addr) {
  for (int i = 0; i < a->sent_count; i++) {
    if (memcmp(&a->sent_to[i].sin6_addr, &addr->sin6_addr, 16) == 0 &&
        a->sent_to[i].sin6_port == addr->sin6_port) {
      return true;
    }
  }
  return false;
}

/* Sends a client's datagram from the cage; answers from `to` are taken now. */
static void assoc_send(struct forwarder *f, struct conn *c, const struct sockaddr_in6 *to,
                       const uint8_t *payload, size_t len) {
  struct assoc *a = c->assoc;
  if (!assoc_sent_to(a, to)) {
    a->sent_to[a->sent_next] = *to;
    a->sent_next = (a->sent_next + 1) % ASSOC_PEERS;
    if (a->sent_count < ASSOC_PEERS) a->sent_count++;
  }
  ssize_t sent = sendto(a->fd[1], payload, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                        (const struct sockaddr *)to, sizeof *to);
  if (sent < 0 && !a->unreach_reported && (errno == ENETUNREACH || errno == EHOSTUNREACH)) {
    a->unreach_reported = true;
    emit(f, WGL_FWD_EV_ASSOC_UNREACHABLE, c->rule->id, errno, 0);
  }
}

static uint8_t lower(uint8_t x) { return x >= 'A' && x <= 'Z' ? (uint8_t)(x + 32) : x; }

static bool same_name(const struct assoc_name *e, const uint8_t *name, uint8_t len) {
  if (e->len != len) return false;
  for (uint8_t i = 0; i < len; i++) {
    if (e->name[i] != lower(name[i])) return false;
  }
  return true;
}

/* A datagram to a name: sent if the name is known, else held while
 * TypeScript resolves it in the cage (or dropped while it does). */
static void assoc_send_to_name(struct forwarder *f, struct conn *c, const uint8_t *name,
                               uint8_t len, uint16_t port, const uint8_t *payload,
                               size_t payload_len) {
  struct assoc *a = c->assoc;
  uint64_t now = now_ms();
  struct assoc_name *e = NULL, *reuse = NULL;
  for (int i = 0; i < ASSOC_NAMES; i++) {
    struct assoc_name *x = &a->names[i];
    if (x->len != 0 && same_name(x, name, len)) e = x;
    /* A free entry first, else the one whose answer runs out first. */
    if (!x->pending &&
        (reuse == NULL || (reuse->len != 0 && (x->len == 0 || x->until_ms < reuse->until_ms)))) {
      reuse = x;
    }
  }
  if (e != NULL && e->pending) return;
  if (e != NULL && now < e->until_ms) {
    if (e->failed) return;
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = port, .sin6_addr = e->addr};
    assoc_send(f, c, &to, payload, payload_len);
    return;
  }
  if (e == NULL) e = reuse;
  if (e == NULL || c->steer == NULL) return; /* every entry is being resolved */
  struct held *h = malloc(sizeof *h + payload_len);
  if (h == NULL) return;
  h->len = payload_len;
  memcpy(h->data, payload, payload_len);
  free(e->held);
  e->held = h;
  e->held_port = port;
  e->len = len;
  for (uint8_t i = 0; i < len; i++) e->name[i] = lower(name[i]);
  e->pending = true;
  e->failed = false;
  int entry = (int)(e - a->names);
  struct steer *st = c->steer;
  pthread_mutex_lock(&f->lock);
  st->buf[entry * 256] = len;
  memcpy(st->buf + entry * 256 + 1, e->name, len);
  if (st->len < ASSOC_NAMES * 256) st->len = ASSOC_NAMES * 256;
  pthread_mutex_unlock(&f->lock);
  if (!note(f, WGL_STEER_ASSOC_RESOLVE, st->id, 0, (uint32_t)entry)) {
    e->pending = false;
    e->len = 0;
  }
}

/* TypeScript's answer for entry `entry`: family 0 when the name did not resolve. */
static void assoc_map(struct forwarder *f, struct conn *c, uint32_t entry, uint32_t family,
                      const uint8_t *addr) {
  struct assoc *a = c->assoc;
  if (a == NULL || entry >= ASSOC_NAMES || !a->names[entry].pending) return;
  struct assoc_name *e = &a->names[entry];
  e->pending = false;
  e->failed = family != 4 && family != 6;
  e->until_ms = now_ms() + (e->failed ? ASSOC_NAME_FAILED_MS : ASSOC_NAME_MS);
  memset(&e->addr, 0, sizeof e->addr);
  if (family == 4) {
    e->addr.s6_addr[10] = e->addr.s6_addr[11] = 0xff;
    memcpy(&e->addr.s6_addr[12], addr, 4);
  } else if (family == 6) {
    memcpy(&e->addr, addr, 16);
  }
  struct held *h = e->held;
  e->held = NULL;
  if (h != NULL && !e->failed) {
    struct sockaddr_in6 to = {
        .sin6_family = AF_INET6, .sin6_port = e->held_port, .sin6_addr = e->addr};
    assoc_send(f, c, &to, h->data, h->len);
  }
  free(h);
}

/* Datagrams from the client: header off, out through the cage. */
static void assoc_from_client(struct forwarder *f, struct conn *c) {
  struct assoc *a = c->assoc;
  for (int round = 0; round < UDP_BUDGET; round++) {
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(a->fd[0], f->datagram, sizeof f->datagram, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (!same_ip(&from, &a->tcp_peer) || (a->want_port != 0 && port_of(&from) != a->want_port)) {
      continue;
    }
    if (a->client_len == 0) {
      a->client = from;
      a->client_len = from_len;
    } else if (!same_address(&a->client, a->client_len, &from, from_len)) {
      continue;
    }
    const uint8_t *d = f->datagram;
    if (n < 4 || d[0] != 0 || d[1] != 0 || d[2] != 0) continue; /* RSV, FRAG: no fragments */
    struct sockaddr_in6 to;
    memset(&to, 0, sizeof to);
    to.sin6_family = AF_INET6;
    size_t at;
    if (d[3] == 1 && n >= 10) {
      to.sin6_addr.s6_addr[10] = 0xff;
      to.sin6_addr.s6_addr[11] = 0xff;
      memcpy(&to.sin6_addr.s6_addr[12], d + 4, 4);
      at = 8;
    } else if (d[3] == 4 && n >= 22) {
      memcpy(&to.sin6_addr, d + 4, 16);
      at = 20;
    } else if (d[3] == 3 && n >= 5 && d[4] > 0 && n >= 5 + d[4] + 2) {
      uint16_t port;
      memcpy(&port, d + 5 + d[4], 2);
      at = 5 + (size_t)d[4] + 2;
      assoc_send_to_name(f, c, d + 5, d[4], port, d + at, (size_t)n - at);
      continue;
    } else {
      continue;
    }
    memcpy(&to.sin6_port, d + at, 2);
    at += 2;
    assoc_send(f, c, &to, d + at, (size_t)n - at);
  }
}

/* Datagrams from the tunnel: only from where the client sent, header on. */
static void assoc_from_cage(struct forwarder *f, struct conn *c) {
  struct assoc *a = c->assoc;
  for (int round = 0; round < UDP_BUDGET; round++) {
    struct sockaddr_in6 from;
    socklen_t from_len = sizeof from;
    uint8_t *payload = f->datagram + ASSOC_HEADER;
    ssize_t n = recvfrom(a->fd[1], payload, sizeof f->datagram - ASSOC_HEADER, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR || errno == ECONNREFUSED) continue;
      return;
    }
    if (from.sin6_family != AF_INET6 || a->client_len == 0) continue;
    if (!assoc_sent_to(a, &from)) continue;
    bool v4 = IN6_IS_ADDR_V4MAPPED(&from.sin6_addr);
    size_t header = v4 ? 10 : 22;
    uint8_t *h = payload - header;
    h[0] = h[1] = h[2] = 0;
    h[3] = v4 ? 1 : 4;
    memcpy(h + 4, v4 ? &from.sin6_addr.s6_addr[12] : from.sin6_addr.s6_addr, v4 ? 4 : 16);
    memcpy(h + header - 2, &from.sin6_port, 2);
    (void)sendto(a->fd[0], h, header + (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
                 (struct sockaddr *)&a->client, a->client_len);
  }
}

/* The association's TCP connection: what the client sends there is dropped;
 * its end ends the association. */
static void assoc_control(struct forwarder *f, struct conn *c, uint32_t events) {
  for (;;) {
    ssize_t n = recv(c->fd[0], f->datagram, sizeof f->datagram, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
        (events & (EPOLLERR | EPOLLHUP)) != 0) {
      conn_free(f, c, false);
    }
    return;
  }
}

/* -------------------------------------------------- steered connections --- */

/* Queues a note for TypeScript; false when the ring is full (it stopped
 * reading). Call without f->lock. */
static bool note(struct forwarder *f, uint32_t kind, uint32_t id, int err, uint32_t extra) {
  struct steering *s = &f->steering;
  pthread_mutex_lock(&f->lock);
  bool room = s->note_count < NOTES_MAX;
  if (room) {
    uint32_t *n = s->notes[(s->note_start + s->note_count) % NOTES_MAX];
    n[0] = kind;
    n[1] = id;
    n[2] = (uint32_t)err;
    n[3] = extra;
    s->note_count++;
    pthread_cond_broadcast(&f->changed);
  }
  pthread_mutex_unlock(&f->lock);
  return room;
}

static void steering_reset(struct steering *s) { memset(s, 0, sizeof *s); }

static void steering_clear(struct steering *s) {
  struct steer_command *c;
  while ((c = s->head) != NULL) {
    s->head = c->next;
    free(c);
  }
  s->tail = NULL;
  s->count = 0;
}

static struct conn *steer_lookup(struct forwarder *f, uint32_t id) {
  uint32_t slot = id & 0xffffu;
  if (slot >= STEER_MAX) return NULL;
  struct conn *c = f->steering.slots[slot];
  return c != NULL && c->steer != NULL && c->steer->id == id ? c : NULL;
}

/* A RULE_STEER connection was accepted: it waits for TypeScript. */
static void steer_accepted(struct forwarder *f, struct conn *c) {
  struct steering *s = &f->steering;
  int slot = -1;
  for (int i = 0; i < STEER_MAX && s->count < STEER_MAX; i++) {
    if (s->slots[i] == NULL) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    emit(f, WGL_FWD_EV_LIMIT, c->rule->id, 0, STEER_MAX);
    conn_turn_away(f, c);
    return;
  }
  struct steer *st = calloc(1, sizeof *st);
  if (st == NULL) {
    conn_turn_away(f, c);
    return;
  }
  s->gen[slot]++;
  st->id = (uint32_t)slot | ((uint32_t)s->gen[slot] << 16);
  st->deadline = now_ms() + STEER_MS;
  pthread_mutex_lock(&f->lock);
  s->slots[slot] = c;
  pthread_mutex_unlock(&f->lock);
  s->count++;
  c->steer = st;
  c->state = C_STEERED;
  if (!note(f, WGL_STEER_ACCEPTED, st->id, 0, c->rule->id)) {
    conn_turn_away(f, c);
    return;
  }
  steer_readable(f, c, 0);
}

/* Forgets the steering of c (closed, or relaying now). */
static void steer_release(struct forwarder *f, struct conn *c) {
  struct steer *st = c->steer;
  if (st == NULL) return;
  uint32_t slot = st->id & 0xffffu;
  pthread_mutex_lock(&f->lock);
  f->steering.slots[slot] = NULL;
  c->steer = NULL;
  pthread_mutex_unlock(&f->lock);
  f->steering.count--;
  if (!st->by_ts)
    (void)note(
        f, c->state == C_RELAY || c->state == C_ASSOCIATED ? WGL_STEER_RELAYING : WGL_STEER_GONE,
        st->id, 0, 0);
  free(st->reply);
  free(st);
}

/* The client's request so far, held for TypeScript; its EOF or error before
 * a decision ends the connection. */
static void steer_readable(struct forwarder *f, struct conn *c, uint32_t events) {
  struct steer *st = c->steer;
  bool grew = false;
  while (st->len < STEER_BYTES && !st->eof) {
    uint8_t chunk[4096];
    size_t room = STEER_BYTES - st->len;
    ssize_t n = recv(c->fd[0], chunk, room < sizeof chunk ? room : sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 || (n == 0 && st->len == 0)) {
      conn_free(f, c, n < 0); /* it left before a word */
      return;
    }
    if (n == 0) {
      /* `printf 'request' | nc -N`: its half-close follows the request. */
      st->eof = true;
      break;
    }
    pthread_mutex_lock(&f->lock);
    memcpy(st->buf + st->len, chunk, (size_t)n);
    st->len += (size_t)n;
    pthread_mutex_unlock(&f->lock);
    grew = true;
  }
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
    conn_free(f, c, true);
    return;
  }
  if (!grew) return;
  /* One DATA note until TypeScript reads: a trickling client cannot fill
   * the ring. */
  pthread_mutex_lock(&f->lock);
  bool tell = !st->told;
  st->told = true;
  size_t len = st->len;
  pthread_mutex_unlock(&f->lock);
  if (tell) (void)note(f, WGL_STEER_DATA, st->id, 0, (uint32_t)len);
}

static const struct sockaddr_storage *steer_target(struct conn *c, socklen_t *len) {
  /* A destination that does not answer fails in ~15 s (3 SYN retries)
   * rather than the kernel's two minutes: a proxy's client gets its error. */
  int syn_retries = 3;
  (void)setsockopt(c->fd[1], IPPROTO_TCP, TCP_SYNCNT, &syn_retries, sizeof syn_retries);
  *len = c->steer->to_len;
  return &c->steer->to;
}

/* Connecting failed: back to TypeScript, which answers the client. */
static bool steer_connect_failed(struct forwarder *f, struct conn *c, int err) {
  if (c->steer == NULL) return false;
  if (c->fd[1] >= 0) (void)close(c->fd[1]);
  c->fd[1] = -1;
  c->state = C_STEERED;
  c->steer->deadline = now_ms() + STEER_MS;
  if (!note(f, WGL_STEER_FAILED, c->steer->id, err, 0)) conn_turn_away(f, c);
  return true;
}

/* Connected: the reply to the client and the rest of its request go first,
 * through the relay's pipes, then the relay takes over. */
static bool steer_hand_over(struct forwarder *f, struct conn *c) {
  struct steer *st = c->steer;
  if (st->reply_len > 0) {
    int d = st->reply_to_target ? 0 : 1;
    ssize_t n = write(c->pipe[d][1], st->reply, st->reply_len);
    if (n != (ssize_t)st->reply_len) return false;
    c->queued[d] += (size_t)n;
  }
  if (st->len > 0) {
    ssize_t n = write(c->pipe[0][1], st->buf, st->len);
    if (n != (ssize_t)st->len) return false;
    c->queued[0] += (size_t)n;
  }
  c->eof[0] = st->eof; /* the pump shuts the target's side once the pipe is empty */
  c->state = C_RELAY;
  steer_release(f, c);
  return true;
}

static void steer_run(struct forwarder *f, struct steer_command *cmd) {
  if (cmd->op == WGL_STEER_SET_TARGET) {
    /* id: a -L UDP rule to a name; new flows go to the address now. */
    for (int i = 0; i < f->rule_count; i++) {
      struct rule *r = &f->rules[i];
      if (r->kind == RULE_LOCAL_UDP && r->id == cmd->id && (cmd->family == 4 || cmd->family == 6)) {
        r->target_len = make_sockaddr(&r->target, cmd->family, cmd->addr, cmd->port);
        r->limit_reported = false;
      }
    }
    return;
  }
  if (cmd->op == WGL_STEER_SOCKET) {
    struct wgl_service_request req;
    memset(&req, 0, sizeof req);
    req.op = WGL_SERVICE_SOCKET;
    req.family = cmd->family == 6 ? AF_INET6 : AF_INET;
    req.type = cmd->port == WGL_FORWARD_UDP ? SOCK_DGRAM : SOCK_STREAM;
    struct pending *tail = f->pending_tail;
    int rc = request_socket(f, P_SOCKET, NULL, &req, MSG_DONTWAIT);
    if (rc < 0) {
      (void)note(f, WGL_STEER_SOCKET_MADE, cmd->id, -rc, (uint32_t)-1);
    } else if (f->pending_tail != tail) {
      f->pending_tail->socket_tag = cmd->id;
    }
    return;
  }
  struct conn *c = steer_lookup(f, cmd->id);
  if (c != NULL && cmd->op == WGL_STEER_ASSOC_MAP && c->state == C_ASSOCIATED) {
    assoc_map(f, c, cmd->consumed, cmd->family, cmd->addr);
    return;
  }
  if (c == NULL || c->state != C_STEERED) return;
  struct steer *st = c->steer;
  bool connect_op = cmd->op == WGL_STEER_CONNECT || cmd->op == WGL_STEER_CONNECT_SEND;
  if (cmd->len > 0 && !connect_op && cmd->op != WGL_STEER_ASSOCIATE) {
    ssize_t n = send(c->fd[0], cmd->data, cmd->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != (ssize_t)cmd->len) {
      conn_turn_away(f, c);
      return;
    }
  }
  if (cmd->op == WGL_STEER_ASSOCIATE) {
    pthread_mutex_lock(&f->lock);
    st->len = 0; /* the request is answered here; nothing of it goes on */
    pthread_mutex_unlock(&f->lock);
    assoc_start(f, c, cmd->port);
    return;
  }
  if (cmd->op == WGL_STEER_CLOSE) {
    st->by_ts = true;
    (void)shutdown(c->fd[0], SHUT_WR);
    conn_free(f, c, false);
    return;
  }
  if (!connect_op) return;
  if (cmd->consumed > st->len || (cmd->family != 4 && cmd->family != 6) || cmd->port == 0 ||
      cmd->port > 65535) {
    (void)note(f, WGL_STEER_FAILED, st->id, EINVAL, 0);
    return;
  }
  pthread_mutex_lock(&f->lock);
  memmove(st->buf, st->buf + cmd->consumed, st->len - cmd->consumed);
  st->len -= cmd->consumed;
  pthread_mutex_unlock(&f->lock);
  free(st->reply);
  st->reply = NULL;
  st->reply_len = 0;
  if (cmd->len > 0) {
    st->reply = malloc(cmd->len);
    if (st->reply == NULL) {
      conn_turn_away(f, c);
      return;
    }
    memcpy(st->reply, cmd->data, cmd->len);
    st->reply_len = cmd->len;
  }
  st->reply_to_target = cmd->op == WGL_STEER_CONNECT_SEND;
  st->to_len = make_sockaddr(&st->to, cmd->family, cmd->addr, cmd->port);
  st->deadline = now_ms() + STEER_CONNECT_MS;
  c->state = C_AWAIT_SOCKET;
  int rc = request_plain_socket(f, P_CONN, c, cmd->family == 6, SOCK_STREAM);
  if (rc < 0) {
    c->state = C_STEERED;
    (void)note(f, WGL_STEER_FAILED, st->id, -rc, 0);
  }
}

/* TypeScript's commands, in the order it gave them. */
static void live_run(struct forwarder *f, struct steer_command *cmd);

static void steer_commands(struct forwarder *f) {
  uint64_t count;
  (void)read(f->wake_fd, &count, sizeof count);
  pthread_mutex_lock(&f->lock);
  struct steer_command *cmd = f->steering.head;
  f->steering.head = f->steering.tail = NULL;
  pthread_mutex_unlock(&f->lock);
  while (cmd != NULL) {
    struct steer_command *next = cmd->next;
    if (cmd->op >= OP_LIVE_ADD) {
      live_run(f, cmd);
    } else {
      steer_run(f, cmd);
    }
    free(cmd);
    cmd = next;
  }
}

/* A TypeScript-asked cage socket came (or did not). */
static void steer_socket_made(struct forwarder *f, uint32_t tag, int err, int fd) {
  if (!note(f, WGL_STEER_SOCKET_MADE, tag, err, (uint32_t)fd) && fd >= 0) (void)close(fd);
}

/* Steered connections past their deadline are reset; -v says so. */
static bool steer_sweep(struct forwarder *f) {
  uint64_t now = now_ms();
  for (int i = 0; i < STEER_MAX; i++) {
    struct conn *c = f->steering.slots[i];
    if (c == NULL || c->steer == NULL || c->state == C_ASSOCIATED || now < c->steer->deadline) {
      continue;
    }
    emit(f, WGL_FWD_EV_STEER_TIMEOUT, c->rule->id, 0, c->state == C_STEERED ? 0 : 1);
    conn_turn_away(f, c);
  }
  return f->steering.count > 0;
}

/* A blocking request and answer on a datagram socket (a DNS query made in
 * the cage); for TypeScript, as a nonblocking FFI call. */
int32_t wgl_forward_exchange(int32_t fd, uint32_t family, const uint8_t *addr, uint32_t port,
                             const uint8_t *query, uint32_t query_len, uint8_t *reply, uint32_t cap,
                             uint32_t timeout_ms) {
  if (fd < 0 || addr == NULL || query == NULL || reply == NULL || (family != 4 && family != 6) ||
      port == 0 || port > 65535) {
    return -EINVAL;
  }
  struct sockaddr_storage to;
  socklen_t len = make_sockaddr(&to, family, addr, port);
  if (connect(fd, (struct sockaddr *)&to, len) != 0) return -errno;
  ssize_t n;
  do {
    n = send(fd, query, query_len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  uint64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    uint64_t now = now_ms();
    if (now >= deadline) return -ETIMEDOUT;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)(deadline - now));
    if (rc < 0 && errno != EINTR) return -errno;
    if (rc <= 0) continue;
    n = recv(fd, reply, cap, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return -errno;
    return (int32_t)n;
  }
}

/* ------------------------------------------------------------- exports --- */

int32_t wgl_forward_bind(uint32_t proto, uint32_t family, const uint8_t *addr, uint32_t port) {
  if ((proto != WGL_FORWARD_TCP && proto != WGL_FORWARD_UDP) || (family != 4 && family != 6) ||
      addr == NULL || port == 0 || port > 65535) {
    return -EINVAL;
  }
  int type = proto == WGL_FORWARD_TCP ? SOCK_STREAM : SOCK_DGRAM;
  int fd = socket(family == 4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (proto == WGL_FORWARD_TCP) (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == 6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  struct sockaddr_storage ss;
  socklen_t len = make_sockaddr(&ss, family, addr, port);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
      (proto == WGL_FORWARD_TCP && listen(fd, SOMAXCONN) != 0)) {
    int err = errno;
    (void)close(fd);
    return -err;
  }
  return fd;
}

/* How many connections fit under RLIMIT_NOFILE: the soft limit, less the
 * descriptors open now and FDS_RESERVED, by FDS_PER_CONN; CONNS_MAX at most.
 * Without it, a flood of clients would take every descriptor: accept4 and
 * pipe2 would fail with EMFILE, and so would the tunnel's own next socket,
 * and a listener left with a pending connection under edge-triggered epoll
 * would never be woken again. */
static int conns_cap(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return CONNS_MAX;
  long open_now = 0;
  DIR *dir = opendir("/proc/self/fd");
  if (dir != NULL) {
    while (readdir(dir) != NULL) open_now++;
    (void)closedir(dir);
    open_now -= 3; /* ".", ".." and the directory itself */
  } else {
    /* No /proc: the descriptors below the limit that are open. */
    rlim_t end = rl.rlim_cur < 65536 ? rl.rlim_cur : 65536;
    for (rlim_t fd = 0; fd < end; fd++) open_now += fcntl((int)fd, F_GETFD) >= 0;
  }
  long spare = (long)(rl.rlim_cur > (rlim_t)1 << 30 ? (rlim_t)1 << 30 : rl.rlim_cur) - open_now -
               FDS_RESERVED;
  long cap = spare > 0 ? spare / FDS_PER_CONN : 0;
  return cap < CONNS_MAX ? (int)cap : CONNS_MAX;
}

int32_t wgl_forward_open(int32_t service_fd, uint32_t flags) {
  if (service_fd < 0) return -EINVAL;
  pthread_mutex_lock(&table_lock);
  int handle = -1;
  for (int i = 0; i < FORWARDERS; i++) {
    if (!forwarders[i].used && forwarders[i].waiters == 0) {
      handle = i;
      break;
    }
  }
  if (handle < 0) {
    pthread_mutex_unlock(&table_lock);
    return -EMFILE;
  }
  struct forwarder *f = &forwarders[handle];
  /* f->lock and f->changed are zero-initialised, as PTHREAD_*_INITIALIZER
   * are, and never destroyed: a slot is reused. */
  f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (f->epoll_fd < 0 || f->wake_fd < 0) {
    int err = errno;
    if (f->epoll_fd >= 0) close(f->epoll_fd);
    if (f->wake_fd >= 0) close(f->wake_fd);
    pthread_mutex_unlock(&table_lock);
    return -err;
  }
  f->used = true;
  f->closed = false;
  f->keep_events = (flags & WGL_FORWARD_EVENTS) != 0;
  f->service_fd = service_fd;
  f->thread_started = false;
  __atomic_store_n(&f->stop, 0, __ATOMIC_RELEASE);
  f->rule_count = 0;
  f->conns = NULL;
  f->conn_count = 0;
  f->conns_cap = conns_cap();
  f->ready = NULL;
  f->dead_conns = NULL;
  f->dead_flows = NULL;
  f->pending_head = f->pending_tail = NULL;
  f->next_tag = 0;
  f->event_start = f->event_count = 0;
  memset(f->stats, 0, sizeof f->stats);
  f->wake_watch = (struct watch){.kind = W_WAKE};
  steering_reset(&f->steering);
  f->service_watch = (struct watch){.kind = W_SERVICE};
  pthread_mutex_unlock(&table_lock);
  int rc = watch_fd(f, f->wake_fd, &f->wake_watch, EPOLLIN);
  if (rc < 0) {
    wgl_forward_close(handle);
    return rc;
  }
  return handle;
}

static void rule_init(struct rule *r, enum rule_kind kind, uint32_t id, uint32_t cage_port) {
  memset(r, 0, sizeof *r);
  r->w.kind = W_RULE;
  r->w.owner = r;
  r->kind = kind;
  r->id = id;
  r->fd = -1;
  r->cage_port = (uint16_t)cage_port;
}

/* A -L rule's target (none yet with family 0: a UDP forward to a name, whose
 * address comes later, SET_TARGET) and its host socket, watched. */
static int32_t rule_set_local(struct forwarder *f, struct rule *r, int host_fd, uint32_t proto,
                              uint32_t family, const uint8_t *addr, uint32_t port) {
  r->target_len = family == 0 ? 0 : make_sockaddr(&r->target, family, addr, port);
  r->fd = host_fd;
  return watch_fd(f, host_fd, &r->w, proto == WGL_FORWARD_TCP ? EPOLLIN | EPOLLET : EPOLLIN);
}

static struct rule *rule_add(struct forwarder *f, enum rule_kind kind, uint32_t id,
                             uint32_t cage_port) {
  if (f->thread_started || f->rule_count >= RULES_MAX || cage_port == 0 || cage_port > 65535) {
    return NULL;
  }
  struct rule *r = &f->rules[f->rule_count++];
  rule_init(r, kind, id, cage_port);
  return r;
}

int32_t wgl_forward_publish(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t cage_port,
                            uint32_t rule) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || host_fd < 0 || (proto != WGL_FORWARD_TCP && proto != WGL_FORWARD_UDP)) {
    return -EINVAL;
  }
  struct rule *r = rule_add(f, proto == WGL_FORWARD_TCP ? RULE_TCP : RULE_UDP, rule, cage_port);
  if (r == NULL) return -EINVAL;
  r->fd = host_fd;
  /* UDP is level-triggered: a budget may leave datagrams for the next turn. */
  int rc = watch_fd(f, host_fd, &r->w, proto == WGL_FORWARD_TCP ? EPOLLIN | EPOLLET : EPOLLIN);
  if (rc < 0) {
    f->rule_count--;
    return rc;
  }
  return 0;
}

int32_t wgl_forward_host_service(int32_t handle, uint32_t cage_port, uint32_t family,
                                 const uint8_t *host_addr, uint32_t host_port, uint32_t rule) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || host_addr == NULL || (family != 4 && family != 6) || host_port == 0 ||
      host_port > 65535) {
    return -EINVAL;
  }
  struct rule *r = rule_add(f, RULE_HOST, rule, cage_port);
  if (r == NULL) return -EINVAL;
  r->target_len = make_sockaddr(&r->target, family, host_addr, host_port);
  struct wgl_service_request req;
  memset(&req, 0, sizeof req);
  req.op = WGL_SERVICE_LISTEN;
  req.family = AF_INET;
  req.type = SOCK_STREAM;
  req.port = cage_port;
  req.addr[0] = 127;
  req.addr[3] = 1;
  int rc = request_socket(f, P_LISTEN, r, &req, 0);
  if (rc < 0) f->rule_count--;
  return rc;
}

int32_t wgl_forward_start(int32_t handle, uint32_t udp_idle_ms) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || f->thread_started) return -EINVAL;
  f->udp_idle_ms = udp_idle_ms == 0 ? 1 : udp_idle_ms;
  int rc = watch_fd(f, f->service_fd, &f->service_watch, EPOLLIN);
  if (rc < 0) return rc;
  /* The thread takes no signal: they stay with wgcage's own threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  f->thread_gone = false;
  rc = pthread_create(&f->thread, NULL, forward_loop, f);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) return -rc;
  f->thread_started = true;
  return 0;
}

/*
 * Waits until a queue of forwarder `handle` holds an entry or the forwarder
 * is closed, then moves up to `cap` of its four-word entries to `out`: the
 * forwarder's events, or with `notes` the steering notes. 0 for a closed
 * forwarder with nothing left. While this thread sleeps on the forwarder's
 * lock, the waiter count keeps wgl_forward_open from reusing its slot.
 */
static int32_t take_queued(int32_t handle, uint32_t *out, uint32_t cap, bool notes) {
  if (handle < 0 || handle >= FORWARDERS || out == NULL || cap == 0) return -EINVAL;
  struct forwarder *f = &forwarders[handle];
  pthread_mutex_lock(&table_lock);
  bool usable = f->used;
  if (usable) f->waiters++;
  pthread_mutex_unlock(&table_lock);
  if (!usable) return 0;
  uint32_t(*ring)[4] = notes ? f->steering.notes : f->events;
  int *start = notes ? &f->steering.note_start : &f->event_start;
  int *count = notes ? &f->steering.note_count : &f->event_count;
  int size = notes ? NOTES_MAX : EVENTS_MAX;
  pthread_mutex_lock(&f->lock);
  while (*count == 0 && !f->closed) pthread_cond_wait(&f->changed, &f->lock);
  uint32_t n = 0;
  while (*count > 0 && n < cap) {
    memcpy(out + n * 4, ring[*start], sizeof ring[0]);
    *start = (*start + 1) % size;
    (*count)--;
    n++;
  }
  pthread_mutex_unlock(&f->lock);
  pthread_mutex_lock(&table_lock);
  f->waiters--;
  pthread_mutex_unlock(&table_lock);
  return (int32_t)n;
}

int32_t wgl_forward_events(int32_t handle, uint32_t *out, uint32_t cap) {
  return take_queued(handle, out, cap, false);
}

int32_t wgl_forward_stats(int32_t handle, uint32_t *out) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || out == NULL) return -EINVAL;
  pthread_mutex_lock(&f->lock);
  memcpy(out, f->stats, sizeof f->stats);
  pthread_mutex_unlock(&f->lock);
  return 0;
}

int32_t wgl_forward_close(int32_t handle) {
  struct forwarder *f = lookup(handle);
  if (f == NULL) return -EINVAL;
  if (f->thread_started) {
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    (void)write(f->wake_fd, &one, sizeof one);
    pthread_join(f->thread, NULL);
    f->thread_started = false;
  }
  while (f->conns != NULL) conn_free(f, f->conns, false);
  for (int i = 0; i < f->rule_count; i++) {
    struct rule *r = &f->rules[i];
    while (r->flows != NULL) flow_free(f, r->flows);
    if (r->fd >= 0) (void)close(r->fd);
  }
  f->rule_count = 0;
  struct pending *p;
  while ((p = f->pending_head) != NULL) {
    f->pending_head = p->next;
    free(p);
  }
  f->pending_tail = NULL;
  free_the_dead(f);
  steering_clear(&f->steering);
  (void)close(f->epoll_fd);
  (void)close(f->wake_fd);
  pthread_mutex_lock(&table_lock);
  pthread_mutex_lock(&f->lock);
  f->closed = true;
  f->used = false;
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->lock);
  pthread_mutex_unlock(&table_lock);
  return 0;
}

int32_t wgl_forward_local(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t family,
                          const uint8_t *addr, uint32_t port, uint32_t rule) {
  struct forwarder *f = lookup(handle);
  /* family 0: a UDP forward to a name, whose address comes later (SET_TARGET). */
  bool later = family == 0 && proto == WGL_FORWARD_UDP;
  if (f == NULL || host_fd < 0 || (!later && (addr == NULL || (family != 4 && family != 6))) ||
      (proto != WGL_FORWARD_TCP && proto != WGL_FORWARD_UDP)) {
    return -EINVAL;
  }
  struct rule *r =
      rule_add(f, proto == WGL_FORWARD_TCP ? RULE_LOCAL_TCP : RULE_LOCAL_UDP, rule, port);
  if (r == NULL) return -EINVAL;
  int rc = rule_set_local(f, r, host_fd, proto, later ? 0 : family, addr, port);
  if (rc < 0) f->rule_count--;
  return rc;
}

int32_t wgl_forward_steer(int32_t handle, int32_t host_fd, uint32_t rule) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || host_fd < 0) return -EINVAL;
  /* The port is only named in events; a steered rule has none of its own. */
  struct rule *r = rule_add(f, RULE_STEER, rule, 65535);
  if (r == NULL) return -EINVAL;
  r->cage_port = 0;
  r->fd = host_fd;
  int rc = watch_fd(f, host_fd, &r->w, EPOLLIN | EPOLLET);
  if (rc < 0) {
    f->rule_count--;
    return rc;
  }
  return 0;
}

/* Hands `cmd` (taken) to the relay thread. */
static void queue_command(struct forwarder *f, struct steer_command *cmd) {
  pthread_mutex_lock(&f->lock);
  if (f->steering.tail != NULL) {
    f->steering.tail->next = cmd;
  } else {
    f->steering.head = cmd;
  }
  f->steering.tail = cmd;
  pthread_mutex_unlock(&f->lock);
  uint64_t one = 1;
  (void)write(f->wake_fd, &one, sizeof one);
}

int32_t wgl_forward_steer_command(int32_t handle, uint32_t op, uint32_t id, uint32_t family,
                                  const uint8_t *addr, uint32_t port, uint32_t consumed,
                                  const uint8_t *data, uint32_t len) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || op < WGL_STEER_WRITE || op > WGL_STEER_ASSOC_MAP || len > STEER_BYTES ||
      (len > 0 && data == NULL)) {
    return -EINVAL;
  }
  struct steer_command *cmd = calloc(1, sizeof *cmd + len);
  if (cmd == NULL) return -ENOMEM;
  cmd->op = op;
  cmd->id = id;
  cmd->family = family;
  cmd->port = port;
  cmd->consumed = consumed;
  if (addr != NULL) memcpy(cmd->addr, addr, family == 6 ? 16 : 4);
  cmd->len = len;
  if (len > 0) memcpy(cmd->data, data, len);
  queue_command(f, cmd);
  return 0;
}

int32_t wgl_forward_steer_read(int32_t handle, uint32_t id, uint8_t *out, uint32_t cap) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || out == NULL) return -EINVAL;
  uint32_t slot = id & 0xffffu;
  if (slot >= STEER_MAX) return -ENOENT;
  int32_t n = -ENOENT;
  pthread_mutex_lock(&f->lock);
  struct conn *c = f->steering.slots[slot];
  if (c != NULL && c->steer != NULL && c->steer->id == id) {
    struct steer *st = c->steer;
    size_t take = st->len < cap ? st->len : cap;
    memcpy(out, st->buf, take);
    st->told = false;
    n = (int32_t)take;
  }
  pthread_mutex_unlock(&f->lock);
  return n;
}

int32_t wgl_forward_steer_wait(int32_t handle, uint32_t *out, uint32_t cap) {
  return take_queued(handle, out, cap, true);
}

/* ------------------------------------------------- rules while running --- */

/*
 * A -L rule added or removed while the relay runs (serve's API). The rule
 * table is changed only by the thread that reads it: the call goes over the
 * steering's command queue (OP_LIVE_*, beyond the public ops) and waits for
 * the thread's answer, as a control socket's request to crun waits for its
 * reply, instead of a lock every packet would take. Before the thread starts
 * the caller changes the table itself.
 */

/* A slot for a new rule: a removed rule's, else the next; NULL when full. */
static struct rule *rule_slot(struct forwarder *f) {
  for (int i = 0; i < f->rule_count; i++) {
    if (f->rules[i].kind == RULE_FREE) return &f->rules[i];
  }
  return f->rule_count < RULES_MAX ? &f->rules[f->rule_count++] : NULL;
}

/* Closes rule `id`'s port and resets its connections and flows' sockets:
 * the forward is gone, so is what came through it. */
static bool rule_remove(struct forwarder *f, uint32_t id) {
  bool found = false;
  for (int i = 0; i < f->rule_count; i++) {
    struct rule *r = &f->rules[i];
    if (r->kind == RULE_FREE || r->id != id) continue;
    found = true;
    if (r->fd >= 0) {
      (void)epoll_ctl(f->epoll_fd, EPOLL_CTL_DEL, r->fd, NULL);
      (void)close(r->fd);
      r->fd = -1;
    }
    for (struct conn *c = f->conns, *next; c != NULL; c = next) {
      next = c->next;
      if (c->rule == r) conn_free(f, c, true);
    }
    while (r->flows != NULL) flow_free(f, r->flows);
    r->kind = RULE_FREE;
  }
  return found;
}

/* A -L rule in slot `r`: relays what arrives on host_fd to the target. */
static int32_t rule_fill_local(struct forwarder *f, struct rule *r, int host_fd, uint32_t proto,
                               uint32_t family, const uint8_t *addr, uint32_t port, uint32_t id) {
  rule_init(r, proto == WGL_FORWARD_TCP ? RULE_LOCAL_TCP : RULE_LOCAL_UDP, id, port);
  int rc = rule_set_local(f, r, host_fd, proto, family, addr, port);
  if (rc < 0) {
    r->kind = RULE_FREE;
    r->fd = -1; /* the caller keeps it */
  }
  return rc;
}

static void live_run(struct forwarder *f, struct steer_command *cmd) {
  int32_t rc;
  if (cmd->op == OP_LIVE_REMOVE) {
    rc = rule_remove(f, cmd->id) ? 0 : -ENOENT;
  } else {
    struct rule *r = rule_slot(f);
    rc = r == NULL ? -ENOSPC
                   : rule_fill_local(f, r, (int)cmd->consumed, cmd->data[0], cmd->family, cmd->addr,
                                     cmd->port, cmd->id);
  }
  pthread_mutex_lock(&f->lock);
  f->live_result = rc;
  f->live_done = true;
  pthread_cond_broadcast(&f->changed);
  pthread_mutex_unlock(&f->lock);
}

/* Queues `cmd` (taken) and waits for the thread's answer. No timeout: the
 * thread answers between two batches of events, or has ended (and then
 * never took the command, so a host fd in it is still the caller's); a
 * timeout could leave the caller closing an fd the thread took meanwhile. */
static int32_t live_call(struct forwarder *f, struct steer_command *cmd) {
  pthread_mutex_lock(&f->live_call);
  pthread_mutex_lock(&f->lock);
  f->live_done = false;
  pthread_mutex_unlock(&f->lock);
  queue_command(f, cmd);
  pthread_mutex_lock(&f->lock);
  while (!f->live_done && !f->thread_gone) pthread_cond_wait(&f->changed, &f->lock);
  int32_t rc = f->live_done ? f->live_result : -ESHUTDOWN;
  pthread_mutex_unlock(&f->lock);
  pthread_mutex_unlock(&f->live_call);
  return rc;
}

int32_t wgl_forward_live_add(int32_t handle, int32_t host_fd, uint32_t proto, uint32_t family,
                             const uint8_t *addr, uint32_t port, uint32_t rule) {
  struct forwarder *f = lookup(handle);
  if (f == NULL || host_fd < 0 || addr == NULL || (family != 4 && family != 6) || port == 0 ||
      port > 65535 || (proto != WGL_FORWARD_TCP && proto != WGL_FORWARD_UDP)) {
    return -EINVAL;
  }
  if (!f->thread_started) {
    struct rule *r = rule_slot(f);
    return r == NULL ? -ENOSPC : rule_fill_local(f, r, host_fd, proto, family, addr, port, rule);
  }
  struct steer_command *cmd = calloc(1, sizeof *cmd + 1);
  if (cmd == NULL) return -ENOMEM;
  cmd->op = OP_LIVE_ADD;
  cmd->id = rule;
  cmd->family = family;
  cmd->port = port;
  cmd->consumed = (uint32_t)host_fd;
  memcpy(cmd->addr, addr, family == 6 ? 16 : 4);
  cmd->len = 1;
  cmd->data[0] = (uint8_t)proto;
  return live_call(f, cmd);
}

int32_t wgl_forward_live_remove(int32_t handle, uint32_t rule) {
  struct forwarder *f = lookup(handle);
  if (f == NULL) return -EINVAL;
  if (!f->thread_started) return rule_remove(f, rule) ? 0 : -ENOENT;
  struct steer_command *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return -ENOMEM;
  cmd->op = OP_LIVE_REMOVE;
  cmd->id = rule;
  return live_call(f, cmd);
}
