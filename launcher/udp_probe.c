/*
 * udp_probe.c — is anything listening at a UDP endpoint?
 *
 * The data path's socket is not connected (it talks to every peer), and an
 * unconnected UDP socket is told of no ICMP error unless IP_RECVERR is on,
 * which would also make its batched receives fail with the error once and
 * fill an error queue nobody reads. So the probe has a socket of its own,
 * connected to the one endpoint, as `nc -u -z` does: the kernel turns an
 * ICMP error for it into that socket's errno. The datagram is empty:
 * WireGuard ignores a message that short, so a peer that is there sees
 * nothing it must act on.
 */
#include "udp_probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static socklen_t endpoint_sockaddr(struct sockaddr_storage *ss, const uint8_t *address,
                                   uint32_t family, uint32_t port, uint32_t scope_id) {
  memset(ss, 0, sizeof *ss);
  if (port == 0 || port > 65535) return 0;
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    memcpy(&s4->sin_addr, address, 4);
    return sizeof *s4;
  }
  if (family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_scope_id = scope_id;
    memcpy(&s6->sin6_addr, address, 16);
    return sizeof *s6;
  }
  return 0;
}

int32_t wgl_udp_probe(const uint8_t *address, uint32_t family, uint32_t port, uint32_t scope_id,
                      int32_t timeout_ms) {
  struct sockaddr_storage ss;
  socklen_t len = endpoint_sockaddr(&ss, address, family, port, scope_id);
  if (len == 0) return -EINVAL;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int32_t result = 0;
  if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
    result = -errno;
    goto out;
  }
  ssize_t sent;
  do sent = send(fd, "", 0, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    /* Refused at once (a route's reject, or an error already known). */
    result = errno == EAGAIN ? 0 : errno;
    goto out;
  }
  int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    uint8_t byte;
    ssize_t n = recv(fd, &byte, sizeof byte, MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      result = errno; /* the ICMP error, as this socket's errno */
      break;
    }
    if (n >= 0) break; /* an answer: something is there */
  }
out:
  close(fd);
  return result;
}
