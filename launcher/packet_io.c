/*
 * Batched packet I/O for the data path.
 *
 * The slots and descriptors are views of the WASM core's linear memory
 * (wasm/README.md, "Batches"): one call moves many packets between the kernel
 * and the core, so the per-packet cost of crossing from JavaScript into C is
 * paid once per batch.
 *
 *   TUN --read_batch--> slots --(core seals)--> slots --udp_send_batch--> peers
 *   peers --udp_recv_batch--> slots --(core opens)--> slots --tun_write_batch--> TUN
 *
 * Every function returns a count (>= 0) or -errno, and never blocks except
 * wgl_wait, which the host calls from a worker thread when a batch came back
 * empty.
 */
#include "packet_io.h"

#include "abi.h"
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* The endpoint record's words within a descriptor (abi.h). */
#define D_FAMILY (WG_DESC_ENDPOINT + WG_ENDPOINT_FAMILY)
#define D_PORT (WG_DESC_ENDPOINT + WG_ENDPOINT_PORT)
#define D_SCOPE (WG_DESC_ENDPOINT + WG_ENDPOINT_SCOPE_ID)
#define D_ADDR (WG_DESC_ENDPOINT + WG_ENDPOINT_ADDRESS)

/* recvmmsg/sendmmsg vectors live on the stack; larger batches loop. */
#define CHUNK 64
/* How long a full socket buffer may hold up a send before packets are dropped. */
#define SEND_WAIT_MS 20

static uint32_t *desc_at(uint32_t *desc, uint32_t i) { return desc + (size_t)i * WG_DESC_WORDS; }

int32_t wgl_tun_read_batch(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                           uint32_t count, uint32_t headroom) {
  if (slot_size <= headroom + WG_TAILROOM) return -EINVAL;
  uint32_t n = 0;
  while (n < count) {
    uint8_t *at = slots + (size_t)n * slot_size + headroom;
    ssize_t r = read(fd, at, slot_size - headroom - WG_TAILROOM);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      return -errno;
    }
    if (r == 0) break;
    uint32_t *d = desc_at(desc, n);
    memset(d, 0, WG_DESC_WORDS * sizeof *d);
    d[WG_DESC_OFFSET] = headroom;
    d[WG_DESC_LEN] = (uint32_t)r;
    d[WG_DESC_PEER] = WG_NO_PEER;
    n++;
  }
  return (int32_t)n;
}

int32_t wgl_tun_write_batch(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                            const uint32_t *desc, uint32_t count) {
  int32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t *d = desc + (size_t)i * WG_DESC_WORDS;
    if (d[WG_DESC_OP] != WG_OP_TUN) continue;
    if ((uint64_t)d[WG_DESC_OFFSET] + d[WG_DESC_LEN] > slot_size) continue;
    const uint8_t *at = slots + (size_t)i * slot_size + d[WG_DESC_OFFSET];
    ssize_t r;
    do r = write(fd, at, d[WG_DESC_LEN]);
    while (r < 0 && errno == EINTR);
    /* A full TUN queue drops the packet, as a full NIC queue would. */
    if (r >= 0) written++;
  }
  return written;
}

static int socket_domain(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return -1;
  return domain;
}

static void grow_buffer(int fd, int opt, int force_opt, int bytes) {
  /* The FORCE variant passes rmem_max/wmem_max when we have CAP_NET_ADMIN. */
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0)
    (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

/* A non-blocking UDP socket on [::]:port accepting IPv4 too, or on 0.0.0.0:port
 * where the host has no IPv6. */
int32_t wgl_udp_open(uint32_t port) {
  if (port > 65535) return -EINVAL;
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int off = 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    a.sin6_addr = in6addr_any;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0) goto bound;
    int saved = errno;
    close(fd);
    if (saved != EADDRNOTAVAIL && saved != EAFNOSUPPORT) return -saved;
  } else if (errno != EAFNOSUPPORT) {
    return -errno;
  }
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      int saved = errno;
      close(fd);
      return -saved;
    }
  }
bound:
  grow_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, 4 << 20);
  grow_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, 4 << 20);
  return fd;
}

