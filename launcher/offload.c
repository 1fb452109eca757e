/*
 * The TUN device's offloads, as packet logic over caller buffers.
 *
 * Outbound, a TUN with IFF_VNET_HDR and TUNSETOFFLOAD hands over what the
 * cage's TCP stack built without cutting it up: one virtio_net_hdr and up to
 * 64 KiB of TCP (gso_type TCPV4/TCPV6) or UDP (UDP_L4) payload behind one set
 * of headers, its checksum left partial (the pseudo-header's sum in the
 * field, csum_start/csum_offset saying where the rest goes). WireGuard seals
 * packets of at most the MTU, so wgl_offload_segment cuts it into the packets
 * the kernel would have sent: per gso_size, each with its IP total length
 * (and IPv4 ID, incremented per segment), TCP sequence number, flags (FIN and
 * PSH only on the last, CWR only on the first) and checksums.
 *
 * Inbound, wgl_offload_coalesce does what Linux's GRO does for a NIC: opened
 * TCP segments that continue one another in one flow become one packet
 * written with a virtio_net_hdr (gso_type TCPV4/6, gso_size, NEEDS_CSUM), so
 * the cage's stack takes a 64 KiB packet at once. The rules follow
 * tcp_gro_receive: same addresses and ports, same IP TOS/TTL/DF (v6: class,
 * flow label, hop limit), same ACK, window, TCP header length and option
 * bytes (a timestamp that ticked ends the run, as in Linux), flags ACK or
 * ACK|PSH only (PSH ends the run), contiguous sequence numbers, every segment
 * gso_size long but the last, which may be shorter and ends the run. A
 * segment whose checksum is wrong is never merged: a NEEDS_CSUM packet is not
 * verified again by the kernel, so it would carry the damage in.
 *
 * With WGL_GRO_UDP (the TUN takes USO: Linux 6.2 and later), UDP datagrams
 * of one flow become one UDP_L4 super-packet the same way, as Linux's
 * udp_gro_receive does for forwarded traffic: same addresses and ports, same
 * IP TOS/TTL/DF (v6: class, flow label, hop limit), no IP options or
 * fragments, a checksum that verifies (an IPv4 datagram without one is left
 * alone), every datagram gso_size long but the last, which may be shorter and
 * ends the run. The cage's stack cuts it back into the same datagrams for a
 * socket without UDP_GRO, so the boundaries an application sees are kept.
 *
 * Why C in the launcher rather than Rust in the core: the virtio header and
 * the super-packet exist only between the TUN's read/write and the core's
 * per-packet slots, so segmenting there keeps the core's batch ABI as it is
 * (one MTU-sized packet per slot) and costs one copy (scratch buffer → slot)
 * where a plain read already wrote the packet once; merging writes with
 * writev from the slots, without a copy. In the core it would need 64 KiB
 * outbound slots or a second ABI for super-packets, and one more FFI round
 * trip per batch. Tested natively by launcher/test/offload_test.c.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <string.h>

#define IPPROTO_TCP_ 6
#define UDP_HLEN 8
#define IPPROTO_UDP_ 17

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80

/* ---- Internet checksum (RFC 1071), summed in memory order ---- */

/* a + b with the carry out of bit 63 added back in: a ones' complement sum
 * of 64-bit words, which folds to the 16-bit one (RFC 1071 §2). */
static inline uint64_t add_carry(uint64_t a, uint64_t b) {
  uint64_t s = a + b;
  return s + (s < b);
}

/* Adds `len` bytes at `p` to a ones' complement sum kept in memory byte order
 * (native loads; the fold and the store keep the order, so the stored result
 * is right on either endianness). Four independent sums over 32 bytes a step
 * keep the carries off one dependency chain. */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t len) {
  uint64_t s1 = 0, s2 = 0, s3 = 0;
  while (len >= 32) {
    uint64_t w[4];
    memcpy(w, p, 32);
    acc = add_carry(acc, w[0]);
    s1 = add_carry(s1, w[1]);
    s2 = add_carry(s2, w[2]);
    s3 = add_carry(s3, w[3]);
    p += 32;
    len -= 32;
  }
  acc = add_carry(add_carry(acc, s1), add_carry(s2, s3));
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    acc = add_carry(acc, w);
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, p, len); /* the last 0..7 bytes, zero-padded: same words */
  return add_carry(acc, tail);
}

