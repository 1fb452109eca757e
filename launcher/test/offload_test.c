/*
 * Unit tests of launcher/offload.c against hand-built packets, checked with a
 * naive RFC 1071 checksum written apart from the one under test. Built and run
 * by src/datapath/offload_test.ts:
 *
 *     cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilauncher \
 *        launcher/offload.c launcher/test/offload_test.c -o offload_test && ./offload_test
 */
#include "offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    checks++;                                                                                      \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__, __func__, #cond);             \
    }                                                                                              \
  } while (0)

/* ---- a naive reference: big-endian 16-bit words, one at a time ---- */

static uint32_t naive_sum(const uint8_t *p, size_t len, uint32_t acc) {
  for (size_t i = 0; i + 1 < len; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) acc += (uint32_t)p[len - 1] << 8;
  return acc;
}

static uint16_t naive_fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

static int is_v6(const uint8_t *p) { return p[0] >> 4 == 6; }
static uint32_t l3_len(const uint8_t *p) { return is_v6(p) ? 40 : (uint32_t)(p[0] & 15) * 4; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wbe16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wbe32(uint8_t *p, uint32_t v) {
  wbe16(p, v >> 16);
  wbe16(p + 2, v);
}

/* The L4 checksum as a receiver verifies it: 0xffff when right. */
static uint16_t l4_verify(const uint8_t *p, size_t len) {
  uint32_t l3 = l3_len(p);
  uint8_t proto = is_v6(p) ? p[6] : p[9];
  uint32_t acc = is_v6(p) ? naive_sum(p + 8, 32, 0) : naive_sum(p + 12, 8, 0);
  acc += proto + (uint32_t)(len - l3);
  return naive_fold(naive_sum(p + l3, len - l3, acc));
}

static int ipv4_ok(const uint8_t *p) { return naive_fold(naive_sum(p, 20, 0)) == 0xffff; }

static void fill_l4_checksum(uint8_t *p, size_t len) {
  uint32_t l3 = l3_len(p);
  uint8_t proto = is_v6(p) ? p[6] : p[9];
  uint8_t *c = p + l3 + (proto == 6 ? 16 : 6);
  c[0] = c[1] = 0;
  uint16_t v = (uint16_t)~l4_verify(p, len);
  if (proto == 17 && v == 0) v = 0xffff;
  wbe16(c, v);
}

static void fill_ipv4_checksum(uint8_t *p) {
  p[10] = p[11] = 0;
  wbe16(p + 10, (uint16_t)~naive_fold(naive_sum(p, 20, 0)));
}

/* ---- packet builders ---- */

enum { F_FIN = 1, F_SYN = 2, F_PSH = 8, F_ACK = 16, F_URG = 32, F_CWR = 128 };

struct tcp_spec {
  int v6;
  uint8_t src_last; /* last address byte: tells flows apart */
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  uint32_t tsval; /* 0: no options */
  uint16_t id;
  uint32_t payload_len;
  uint8_t fill; /* payload byte i is fill + i */
};

/* Writes a complete TCP packet with correct checksums; returns its length. */
static size_t build_tcp(uint8_t *p, const struct tcp_spec *s) {
  uint32_t l3 = s->v6 ? 40 : 20;
  uint32_t thl = s->tsval ? 32 : 20;
  size_t len = l3 + thl + s->payload_len;
  memset(p, 0, l3 + thl);
  if (s->v6) {
    p[0] = 0x60;
    wbe16(p + 4, (uint32_t)(len - 40));
    p[6] = 6;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = s->src_last;
    p[24] = 0xfd;
    p[39] = 2;
  } else {
    p[0] = 0x45;
    wbe16(p + 2, (uint32_t)len);
    wbe16(p + 4, s->id);
    p[6] = 0x40; /* DF */
    p[8] = 64;
    p[9] = 6;
    p[12] = 10, p[15] = s->src_last;
    p[16] = 10, p[19] = 2;
  }
  uint8_t *t = p + l3;
  wbe16(t, s->sport);
  wbe16(t + 2, s->dport);
  wbe32(t + 4, s->seq);
  wbe32(t + 8, s->ack);
  t[12] = (uint8_t)(thl / 4) << 4;
  t[13] = s->flags;
  wbe16(t + 14, 502);
  if (s->tsval) {
    t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10;
    wbe32(t + 24, s->tsval);
    wbe32(t + 28, 77);
  }
  for (uint32_t i = 0; i < s->payload_len; i++) p[l3 + thl + i] = (uint8_t)(s->fill + i);
  if (!s->v6) fill_ipv4_checksum(p);
  fill_l4_checksum(p, len);
  return len;
}

static size_t build_udp(uint8_t *p, int v6, uint32_t payload_len) {
  uint32_t l3 = v6 ? 40 : 20;
  size_t len = l3 + 8 + payload_len;
  memset(p, 0, l3 + 8);
  if (v6) {
    p[0] = 0x60;
    wbe16(p + 4, (uint32_t)(len - 40));
    p[6] = 17;
    p[7] = 64;
    p[8] = 0xfd, p[23] = 1, p[24] = 0xfd, p[39] = 2;
  } else {
    p[0] = 0x45;
    wbe16(p + 2, (uint32_t)len);
    wbe16(p + 4, 0x1000);
    p[8] = 64;
    p[9] = 17;
    p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
    fill_ipv4_checksum(p);
  }
  wbe16(p + l3, 4000);
  wbe16(p + l3 + 2, 53);
  wbe16(p + l3 + 4, (uint32_t)(len - l3));
  for (uint32_t i = 0; i < payload_len; i++) p[l3 + 8 + i] = (uint8_t)(i * 7);
  return len;
}

/* Turns a complete packet into what a TUN with offloads reads: the L4
 * checksum field holds the pseudo-header's sum (CHECKSUM_PARTIAL). */
static void make_partial(uint8_t *p, size_t len, struct wgl_vnet_hdr *h, uint8_t gso_type,
                         uint16_t gso_size) {
  uint32_t l3 = l3_len(p);
  uint8_t proto = is_v6(p) ? p[6] : p[9];
  uint32_t off = proto == 6 ? 16 : 6;
  uint32_t acc = is_v6(p) ? naive_sum(p + 8, 32, 0) : naive_sum(p + 12, 8, 0);
  acc += proto + (uint32_t)(len - l3);
  wbe16(p + l3 + off, naive_fold(acc));
  memset(h, 0, sizeof *h);
  h->flags = WGL_VNET_F_NEEDS_CSUM;
  h->gso_type = gso_type;
  h->gso_size = gso_size;
  h->csum_start = (uint16_t)l3;
  h->csum_offset = (uint16_t)off;
  h->hdr_len = (uint16_t)(l3 + (proto == 6 ? (p[l3 + 12] >> 4) * 4 : 8));
}

#define SLOT 2048
static uint8_t super[70000];
static uint8_t out[WGL_OFFLOAD_MAX_SEGS * 2][SLOT];
static uint32_t lens[WGL_OFFLOAD_MAX_SEGS * 2];

/* ---- segmentation ---- */

static void check_tcp_segments(int v6, uint32_t tsval) {
  struct tcp_spec s = {.v6 = v6,
                       .src_last = 1,
                       .sport = 40000,
                       .dport = 5201,
                       .seq = 0xfffff000u, /* wraps during the run */
                       .ack = 99,
                       .flags = F_ACK | F_PSH | F_FIN | F_CWR,
                       .tsval = tsval,
                       .id = 0xfffe,
                       .payload_len = 3 * 1000 + 333,
                       .fill = 3};
  size_t len = build_tcp(super, &s);
  uint32_t hl = (v6 ? 40 : 20) + (tsval ? 32 : 20);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, v6 ? WGL_VNET_GSO_TCPV6 : WGL_VNET_GSO_TCPV4, 1000);
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == 4);
  CHECK(wgl_offload_segment_count(&h, super, len, hl + 999) == -1);
  int n = wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 64);
  CHECK(n == 4);
  for (int j = 0; j < n; j++) {
    uint8_t *o = out[j];
    uint32_t plen = j < 3 ? 1000 : 333;
    CHECK(lens[j] == hl + plen);
    if (v6) {
      CHECK(be16(o + 4) == lens[j] - 40);
    } else {
      CHECK(be16(o + 2) == lens[j]);
      CHECK(be16(o + 4) == (uint16_t)(0xfffe + j));
      CHECK(ipv4_ok(o));
    }
    uint8_t *t = o + (v6 ? 40 : 20);
    CHECK(be32(t + 4) == 0xfffff000u + (uint32_t)j * 1000);
    uint8_t flags = t[13];
    CHECK((flags & F_ACK) != 0);
    CHECK(((flags & F_CWR) != 0) == (j == 0));
    CHECK(((flags & F_PSH) != 0) == (j == 3));
    CHECK(((flags & F_FIN) != 0) == (j == 3));
    CHECK(l4_verify(o, lens[j]) == 0xffff);
    CHECK(memcmp(o + hl, super + hl + (size_t)j * 1000, plen) == 0);
    if (tsval) CHECK(memcmp(t + 20, super + (v6 ? 40 : 20) + 20, 12) == 0);
  }
  /* In two goes, as when a batch runs out of slots: the same segments. */
  static uint8_t again[4][SLOT];
  uint32_t lens2[4];
  CHECK(wgl_offload_segment(&h, super, len, 0, again[0], SLOT, SLOT, lens2, 3) == 3);
  CHECK(wgl_offload_segment(&h, super, len, 3, again[3], SLOT, SLOT, lens2 + 3, 3) == 1);
  for (int j = 0; j < 4; j++) CHECK(lens2[j] == lens[j] && !memcmp(again[j], out[j], lens[j]));
}