int32_t wgl_udp_local_port(int32_t fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return -EAFNOSUPPORT;
}

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void endpoint_from_sockaddr(uint32_t *d, const struct sockaddr_storage *ss) {
  uint8_t *addr = (uint8_t *)&d[D_ADDR];
  memset(addr, 0, 16);
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    d[D_PORT] = ntohs(s6->sin6_port);
    if (memcmp(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12) == 0) {
      d[D_FAMILY] = 4;
      d[D_SCOPE] = 0;
      memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
    } else {
      d[D_FAMILY] = 6;
      d[D_SCOPE] = s6->sin6_scope_id;
      memcpy(addr, s6->sin6_addr.s6_addr, 16);
    }
  } else if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    d[D_FAMILY] = 4;
    d[D_PORT] = ntohs(s4->sin_port);
    d[D_SCOPE] = 0;
    memcpy(addr, &s4->sin_addr, 4);
  } else {
    d[D_FAMILY] = 0;
    d[D_PORT] = 0;
    d[D_SCOPE] = 0;
  }
}

/* Fills *ss for sending on a socket of `domain`; returns its length, or 0 when
 * the endpoint cannot be reached through this socket. */
static socklen_t sockaddr_from_endpoint(struct sockaddr_storage *ss, const uint32_t *d,
                                        int domain) {
  const uint8_t *addr = (const uint8_t *)&d[D_ADDR];
  memset(ss, 0, sizeof *ss);
  if (d[D_PORT] == 0 || d[D_PORT] > 65535) return 0;
  if (domain == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)d[D_PORT]);
    if (d[D_FAMILY] == 4) {
      memcpy(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12);
      memcpy(s6->sin6_addr.s6_addr + 12, addr, 4);
    } else if (d[D_FAMILY] == 6) {
      memcpy(s6->sin6_addr.s6_addr, addr, 16);
      s6->sin6_scope_id = d[D_SCOPE];
    } else {
      return 0;
    }
    return sizeof *s6;
  }
  if (domain == AF_INET && d[D_FAMILY] == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)d[D_PORT]);
    memcpy(&s4->sin_addr, addr, 4);
    return sizeof *s4;
  }
  return 0;
}

int32_t wgl_udp_recv_batch(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                           uint32_t count) {
  struct mmsghdr msgs[CHUNK];
  struct iovec iovs[CHUNK];
  struct sockaddr_storage names[CHUNK];
  uint32_t n = 0;
  while (n < count) {
    uint32_t want = count - n < CHUNK ? count - n : CHUNK;
    memset(msgs, 0, sizeof msgs[0] * want);
    for (uint32_t i = 0; i < want; i++) {
      iovs[i].iov_base = slots + (size_t)(n + i) * slot_size;
      iovs[i].iov_len = slot_size;
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    int r = recvmmsg(fd, msgs, want, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      return -errno;
    }
    for (int i = 0; i < r; i++) {
      uint32_t *d = desc_at(desc, n + (uint32_t)i);
      d[WG_DESC_OFFSET] = 0;
      /* A datagram larger than a slot is cut short: give the core nothing to parse. */
      d[WG_DESC_LEN] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
      d[WG_DESC_OP] = WG_OP_NONE;
      d[WG_DESC_PEER] = WG_NO_PEER;
      d[WG_DESC_REASON] = WG_REASON_OK;
      endpoint_from_sockaddr(d, &names[i]);
    }
    n += (uint32_t)r;
    if ((uint32_t)r < want) break;
  }
  return (int32_t)n;
}

static int wait_writable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

/* What a send batch does next after sendmmsg returned r <= 0 for the message
 * at hand. */
enum send_next {
  SEND_RETRY, /* interrupted, or writable again after a full buffer */
  SEND_SKIP,  /* the message failed on its own: skip it */
  SEND_STOP,  /* still full after the one wait a batch has, or nothing sent */
};

static enum send_next send_failed(int fd, int r, int *waited) {
  if (r < 0 && errno == EINTR) return SEND_RETRY;
  if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && !*waited) {
    *waited = 1;
    if (wait_writable(fd, SEND_WAIT_MS)) return SEND_RETRY;
  }
  /* Unreachable or refused destinations fail one message: skip it. */
  if (r < 0 && errno != EAGAIN && errno != ENOBUFS) return SEND_SKIP;
  return SEND_STOP;
}