static uint16_t csum_fold(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

/* The pseudo-header's sum (RFC 793 / RFC 8200 §8.1) for an L4 length. */
static uint64_t pseudo_sum(const uint8_t *ip, int v6, uint8_t proto, uint32_t l4_len) {
  uint64_t acc = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);
  return add_carry(acc, (uint64_t)htons(proto) + htons((uint16_t)l4_len) +
                            htons((uint16_t)(l4_len >> 16)));
}

static void put16(uint8_t *p, uint16_t host) {
  uint16_t be = htons(host);
  memcpy(p, &be, 2);
}

static uint16_t get16(const uint8_t *p) {
  uint16_t be;
  memcpy(&be, p, 2);
  return ntohs(be);
}

static uint32_t get32(const uint8_t *p) {
  uint32_t be;
  memcpy(&be, p, 4);
  return ntohl(be);
}

static void put32(uint8_t *p, uint32_t host) {
  uint32_t be = htonl(host);
  memcpy(p, &be, 4);
}

static void ipv4_fix_checksum(uint8_t *ip, uint32_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~csum_fold(csum_add(0, ip, ihl));
  memcpy(ip + 10, &c, 2);
}

int wgl_offload_complete_csum(uint8_t *pkt, size_t len, uint32_t csum_start, uint32_t csum_offset) {
  if ((size_t)csum_start + csum_offset + 2 > len) return -1;
  uint16_t c = (uint16_t)~csum_fold(csum_add(0, pkt + csum_start, len - csum_start));
  memcpy(pkt + csum_start + csum_offset, &c, 2);
  return 0;
}

/* ---- Segmentation ---- */

struct seg_plan {
  int v6;
  int udp;
  uint32_t l3;  /* IP header length: where the L4 header starts */
  uint32_t hl;  /* all headers */
  uint32_t gso; /* payload per segment */
  uint32_t payload;
  uint32_t count;
};

/* The IP header's length, or 0 when `pkt` is no IP packet we can cut. */
static uint32_t ip_header_len(const uint8_t *pkt, size_t len, int *v6) {
  if (len < 20) return 0;
  if (pkt[0] >> 4 == 4) {
    uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
    *v6 = 0;
    return ihl >= 20 && ihl <= len ? ihl : 0;
  }
  if (pkt[0] >> 4 == 6 && len >= 40) {
    *v6 = 1;
    return 40;
  }
  return 0;
}

static int plan_segments(const struct wgl_vnet_hdr *h, const uint8_t *pkt, size_t len,
                         size_t max_seg_len, struct seg_plan *sp) {
  uint8_t type = h->gso_type & (uint8_t)~WGL_VNET_GSO_ECN;
  memset(sp, 0, sizeof *sp);
  if (type == WGL_VNET_GSO_NONE) {
    if (len > max_seg_len) return -1;
    if ((h->flags & WGL_VNET_F_NEEDS_CSUM) && (size_t)h->csum_start + h->csum_offset + 2 > len)
      return -1;
    sp->count = 1;
    return 0;
  }
  if (type != WGL_VNET_GSO_TCPV4 && type != WGL_VNET_GSO_TCPV6 && type != WGL_VNET_GSO_UDP_L4)
    return -1;
  uint32_t l3 = ip_header_len(pkt, len, &sp->v6);
  if (l3 == 0) return -1;
  /* With v6 extension headers the stack says where L4 starts. */
  if ((h->flags & WGL_VNET_F_NEEDS_CSUM) && h->csum_start >= l3) l3 = h->csum_start;
  if (type == WGL_VNET_GSO_TCPV4 && sp->v6) return -1;
  if (type == WGL_VNET_GSO_TCPV6 && !sp->v6) return -1;
  sp->udp = type == WGL_VNET_GSO_UDP_L4;
  uint32_t l4_hl;
  if (sp->udp) {
    l4_hl = 8;
  } else {
    if ((size_t)l3 + 20 > len) return -1;
    l4_hl = (uint32_t)(pkt[l3 + 12] >> 4) * 4;
    if (l4_hl < 20) return -1;
  }
  sp->l3 = l3;
  sp->hl = l3 + l4_hl;
  if (sp->hl > len || h->gso_size == 0) return -1;
  sp->gso = h->gso_size;
  sp->payload = (uint32_t)(len - sp->hl);
  if ((size_t)sp->hl + sp->gso > max_seg_len) return -1;
  sp->count = sp->payload == 0 ? 1 : (sp->payload + sp->gso - 1) / sp->gso;
  return 0;
}

int wgl_offload_segment_count(const struct wgl_vnet_hdr *h, const uint8_t *pkt, size_t len,
                              size_t max_seg_len) {
  struct seg_plan sp;
  if (plan_segments(h, pkt, len, max_seg_len, &sp) < 0) return -1;
  return (int)sp.count;
}