static void test_tcp_v4_segmentation(void) { check_tcp_segments(0, 0); }
static void test_tcp_v4_with_options_segmentation(void) { check_tcp_segments(0, 123456); }
static void test_tcp_v6_with_options_segmentation(void) { check_tcp_segments(1, 123456); }

static void test_tcp_exact_multiple_has_no_empty_tail(void) {
  struct tcp_spec s = {.src_last = 1, .sport = 1, .dport = 2, .flags = F_ACK, .payload_len = 2000};
  size_t len = build_tcp(super, &s);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_TCPV4, 1000);
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == 2);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 64) == 2);
  CHECK(lens[1] == 40 + 1000 && l4_verify(out[1], lens[1]) == 0xffff);
}

static void test_ecn_gso_keeps_cwr_on_first(void) {
  struct tcp_spec s = {
      .src_last = 1, .sport = 1, .dport = 2, .flags = F_ACK | F_CWR, .payload_len = 2500};
  size_t len = build_tcp(super, &s);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_TCPV4 | WGL_VNET_GSO_ECN, 1000);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 64) == 3);
  CHECK(out[0][20 + 13] & F_CWR);
  CHECK(!(out[1][20 + 13] & F_CWR) && !(out[2][20 + 13] & F_CWR));
}

/* URG and the urgent pointer stay on every segment, as Linux's
 * tcp_gso_segment leaves them; PSH only on the last. */