int32_t wgl_udp_send_batch(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                           const uint32_t *desc, uint32_t count) {
  int domain = socket_domain(fd);
  if (domain < 0) return -errno;
  struct mmsghdr msgs[CHUNK];
  struct iovec iovs[CHUNK];
  struct sockaddr_storage names[CHUNK];
  int32_t sent = 0;
  uint32_t i = 0;
  while (i < count) {
    uint32_t n = 0;
    for (; i < count && n < CHUNK; i++) {
      const uint32_t *d = desc + (size_t)i * WG_DESC_WORDS;
      if (d[WG_DESC_OP] != WG_OP_NETWORK) continue;
      if ((uint64_t)d[WG_DESC_OFFSET] + d[WG_DESC_LEN] > slot_size) continue;
      socklen_t len = sockaddr_from_endpoint(&names[n], d, domain);
      if (len == 0) continue;
      iovs[n].iov_base = (void *)(slots + (size_t)i * slot_size + d[WG_DESC_OFFSET]);
      iovs[n].iov_len = d[WG_DESC_LEN];
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = &iovs[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msgs[n].msg_hdr.msg_name = &names[n];
      msgs[n].msg_hdr.msg_namelen = len;
      n++;
    }
    uint32_t done = 0;
    int waited = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, MSG_DONTWAIT);
      if (r > 0) {
        done += (uint32_t)r;
        sent += r;
        continue;
      }
      enum send_next next = send_failed(fd, r, &waited);
      if (next == SEND_RETRY) continue;
      if (next == SEND_SKIP) {
        done++;
        continue;
      }
      break;
    }
  }
  return sent;
}

int32_t wgl_eventfd(void) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int32_t wgl_eventfd_signal(int32_t fd) {
  uint64_t one = 1;
  ssize_t r;
  do r = write(fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  return r < 0 && errno != EAGAIN ? -errno : 0;
}

/* Waits until one of the fds is readable (a negative fd is ignored) or the
 * timeout passes. Bit i of the result is set when fds[i] is readable; a
 * signalled eventfd given as `wake` is drained. */
int32_t wgl_wait(int32_t fd_a, int32_t fd_b, int32_t wake, int32_t timeout_ms) {
  struct pollfd p[3] = {
      {.fd = fd_a, .events = POLLIN},
      {.fd = fd_b, .events = POLLIN},
      {.fd = wake, .events = POLLIN},
  };
  int r;
  do r = poll(p, 3, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  int32_t mask = 0;
  for (int i = 0; i < 3; i++)
    if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLERR | POLLHUP))) mask |= 1 << i;
  if (mask & 4) {
    uint64_t v;
    (void)!read(wake, &v, sizeof v);
  }
  return mask;
}

/* Marks the TUN device persistent, so that closing our fd does not unregister
 * it there and then (an RCU grace period: ~15 ms in close()). The device lives
 * only in the cage's network namespace, which the kernel tears down in the
 * background once the cage and our fds are gone. */
int32_t wgl_tun_detach_on_close(int32_t fd) { return ioctl(fd, TUNSETPERSIST, 1) < 0 ? -errno : 0; }

/* ---- Offloads ---- */

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

_Static_assert(sizeof(struct wgl_vnet_hdr) == WGL_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

volatile int wgl_tun_vnet_hdr_wanted = 0;

int32_t wgl_tun_want_vnet_hdr(int32_t on) {
  wgl_tun_vnet_hdr_wanted = on != 0;
  return 0;
}

int32_t wgl_tun_offload(int32_t fd, uint32_t want) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) return -errno;
  if (!(ifr.ifr_flags & IFF_VNET_HDR)) return 0;
  want &= TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6;
  /* TSO and USO need the checksum offload; USO is Linux 6.2+. */
  if (!(want & TUN_F_CSUM)) want = 0;
  unsigned long tries[2] = {want, want & ~(unsigned long)(TUN_F_USO4 | TUN_F_USO6)};
  for (int i = 0; i < 2; i++) {
    if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0) return WGL_TUN_VNET | (int32_t)tries[i];
    if (errno != EINVAL) break;
  }
  /* The header stays whatever TUNSETOFFLOAD says: plain packets behind it. */
  (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
  return WGL_TUN_VNET;
}

/* The scratch of wgl_tun_read_batch_vnet: three words of state (the held
 * packet's length, its next segment, its segment count), the virtio header
 * at TUN_SCRATCH_HDR, the packet behind it at TUN_SCRATCH_PKT. */
#define TUN_SCRATCH_HDR 22
#define TUN_SCRATCH_PKT 32