int wgl_offload_segment(const struct wgl_vnet_hdr *h, const uint8_t *pkt, size_t len,
                        uint32_t first, uint8_t *out, size_t stride, size_t max_seg_len,
                        uint32_t *lens, uint32_t max) {
  struct seg_plan sp;
  if (plan_segments(h, pkt, len, max_seg_len, &sp) < 0) return -1;
  if (first >= sp.count) return 0;
  if ((h->gso_type & (uint8_t)~WGL_VNET_GSO_ECN) == WGL_VNET_GSO_NONE) {
    if (max == 0) return 0;
    memcpy(out, pkt, len);
    if ((h->flags & WGL_VNET_F_NEEDS_CSUM) &&
        wgl_offload_complete_csum(out, len, h->csum_start, h->csum_offset) < 0)
      return -1;
    lens[0] = (uint32_t)len;
    return 1;
  }
  uint16_t id = sp.v6 ? 0 : get16(pkt + 4);
  uint32_t seq = sp.udp ? 0 : get32(pkt + sp.l3 + 4);
  uint32_t done = 0;
  for (uint32_t j = first; j < sp.count && done < max; j++, done++) {
    uint32_t off = j * sp.gso;
    uint32_t plen = sp.payload - off < sp.gso ? sp.payload - off : sp.gso;
    uint32_t seg_len = sp.hl + plen;
    uint8_t *o = out + (size_t)done * stride;
    memcpy(o, pkt, sp.hl);
    memcpy(o + sp.hl, pkt + sp.hl + off, plen);
    if (sp.v6) {
      put16(o + 4, (uint16_t)(seg_len - 40));
    } else {
      put16(o + 2, (uint16_t)seg_len);
      put16(o + 4, (uint16_t)(id + j));
      ipv4_fix_checksum(o, (uint32_t)(o[0] & 15) * 4);
    }
    uint8_t *l4 = o + sp.l3;
    uint32_t l4_len = seg_len - sp.l3;
    uint8_t *check;
    if (sp.udp) {
      put16(l4 + 4, (uint16_t)l4_len);
      check = l4 + 6;
    } else {
      put32(l4 + 4, seq + off);
      if (j + 1 < sp.count) l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
      if (j > 0) l4[13] &= (uint8_t)~TCP_CWR;
      check = l4 + 16;
    }
    check[0] = check[1] = 0;
    uint64_t acc = pseudo_sum(o, sp.v6, sp.udp ? IPPROTO_UDP_ : IPPROTO_TCP_, l4_len);
    uint16_t c = (uint16_t)~csum_fold(csum_add(acc, l4, l4_len));
    if (sp.udp && c == 0) c = 0xffff; /* RFC 768: 0 means "no checksum" */
    memcpy(check, &c, 2);
    lens[done] = seg_len;
  }
  return (int)done;
}

/* ---- Coalescing ---- */

/* What coalescing needs to know of one packet. */
struct gro_info {
  uint8_t tcp;       /* a TCP packet whose flow is known */
  uint8_t udp;       /* a UDP packet whose flow is known (with WGL_GRO_UDP only) */
  uint8_t candidate; /* may be merged: see offload.c's head */
  uint8_t v6;
  uint8_t flags;
  uint32_t l3;
  uint32_t hl;
  uint32_t plen;
  uint32_t seq;
};

/* The IP header of a TCP or UDP packet: its length, 0 when the packet is
 * neither or malformed; `may` is cleared for IPv4 options or a fragment
 * (never merged, as inet_gro_receive). */
static uint32_t gro_l3(const uint8_t *p, uint32_t len, uint8_t proto, int *v6, int *may) {
  if (len < 20) return 0;
  if (p[0] >> 4 == 4) {
    uint32_t l3 = (uint32_t)(p[0] & 15) * 4;
    if (p[9] != proto || l3 < 20 || get16(p + 2) != len) return 0;
    if (l3 != 20 || (get16(p + 6) & 0x3fff) != 0) *may = 0;
    *v6 = 0;
    return l3;
  }
  if (p[0] >> 4 == 6 && len >= 40) {
    if (p[6] != proto || (uint32_t)get16(p + 4) + 40 != len) return 0;
    *v6 = 1;
    return 40;
  }
  return 0;
}