static void test_urg_kept_on_every_segment(void) {
  struct tcp_spec s = {
      .src_last = 1, .sport = 1, .dport = 2, .flags = F_ACK | F_URG | F_PSH, .payload_len = 2100};
  size_t len = build_tcp(super, &s);
  wbe16(super + 20 + 18, 7); /* urgent pointer */
  fill_l4_checksum(super, len);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_TCPV4, 1000);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 64) == 3);
  for (int j = 0; j < 3; j++) {
    CHECK((out[j][20 + 13] & F_URG) && be16(out[j] + 20 + 18) == 7);
    CHECK(((out[j][20 + 13] & F_PSH) != 0) == (j == 2));
    CHECK(l4_verify(out[j], lens[j]) == 0xffff);
  }
}

static void check_udp_segments(int v6) {
  size_t len = build_udp(super, v6, 3 * 1200 + 7);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_UDP_L4, 1200);
  uint32_t l3 = v6 ? 40 : 20;
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == 4);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 64) == 4);
  for (int j = 0; j < 4; j++) {
    uint32_t plen = j < 3 ? 1200 : 7;
    CHECK(lens[j] == l3 + 8 + plen);
    CHECK(be16(out[j] + l3 + 4) == 8 + plen);
    if (!v6) CHECK(ipv4_ok(out[j]) && be16(out[j] + 4) == 0x1000 + j);
    CHECK(l4_verify(out[j], lens[j]) == 0xffff);
    CHECK(memcmp(out[j] + l3 + 8, super + l3 + 8 + (size_t)j * 1200, plen) == 0);
  }
}