int32_t wgl_tun_read_batch_vnet(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                                uint32_t count, uint32_t headroom, uint8_t *scratch,
                                uint32_t scratch_len) {
  if (slot_size <= headroom + WG_TAILROOM || scratch_len < TUN_SCRATCH_PKT + 65536) return -EINVAL;
  uint32_t st[3];
  memcpy(st, scratch, sizeof st);
  const uint8_t *pkt = scratch + TUN_SCRATCH_PKT;
  size_t max_seg = slot_size - headroom - WG_TAILROOM;
  uint32_t lens[CHUNK];
  uint32_t n = 0;
  while (n < count) {
    if (st[0] > 0) {
      struct wgl_vnet_hdr h;
      memcpy(&h, scratch + TUN_SCRATCH_HDR, sizeof h);
      uint32_t room = count - n < CHUNK ? count - n : CHUNK;
      int r = wgl_offload_segment(&h, pkt, st[0], st[1], slots + (size_t)n * slot_size + headroom,
                                  slot_size, max_seg, lens, room);
      if (r <= 0) {
        st[0] = 0; /* cannot be cut: dropped, as a NIC would */
        continue;
      }
      for (int j = 0; j < r; j++) {
        uint32_t *d = desc_at(desc, n + (uint32_t)j);
        memset(d, 0, WG_DESC_WORDS * sizeof *d);
        d[WG_DESC_OFFSET] = headroom;
        d[WG_DESC_LEN] = lens[j];
        d[WG_DESC_PEER] = WG_NO_PEER;
      }
      n += (uint32_t)r;
      st[1] += (uint32_t)r;
      if (st[1] >= st[2]) st[0] = 0;
      continue;
    }
    ssize_t r = read(fd, scratch + TUN_SCRATCH_HDR, scratch_len - TUN_SCRATCH_HDR);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      memcpy(scratch, st, sizeof st);
      return -errno;
    }
    if (r == 0) break;
    if (r <= WGL_VNET_HDR_LEN) continue;
    struct wgl_vnet_hdr h;
    memcpy(&h, scratch + TUN_SCRATCH_HDR, sizeof h);
    int total = wgl_offload_segment_count(&h, pkt, (size_t)r - WGL_VNET_HDR_LEN, max_seg);
    if (total <= 0) continue;
    st[0] = (uint32_t)r - WGL_VNET_HDR_LEN;
    st[1] = 0;
    st[2] = (uint32_t)total;
  }
  memcpy(scratch, st, sizeof st);
  return (int32_t)n;
}

int32_t wgl_tun_write_batch_vnet(int32_t fd, uint8_t *slots, uint32_t slot_size,
                                 const uint32_t *desc, uint32_t count, int32_t coalesce) {
  struct wgl_gro_item items[WGL_GRO_MAX_ITEMS];
  struct wgl_gro_group groups[WGL_GRO_MAX_ITEMS];
  uint32_t next[WGL_GRO_MAX_ITEMS];
  struct iovec iov[WGL_OFFLOAD_MAX_SEGS + 1];
  int32_t written = 0;
  uint32_t i = 0;
  while (i < count) {
    uint32_t m = 0;
    for (; i < count && m < WGL_GRO_MAX_ITEMS; i++) {
      const uint32_t *d = desc + (size_t)i * WG_DESC_WORDS;
      if (d[WG_DESC_OP] != WG_OP_TUN || d[WG_DESC_LEN] == 0) continue;
      if ((uint64_t)d[WG_DESC_OFFSET] + d[WG_DESC_LEN] > slot_size) continue;
      items[m].pkt = slots + (size_t)i * slot_size + d[WG_DESC_OFFSET];
      items[m].len = d[WG_DESC_LEN];
      m++;
    }
    uint32_t ng;
    if (coalesce) {
      ng = wgl_offload_coalesce(items, m, next, groups, (uint32_t)coalesce);
    } else {
      for (uint32_t k = 0; k < m; k++) {
        memset(&groups[k], 0, sizeof groups[k]);
        groups[k].first = groups[k].last = k;
        groups[k].count = 1;
        next[k] = WGL_GRO_END;
      }
      ng = m;
    }
    for (uint32_t g = 0; g < ng; g++) {
      const struct wgl_gro_group *grp = &groups[g];
      int n_iov = 0;
      iov[n_iov++] = (struct iovec){.iov_base = (void *)&grp->vnet, .iov_len = WGL_VNET_HDR_LEN};
      for (uint32_t k = grp->first; k != WGL_GRO_END && n_iov <= WGL_OFFLOAD_MAX_SEGS;
           k = next[k]) {
        uint32_t skip = k == grp->first ? 0 : grp->hdr_len;
        iov[n_iov++] =
            (struct iovec){.iov_base = items[k].pkt + skip, .iov_len = items[k].len - skip};
      }
      ssize_t r;
      do r = writev(fd, iov, n_iov);
      while (r < 0 && errno == EINTR);
      /* A full TUN queue drops the packet, as a full NIC queue would. */
      if (r >= 0) written += (int32_t)grp->count;
    }
  }
  return written;
}