/* Whether the L4 checksum of a packet with its L3 header at 0 verifies. */
static int l4_checksum_ok(const uint8_t *p, uint32_t len, uint32_t l3, int v6, uint8_t proto) {
  uint64_t acc = pseudo_sum(p, v6, proto, len - l3);
  return csum_fold(csum_add(acc, p + l3, len - l3)) == 0xffff;
}

static void gro_parse_udp(const struct wgl_gro_item *it, struct gro_info *g) {
  const uint8_t *p = it->pkt;
  uint32_t len = it->len;
  int v6 = 0, may = 1;
  uint32_t l3 = gro_l3(p, len, IPPROTO_UDP_, &v6, &may);
  if (l3 == 0 || l3 + UDP_HLEN > len || get16(p + l3 + 4) != len - l3) return;
  g->udp = 1;
  g->v6 = (uint8_t)v6;
  g->l3 = l3;
  g->hl = l3 + UDP_HLEN;
  g->plen = len - g->hl;
  if (!may || g->plen == 0) return;
  /* IPv4 without a checksum (0): the merged packet would get one. Leave it. */
  if (get16(p + l3 + 6) == 0 || !l4_checksum_ok(p, len, l3, v6, IPPROTO_UDP_)) return;
  g->candidate = 1;
}

static void gro_parse(const struct wgl_gro_item *it, struct gro_info *g, uint32_t protocols) {
  memset(g, 0, sizeof *g);
  const uint8_t *p = it->pkt;
  uint32_t len = it->len;
  if (len < 20) return;
  if (protocols & WGL_GRO_UDP && (p[0] >> 4 == 4 ? p[9] : len >= 40 ? p[6] : 0) == IPPROTO_UDP_) {
    gro_parse_udp(it, g);
    return;
  }
  if (!(protocols & WGL_GRO_TCP)) return;
  int v6 = 0, may = 1;
  uint32_t l3 = gro_l3(p, len, IPPROTO_TCP_, &v6, &may);
  if (l3 == 0) return;
  g->v6 = (uint8_t)v6;
  if (l3 + 20 > len) return;
  uint32_t thl = (uint32_t)(p[l3 + 12] >> 4) * 4;
  if (thl < 20 || l3 + thl > len) return;
  g->tcp = 1;
  g->l3 = l3;
  g->hl = l3 + thl;
  g->plen = len - g->hl;
  g->seq = get32(p + l3 + 4);
  g->flags = p[l3 + 13];
  if (!may || g->plen == 0) return;
  if (g->flags != TCP_ACK && g->flags != (TCP_ACK | TCP_PSH)) return;
  if (!l4_checksum_ok(p, len, l3, v6, IPPROTO_TCP_)) return;
  g->candidate = 1;
}

static int same_flow(const struct wgl_gro_item *a, const struct gro_info *ga,
                     const struct wgl_gro_item *b, const struct gro_info *gb) {
  if (!((ga->tcp && gb->tcp) || (ga->udp && gb->udp)) || ga->v6 != gb->v6) return 0;
  int addr_ok =
      ga->v6 ? memcmp(a->pkt + 8, b->pkt + 8, 32) == 0 : memcmp(a->pkt + 12, b->pkt + 12, 8) == 0;
  return addr_ok && memcmp(a->pkt + ga->l3, b->pkt + gb->l3, 4) == 0;
}

/* Whether `b` may follow the group's packets, whose first is `a`. */
static int ip_headers_match(const uint8_t *pa, const uint8_t *pb, int v6) {
  if (v6) {
    /* version, traffic class, flow label; hop limit */
    return memcmp(pa, pb, 4) == 0 && pa[7] == pb[7];
  }
  /* TOS, DF, TTL */
  return pa[1] == pb[1] && (pa[6] & 0x40) == (pb[6] & 0x40) && pa[8] == pb[8];
}

static int headers_match(const struct wgl_gro_item *a, const struct gro_info *ga,
                         const struct wgl_gro_item *b, const struct gro_info *gb) {
  if (ga->hl != gb->hl) return 0;
  const uint8_t *pa = a->pkt, *pb = b->pkt;
  if (!ip_headers_match(pa, pb, ga->v6)) return 0;
  if (ga->udp) return 1;
  const uint8_t *ta = pa + ga->l3, *tb = pb + gb->l3;
  /* ack number, then window (the flags byte is compared by the caller) */
  if (memcmp(ta + 8, tb + 8, 4) != 0 || memcmp(ta + 14, tb + 14, 2) != 0) return 0;
  /* options, byte for byte */
  return memcmp(ta + 20, tb + 20, ga->hl - ga->l3 - 20) == 0;
}