static void test_udp_v4_segmentation(void) { check_udp_segments(0); }
static void test_udp_v6_segmentation(void) { check_udp_segments(1); }

static void test_partial_checksum_completed_without_gso(void) {
  struct tcp_spec s = {
      .v6 = 1, .src_last = 1, .sport = 1, .dport = 2, .flags = F_ACK, .payload_len = 501};
  size_t len = build_tcp(super, &s);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_NONE, 0);
  CHECK(l4_verify(super, len) != 0xffff);
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == 1);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 1) == 1);
  CHECK(lens[0] == len && l4_verify(out[0], len) == 0xffff);
  /* A plain packet (no NEEDS_CSUM) goes through untouched. */
  len = build_tcp(super, &s);
  memset(&h, 0, sizeof h);
  CHECK(wgl_offload_segment(&h, super, len, 0, out[0], SLOT, SLOT, lens, 1) == 1);
  CHECK(!memcmp(out[0], super, len));
}

static void test_malformed_super_packets_refused(void) {
  struct tcp_spec s = {.src_last = 1, .sport = 1, .dport = 2, .flags = F_ACK, .payload_len = 3000};
  size_t len = build_tcp(super, &s);
  struct wgl_vnet_hdr h;
  make_partial(super, len, &h, WGL_VNET_GSO_TCPV6, 1000); /* v4 packet, v6 type */
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == -1);
  make_partial(super, len, &h, WGL_VNET_GSO_TCPV4, 0);
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == -1);
  make_partial(super, len, &h, 9, 1000);
  CHECK(wgl_offload_segment_count(&h, super, len, SLOT) == -1);
  make_partial(super, 30, &h, WGL_VNET_GSO_TCPV4, 1000);
  CHECK(wgl_offload_segment_count(&h, super, 30, SLOT) == -1);
}

/* ---- coalescing ---- */

static uint8_t pkts[80][SLOT];
static struct wgl_gro_item items[80];
static uint32_t next_[80];
static struct wgl_gro_group groups[80];

/* Segment k of a flow: 1000 bytes at seq 1000 + k * 1000. */
static struct tcp_spec seg(int v6, uint8_t flow, uint32_t k) {
  struct tcp_spec s = {.v6 = v6,
                       .src_last = flow,
                       .sport = (uint16_t)(40000 + flow),
                       .dport = 5201,
                       .seq = 1000 + k * 1000,
                       .ack = 7,
                       .flags = F_ACK,
                       .tsval = 5555,
                       .id = (uint16_t)(100 + k),
                       .payload_len = 1000,
                       .fill = (uint8_t)(k * 13 + flow)};
  return s;
}

static void put(uint32_t i, const struct tcp_spec *s) {
  items[i].pkt = pkts[i];
  items[i].len = (uint32_t)build_tcp(pkts[i], s);
}

/* The group's packet as the kernel would take it: header, then every payload. */
static size_t assemble(const struct wgl_gro_group *g, uint8_t *dst) {
  size_t n = 0;
  for (uint32_t i = g->first; i != WGL_GRO_END; i = next_[i]) {
    size_t skip = i == g->first ? 0 : g->hdr_len;
    memcpy(dst + n, items[i].pkt + skip, items[i].len - skip);
    n += items[i].len - skip;
  }
  return n;
}

/* Checks what every merged group must be for the kernel, as a NEEDS_CSUM
 * GSO packet of protocol `proto` (6 or 17) whose L4 checksum field sits at
 * `csum_offset`: its count and length, the virtio header, the IP lengths and
 * the partial checksum (the pseudo-header's sum, as the stack's
 * CHECKSUM_PARTIAL). Returns the packet's length; `whole` holds it. */
