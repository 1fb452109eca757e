/*
 * udp_probe.h — asks the kernel whether a UDP endpoint is reachable at all,
 * for the handshake-timeout message: whether the peer's host answered with
 * an ICMP error (port unreachable: nothing listens there) or said nothing.
 */
#ifndef WGL_UDP_PROBE_H
#define WGL_UDP_PROBE_H

#include <stdint.h>

/*
 * Sends one empty datagram from a socket of its own, connected to the
 * endpoint (family 4 or 6, `address` 4 or 16 bytes, port, IPv6 scope id),
 * and waits up to timeout_ms for the kernel to report an ICMP error on it.
 * Returns 0 when none came, the errno the ICMP error became (ECONNREFUSED
 * for port unreachable, EHOSTUNREACH, ENETUNREACH, …) as a positive number,
 * or -errno when the probe itself could not be made.
 *
 * Blocks (up to timeout_ms): the host calls it from a worker thread.
 */
int32_t wgl_udp_probe(const uint8_t *address, uint32_t family, uint32_t port, uint32_t scope_id,
                      int32_t timeout_ms);

#endif