int32_t wgl_udp_offload(int32_t fd, uint32_t want) {
  int32_t on = 0;
  if (want & WGL_UDP_GSO) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0) on |= WGL_UDP_GSO;
  }
  if (want & WGL_UDP_GRO) {
    int one = 1;
    if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0) on |= WGL_UDP_GRO;
  }
  return on;
}

/* Largest UDP payload one GSO send may carry: 64 KiB less the IPv6 and UDP
 * headers. */
#define GSO_MAX_BYTES (65535 - 40 - 8)

static int same_endpoint(const uint32_t *a, const uint32_t *b) {
  return memcmp(a + WG_DESC_ENDPOINT, b + WG_DESC_ENDPOINT, WG_ENDPOINT_WORDS * sizeof *a) == 0;
}

int32_t wgl_udp_send_batch_gso(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                               const uint32_t *desc, uint32_t count, uint32_t *state) {
  if (!(state[0] & WGL_UDP_GSO)) return wgl_udp_send_batch(fd, slots, slot_size, desc, count);
  int domain = socket_domain(fd);
  if (domain < 0) return -errno;
  struct mmsghdr msgs[CHUNK];
  struct iovec iovs[CHUNK * 4];
  struct sockaddr_storage names[CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[CHUNK];
  uint32_t starts[CHUNK + 1];
  uint32_t segs[CHUNK];
  int32_t sent = 0;
  uint32_t i = 0;
  while (i < count) {
    uint32_t n = 0, n_iov = 0;
    while (i < count && n < CHUNK && n_iov < CHUNK * 4) {
      const uint32_t *d = desc + (size_t)i * WG_DESC_WORDS;
      socklen_t len;
      if (d[WG_DESC_OP] != WG_OP_NETWORK || d[WG_DESC_LEN] == 0 ||
          (uint64_t)d[WG_DESC_OFFSET] + d[WG_DESC_LEN] > slot_size ||
          (len = sockaddr_from_endpoint(&names[n], d, domain)) == 0) {
        i++;
        continue;
      }
      /* A run: this datagram and those after it to the same endpoint with
       * the same length; a shorter one ends it. */
      uint32_t size = d[WG_DESC_LEN], bytes = 0, k = 0;
      struct iovec *run = &iovs[n_iov];
      starts[n] = i;
      for (; i < count && k < WGL_OFFLOAD_MAX_SEGS && n_iov < CHUNK * 4; i++) {
        const uint32_t *e = desc + (size_t)i * WG_DESC_WORDS;
        if (e[WG_DESC_OP] != WG_OP_NETWORK || e[WG_DESC_LEN] == 0 ||
            (uint64_t)e[WG_DESC_OFFSET] + e[WG_DESC_LEN] > slot_size)
          continue; /* not to be sent: skipped over */
        if (!same_endpoint(d, e) || e[WG_DESC_LEN] > size || bytes + e[WG_DESC_LEN] > GSO_MAX_BYTES)
          break;
        iovs[n_iov++] =
            (struct iovec){.iov_base = (void *)(slots + (size_t)i * slot_size + e[WG_DESC_OFFSET]),
                           .iov_len = e[WG_DESC_LEN]};
        bytes += e[WG_DESC_LEN];
        k++;
        if (e[WG_DESC_LEN] < size) {
          i++;
          break;
        }
      }
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = run;
      msgs[n].msg_hdr.msg_iovlen = k;
      msgs[n].msg_hdr.msg_name = &names[n];
      msgs[n].msg_hdr.msg_namelen = len;
      if (k > 1) {
        memset(&ctl[n], 0, sizeof ctl[n]);
        msgs[n].msg_hdr.msg_control = ctl[n].buf;
        msgs[n].msg_hdr.msg_controllen = sizeof ctl[n].buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[n].msg_hdr);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t gso = (uint16_t)size;
        memcpy(CMSG_DATA(cm), &gso, sizeof gso);
      }
      segs[n] = k;
      n++;
    }
    starts[n] = i;
    uint32_t done = 0;
    int waited = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, MSG_DONTWAIT);
      if (r > 0) {
        for (int k = 0; k < r; k++) sent += (int32_t)segs[done + (uint32_t)k];
        done += (uint32_t)r;
        continue;
      }
      if (r < 0 && (errno == EIO || errno == EINVAL) && segs[done] > 1) {
        /* The kernel or the route cannot segment: off for good, and the rest
         * of the batch from this run on goes out one datagram at a time. */
        state[0] &= ~(uint32_t)WGL_UDP_GSO;
        uint32_t from = starts[done];
        int32_t rest = wgl_udp_send_batch(fd, slots + (size_t)from * slot_size, slot_size,
                                          desc + (size_t)from * WG_DESC_WORDS, count - from);
        return sent + (rest > 0 ? rest : 0);
      }
      enum send_next next = send_failed(fd, r, &waited);
      if (next == SEND_RETRY) continue;
      if (next == SEND_SKIP) {
        done++;
        continue;
      }
      break;
    }
  }
  return sent;
}