static size_t check_gso_packet(const struct wgl_gro_group *g, uint8_t *whole, uint32_t segs,
                               uint8_t gso_type, uint8_t proto, uint16_t csum_offset) {
  size_t n = assemble(g, whole);
  int v6 = is_v6(whole);
  uint32_t l3 = v6 ? 40 : 20;
  CHECK(g->count == segs);
  CHECK(n == g->bytes);
  CHECK(g->vnet.flags == WGL_VNET_F_NEEDS_CSUM && g->vnet.gso_type == gso_type);
  CHECK(g->vnet.hdr_len == g->hdr_len);
  CHECK(g->vnet.csum_start == l3 && g->vnet.csum_offset == csum_offset);
  if (v6) {
    CHECK(be16(whole + 4) == n - 40);
  } else {
    CHECK(be16(whole + 2) == n && ipv4_ok(whole));
  }
  uint32_t acc = v6 ? naive_sum(whole + 8, 32, 0) : naive_sum(whole + 12, 8, 0);
  CHECK(be16(whole + l3 + csum_offset) == naive_fold(acc + proto + (uint32_t)(n - l3)));
  return n;
}

/* Checks a merged group against the kernel's rules for a NEEDS_CSUM GSO
 * packet: lengths, the partial checksum, and the checksum once completed. */
static void check_merged(const struct wgl_gro_group *g, uint32_t segs, uint32_t payload) {
  static uint8_t whole[70000];
  int v6 = is_v6(items[g->first].pkt);
  size_t n = check_gso_packet(g, whole, segs, v6 ? WGL_VNET_GSO_TCPV6 : WGL_VNET_GSO_TCPV4, 6, 16);
  CHECK(n == g->hdr_len + payload);
  CHECK(g->vnet.gso_size == 1000);
  CHECK(wgl_offload_complete_csum(whole, n, g->vnet.csum_start, g->vnet.csum_offset) == 0);
  CHECK(l4_verify(whole, n) == 0xffff);
  /* and the kernel's own segmentation would give back the segments */
  struct wgl_vnet_hdr h;
  make_partial(whole, n, &h, g->vnet.gso_type, g->vnet.gso_size);
  CHECK(wgl_offload_segment_count(&h, whole, n, SLOT) == (int)segs);
}

static void check_in_order(int v6) {
  for (uint32_t k = 0; k < 5; k++) {
    struct tcp_spec s = seg(v6, 1, k);
    if (k == 4) s.payload_len = 400, s.flags |= F_PSH;
    put(k, &s);
  }
  CHECK(wgl_offload_coalesce(items, 5, next_, groups, WGL_GRO_TCP) == 1);
  check_merged(&groups[0], 5, 4400);
  CHECK(pkts[0][(v6 ? 40 : 20) + 13] == (F_ACK | F_PSH));
}

static void test_coalesce_v4_in_order_with_timestamps(void) { check_in_order(0); }
static void test_coalesce_v6_in_order_with_timestamps(void) { check_in_order(1); }

static void test_coalesce_interleaved_flows(void) {
  for (uint32_t k = 0; k < 6; k++) {
    struct tcp_spec s = seg(k % 3 == 2, (uint8_t)(1 + k % 3), k / 3);
    put(k, &s);
  }
  /* flows 1, 2 (v4) and 3 (v6): each two segments */
  CHECK(wgl_offload_coalesce(items, 6, next_, groups, WGL_GRO_TCP) == 3);
  for (int g = 0; g < 3; g++) check_merged(&groups[g], 2, 2000);
  CHECK(groups[0].first == 0 && groups[1].first == 1 && groups[2].first == 2);
}

static void test_out_of_order_not_merged(void) {
  struct tcp_spec a = seg(0, 1, 0), c = seg(0, 1, 2), b = seg(0, 1, 1);
  put(0, &a);
  put(1, &c);
  put(2, &b);
  CHECK(wgl_offload_coalesce(items, 3, next_, groups, WGL_GRO_TCP) == 3);
  for (int g = 0; g < 3; g++) CHECK(groups[g].count == 1 && groups[g].vnet.gso_type == 0);
  CHECK(groups[0].first == 0 && groups[1].first == 1 && groups[2].first == 2);
  /* untouched */
  CHECK(l4_verify(pkts[1], items[1].len) == 0xffff);
}