static void gro_finish(struct wgl_gro_item *items, const struct gro_info *info,
                       struct wgl_gro_group *grp) {
  memset(&grp->vnet, 0, sizeof grp->vnet);
  if (grp->count < 2) return;
  const struct gro_info *g = &info[grp->first];
  uint8_t *p = items[grp->first].pkt;
  if (g->v6) {
    put16(p + 4, (uint16_t)(grp->bytes - 40));
  } else {
    put16(p + 2, (uint16_t)grp->bytes);
    ipv4_fix_checksum(p, 20);
  }
  uint8_t *th = p + g->l3;
  if (g->udp) {
    uint16_t l4_len = (uint16_t)(grp->bytes - g->l3);
    put16(th + 4, l4_len);
    /* CHECKSUM_PARTIAL: the field holds the pseudo-header's sum, uncomplemented. */
    uint16_t c = csum_fold(pseudo_sum(p, g->v6, IPPROTO_UDP_, l4_len));
    memcpy(th + 6, &c, 2);
    grp->vnet.flags = WGL_VNET_F_NEEDS_CSUM;
    grp->vnet.gso_type = WGL_VNET_GSO_UDP_L4;
    grp->vnet.gso_size = (uint16_t)g->plen;
    grp->vnet.hdr_len = (uint16_t)g->hl;
    grp->vnet.csum_start = (uint16_t)g->l3;
    grp->vnet.csum_offset = 6;
    return;
  }
  th[13] |= info[grp->last].flags & TCP_PSH;
  /* CHECKSUM_PARTIAL: the field holds the pseudo-header's sum, uncomplemented. */
  uint16_t c = csum_fold(pseudo_sum(p, g->v6, IPPROTO_TCP_, grp->bytes - g->l3));
  memcpy(th + 16, &c, 2);
  grp->vnet.flags = WGL_VNET_F_NEEDS_CSUM;
  grp->vnet.gso_type = g->v6 ? WGL_VNET_GSO_TCPV6 : WGL_VNET_GSO_TCPV4;
  grp->vnet.gso_size = (uint16_t)g->plen;
  grp->vnet.hdr_len = (uint16_t)g->hl;
  grp->vnet.csum_start = (uint16_t)g->l3;
  grp->vnet.csum_offset = 16;
}

uint32_t wgl_offload_coalesce(struct wgl_gro_item *items, uint32_t n, uint32_t *next,
                              struct wgl_gro_group *groups, uint32_t protocols) {
  struct gro_info info[WGL_GRO_MAX_ITEMS];
  if (n > WGL_GRO_MAX_ITEMS) n = WGL_GRO_MAX_ITEMS;
  uint32_t ng = 0;
  for (uint32_t i = 0; i < n; i++) {
    next[i] = WGL_GRO_END;
    struct gro_info *gi = &info[i];
    gro_parse(&items[i], gi, protocols);
    if (gi->tcp || gi->udp) {
      /* Only the flow's latest group may take it: order within a flow holds. */
      uint32_t k = ng;
      while (k > 0 &&
             !same_flow(&items[groups[k - 1].first], &info[groups[k - 1].first], &items[i], gi))
        k--;
      if (k > 0 && gi->candidate) {
        struct wgl_gro_group *grp = &groups[k - 1];
        const struct gro_info *gf = &info[grp->first];
        uint32_t payload = grp->bytes - grp->hdr_len;
        /* UDP: no sequence or flags, only the sizes (gi->flags and seq are 0). */
        if (!grp->closed && headers_match(&items[grp->first], gf, &items[i], gi) &&
            (gi->flags & ~TCP_PSH) == (gf->flags & ~TCP_PSH) &&
            (gi->udp || gi->seq == gf->seq + payload) && gi->plen <= gf->plen &&
            grp->bytes + gi->plen <= 65535 && grp->count < WGL_OFFLOAD_MAX_SEGS) {
          next[grp->last] = i;
          grp->last = i;
          grp->count++;
          grp->bytes += gi->plen;
          /* A short segment or a push ends the run. */
          grp->closed = gi->plen < gf->plen || (gi->flags & TCP_PSH);
          continue;
        }
      }
    }
    struct wgl_gro_group *grp = &groups[ng++];
    grp->first = grp->last = i;
    grp->count = 1;
    grp->bytes = items[i].len;
    grp->hdr_len = gi->hl;
    grp->closed = !gi->candidate || (gi->flags & TCP_PSH);
  }
  for (uint32_t k = 0; k < ng; k++) gro_finish(items, info, &groups[k]);
  return ng;
}
