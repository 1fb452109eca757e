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

#include "offload.h"

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

/* ---- Offloads (offload.c does the packet logic) ---- */

/* Whether the next cage's TUN is made with IFF_VNET_HDR (cage.c, make_tun,
 * reads it in the cloned child). Off unless the data path asks: whoever reads
 * such a TUN must handle the virtio header. */
extern volatile int wgl_tun_vnet_hdr_wanted;

/* Sets wgl_tun_vnet_hdr_wanted; returns 0. */
int32_t wgl_tun_want_vnet_hdr(int32_t on);

/* The result of wgl_tun_offload when the TUN has IFF_VNET_HDR; its low byte
 * holds the TUN_F_* flags TUNSETOFFLOAD took. */
#define WGL_TUN_VNET 0x100

/* Turns on as many of the offloads `want` (TUN_F_*) as the kernel has, on a
 * TUN made with IFF_VNET_HDR; returns WGL_TUN_VNET | the flags taken
 * (WGL_TUN_VNET alone when it takes none), 0 when the TUN has no virtio
 * header, or -errno when TUNGETIFF fails. */
int32_t wgl_tun_offload(int32_t fd, uint32_t want);

/* Like wgl_tun_read_batch on a TUN with a virtio header: each read goes into
 * `scratch` (at least 64 KiB + 32 bytes), and a super-packet is cut into as
 * many slots as it needs; one that does not fit is held in `scratch` and
 * handed out by the next call. Keep `scratch` for the TUN's life. */
int32_t wgl_tun_read_batch_vnet(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                                uint32_t count, uint32_t headroom, uint8_t *scratch,
                                uint32_t scratch_len);

/* Like wgl_tun_write_batch on a TUN with a virtio header; `coalesce` is
 * WGL_GRO_TCP and/or WGL_GRO_UDP of offload.h (or 0): TCP segments (needs
 * TUN_F_CSUM, TUN_F_TSO4/6 on), UDP datagrams (needs TUN_F_USO4/6) of one
 * flow are written as one super-packet. Returns how many packets went out. */
int32_t wgl_tun_write_batch_vnet(int32_t fd, uint8_t *slots, uint32_t slot_size,
                                 const uint32_t *desc, uint32_t count, int32_t coalesce);

/* UDP offloads of a socket: bit 0 UDP_SEGMENT (GSO) is available, bit 1
 * UDP_GRO is on. `want` says which to try. */
#define WGL_UDP_GSO 1
#define WGL_UDP_GRO 2
int32_t wgl_udp_offload(int32_t fd, uint32_t want);

/* wgl_udp_send_batch with UDP GSO while state[0] has WGL_UDP_GSO: runs of
 * datagrams to one endpoint of one size (the last may be shorter) leave in
 * one sendmsg. A kernel that refuses it (EIO, EINVAL) clears the bit and
 * the rest go one by one. */
int32_t wgl_udp_send_batch_gso(int32_t fd, const uint8_t *slots, uint32_t slot_size,
                               const uint32_t *desc, uint32_t count, uint32_t *state);

/* wgl_udp_recv_batch on a socket with UDP_GRO: each coalesced receive goes
 * into `scratch` (at least 64 KiB + 64 bytes) and is split, one datagram a
 * slot; what does not fit waits there for the next call. */
int32_t wgl_udp_recv_batch_gro(int32_t fd, uint8_t *slots, uint32_t slot_size, uint32_t *desc,
                               uint32_t count, uint8_t *scratch, uint32_t scratch_len);

#endif