/* The scratch of wgl_udp_recv_batch_gro: the held message's length, how much
 * of it was handed out, its segment size, and the sender's endpoint record;
 * the message at UDP_SCRATCH_DATA. */
#define UDP_SCRATCH_DATA 64

int32_t wgl_udp_recv_batch_gro(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                               uint32_t count, uint8_t *scratch, uint32_t scratch_len) {
  if (scratch_len < UDP_SCRATCH_DATA + 65536) return -EINVAL;
  uint32_t st[3 + WG_ENDPOINT_WORDS];
  memcpy(st, scratch, sizeof st);
  uint8_t *data = scratch + UDP_SCRATCH_DATA;
  uint32_t n = 0;
  while (n < count) {
    if (st[0] > st[1]) {
      uint32_t size = st[0] - st[1] < st[2] ? st[0] - st[1] : st[2];
      uint32_t *d = desc_at(desc, n);
      d[WG_DESC_OFFSET] = 0;
      /* A datagram larger than a slot: give the core nothing to parse. */
      d[WG_DESC_LEN] = size <= slot_size ? size : 0;
      if (size <= slot_size) memcpy(slots + (size_t)n * slot_size, data + st[1], size);
      d[WG_DESC_OP] = WG_OP_NONE;
      d[WG_DESC_PEER] = WG_NO_PEER;
      d[WG_DESC_REASON] = WG_REASON_OK;
      memcpy(d + WG_DESC_ENDPOINT, st + 3, WG_ENDPOINT_WORDS * sizeof *d);
      st[1] += size;
      n++;
      continue;
    }
    struct sockaddr_storage name;
    struct iovec iov = {.iov_base = data, .iov_len = scratch_len - UDP_SCRATCH_DATA};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_name = &name,
                        .msg_namelen = sizeof name,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      memcpy(scratch, st, sizeof st);
      return -errno;
    }
    if (mh.msg_flags & MSG_TRUNC) continue;
    uint32_t gso = (uint32_t)r;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
          cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int v;
        memcpy(&v, CMSG_DATA(cm), sizeof v);
        if (v > 0 && (uint32_t)v < gso) gso = (uint32_t)v;
      }
    }
    uint32_t ep[WG_DESC_WORDS];
    endpoint_from_sockaddr(ep, &name);
    st[0] = (uint32_t)r;
    st[1] = 0;
    st[2] = gso == 0 ? 1 : gso;
    memcpy(st + 3, ep + WG_DESC_ENDPOINT, WG_ENDPOINT_WORDS * sizeof *ep);
    if (r == 0) { /* an empty datagram: one empty slot */
      uint32_t *d = desc_at(desc, n);
      memset(d, 0, WG_DESC_WORDS * sizeof *d);
      d[WG_DESC_PEER] = WG_NO_PEER;
      memcpy(d + WG_DESC_ENDPOINT, st + 3, WG_ENDPOINT_WORDS * sizeof *d);
      n++;
    }
  }
  memcpy(scratch, st, sizeof st);
  return (int32_t)n;
}