static void test_push_and_short_end_a_run(void) {
  struct tcp_spec s0 = seg(0, 1, 0), s1 = seg(0, 1, 1), s2 = seg(0, 1, 2), s3 = seg(0, 1, 3);
  s1.flags |= F_PSH;
  s3.payload_len = 10; /* s2 short would end the next run */
  s2.payload_len = 500;
  s3.seq = s2.seq + 500;
  put(0, &s0);
  put(1, &s1);
  put(2, &s2);
  put(3, &s3);
  CHECK(wgl_offload_coalesce(items, 4, next_, groups, WGL_GRO_TCP) == 2);
  check_merged(&groups[0], 2, 2000);
  /* s2 (500) starts a run whose gso_size is 500; s3 (10) is shorter: joins, ends it. */
  CHECK(groups[1].count == 2 && groups[1].vnet.gso_size == 500);
}

static void test_larger_segment_after_run_not_merged(void) {
  struct tcp_spec s0 = seg(0, 1, 0), s1 = seg(0, 1, 1);
  s0.payload_len = 500;
  s1.seq = s0.seq + 500;
  put(0, &s0);
  put(1, &s1);
  CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_TCP) == 2);
}

static void test_flags_and_options_keep_apart(void) {
  struct tcp_spec base = seg(0, 1, 0);
  uint8_t flags[] = {F_ACK | F_URG, F_ACK | F_FIN, F_ACK | F_SYN, F_ACK | F_CWR};
  for (size_t f = 0; f < sizeof flags; f++) {
    struct tcp_spec b = seg(0, 1, 1);
    b.flags = flags[f];
    put(0, &base);
    put(1, &b);
    CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_TCP) == 2);
    /* nor does anything merge behind it */
    struct tcp_spec c = seg(0, 1, 2);
    put(2, &c);
    CHECK(wgl_offload_coalesce(items, 3, next_, groups, WGL_GRO_TCP) == 3);
  }
  struct tcp_spec t = seg(0, 1, 1);
  t.tsval = 5556; /* the timestamp ticked */
  put(0, &base);
  put(1, &t);
  CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_TCP) == 2);
  struct tcp_spec w = seg(0, 1, 1);
  w.ack = 8; /* another ACK */
  put(1, &w);
  CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_TCP) == 2);
}

static void test_bad_checksum_not_merged(void) {
  struct tcp_spec s0 = seg(0, 1, 0), s1 = seg(0, 1, 1);
  put(0, &s0);
  put(1, &s1);
  pkts[1][200] ^= 1;
  CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_TCP) == 2);
  CHECK(groups[1].vnet.flags == 0);
}

static void test_non_tcp_passes_through_in_order(void) {
  struct tcp_spec s0 = seg(0, 1, 0), s1 = seg(0, 1, 1);
  put(0, &s0);
  items[1].pkt = pkts[1];
  items[1].len = (uint32_t)build_udp(pkts[1], 0, 100);
  put(2, &s1);
  CHECK(wgl_offload_coalesce(items, 3, next_, groups, WGL_GRO_TCP) == 2);
  CHECK(groups[0].first == 0 && groups[0].count == 2 && next_[0] == 2);
  CHECK(groups[1].first == 1 && groups[1].count == 1);
}

/* Datagram k of a UDP flow from port 4000 + flow: `len` payload bytes,
 * checksummed, with an IPv4 ID of 0x1000 + k. */
static void put_udp(uint32_t i, int v6, uint8_t flow, uint32_t k, uint32_t len) {
  items[i].pkt = pkts[i];
  items[i].len = (uint32_t)build_udp(pkts[i], v6, len);
  uint32_t l3 = v6 ? 40 : 20;
  wbe16(pkts[i] + l3, 4000 + flow);
  for (uint32_t b = 0; b < len; b++) pkts[i][l3 + 8 + b] = (uint8_t)(k * 31 + b + flow);
  if (!v6) {
    wbe16(pkts[i] + 4, 0x1000 + k);
    fill_ipv4_checksum(pkts[i]);
  }
  fill_l4_checksum(pkts[i], items[i].len);
}

