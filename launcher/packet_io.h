/*
 * packet_io.h — batched TUN and UDP I/O for the data path.
 *
 * `slots` is `count` buffers of `slot_size` bytes each and `desc` one
 * descriptor of WG_DESC_WORDS u32 words per slot (abi.h), both views of the
 * WASM core's linear memory (wasm/README.md, "Batches"). Every function returns a count or fd
 * (>= 0) or -errno, and none blocks except wgl_wait.
 */
#ifndef WGL_PACKET_IO_H
#define WGL_PACKET_IO_H

#include <stdint.h>

/* Reads up to `count` packets from a non-blocking TUN fd, packet i into slot
 * i at `headroom`, and sets its descriptor's offset and length. */
int32_t wgl_tun_read_batch(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                           uint32_t count, uint32_t headroom);

/* Writes every packet whose descriptor's op is Tun; returns how many were
 * written (a full TUN queue drops a packet). */
int32_t wgl_tun_write_batch(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                            const uint32_t *desc, uint32_t count);

/* Marks the TUN device persistent, so that closing the fd does not
 * unregister it there and then; the cage's network namespace takes it away. */
int32_t wgl_tun_detach_on_close(int32_t fd);

/* A non-blocking UDP socket on [::]:port accepting IPv4 too, or on
 * 0.0.0.0:port where the host has no IPv6 (port 0: any). Returns the fd. */
int32_t wgl_udp_open(uint32_t port);

/* The port a UDP socket is bound to. */
int32_t wgl_udp_local_port(int32_t fd);

/* recvmmsg up to `count` datagrams into the slots at offset 0, each source
 * into its descriptor's endpoint words. */
int32_t wgl_udp_recv_batch(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                           uint32_t count);

/* sendmmsg every packet whose descriptor's op is Network to its endpoint. */
int32_t wgl_udp_send_batch(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                           const uint32_t *desc, uint32_t count);

/* A non-blocking, close-on-exec eventfd that ends a wgl_wait early. */
int32_t wgl_eventfd(void);

/* Signals an eventfd made by wgl_eventfd. */
int32_t wgl_eventfd_signal(int32_t fd);

/* Waits until one of the fds is readable (a negative fd is ignored) or the
 * timeout passes. Bit 0 of the result: fd_a readable, bit 1: fd_b, bit 2:
 * `wake` (a signalled eventfd, drained). */
int32_t wgl_wait(int32_t fd_a, int32_t fd_b, int32_t wake, int32_t timeout_ms);

#endif
