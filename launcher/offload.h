/*
 * offload.h — the packet logic behind the TUN device's offloads: segmenting
 * the super-packets a TUN with IFF_VNET_HDR hands over (TCP TSO, UDP USO) and
 * completing the partial checksums it leaves, and coalescing TCP segments of
 * one flow into super-packets written back with a virtio_net_hdr (GRO).
 *
 * Pure functions over caller buffers: no I/O, no allocation, no globals.
 * packet_io.c does the reads and writes; launcher/test/offload_test.c tests
 * these against hand-built packets.
 */
#ifndef WGL_OFFLOAD_H
#define WGL_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The virtio_net_hdr a TUN with IFF_VNET_HDR puts in front of each packet,
 * in host byte order (legacy virtio: the TUN is not set little-endian). */
struct wgl_vnet_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};

#define WGL_VNET_HDR_LEN 10
#define WGL_VNET_F_NEEDS_CSUM 1
#define WGL_VNET_GSO_NONE 0
#define WGL_VNET_GSO_TCPV4 1
#define WGL_VNET_GSO_TCPV6 4
#define WGL_VNET_GSO_UDP_L4 5
#define WGL_VNET_GSO_ECN 0x80

/* Most segments one super-packet is split into or merged from (Linux's GRO
 * and UDP GSO limit). */
#define WGL_OFFLOAD_MAX_SEGS 64

/* Completes a partial checksum: the 16-bit ones' complement sum of
 * pkt[csum_start..len), which holds the pseudo-header's sum in the checksum
 * field at csum_start + csum_offset, complemented into that field. Returns 0,
 * or -1 when the offsets lie outside the packet. */
int wgl_offload_complete_csum(uint8_t *pkt, size_t len, uint32_t csum_start, uint32_t csum_offset);

/* How many packets the super-packet `pkt` (as read after its header `h`)
 * becomes: 1 without GSO, else the number of segments; -1 when it cannot be
 * segmented (malformed, or a segment would exceed `max_seg_len` bytes). */
int wgl_offload_segment_count(const struct wgl_vnet_hdr *h, const uint8_t *pkt, size_t len,
                              size_t max_seg_len);

/* Writes segments `first`, `first + 1`, … (at most `max`) of the
 * super-packet into `out`, segment j at out + j * stride with its length in
 * lens[j], each a complete packet with its headers fixed and checksums
 * computed. A packet without GSO is one segment (its partial checksum
 * completed). Returns how many were written, or -1 as segment_count does. */
int wgl_offload_segment(const struct wgl_vnet_hdr *h, const uint8_t *pkt, size_t len,
                        uint32_t first, uint8_t *out, size_t stride, size_t max_seg_len,
                        uint32_t *lens, uint32_t max);

/* One packet handed to wgl_offload_coalesce. */
struct wgl_gro_item {
  uint8_t *pkt;
  uint32_t len;
};

/* One packet to write: items[first] whole (its headers rewritten when others
 * were merged into it), then the payload (past `hdr_len` bytes) of each item
 * along next[] until WGL_GRO_END, behind the virtio header `vnet`. */
struct wgl_gro_group {
  uint32_t first;
  uint32_t last;
  uint32_t count;
  uint32_t bytes;
  uint32_t hdr_len;
  uint32_t closed;
  struct wgl_vnet_hdr vnet;
};

#define WGL_GRO_END UINT32_MAX
/* Most packets one wgl_offload_coalesce call looks at. */
#define WGL_GRO_MAX_ITEMS 256

/* What wgl_offload_coalesce merges: TCP segments (the TUN takes TSO4/6),
 * UDP datagrams (the TUN takes USO4/6). */
#define WGL_GRO_TCP 1u
#define WGL_GRO_UDP 2u

/* Coalesces the TCP segments (and, with WGL_GRO_UDP, the UDP datagrams)
 * among `n` packets: a packet joins the last group of its flow when it
 * continues it (see offload.c). Rewrites the first packet of each merged
 * group in place, fills groups[] in the order the packets should be written
 * and next[] (n entries) with each group's chain; returns the number of
 * groups. `protocols` is WGL_GRO_TCP and/or WGL_GRO_UDP. */
uint32_t wgl_offload_coalesce(struct wgl_gro_item *items, uint32_t n, uint32_t *next,
                              struct wgl_gro_group *groups, uint32_t protocols);

#endif