/* A merged UDP group: one UDP_L4 packet the kernel's segmentation turns back
 * into the datagrams, payloads and checksums intact. */
static void check_udp_merged(const struct wgl_gro_group *g, uint32_t segs, uint32_t size,
                             uint32_t last) {
  static uint8_t whole[70000];
  size_t n = check_gso_packet(g, whole, segs, WGL_VNET_GSO_UDP_L4, 17, 6);
  uint32_t l3 = is_v6(whole) ? 40 : 20;
  CHECK(n == l3 + 8 + (segs - 1) * size + last);
  CHECK(g->vnet.gso_size == size && g->vnet.hdr_len == l3 + 8);
  CHECK(be16(whole + l3 + 4) == n - l3);
  CHECK(wgl_offload_segment_count(&g->vnet, whole, n, SLOT) == (int)segs);
  CHECK(wgl_offload_segment(&g->vnet, whole, n, 0, out[0], SLOT, SLOT, lens, 64) == (int)segs);
  uint32_t i = g->first;
  for (uint32_t j = 0; j < segs; j++, i = next_[i]) {
    uint32_t plen = j + 1 < segs ? size : last;
    CHECK(lens[j] == l3 + 8 + plen);
    CHECK(l4_verify(out[j], lens[j]) == 0xffff);
    CHECK(memcmp(out[j] + l3 + 8, items[i].pkt + l3 + 8, plen) == 0);
  }
}

static void check_udp_in_order(int v6) {
  for (uint32_t k = 0; k < 5; k++) put_udp(k, v6, 1, k, k == 4 ? 300 : 1200);
  /* TCP only: the datagrams pass as they are */
  CHECK(wgl_offload_coalesce(items, 5, next_, groups, WGL_GRO_TCP) == 5);
  for (uint32_t k = 0; k < 5; k++) put_udp(k, v6, 1, k, k == 4 ? 300 : 1200);
  CHECK(wgl_offload_coalesce(items, 5, next_, groups, WGL_GRO_TCP | WGL_GRO_UDP) == 1);
  check_udp_merged(&groups[0], 5, 1200, 300);
}

static void test_udp_coalesce_v4(void) { check_udp_in_order(0); }
static void test_udp_coalesce_v6(void) { check_udp_in_order(1); }

static void test_udp_flows_sizes_and_checksums_keep_apart(void) {
  /* two flows interleaved, a TCP segment between: order within each flow holds */
  put_udp(0, 0, 1, 0, 1000);
  put_udp(1, 0, 2, 0, 1000);
  struct tcp_spec t = seg(0, 1, 0);
  put(2, &t);
  put_udp(3, 0, 1, 1, 1000);
  put_udp(4, 0, 2, 1, 1000);
  CHECK(wgl_offload_coalesce(items, 5, next_, groups, WGL_GRO_TCP | WGL_GRO_UDP) == 3);
  CHECK(groups[0].first == 0 && groups[0].count == 2 && next_[0] == 3);
  CHECK(groups[1].first == 1 && groups[1].count == 2 && next_[1] == 4);
  CHECK(groups[2].first == 2 && groups[2].count == 1);
  check_udp_merged(&groups[0], 2, 1000, 1000);
  /* a larger datagram after a run starts a new one; a shorter one ends it */
  put_udp(0, 0, 1, 0, 1000);
  put_udp(1, 0, 1, 1, 1200);
  put_udp(2, 0, 1, 2, 500);
  put_udp(3, 0, 1, 3, 500);
  CHECK(wgl_offload_coalesce(items, 4, next_, groups, WGL_GRO_UDP) == 3);
  CHECK(groups[0].count == 1 && groups[1].count == 2 && groups[2].count == 1);
  /* a wrong checksum, no checksum (IPv4's 0), a fragment, another TTL: never merged */
  for (int c = 0; c < 4; c++) {
    put_udp(0, 0, 1, 0, 1000);
    put_udp(1, 0, 1, 1, 1000);
    if (c == 0) pkts[1][100] ^= 1;
    if (c == 1) pkts[1][26] = pkts[1][27] = 0;
    if (c == 2) wbe16(pkts[1] + 6, 0x2000), fill_ipv4_checksum(pkts[1]);
    if (c == 3) pkts[1][8] = 63, fill_ipv4_checksum(pkts[1]);
    CHECK(wgl_offload_coalesce(items, 2, next_, groups, WGL_GRO_UDP) == 2);
    CHECK(groups[1].vnet.flags == 0 && groups[1].vnet.gso_type == WGL_VNET_GSO_NONE);
  }
  /* at most 65,535 bytes: 28 + 46 × 1400 fits, a 47th does not */
  for (uint32_t k = 0; k < 50; k++) put_udp(k, 0, 1, k, 1400);
  CHECK(wgl_offload_coalesce(items, 50, next_, groups, WGL_GRO_UDP) == 2);
  CHECK(groups[0].count == 46 && groups[0].bytes == 28 + 46 * 1400);
}

