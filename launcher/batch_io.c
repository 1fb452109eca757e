/*
 * batch_io.c — wgl_batch_io: the data path's batch I/O behind one FFI
 * binding (batch_io.h says why).
 */
#include "batch_io.h"

#include <errno.h>
#include <stddef.h>

#include "packet_io.h"

int32_t wgl_batch_io(uint32_t op, int32_t fd, uint8_t *slots, uint32_t slot_size, uint8_t *desc,
                     uint32_t count, int32_t arg, uint8_t *extra, uint32_t extra_len) {
  /* A Uint32Array's bytes, as TypeScript passes the descriptors. */
  uint32_t *words = (uint32_t *)(void *)desc;
  switch ((enum wgl_batch_op)op) {
  case WGL_BATCH_TUN_READ:
    return wgl_tun_read_batch(fd, slots, slot_size, words, count, (uint32_t)arg);
  case WGL_BATCH_TUN_READ_VNET:
    return wgl_tun_read_batch_vnet(fd, slots, slot_size, words, count, (uint32_t)arg, extra,
                                   extra_len);
  case WGL_BATCH_TUN_WRITE:
    return wgl_tun_write_batch(fd, slots, slot_size, words, count);
  case WGL_BATCH_TUN_WRITE_VNET:
    return wgl_tun_write_batch_vnet(fd, slots, slot_size, words, count, arg);
  case WGL_BATCH_UDP_RECV:
    return wgl_udp_recv_batch(fd, slots, slot_size, words, count);
  case WGL_BATCH_UDP_RECV_GRO:
    return wgl_udp_recv_batch_gro(fd, slots, slot_size, words, count, extra, extra_len);
  case WGL_BATCH_UDP_SEND_GSO:
    if (extra == NULL || extra_len < sizeof(uint32_t)) return -EINVAL;
    return wgl_udp_send_batch_gso(fd, slots, slot_size, words, count, (uint32_t *)(void *)extra);
  case WGL_BATCH_EVENTFD_SIGNAL:
    return wgl_eventfd_signal(fd);
  }
  return -EINVAL;
}