static void test_run_limits(void) {
  for (uint32_t k = 0; k < 70; k++) {
    struct tcp_spec s = seg(0, 1, k);
    put(k, &s);
  }
  /* at most 64 segments (Linux's GRO limit) */
  uint32_t ng = wgl_offload_coalesce(items, 70, next_, groups, WGL_GRO_TCP);
  CHECK(ng == 2 && groups[0].count == 64 && groups[1].count == 6);
  check_merged(&groups[0], 64, 64000);
  /* at most 65,535 bytes: 20 + 32 + 46 × 1400 fits, a 47th does not */
  for (uint32_t k = 0; k < 50; k++) {
    struct tcp_spec s = seg(0, 1, 0);
    s.payload_len = 1400;
    s.seq = 1000 + k * 1400;
    put(k, &s);
  }
  ng = wgl_offload_coalesce(items, 50, next_, groups, WGL_GRO_TCP);
  CHECK(ng == 2 && groups[0].count == 46 && groups[1].count == 4);
  CHECK(groups[0].bytes == 52 + 46 * 1400);
}

/* The completed checksum over random regions, odd lengths and all-ones
 * data included, against the naive sum. */
static void test_checksum_random_regions(void) {
  static uint8_t buf[66000];
  uint32_t x = 12345;
  for (int t = 0; t < 20000; t++) {
    x = x * 1103515245u + 12345u;
    size_t n = 2 + (x >> 8) % (t % 200 == 0 ? 65000 : 300);
    int ones = t % 3 == 0;
    for (size_t i = 0; i < n; i++) {
      x = x * 1103515245u + 12345u;
      buf[i] = ones ? 0xff : (uint8_t)(x >> 16);
    }
    x = x * 1103515245u + 12345u;
    size_t start = ((x >> 8) % (n - 1)) & ~(size_t)1;
    buf[start] = buf[start + 1] = 0;
    if (naive_fold(naive_sum(buf + start, n - start, 0)) == 0xffff) continue;
    CHECK(wgl_offload_complete_csum(buf, n, (uint32_t)start, 0) == 0);
    CHECK(naive_fold(naive_sum(buf + start, n - start, 0)) == 0xffff);
  }
}

int main(void) {
  test_tcp_v4_segmentation();
  test_tcp_v4_with_options_segmentation();
  test_tcp_v6_with_options_segmentation();
  test_tcp_exact_multiple_has_no_empty_tail();
  test_ecn_gso_keeps_cwr_on_first();
  test_urg_kept_on_every_segment();
  test_udp_v4_segmentation();
  test_udp_v6_segmentation();
  test_partial_checksum_completed_without_gso();
  test_malformed_super_packets_refused();
  test_coalesce_v4_in_order_with_timestamps();
  test_coalesce_v6_in_order_with_timestamps();
  test_coalesce_interleaved_flows();
  test_out_of_order_not_merged();
  test_push_and_short_end_a_run();
  test_larger_segment_after_run_not_merged();
  test_flags_and_options_keep_apart();
  test_bad_checksum_not_merged();
  test_non_tcp_passes_through_in_order();
  test_udp_coalesce_v4();
  test_udp_coalesce_v6();
  test_udp_flows_sizes_and_checksums_keep_apart();
  test_run_limits();
  test_checksum_random_regions();
  printf("offload: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
